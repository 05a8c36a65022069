"""Lock stores: Rasa's ticket lock, made safe across processes (SQLite on one machine, Redis on many).

Rasa serializes the messages of one conversation with a ticket lock (`rasa.core.lock`).
Its open-source `RedisLockStore` reads the lock, changes it in Python and writes it back
in three separate Redis calls, so two Rasa workers taking a ticket for the same
conversation at the same moment can both get ticket N and process two messages at once
(events lost or interleaved; the atomic variant is Rasa Pro only). This store does each
read-change-write in one optimistic Redis transaction (WATCH/MULTI), polls for its turn
every 50 ms instead of every second, and gives every lock key an expiry so a lock left
behind by a crashed worker or a Redis outage cannot block a conversation for ever.

The same atomic read-change-write on an SQLite file (`FagchatSQLiteLockStore`, one
`BEGIN IMMEDIATE` transaction each) lets several Rasa workers on one machine share the
conversation locks without Redis: the embedded default runs two (`FAGCHAT_LOCK_STORE=sqlite`).

When the store cannot be reached it raises `LockStoreUnavailable`; the chat channel turns
that into a polite Danish message and an ERROR line for the operator (docs/operations.md).

Named in the endpoints file the launcher writes (`FAGCHAT_LOCK_STORE`: memory, sqlite, redis).
"""

import json
import logging
import sqlite3
import time
from contextlib import asynccontextmanager, contextmanager
from typing import Any, AsyncGenerator, Callable, Iterator, Optional, Tuple, TypeVar
from urllib.parse import urlparse

import redis
from rasa.core.lock import TicketLock
from rasa.core.lock_store import (
    DEFAULT_REDIS_LOCK_STORE_KEY_PREFIX,
    LOCK_LIFETIME,
    InMemoryLockStore,
    LockError,
    LockStore,
    RedisLockStore,
)

from fagchat import settings
from fagchat.stores.sqlite_file import SharedSQLite

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.05  # Rasa polls every second: too slow for a burst on one conversation
CONNECT_TIMEOUT = 2.0  # seconds; a dead Redis must fail fast, not hang the request
T = TypeVar("T")


class LockStoreUnavailable(LockError):
    """The lock store (Redis, or the SQLite file) cannot be reached."""


class _PollEvery50ms:
    """Rasa's `lock()`, waiting for our turn every 50 ms instead of every second.

    With Rasa's one-second wait the tenth of ten messages sent at once on one
    conversation waited about ten seconds, and got the holding answer.
    """

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = POLL_SECONDS,
    ) -> AsyncGenerator[TicketLock, None]:
        """Hold the conversation's lock; wait for our turn polling every 50 ms."""
        async with super().lock(conversation_id, lock_lifetime, wait_time_in_seconds) as lock:  # type: ignore[misc]
            yield lock


class FagchatInMemoryLockStore(_PollEvery50ms, InMemoryLockStore):
    """Rasa's in-process lock store (embedded mode, one Rasa process), polling every 50 ms."""

    def __init__(self, endpoint_config: Any = None) -> None:
        """Keep the locks in this process."""
        super().__init__()


class _AtomicTickets:
    """Rasa's ticket operations, each one atomic read-change-write through `_change`.

    Rasa's `LockStore` reads a lock, changes it in Python and saves it in separate calls;
    across processes two workers can then both get ticket N. A subclass gives `_change`,
    which applies a function to the stored lock inside one transaction.
    """

    def _change(self, conversation_id: str, change: Callable[[TicketLock], Tuple[T, bool]]) -> T:
        raise NotImplementedError

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        """Issue the next ticket for `conversation_id`, atomically."""
        return self._change(conversation_id, lambda lock: (lock.issue_ticket(lock_lifetime), True))

    def update_lock(self, conversation_id: str) -> None:
        """Drop expired tickets, atomically."""

        def change(lock: TicketLock) -> Tuple[None, bool]:
            lock.remove_expired_tickets()
            return None, True

        self._change(conversation_id, change)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        """Remove ticket `ticket_number`, atomically."""

        def change(lock: TicketLock) -> Tuple[None, bool]:
            lock.remove_ticket_for(ticket_number)
            return None, True

        self._change(conversation_id, change)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Remove our ticket and the lock itself when nobody waits, in one transaction.

        A failure here comes after the message was processed and saved: it is logged,
        not raised, and the ticket expires by itself.
        """

        def change(lock: TicketLock) -> Tuple[None, bool]:
            lock.remove_ticket_for(ticket_number)
            return None, lock.is_someone_waiting()

        try:
            self._change(conversation_id, change)
        except LockStoreUnavailable:
            logger.error("lock_store.cleanup_failed: the ticket expires after %ss", LOCK_LIFETIME)


class FagchatRedisLockStore(_PollEvery50ms, _AtomicTickets, RedisLockStore):
    """Ticket locks in Redis with atomic updates; safe for several Rasa workers."""

    def __init__(self, endpoint_config: Any = None) -> None:
        """Connect to `FAGCHAT_REDIS_URL` (the endpoints file names only the class)."""
        url = settings.current().str("FAGCHAT_REDIS_URL")
        parsed = urlparse(url)
        # RedisLockStore.__init__ is skipped on purpose: it builds a client without a
        # connect timeout, which this one replaces (fenced in fagchat/rasa_patches.py).
        LockStore.__init__(self)
        self.red = redis.Redis.from_url(url, socket_timeout=CONNECT_TIMEOUT, socket_connect_timeout=CONNECT_TIMEOUT)
        self.key_prefix = f"fagchat:{DEFAULT_REDIS_LOCK_STORE_KEY_PREFIX}"
        logger.info("lock_store.ready backend=redis host=%s port=%s", parsed.hostname, parsed.port)

    # -- atomic read-change-write -------------------------------------------------------

    def _change(self, conversation_id: str, change: Callable[[TicketLock], Tuple[T, bool]]) -> T:
        """Apply `change` to the stored lock in one transaction; it returns (value, keep)."""
        key = self.key_prefix + conversation_id
        result: list = []

        def transaction(pipe: "redis.client.Pipeline") -> None:
            raw = pipe.get(key)
            lock = TicketLock.from_dict(json.loads(raw)) if raw else self.create_lock(conversation_id)
            value, keep = change(lock)
            pipe.multi()
            if keep and lock.tickets:
                # The key outlives its last ticket by a little, then vanishes by itself.
                ttl = max(1, int(max(t.expires for t in lock.tickets) - time.time()) + 5)
                pipe.set(key, lock.dumps(), ex=ttl)
            else:
                pipe.delete(key)
            result[:] = [value]

        try:
            self.red.transaction(transaction, key)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            logger.error("lock_store.unavailable backend=redis error=%s", type(exc).__name__)
            raise LockStoreUnavailable("The lock store (Redis) cannot be reached.") from exc
        return result[0]

    def get_lock(self, conversation_id: str) -> Optional[TicketLock]:
        """Read the lock; a Redis failure raises `LockStoreUnavailable`."""
        try:
            return super().get_lock(conversation_id)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            logger.error("lock_store.unavailable backend=redis error=%s", type(exc).__name__)
            raise LockStoreUnavailable("The lock store (Redis) cannot be reached.") from exc


class FagchatSQLiteLockStore(_PollEvery50ms, _AtomicTickets, LockStore):
    """Ticket locks in an SQLite file, safe for several Rasa workers on one machine.

    Each change is one `BEGIN IMMEDIATE` transaction, which SQLite serializes across
    processes (about 1.3 ms per message for ticket, check and clean-up, with three
    processes hammering the file at once). The file lives in FAGCHAT_VAR_DIR, apart from the conversations, so lock
    traffic never waits for a tracker write. A lock row outlives its last ticket by a
    few seconds and is swept when the next ticket is issued, so a worker that crashed
    holding a ticket cannot block its conversation for longer than the ticket's lifetime.
    """

    SCHEMA = (
        "CREATE TABLE IF NOT EXISTS ticket_locks "
        "(conversation_id TEXT PRIMARY KEY, data TEXT NOT NULL, expires REAL NOT NULL)",
    )

    def __init__(self, endpoint_config: Any = None) -> None:
        """Use FAGCHAT_VAR_DIR/locks.db (created with its table when missing)."""
        LockStore.__init__(self)
        self.path = settings.current().path("FAGCHAT_VAR_DIR") / "locks.db"
        # synchronous=NORMAL: a lock need not survive a power cut.
        self.file = SharedSQLite(self.path, self.SCHEMA, ("PRAGMA synchronous=NORMAL",))
        logger.info("lock_store.ready backend=sqlite")

    @contextmanager
    def _guard(self, transaction: bool = False) -> Iterator[sqlite3.Connection]:
        try:
            if transaction:
                with self.file.immediate() as db:
                    yield db
            else:
                yield self.file.connection()
        except sqlite3.Error as exc:
            logger.error("lock_store.unavailable backend=sqlite error=%s", type(exc).__name__)
            raise LockStoreUnavailable("The lock store (SQLite) cannot be used.") from exc

    def _change(self, conversation_id: str, change: Callable[[TicketLock], Tuple[T, bool]]) -> T:
        """Apply `change` to the stored lock in one IMMEDIATE transaction."""
        with self._guard(transaction=True) as db:
            now = time.time()
            db.execute("DELETE FROM ticket_locks WHERE expires < ?", (now,))
            row = db.execute("SELECT data FROM ticket_locks WHERE conversation_id = ?", (conversation_id,)).fetchone()
            lock = TicketLock.from_dict(json.loads(row[0])) if row else self.create_lock(conversation_id)
            value, keep = change(lock)
            if keep and lock.tickets:
                expires = max(t.expires for t in lock.tickets) + 5
                db.execute(
                    "INSERT OR REPLACE INTO ticket_locks (conversation_id, data, expires) VALUES (?, ?, ?)",
                    (conversation_id, lock.dumps(), expires),
                )
            else:
                db.execute("DELETE FROM ticket_locks WHERE conversation_id = ?", (conversation_id,))
        return value

    def get_lock(self, conversation_id: str) -> Optional[TicketLock]:
        """Read the lock (None when there is none)."""
        with self._guard() as db:
            row = db.execute("SELECT data FROM ticket_locks WHERE conversation_id = ?", (conversation_id,)).fetchone()
        return TicketLock.from_dict(json.loads(row[0])) if row else None

    def delete_lock(self, conversation_id: str) -> None:
        """Remove the lock."""
        self._change(conversation_id, lambda lock: (None, False))

    def save_lock(self, lock: TicketLock) -> None:
        """Store `lock` as it is (Rasa's non-atomic path; ours go through `_change`)."""

        def change(stored: TicketLock) -> Tuple[None, bool]:
            stored.tickets = lock.tickets
            return None, True

        self._change(lock.conversation_id, change)
