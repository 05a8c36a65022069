"""The staff review app: centre staff review conversations and improve the answers.

`create_app()` builds the Sanic app (`python -m fagchat.staff` serves it on
FAGCHAT_STAFF_PORT); `python -m fagchat.staff.cli` creates accounts, merges reviewed
examples into data/nlu.yml and runs the retention purge. See docs/staff.md.
"""
