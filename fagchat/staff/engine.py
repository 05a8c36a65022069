"""Opening the database: one engine per process, each statement capped in time.

SQLite gets a progress handler that interrupts a statement running past the cap (the way
datasette caps queries); PostgreSQL gets `statement_timeout`. Before the engine is handed
out, `db_migrations.migrate` brings the tables to this release's schema: a new database gets
ours and Rasa's `events` in Rasa's exact shape (see `schema`), an older one the numbered
steps it lacks, and a newer one is refused.
"""

import math
import time
from typing import Any, Iterator, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from fagchat.staff import db_migrations

CHUNK = 500  # most values bound in one IN (...) list


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    """Split `items` into slices of at most `size` (for IN lists)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def connect(url: str, timeout_ms: int = 5000) -> Engine:
    """Open the database at `url`, cap each statement at `timeout_ms`, migrate its tables."""
    db_migrations.migrate(url)  # creates an SQLite file's folder, too
    parsed = sa.engine.make_url(url)
    sqlite = parsed.get_backend_name() == "sqlite"
    if sqlite:
        args: dict = {"timeout": 15}  # wait for Rasa's write lock rather than fail
    else:
        args = {"options": f"-c statement_timeout={int(timeout_ms)}"}
    engine = sa.create_engine(parsed, connect_args=args, future=True)
    if sqlite:
        _cap_sqlite(engine, timeout_ms / 1000)
    return engine


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
