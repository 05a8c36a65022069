"""Opening the database: one engine per process, each statement capped in time.

SQLite gets a progress handler that interrupts a statement running past the cap (the way
datasette caps queries); PostgreSQL gets `statement_timeout`. Missing tables are created:
ours, and Rasa's `events` in Rasa's exact shape (see `schema`); so are indexes and columns
added to our tables since a database was made (the upgrade of an existing database).
"""

import math
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from fagchat.staff.schema import metadata

CHUNK = 500  # most values bound in one IN (...) list


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    """Split `items` into slices of at most `size` (for IN lists)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def connect(url: str, timeout_ms: int = 5000) -> Engine:
    """Open the database at `url`, cap each statement at `timeout_ms`, create tables."""
    parsed = sa.engine.make_url(url)
    sqlite = parsed.get_backend_name() == "sqlite"
    if sqlite and parsed.database:
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    if sqlite:
        args: dict = {"timeout": 15}  # wait for Rasa's write lock rather than fail
    else:
        args = {"options": f"-c statement_timeout={int(timeout_ms)}"}
    engine = sa.create_engine(parsed, connect_args=args, future=True)
    if sqlite:
        _cap_sqlite(engine, timeout_ms / 1000)
    metadata.create_all(engine)
    _add_columns(engine)
    for table in metadata.sorted_tables:  # indexes added since a table was created
        for index in table.indexes:
            index.create(engine, checkfirst=True)
    return engine


def _add_columns(engine: Engine) -> None:
    """Add the columns our tables gained since the database was made (each nullable)."""
    inspector = sa.inspect(engine)
    for table in metadata.sorted_tables:
        if not table.name.startswith("staff_"):
            continue  # Rasa's events table is Rasa's
        have = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in have:
                continue
            if not column.nullable:
                raise RuntimeError(f"{table.name}.{column.name}: a column added later must be nullable")
            ddl = sa.schema.CreateColumn(column).compile(dialect=engine.dialect)
            try:
                with engine.begin() as conn:
                    conn.exec_driver_sql(f"ALTER TABLE {table.name} ADD COLUMN {ddl}")
            except sa.exc.DBAPIError:
                # Another process (the app, a command) added it at the same moment.
                if column.name not in {c["name"] for c in sa.inspect(engine).get_columns(table.name)}:
                    raise


def _cap_sqlite(engine: Engine, seconds: float) -> None:
    """Interrupt an SQLite statement that runs longer than `seconds`."""

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, record: Any) -> None:
        deadline = record.info["deadline"] = [math.inf]
        dbapi_conn.set_progress_handler(lambda: time.monotonic() > deadline[0], 10000)

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _start(conn: Connection, *args: Any) -> None:
        conn.info["deadline"][0] = time.monotonic() + seconds

    @sa.event.listens_for(engine, "after_cursor_execute")
    def _stop(conn: Connection, *args: Any) -> None:
        conn.info["deadline"][0] = math.inf
