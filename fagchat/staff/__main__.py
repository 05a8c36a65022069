"""Serve the staff app: `python -m fagchat.staff` (the launcher's `staff` service)."""

import sys

from fagchat import settings
from fagchat.logs import configure_logging
from fagchat.staff.app import create_app


def main() -> int:
    """Run the staff app on FAGCHAT_HOST:FAGCHAT_STAFF_PORT until stopped."""
    configure_logging()
    app = create_app()
    # Sanic's access log is replaced by our own request line (path only, no query).
    app.run(host=settings.get("FAGCHAT_HOST"), port=settings.get_int("FAGCHAT_STAFF_PORT"),
            access_log=False, workers=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
