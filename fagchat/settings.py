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
        Setting(
            "FAGCHAT_RASA_WORKERS",
            "1",
            "Worker processes of the Rasa server on its one port; more than 1 needs "
            "FAGCHAT_LOCK_STORE=redis (scale-out mode, docs/operations.md).",
        ),
        Setting("FAGCHAT_ACTIONS_WORKERS", "1", "Worker processes of the action server."),
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
        Setting(
            "FAGCHAT_PROXY_TIMEOUT",
            "20",
            "Seconds the web process waits for Rasa before answering 503 bot_unavailable.",
        ),
        Setting(
            "FAGCHAT_HOLDING_SECONDS",
            "4",
            "Seconds the chat channel waits for the bot before it sends a holding answer "
            "with the contact details; the real answer follows with the next message.",
        ),
        Setting("FAGCHAT_LOG_LEVEL", "INFO", "Log level of Fagchat's own loggers."),
        Setting(
            "FAGCHAT_RETENTION_DAYS", "90", "Conversations older than this are purged."
        ),
        Setting("FAGCHAT_VAR_DIR", "var", "Runtime data: database, logs, run files."),
        Setting(
            "FAGCHAT_MODEL",
            "models/fagchat.tar.gz",
            "Trained model the Rasa server loads (relative to the repository root); "
            "`make train` writes the default.",
        ),
        # Staff review app (fagchat/staff, docs/staff.md)
        Setting(
            "FAGCHAT_STAFF_SECURE_COOKIE",
            "0",
            "1 marks the staff session cookie Secure (set it when served over HTTPS).",
        ),
        Setting(
            "FAGCHAT_STAFF_SESSION_MINUTES", "480", "Staff login lifetime in minutes."
        ),
        Setting(
            "FAGCHAT_STAFF_LOCKOUT_ATTEMPTS",
            "5",
            "Failed staff logins (per user name and per IP) that lock further tries.",
        ),
        Setting(
            "FAGCHAT_STAFF_LOCKOUT_MINUTES",
            "15",
            "Window in minutes in which failed staff logins are counted.",
        ),
        Setting(
            "FAGCHAT_STAFF_LOW_CONFIDENCE",
            "0.6",
            "NLU confidence below which a message goes to the staff review queue.",
        ),
        Setting("FAGCHAT_STAFF_PAGE_SIZE", "50", "Rows per page in the staff app."),
        Setting(
            "FAGCHAT_STAFF_TIMEZONE",
            "Europe/Copenhagen",
            "Time zone of dates shown and filtered in the staff app.",
        ),
        Setting(
            "FAGCHAT_STAFF_QUERY_TIMEOUT_MS",
            "5000",
            "Longest time one staff-app SQL statement may run before it is cancelled.",
        ),
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


def get_float(name: str) -> float:
    """Return a number setting; a malformed value stops the process naming it."""
    value = get(name)
    try:
        return float(value)
    except ValueError:
        raise SystemExit(f"Setting {name} must be a number, got {value!r}") from None
