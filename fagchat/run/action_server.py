"""Run the rasa_sdk action server on the configured host and port.

`python -m rasa_sdk` binds every interface; this entry point binds FAGCHAT_HOST (loopback
unless configured: fagchat/run/serve.py) and loads the `actions` package once at start (an
invalid knowledge article stops it here).
"""

import logging

from rasa_sdk.endpoint import create_app

from fagchat import settings
from fagchat.logs import configure_logging
from fagchat.run.serve import bind_address


def main() -> None:
    """Create the action server app and serve it."""
    configure_logging()
    app = create_app("actions")
    host, port = bind_address("actions", settings.current())
    logging.getLogger(__name__).info("action_server.start port=%s", port)
    app.run(host=host, port=port, workers=settings.current().int("FAGCHAT_ACTIONS_WORKERS"), access_log=False)


if __name__ == "__main__":
    main()
