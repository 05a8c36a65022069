"""An SQLite file shared by the Rasa workers on one machine (the conversation locks, late answers).

Each process opens its own connection (Sanic forks its workers after the stores exist) in
WAL mode, and each change is one `BEGIN IMMEDIATE` transaction, which SQLite serializes
across processes: a read-change-write is atomic however many workers share the file.
"""

import os
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional, Sequence


class SharedSQLite:
    """The file at `path` with its tables (`schema`: statements run once per connection)."""

    BUSY_TIMEOUT = 5.0  # seconds SQLite waits for another worker's transaction

    def __init__(self, path: Path, schema: Sequence[str], pragmas: Sequence[str] = ()) -> None:
        """Remember where and what; nothing is opened before the first use."""
        self.path, self.schema, self.pragmas = path, schema, pragmas
        self._db: Optional[sqlite3.Connection] = None
        self._pid = 0

    def connection(self) -> sqlite3.Connection:
        """This process's connection (opened, and the tables created, at the first call)."""
        if self._db is None or self._pid != os.getpid():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=self.BUSY_TIMEOUT, isolation_level=None, check_same_thread=False)
            for statement in ("PRAGMA journal_mode=WAL", *self.pragmas, *self.schema):
                db.execute(statement)
            self._db, self._pid = db, os.getpid()
        return self._db

    @contextmanager
    def immediate(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction: committed at the end, rolled back on any error."""
        db = self.connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
