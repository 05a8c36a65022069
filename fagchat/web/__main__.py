"""Run the web process: `python -m fagchat.web` (the launcher's `web` service)."""

from fagchat.run.serve import serve
from fagchat.web.app import create_app

if __name__ == "__main__":
    serve(create_app(), "FAGCHAT_WEB_PORT")
