"""Table definitions: Rasa's `events` table as Rasa creates it, and the staff app's own.

Rasa's SQLTrackerStore owns `events`; it is declared here with Rasa's exact shape so the
staff app can query it, and so that a staff app started before Rasa finds the table (Rasa's
own `create_all` then sees it and leaves it alone). Every other table is ours, prefixed
`staff_`, and holds only metadata derived from the events (no user text), except
`staff_reviews.example`: the redacted training example a reviewer chose to keep.

A change to a table of ours needs a numbered step in `db_migrations.py` that makes it on an
existing database (tests/test_staff_migrations.py fails until the two agree).

Flags are integers (0/1) rather than booleans so that `max()` and `sum()` work the same on
SQLite and PostgreSQL.
"""

import sqlalchemy as sa

metadata = sa.MetaData()


def event_key(indexed: bool = True) -> list:
    """The first columns of a table with one row per Rasa event: that event's id, and its conversation."""
    return [
        sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("sender_id", sa.String(255), nullable=False, index=indexed),
    ]


# Rasa 3.6 `SQLTrackerStore.SQLEvent`, column for column.
events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Integer, sa.Sequence("events_seq", optional=True), primary_key=True),
    sa.Column("sender_id", sa.String(255), nullable=False, index=True),
    sa.Column("type_name", sa.String(255), nullable=False),
    sa.Column("timestamp", sa.Float),
    sa.Column("intent_name", sa.String(255)),
    sa.Column("action_name", sa.String(255)),
    sa.Column("data", sa.Text),
)

# One row per conversation, kept up to date from the events by the indexer.
conversations = sa.Table(
    "staff_conversations",
    metadata,
    sa.Column("sender_id", sa.String(255), primary_key=True),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("last_at", sa.Float, nullable=False, index=True),
    sa.Column("start_day", sa.Integer, nullable=False),
    sa.Column("n_user", sa.Integer, nullable=False, default=0),
    sa.Column("n_bot", sa.Integer, nullable=False, default=0),
    sa.Column("fallback", sa.Integer, nullable=False, default=0),
    sa.Column("thumbs_up", sa.Integer, nullable=False, default=0),
    sa.Column("thumbs_down", sa.Integer, nullable=False, default=0),
    sa.Column("handover", sa.Integer, nullable=False, default=0),
    sa.Column("acute", sa.Integer, nullable=False, default=0),
    sa.Column("min_conf", sa.Float),
    sa.Column("role", sa.String(32)),
    # Covering indexes for the dashboard's counts and the inbox's role filter.
    sa.Index("ix_staff_conversations_day_users", "start_day", "n_user"),
    sa.Index("ix_staff_conversations_role_last", "role", "last_at"),
)

# One row per user message (the event id is Rasa's), without its text.
messages = sa.Table(
    "staff_messages",
    metadata,
    *event_key(),
    sa.Column("ts", sa.Float, nullable=False, index=True),
    sa.Column("day", sa.Integer, nullable=False),
    sa.Column("intent", sa.String(255)),
    sa.Column("confidence", sa.Float),
    sa.Column("fallback", sa.Integer, nullable=False, default=0),
    sa.Column("thumbs_down", sa.Integer, nullable=False, default=0),
    sa.Column("article", sa.String(64)),
    # A button payload ("/intent"): nothing to learn from, never in the review queue.
    sa.Column("command", sa.Integer, nullable=False, default=0),
    sa.Index("ix_staff_messages_day_fallback", "day", "fallback"),
)

# Countable moments: an article shown, 👍/👎 (latest per article and conversation),
# a handover, an acute-danger answer, a fallback action, and an article chosen from the
# offer right after a 112 answer (MARK_AFTER_ALARM: the 112 answer was likely a false alarm).
MARK_AFTER_ALARM = "after_112"
marks = sa.Table(
    "staff_marks",
    metadata,
    *event_key(indexed=False),
    sa.Column("day", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("article", sa.String(64)),
    sa.Index("ix_staff_marks_sender_kind", "sender_id", "kind"),
    sa.Index("ix_staff_marks_kind_article", "kind", "article", "sender_id"),
    sa.Index("ix_staff_marks_kind_day", "kind", "day", "article"),
)

reviews = sa.Table(
    "staff_reviews",
    metadata,
    *event_key(),
    sa.Column("decision", sa.String(255), nullable=False),
    sa.Column("example", sa.Text, nullable=False),
    sa.Column("note", sa.Text, nullable=False, default=""),
    sa.Column("reviewer", sa.String(64), nullable=False),
    sa.Column("decided_at", sa.Float, nullable=False, index=True),
)

# One row per message that needed a decision: the unit vector of its redacted text (no
# text) and the group of similar messages it belongs to (suggestions.py). A group's id is
# its leader's event id; `leads` marks leaders, `split` a message a reviewer took out.
suggestions = sa.Table(
    "staff_suggestions",
    metadata,
    *event_key(),
    sa.Column("encoder", sa.String(64), nullable=False),
    sa.Column("vector", sa.LargeBinary, nullable=False),
    sa.Column("group_id", sa.Integer, nullable=False, index=True),
    sa.Column("leads", sa.Integer, nullable=False, default=0),
    sa.Column("split", sa.Integer, nullable=False, default=0),
    sa.Index("ix_staff_suggestions_leads", "leads", "encoder", "event_id"),
)

users = sa.Table(
    "staff_users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    # 1: may train, approve and roll back models (cli create-user --admin, set-admin);
    # NULL (accounts made before the flag) reads as 0.
    sa.Column("admin", sa.Integer, nullable=True),
)

sessions = sa.Table(
    "staff_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("username", sa.String(64), nullable=False, index=True),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False, index=True),
    # Added after the first release (migration 2 adds it to older databases): NULL, as in
    # logins made before, reads as idle.
    sa.Column("last_seen", sa.Float, nullable=True),
)

# Failed logins, and attempts still being checked (a success deletes its row). `username`
# is the account's name, or a keyed hash of what was typed when no account has that name.
login_failures = sa.Table(
    "staff_login_failures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("username", sa.String(64), nullable=False, index=True),
    sa.Column("ip", sa.String(64), nullable=False, index=True),
    sa.Column("at", sa.Float, nullable=False, index=True),
)

# One row per user name and per client address trying to log in: updating it locks it,
# so that counting the failures and recording the next attempt is one step (throttle.py).
login_guard = sa.Table(
    "staff_login_guard",
    metadata,
    sa.Column("key", sa.String(160), primary_key=True),
    sa.Column("at", sa.Float, nullable=False, index=True),
)

# Who did what, when: never conversation content (targets are ids, details are labels).
audit = sa.Table(
    "staff_audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.Float, nullable=False, index=True),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target", sa.String(255), nullable=False, default=""),
    sa.Column("detail", sa.String(255), nullable=False, default=""),
    sa.Column("ip", sa.String(64), nullable=False, default=""),
)

# The staff app's own state; INDEXER_CURSOR is the highest event id the indexer has read.
INDEXER_CURSOR = "last_event_id"
state = sa.Table(
    "staff_state",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(255), nullable=False),
)

# One row per schema version applied (fagchat/staff/db_migrations.py): the highest is the
# version of the tables above; a version newer than the code's stops the app.
schema_version = sa.Table(
    "staff_schema_version",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("applied_at", sa.Float, nullable=False),
)

# Rows derived from one conversation: deleted with it (retention, staff delete).
PER_CONVERSATION = (messages, marks, reviews, suggestions, conversations)
