"""Serve the staff app: `python -m fagchat.staff` (the launcher's `staff` service).

`python -m fagchat.staff migrate` only brings the database's tables to this release's
schema (fagchat/staff/db_migrations.py) and exits; serving does that at start, too.
"""

import sys

if __name__ == "__main__":
    if sys.argv[1:] == ["migrate"]:
        from fagchat.staff import cli

        sys.exit(cli.main(["migrate"]))
    from fagchat.run.serve import serve
    from fagchat.staff.app import create_app

    serve(create_app(), "FAGCHAT_STAFF_PORT")
