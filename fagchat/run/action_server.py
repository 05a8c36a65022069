"""Run the rasa_sdk action server on the configured host and port.

`python -m rasa_sdk` binds every interface; this entry point binds FAGCHAT_HOST (loopback
unless configured: fagchat/run/serve.py) and loads the `actions` package once at start (an
invalid knowledge article stops it here).

Besides rasa_sdk's own routes it answers /healthz and /readyz (ready: the knowledge base is
loaded; fagchat/ops/health.py), and counts into the machine's shared metrics.
"""

import logging
from typing import Any

from rasa_sdk.endpoint import create_app
from sanic.request import Request
from sanic.response import HTTPResponse

from actions.rendering import knowledge_base
from fagchat import settings
from fagchat.logs import configure_logging
from fagchat.ops import health, metrics
from fagchat.run.serve import bind_address

READINESS = health.Readiness("actions", {"knowledge": lambda _app: knowledge_loaded()})


def knowledge_loaded() -> str:
    """Whether the knowledge base the actions answer from is loaded (it loads at start)."""
    return health.OK if knowledge_base().articles else "empty"


async def healthz(request: Request) -> HTTPResponse:
    """The process answers."""
    return health.alive("actions")


async def readyz(request: Request) -> HTTPResponse:
    """The knowledge base is loaded."""
    return await READINESS.answer(request.app)


async def start_metrics(_app: Any, _loop: Any) -> None:
    """Count into the shared metrics once this worker serves."""
    metrics.start("actions")


def main() -> None:
    """Create the action server app and serve it."""
    configure_logging("actions")
    app = create_app("actions")
    app.add_route(healthz, "/healthz", methods=["GET"])
    app.add_route(readyz, "/readyz", methods=["GET"])
    app.register_listener(start_metrics, "before_server_start")
    host, port = bind_address("actions", settings.current())
    logging.getLogger(__name__).info("action_server.start port=%s", port)
    app.run(host=host, port=port, workers=settings.current().int("FAGCHAT_ACTIONS_WORKERS"), access_log=False)


if __name__ == "__main__":
    main()
