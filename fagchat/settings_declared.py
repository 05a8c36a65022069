"""Every setting of Fagchat, declared once: its environment variable, default and a line of help.

Read them through `fagchat.settings` (`settings.current()`, `settings.read(env)`); this
module only holds the table, so that the reader stays small. The README's settings table
and deploy/systemd/fagchat.env.example mirror it, and tests check that they do.
"""

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
        Setting(
            "FAGCHAT_HOST",
            "127.0.0.1",
            "Address Rasa, the action server and the staff app bind to, and where the other "
            "processes reach them; keep it on loopback unless they run on other machines.",
        ),
        Setting(
            "FAGCHAT_PUBLIC_HOST",
            "127.0.0.1",
            "Address the web process (demo page, widget, chat proxy) binds to: the only port "
            "meant for the internet; 0.0.0.0 publishes it and nothing else.",
        ),
        Setting("FAGCHAT_RASA_PORT", "5005", "Port of the Rasa server (chat channel)."),
        Setting("FAGCHAT_ACTIONS_PORT", "5055", "Port of the action server."),
        Setting(
            "FAGCHAT_RASA_WORKERS",
            "2",
            "Worker processes of the Rasa server on its one port (one Python process cannot use "
            "two cores); more than 1 needs FAGCHAT_LOCK_STORE=sqlite or redis.",
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
            "sqlite",
            "Lock store: 'sqlite' (FAGCHAT_VAR_DIR/locks.db) for the Rasa workers of one machine, "
            "'redis' for several machines, 'memory' for exactly one Rasa process.",
        ),
        Setting("FAGCHAT_REDIS_URL", "redis://127.0.0.1:6379/0", "Redis for the lock store."),
        Setting("FAGCHAT_MAX_MESSAGE_CHARS", "1000", "Longest user message accepted."),
        Setting("FAGCHAT_MAX_BODY_BYTES", "65536", "Largest request body; larger gets 413."),
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
            "FAGCHAT_CHAT_RATE_PER_MINUTE",
            "60",
            "Chat messages and 👍/👎 one client address may send per minute through the web "
            "process, on average; more get 429 (0: no limit).",
        ),
        Setting(
            "FAGCHAT_CHAT_RATE_BURST",
            "30",
            "Chat requests one client address may send at once before the per-minute rate applies.",
        ),
        Setting(
            "FAGCHAT_WEB_TRUSTED_PROXIES",
            "",
            "Comma-separated addresses or CIDR ranges of reverse proxies in front of the web "
            "process; their X-Forwarded-For names the client (empty: the header is ignored).",
        ),
        Setting(
            "FAGCHAT_HOLDING_SECONDS",
            "4",
            "Seconds the chat channel waits for the bot before it sends a holding answer "
            "with the contact details; the real answer follows with the next message.",
        ),
        Setting("FAGCHAT_LOG_LEVEL", "INFO", "Log level of Fagchat's own loggers."),
        Setting(
            "FAGCHAT_LOG_FORMAT",
            "text",
            "Log lines of every process: 'text', or 'json' for one JSON object per line (time, "
            "level, logger, process, pid, message), redacted the same way.",
        ),
        Setting(
            "FAGCHAT_METRICS_PORT",
            "9464",
            "Port on 127.0.0.1 (never another address) where one Fagchat process of the machine "
            "serves the Prometheus metrics of all of them; 0: not served (counts are still kept).",
        ),
        Setting("FAGCHAT_RETENTION_DAYS", "90", "Conversations older than this are purged."),
        Setting("FAGCHAT_VAR_DIR", "var", "Runtime data: database, logs, run files."),
        Setting(
            "FAGCHAT_BACKUP_DIR",
            "var/backups",
            "Folder of `make backup`'s backups, one timestamped folder each (relative to the "
            "repository root); copy it off the machine.",
        ),
        Setting(
            "FAGCHAT_BACKUP_KEEP",
            "14",
            "Backups kept: after a successful `make backup` older ones are deleted (0: keep all).",
        ),
        Setting(
            "FAGCHAT_MODEL",
            "models/fagchat.tar.gz",
            "Trained model the Rasa server loads (relative to the repository root); `make train` writes the default.",
        ),
        Setting(
            "FAGCHAT_ENCODER_THREADS",
            "1",
            "CPU threads of the sentence encoder in each Rasa process; 1 suits several "
            "conversations at once, 2 gives a single conversation lower latency.",
        ),
        # Models trained in the staff app, their gates and the model server (docs/staff.md)
        Setting(
            "FAGCHAT_MODEL_SERVER_URL",
            "",
            "Where Rasa pulls the approved model from (Rasa's model server: endpoints `models:`); "
            "'staff' means this machine's staff app (/model/current.tar.gz). Empty: Rasa loads "
            "FAGCHAT_MODEL and models approved in the staff app do not reach it.",
        ),
        Setting(
            "FAGCHAT_MODEL_PULL_SECONDS",
            "30",
            "Seconds between Rasa's requests to the model server (wait_time_between_pulls); "
            "an unchanged model costs one 304 answer.",
        ),
        Setting(
            "FAGCHAT_MODEL_SERVER_ALLOW",
            "127.0.0.1,::1",
            "Comma-separated addresses or CIDR ranges that may fetch the approved model from the "
            "staff app's /model/current.tar.gz (no login there); others get 403.",
        ),
        Setting(
            "FAGCHAT_TRAIN_CROSSVAL_FOLDS",
            "5",
            "Cross-validation folds of a candidate model trained in the staff app (about 2 min a "
            "fold on 2 cores); 0 skips that gate, and the page says so.",
        ),
        Setting(
            "FAGCHAT_TRAIN_TOP1_MARGIN",
            "0.01",
            "How far a candidate's held-out top-1 may fall below the active model's, per set, before it is refused.",
        ),
        Setting(
            "FAGCHAT_TRAIN_F1_MARGIN",
            "0.01",
            "How far a candidate's cross-validation macro-F1 may fall below the active model's before it is refused.",
        ),
        Setting(
            "FAGCHAT_TRAIN_EVAL_SAMPLE",
            "0",
            "Messages measured per safety and held-out set when a candidate is gated (spread "
            "evenly over the set); 0 measures every message (about 2-3 min a model).",
        ),
        # Staff review app (fagchat/staff, docs/staff.md)
        Setting(
            "FAGCHAT_STAFF_SECURE_COOKIE",
            "1",
            "Marks the staff cookies Secure and sends HSTS; 0 only for plain-HTTP development "
            "on this machine (`make run` sets 0 unless it is set).",
        ),
        Setting("FAGCHAT_STAFF_SESSION_MINUTES", "480", "Staff login lifetime in minutes, however active."),
        Setting(
            "FAGCHAT_STAFF_IDLE_MINUTES",
            "30",
            "A staff login ends after this many minutes without a request.",
        ),
        Setting(
            "FAGCHAT_STAFF_LOCKOUT_ATTEMPTS",
            "5",
            "Failed staff logins for one user name from one client address before it must wait; "
            "each further failure doubles the wait.",
        ),
        Setting(
            "FAGCHAT_STAFF_LOCKOUT_MINUTES",
            "15",
            "First wait in minutes after FAGCHAT_STAFF_LOCKOUT_ATTEMPTS failures (then 30, 60, ... "
            "up to a day); also the window of FAGCHAT_STAFF_ADDRESS_FAILURES.",
        ),
        Setting(
            "FAGCHAT_STAFF_ADDRESS_FAILURES",
            "20",
            "Failed staff logins from one client address (any user names) within "
            "FAGCHAT_STAFF_LOCKOUT_MINUTES after which that address gets 429.",
        ),
        Setting(
            "FAGCHAT_STAFF_TRUSTED_PROXIES",
            "",
            "Comma-separated addresses or CIDR ranges of reverse proxies in front of the staff "
            "app; X-Forwarded-For is believed only from these (empty: never).",
        ),
        Setting(
            "FAGCHAT_STAFF_HASH_CONCURRENCY",
            "2",
            "Password checks (argon2, 64 MiB each) the staff app runs at once; further logins wait.",
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
