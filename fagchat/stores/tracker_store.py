"""The tracker store Rasa writes conversations to: SQL, with personal data redacted.

Named in `endpoints.yml`. The database comes from the `FAGCHAT_DB_URL` setting (an SQLite
file by default, PostgreSQL with the same code), and every event is redacted on its way
into the database: the redaction sits where Rasa writes, so no code path can store raw
CPR numbers, phone numbers or e-mail addresses (staff-review issue).

It also fails loudly. Rasa wraps every tracker store in `FailSafeTrackerStore`, which on a
database error logs and carries on with an in-memory store: the conversation then starts
afresh, vanishes at the next restart and never reaches the staff app. Here a database
error becomes `TrackerStoreUnavailable` (with an ERROR line naming the backend), and
patch 2 of fagchat/rasa_patches.py makes the wrapper re-raise it instead of falling back;
the chat channel answers the user with a polite Danish message and the contact details. PostgreSQL
connections are checked before use (`pool_pre_ping`), so the first message after the
database comes back works (docs/operations.md).
"""

import contextlib
import logging
from pathlib import Path
from typing import Any, Generator, Iterator, Optional

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, Event
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.engine.url import make_url

from fagchat import rasa_patches, settings
from fagchat.stores.redaction import redact_value

logger = logging.getLogger(__name__)

PG_CONNECT_TIMEOUT = 5  # seconds; an unreachable host must not hang a chat request


class TrackerStoreUnavailable(Exception):
    """The tracker database cannot be read or written; nothing was stored."""


def _driver_detail(exc: Exception) -> str:
    """The driver's first line for a connection error (refused, timeout), else "-".

    Only for these: other errors can quote the statement's parameters (user text).
    """
    if not isinstance(exc, (sa.exc.OperationalError, sa.exc.InterfaceError)):
        return "-"
    lines = str(getattr(exc, "orig", "") or "").strip().splitlines()
    return lines[0][:200] if lines else "-"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def redact_event(event: Event) -> Event:
    """Return a copy of `event` with personal data in its text fields redacted.

    Bot messages are left as they are: they are our own text (the centre's phone number
    would otherwise turn into [TELEFON]) and never quote the user.
    """
    if isinstance(event, BotUttered):
        return event
    data = event.as_dict()
    redacted = redact_value(data)
    return event if redacted == data else Event.from_parameters(redacted)


class RedactingSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore on `FAGCHAT_DB_URL` that redacts every event before it is stored."""

    def __init__(self, domain: Optional[Domain] = None, **kwargs: Any) -> None:
        """Connect to the configured database (an SQLite file's folder is created)."""
        # Rasa passes the endpoint's url/host/... keys too; the setting is the one source.
        url = make_url(kwargs.pop("url", None) or settings.current().str("FAGCHAT_DB_URL"))
        for key in ("host", "port", "db", "dialect", "username", "password", "login_db", "query"):
            kwargs.pop(key, None)
        if url.get_backend_name() == "sqlite" and url.database:
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        super().__init__(
            domain=domain,
            dialect=url.drivername,
            host=url.host,
            port=url.port,
            db=url.database or "",
            username=url.username,
            password=url.password,
            query=dict(url.query) or None,
            **kwargs,
        )
        self.backend = url.get_backend_name()
        if self.backend == "postgresql":
            rasa_patches.rebuild_engine(self, PG_CONNECT_TIMEOUT)
        elif self.backend == "sqlite":
            # Two Rasa workers (the default) and the staff app share the file: in WAL mode
            # readers never wait for the writer, and a writer waits up to 5 s for another.
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            with self.engine.connect() as connection:
                _sqlite_pragmas(connection.connection, None)
        logger.info("tracker_store.ready backend=%s", self.backend)

    @contextlib.contextmanager
    def session_scope(self) -> Generator[Any, None, None]:
        """A database session; any database error becomes `TrackerStoreUnavailable`."""
        try:
            with super().session_scope() as session:
                yield session
        except sa.exc.SQLAlchemyError as exc:
            logger.error(
                "tracker_store.unavailable backend=%s error=%s detail=%s: the message was NOT stored",
                self.backend,
                type(exc).__name__,
                _driver_detail(exc),
            )
            raise TrackerStoreUnavailable(f"tracker database ({self.backend}) unavailable") from exc

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator[Event]:
        """Yield the not yet stored events, redacted."""
        for event in super()._additional_events(session, tracker):
            yield redact_event(event)
