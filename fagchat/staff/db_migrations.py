"""Versioned migrations of the staff app's tables: numbered steps, each in one transaction.

    python -m fagchat.staff migrate      # also runs at every start of the app and its commands

`staff_schema_version` holds one row per version applied; the highest is the version of
the database. A database without staff tables gets today's tables at once (every version
recorded); one with staff tables but no version row is from before versioning and counts
as version 1, the first release (tests/staff_schema_v1.sql). Each later step checks
before it changes anything, so it does nothing on a database that has the change already
(the builds between the first release and versioning added columns on their own).
A database newer than the code is refused (`SchemaTooNew`): older code must not write to
tables whose meaning it does not know. Rasa's `events` table is Rasa's and never migrated.

Each step runs in its own transaction with the version row it records: SQLite under
`BEGIN IMMEDIATE` (the write lock; SQLite's DDL is transactional), PostgreSQL under a
transaction-scoped advisory lock. The version is read again under the lock, so the app
and a command starting at the same moment apply each step once.

Why not Alembic: it is not among Rasa's dependencies (a new package, its own environment
script and ini file) and would see Rasa's `events` table as a stranger to drop. Three
things are needed here: a version, numbered steps in transactions, a refusal of newer
databases; about a hundred lines do that.
"""

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from fagchat.staff import schema

logger = logging.getLogger(__name__)

BASELINE = 1  # the first release's tables, before versioning
LOCK_KEY = 0x66616763  # any constant shared by every Fagchat process ("fagc")


class SchemaTooNew(RuntimeError):
    """The database's staff tables are newer than this code: nothing was changed."""

    def __init__(self, found: int, known: int) -> None:
        """Say which versions differ and what to do, in English and Danish."""
        super().__init__(
            f"The staff tables in the database are at schema version {found}, newer than this "
            f"Fagchat knows ({known}): upgrade Fagchat to the release that wrote them, or restore "
            f"a backup made with this release. Nothing was changed. / Databasens personaletabeller "
            f"har skemaversion {found}, nyere end denne Fagchat ({known}): opgrader Fagchat; "
            f"intet er ændret."
        )
        self.found, self.known = found, known


@dataclass(frozen=True)
class Step:
    """One numbered change of the staff tables; `apply` must do nothing when it is there."""

    version: int
    name: str
    apply: Callable[[Connection], None]


def _add_column(conn: Connection, table: sa.Table, name: str) -> None:
    """Add `table.name` as schema.py declares it, unless the table has it."""
    column = table.c[name]
    if name in {c["name"] for c in sa.inspect(conn).get_columns(table.name)}:
        return
    if not column.nullable and column.server_default is None:
        raise RuntimeError(f"{table.name}.{name}: a column added to existing rows needs NULL or a default")
    ddl = sa.schema.CreateColumn(column).compile(dialect=conn.dialect)
    conn.exec_driver_sql(f"ALTER TABLE {table.name} ADD COLUMN {ddl}")


def _idle_timeout_and_login_guard(conn: Connection) -> None:
    """Sessions remember their last request; login attempts lock a row per name and address."""
    _add_column(conn, schema.sessions, "last_seen")
    schema.login_guard.create(conn, checkfirst=True)  # with its index


def _suggestions(conn: Connection) -> None:
    """Messages that need a decision get a vector and a group of similar ones (suggestions.py)."""
    schema.suggestions.create(conn, checkfirst=True)  # with its indexes


def _admin_flag(conn: Connection) -> None:
    """Accounts get the admin flag (models trained in the staff app)."""
    _add_column(conn, schema.users, "admin")


def _after_alarm_marks(conn: Connection) -> None:
    """Older conversations get the new 'after_112' marks (schema.MARK_AFTER_ALARM): the
    indexer starts again from the first event and recomputes every conversation in place.
    No column is added (staff_marks.kind is free text) and the inbox keeps its rows meanwhile."""
    conn.execute(schema.state.delete().where(schema.state.c.key == schema.INDEXER_CURSOR))


STEPS: Tuple[Step, ...] = (
    Step(2, "staff_sessions.last_seen, staff_login_guard (issue 12)", _idle_timeout_and_login_guard),
    Step(3, "staff_suggestions (grouped suggestions in the review queue, issue 15)", _suggestions),
    Step(4, "staff_users.admin (models trained in the staff app)", _admin_flag),
    Step(5, "staff_marks 'after_112': summaries recomputed (issue 10)", _after_alarm_marks),
)
LATEST = STEPS[-1].version


def current_version(conn: Connection) -> Optional[int]:
    """The database's staff schema version: None without staff tables, 1 before versioning."""
    names = set(sa.inspect(conn).get_table_names())
    if schema.schema_version.name in names:
        found = conn.scalar(sa.select(sa.func.max(schema.schema_version.c.version)))
        if found:
            return int(found)
    return BASELINE if any(n.startswith("staff_") and n != schema.schema_version.name for n in names) else None


def migrate(url: str, steps: Sequence[Step] = STEPS) -> Tuple[Optional[int], int]:
    """Bring the staff tables at `url` to the newest of `steps`.

    Returns:
        The version before (None: there were no staff tables) and after.

    Raises:
        SchemaTooNew: the database is newer than `steps` know; nothing was changed.
    """
    latest = steps[-1].version if steps else BASELINE
    engine = _engine(url)
    try:
        with engine.connect() as conn:  # without a lock: the usual case is "nothing to do"
            before = current_version(conn)
        _check(before, latest)
        if before == latest:
            return before, latest
        while True:
            with engine.begin() as conn:
                _lock(conn)
                version = _prepare(conn, latest)
                step = next((s for s in steps if s.version > version), None)
                if step is None:
                    return before, version
                step.apply(conn)
                _record(conn, step.version, step.name)
            logger.info("staff.migrated version=%d step=%r", step.version, step.name)
    finally:
        engine.dispose()


def _check(found: Optional[int], latest: int) -> None:
    if found is not None and found > latest:
        logger.error("staff.schema_too_new database=%d code=%d: nothing changed", found, latest)
        raise SchemaTooNew(found, latest)


def _prepare(conn: Connection, latest: int) -> int:
    """Under the lock: the version now, after creating the tables of a new database."""
    found = current_version(conn)
    _check(found, latest)
    schema.schema_version.create(conn, checkfirst=True)
    if found is None:
        schema.metadata.create_all(conn)  # today's tables are every version at once
        for version in range(BASELINE, latest + 1):
            _record(conn, version, "created at this version" if version == latest else "included")
        logger.info("staff.schema_created version=%d", latest)
        return latest
    if not conn.scalar(sa.select(sa.func.count()).select_from(schema.schema_version)):
        _record(conn, BASELINE, "first release (before versioning)")
    return found


def _record(conn: Connection, version: int, name: str) -> None:
    conn.execute(schema.schema_version.insert().values(version=version, name=name[:255], applied_at=time.time()))


def _lock(conn: Connection) -> None:
    """Serialise migrations across processes for the rest of this transaction."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    elif conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})


def _engine(url: str) -> Engine:
    """A short-lived engine for migrating: on SQLite, transactions begun by us."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return sa.create_engine(parsed, poolclass=NullPool, future=True)
    if parsed.database:
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    # timeout: wait for Rasa's write lock rather than fail.
    engine = sa.create_engine(parsed, connect_args={"timeout": 30}, poolclass=NullPool, future=True)

    @sa.event.listens_for(engine, "connect")
    def _own_transactions(dbapi_conn: object, record: object) -> None:
        # Python's sqlite3 begins transactions only before INSERT/UPDATE/DELETE (DDL would
        # commit on its own): it is told to leave them to us, and _lock sends BEGIN IMMEDIATE.
        dbapi_conn.isolation_level = None  # type: ignore[attr-defined]

    return engine
