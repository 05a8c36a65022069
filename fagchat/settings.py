"""Every setting of Fagchat, declared once with its default and a line of help.

All processes (launcher, Rasa components, action server, web and staff apps) read their
configuration through `get()`, so this module is the one place to look. Values come from
the environment only (secrets included); the README's settings table mirrors this list and
a test checks that it does.
"""

import os
from dataclasses import dataclass
from typing import Dict


@dataclass(frozen=True)
class Setting:
    """One environment variable: its name, default and a line of help."""

    name: str
    default: str
    help: str


SETTINGS: Dict[str, Setting] = {
    s.name: s
    for s in [
        Setting("FAGCHAT_HOST", "127.0.0.1", "Address every server binds to."),
        Setting("FAGCHAT_RASA_PORT", "5005", "Port of the Rasa server (chat channel)."),
        Setting("FAGCHAT_ACTIONS_PORT", "5055", "Port of the action server."),
        Setting("FAGCHAT_WEB_PORT", "8080", "Port of the web process (widget, demo page)."),
        Setting("FAGCHAT_STAFF_PORT", "8081", "Port of the staff review app."),
        Setting(
            "FAGCHAT_DB_URL",
            "sqlite:///var/fagchat.db",
            "Tracker store database as an SQLAlchemy URL: an SQLite file by default, "
            "postgresql://user:password@host:port/db for PostgreSQL.",
        ),
        Setting(
            "FAGCHAT_LOCK_STORE",
            "memory",
            "Lock store: 'memory' for one Rasa process, 'redis' for several.",
        ),
        Setting(
            "FAGCHAT_REDIS_URL", "redis://127.0.0.1:6379/0", "Redis for the lock store."
        ),
        Setting("FAGCHAT_MAX_MESSAGE_CHARS", "1000", "Longest user message accepted."),
        Setting(
            "FAGCHAT_MAX_BODY_BYTES", "65536", "Largest request body; larger gets 413."
        ),
        Setting(
            "FAGCHAT_ALLOWED_ORIGINS",
            "http://localhost:8080,http://127.0.0.1:8080",
            "Comma-separated website origins allowed to call the chat endpoint (CORS).",
        ),
        Setting("FAGCHAT_LOG_LEVEL", "INFO", "Log level of Fagchat's own loggers."),
        Setting(
            "FAGCHAT_RETENTION_DAYS", "90", "Conversations older than this are purged."
        ),
        Setting(
            "FAGCHAT_SPACY_MODEL_DIR",
            "models/spacy-da",
            "Where set-up builds the Danish spaCy pipeline (config.yml loads it).",
        ),
        Setting("FAGCHAT_VAR_DIR", "var", "Runtime data: database, logs, run files."),
    ]
}


def get(name: str) -> str:
    """Return the value of setting `name` from the environment, or its default."""
    return os.environ.get(name, SETTINGS[name].default)


def get_int(name: str) -> int:
    """Return an integer setting; a malformed value stops the process naming it."""
    value = get(name)
    try:
        return int(value)
    except ValueError:
        raise SystemExit(f"Setting {name} must be a whole number, got {value!r}") from None
