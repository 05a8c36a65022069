"""Serve the staff app: `python -m fagchat.staff` (the launcher's `staff` service)."""

from fagchat.run.serve import serve
from fagchat.staff.app import create_app

if __name__ == "__main__":
    serve(create_app(), "FAGCHAT_STAFF_PORT")
