"""Serve one of our Sanic apps the way every Fagchat process does."""

from sanic import Sanic

from fagchat import settings
from fagchat.logs import configure_logging


def serve(app: Sanic, port_setting: str) -> None:
    """Run `app` on FAGCHAT_HOST and the port named by `port_setting`, until stopped.

    One worker: these processes are I/O-bound. Sanic's access log stays off: our own log
    lines say what operators need, without user content.
    """
    configure_logging()
    env = settings.current()
    app.run(host=env.str("FAGCHAT_HOST"), port=env.int(port_setting), workers=1, access_log=False, motd=False)
