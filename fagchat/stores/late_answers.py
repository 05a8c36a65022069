"""Late answers: a slow turn's answer, kept until the user's next message reaches any Rasa worker.

When a message takes longer than the holding time, the user gets a holding answer and the
real answer goes out with their next message (fagchat/channel/turns.py). The default runs
two Rasa workers on one port, and the next message may well reach the other one, so the
answer is kept where every worker of the deployment sees it: beside the conversation locks
(FAGCHAT_LOCK_STORE) - in this process (`memory`, one worker), in a table of the SQLite lock
file (`sqlite`), or in Redis (`redis`).

A conversation's answers are kept in the order their turns finished (the conversation lock
orders the turns) for TTL seconds, and taken out in one atomic step, so two workers never
deliver the same answer twice. Only the bot's own messages are kept: they never quote the
user (fagchat/stores/tracker_store.py stores them unredacted for the same reason).

A store that cannot be reached loses the late answer, never the conversation: an ERROR line
names the backend and the user's next message is answered as usual.
"""

import json
import logging
import sqlite3
import time
from pathlib import Path
from typing import Any, Dict, List, Tuple

import redis

from fagchat import settings
from fagchat.stores.sqlite_file import SharedSQLite

logger = logging.getLogger(__name__)

TTL = 600.0  # seconds an undelivered late answer is kept for the next message
Messages = List[Dict[str, Any]]
STORE_ERRORS = (sqlite3.Error, OSError, redis.exceptions.RedisError)  # OSError: the folder


class MemoryLateAnswers:
    """Late answers in this process: right for one Rasa worker (FAGCHAT_LOCK_STORE=memory)."""

    def __init__(self, ttl: float = TTL) -> None:
        """Keep answers for `ttl` seconds."""
        self.ttl = ttl
        self._kept: Dict[str, List[Tuple[float, Messages]]] = {}
        self._swept = time.monotonic()

    def put(self, sender: str, messages: Messages) -> None:
        """Keep `messages` for `sender`'s next message."""
        now = time.monotonic()
        if now - self._swept > 60:  # answers nobody came back for go, so memory stays bounded
            self._kept = {s: [k for k in kept if k[0] > now] for s, kept in self._kept.items()}
            self._kept = {s: kept for s, kept in self._kept.items() if kept}
            self._swept = now
        self._kept.setdefault(sender, []).append((now + self.ttl, messages))

    def take(self, sender: str) -> Messages:
        """The kept messages of `sender`, oldest first, now removed."""
        now = time.monotonic()
        return [m for expires, messages in self._kept.pop(sender, []) if expires > now for m in messages]


class SQLiteLateAnswers:
    """Late answers in FAGCHAT_VAR_DIR/locks.db, shared by the Rasa workers on one machine."""

    SCHEMA = (
        "CREATE TABLE IF NOT EXISTS late_answers (id INTEGER PRIMARY KEY AUTOINCREMENT, "
        "conversation_id TEXT NOT NULL, data TEXT NOT NULL, expires REAL NOT NULL)",
        "CREATE INDEX IF NOT EXISTS late_answers_conversation ON late_answers (conversation_id)",
    )

    def __init__(self, path: Path, ttl: float = TTL) -> None:
        """Use the SQLite file at `path` (created with its table when missing)."""
        self.file, self.ttl = SharedSQLite(path, self.SCHEMA), ttl

    def put(self, sender: str, messages: Messages) -> None:
        """Keep `messages` for `sender`'s next message (and drop what nobody came back for)."""
        with self.file.immediate() as db:
            db.execute("DELETE FROM late_answers WHERE expires < ?", (time.time(),))
            db.execute(
                "INSERT INTO late_answers (conversation_id, data, expires) VALUES (?, ?, ?)",
                (sender, json.dumps(messages), time.time() + self.ttl),
            )

    def take(self, sender: str) -> Messages:
        """The kept messages of `sender`, oldest first, removed in the same transaction."""
        # Every message asks, and almost always nothing waits: a plain read (WAL readers take
        # no lock) spares the write lock the lock store needs too. A late answer saved just
        # after this look goes out with the message after.
        if (
            self.file.connection()
            .execute("SELECT 1 FROM late_answers WHERE conversation_id = ? LIMIT 1", (sender,))
            .fetchone()
            is None
        ):
            return []
        with self.file.immediate() as db:
            rows = db.execute(
                "SELECT data FROM late_answers WHERE conversation_id = ? AND expires >= ? ORDER BY id",
                (sender, time.time()),
            ).fetchall()
            db.execute("DELETE FROM late_answers WHERE conversation_id = ?", (sender,))
        return [m for (data,) in rows for m in json.loads(data)]


class RedisLateAnswers:
    """Late answers in Redis, shared by Rasa workers on several machines."""

    CONNECT_TIMEOUT = 2.0  # seconds; a dead Redis must fail fast, not hang the request

    def __init__(self, url: str, ttl: float = TTL) -> None:
        """Connect to the Redis at `url`."""
        self.ttl = ttl
        self.red = redis.Redis.from_url(
            url, socket_timeout=self.CONNECT_TIMEOUT, socket_connect_timeout=self.CONNECT_TIMEOUT
        )

    @staticmethod
    def _key(sender: str) -> str:
        return f"fagchat:late:{sender}"

    def put(self, sender: str, messages: Messages) -> None:
        """Keep `messages` for `sender`'s next message (each entry carries its own expiry)."""
        entry = json.dumps({"expires": time.time() + self.ttl, "messages": messages})
        pipe = self.red.pipeline(transaction=True)
        pipe.rpush(self._key(sender), entry)
        pipe.expire(self._key(sender), int(self.ttl) + 1)
        pipe.execute()

    def take(self, sender: str) -> Messages:
        """The kept messages of `sender`, oldest first, read and removed in one transaction."""
        pipe = self.red.pipeline(transaction=True)
        pipe.lrange(self._key(sender), 0, -1)
        pipe.delete(self._key(sender))
        entries = [json.loads(raw) for raw in pipe.execute()[0]]
        now = time.time()
        return [m for entry in entries if entry["expires"] >= now for m in entry["messages"]]


class LateAnswers:
    """The late answers of this deployment, in the store FAGCHAT_LOCK_STORE names; never raises."""

    def __init__(self, backend: Any, name: str) -> None:
        """Wrap `backend` (one of the classes above), called `name` in log lines."""
        self.backend, self.name = backend, name

    @classmethod
    def configured(cls) -> "LateAnswers":
        """The store beside the configured lock store (read from the settings once)."""
        env = settings.current()
        kind = env.str("FAGCHAT_LOCK_STORE")
        if kind == "sqlite":
            return cls(SQLiteLateAnswers(env.path("FAGCHAT_VAR_DIR") / "locks.db"), kind)
        if kind == "redis":
            return cls(RedisLateAnswers(env.str("FAGCHAT_REDIS_URL")), kind)
        return cls(MemoryLateAnswers(), "memory")

    def put(self, sender: str, messages: Messages) -> bool:
        """Keep `messages` for `sender`'s next message; False (and an ERROR line) when lost."""
        try:
            self.backend.put(sender, messages)
        except STORE_ERRORS as exc:
            logger.error(
                "late_answers.unavailable backend=%s error=%s: a late answer is lost", self.name, type(exc).__name__
            )
            return False
        return True

    def take(self, sender: str) -> Messages:
        """The late messages kept for `sender`, oldest first (none when the store fails)."""
        try:
            return self.backend.take(sender)
        except STORE_ERRORS as exc:
            logger.error("late_answers.unavailable backend=%s error=%s", self.name, type(exc).__name__)
            return []
