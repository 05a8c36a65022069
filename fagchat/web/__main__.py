"""Run the web process: `python -m fagchat.web` (the launcher's `web` service)."""

from fagchat import settings
from fagchat.logs import configure_logging
from fagchat.web.app import create_app


def main() -> None:
    """Serve the widget, the demo page and the chat proxy until stopped."""
    configure_logging()
    app = create_app()
    # One worker: the process is I/O-bound (it only forwards to Rasa), and Sanic's access
    # log stays off because our own log lines say what operators need, without content.
    app.run(
        host=settings.get("FAGCHAT_HOST"),
        port=settings.get_int("FAGCHAT_WEB_PORT"),
        workers=1,
        access_log=False,
        motd=False,
    )


if __name__ == "__main__":
    main()
