"""Copying Fagchat's database to one file and back, consistently while Fagchat runs.

SQLite: the online backup API (`sqlite3.Connection.backup`) copies every page in one step,
so under one read transaction. In WAL mode (the tracker store sets it) a reader sees one
committed moment and never blocks a writer: Rasa's workers and the staff app keep writing
while the copy is made, and the copy holds exactly the transactions committed before it
began. The copy is switched to `journal_mode=DELETE` (one self-contained file) and must
pass `PRAGMA integrity_check`. A restore uses the same API the other way round, so it also
works on a file that has a WAL.

PostgreSQL: `pg_dump -Fc` (one snapshot of the whole database, compressed) and `pg_restore`
in one transaction. The rows per table for the manifest are counted in the very snapshot
pg_dump copies (`pg_export_snapshot()` and `--snapshot`), so they describe the dump exactly.
The client programs come from Debian's postgresql-client, installed when missing.

Error messages carry table names and counts, never stored text (the tools' DETAIL lines,
which can quote key values, are dropped).
"""

import glob
import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from fagchat import settings
from fagchat.run.services import _apt_install
from fagchat.staff import db_migrations, schema
from fagchat.stores.redaction import redact

BACKENDS = ("sqlite", "postgresql")
# What a restore's target holds per table, and the staff schema version.
Contents = Tuple[Dict[str, int], Optional[int]]


class BackupError(Exception):
    """A backup or restore step failed; the message says which and why (no stored text)."""


def backend(url: str) -> str:
    """The database kind of `url`: sqlite or postgresql."""
    kind = sa.engine.make_url(url).get_backend_name()
    if kind not in BACKENDS:
        raise BackupError(f"Cannot back up a {kind} database (only SQLite and PostgreSQL).")
    return kind


def sqlite_path(url: str) -> Path:
    """The file of an SQLite URL; a relative path is relative to the repository root (Rasa's cwd)."""
    database = sa.engine.make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("The SQLite URL names no file.")
    return settings.ROOT / database


def contents(conn: Connection) -> Contents:
    """Rows per table (every table, Rasa's included) and the staff schema version."""
    preparer = conn.dialect.identifier_preparer
    counts = {
        name: int(conn.scalar(sa.text(f"SELECT count(*) FROM {preparer.quote(name)}")))
        for name in sorted(sa.inspect(conn).get_table_names())
    }
    return counts, db_migrations.current_version(conn)


def read_contents(url: str) -> Contents:
    """`contents` of the database at `url`."""
    engine = sa.create_engine(url, poolclass=NullPool, future=True)
    try:
        with engine.connect() as conn:
            return contents(conn)
    except sa.exc.OperationalError as error:
        hint = " (does the database exist? createdb makes it)" if backend(url) == "postgresql" else ""
        raise BackupError(f"Cannot open {hidden_url(url)}: {type(error.orig).__name__}{hint}") from None
    finally:
        engine.dispose()


def filled_tables(url: str) -> List[str]:
    """The tables of the database at `url` that hold rows (a missing SQLite file has none).

    The schema version is bookkeeping, not data: a staff app started once on a new machine
    leaves the database empty in this sense.
    """
    if backend(url) == "sqlite" and not sqlite_path(url).exists():
        return []
    ignored = schema.schema_version.name
    return [name for name, rows in read_contents(url)[0].items() if rows and name != ignored]


def hidden_url(url: str) -> str:
    """`url` with its password masked, for messages and the manifest."""
    return sa.engine.make_url(url).render_as_string(hide_password=True)


# --- SQLite


def dump_sqlite(url: str, file: Path) -> Contents:
    """Copy the SQLite database of `url` to `file` while it is in use; return what it holds."""
    path = sqlite_path(url)
    if not path.is_file():
        raise BackupError(f"No SQLite database at {path}.")
    # mode=rw: never create an empty database where the real one is missing.
    with closing(sqlite3.connect(path.as_uri() + "?mode=rw", uri=True, timeout=30)) as source:
        with closing(sqlite3.connect(file)) as copy:
            source.backup(copy)  # pages=-1: every page in one step, one snapshot
            copy.execute("PRAGMA journal_mode=DELETE")
            verdict = copy.execute("PRAGMA integrity_check").fetchone()[0]
    if verdict != "ok":
        raise BackupError(f"The copy of {path.name} failed SQLite's integrity check.")
    return read_contents(f"sqlite:///{file}")


def restore_sqlite(file: Path, url: str) -> None:
    """Replace the SQLite database of `url` (created if missing) with the copy in `file`."""
    path = sqlite_path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(file.resolve().as_uri() + "?mode=ro", uri=True)) as copy:
        with closing(sqlite3.connect(path, timeout=30)) as target:
            copy.backup(target)


# --- PostgreSQL


def pg_program(name: str) -> str:
    """pg_dump or pg_restore: on PATH, else PostgreSQL's own folder, else installed."""

    def find() -> Optional[str]:
        found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
        return shutil.which(name) or (found[-1] if found else None)

    if find() is None:
        _apt_install("postgresql-client")
    program = find()
    if program is None:
        raise BackupError(f"{name} not found after installing postgresql-client.")
    return program


def _libpq(url: str) -> Tuple[str, Dict[str, str]]:
    """The connection string for the PostgreSQL tools, and their environment (password there, not in argv)."""
    parsed = sa.engine.make_url(url)
    fields = {
        "host": parsed.host or "localhost",
        "port": str(parsed.port or 5432),
        "dbname": parsed.database or "",
        "user": parsed.username or "",
        **{key: str(value) for key, value in parsed.query.items()},
    }
    quoted = (v.replace("\\", "\\\\").replace("'", "\\'") for v in fields.values())
    info = " ".join(f"{key}='{value}'" for key, value in zip(fields, quoted))
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    if parsed.password:
        env["PGPASSWORD"] = parsed.password
    return info, env


def _run(args: List[str], env: Dict[str, str]) -> None:
    """Run a PostgreSQL tool; on failure raise with its own lines, minus any that quote data."""
    result = subprocess.run(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        lines = [
            redact(line.strip())[:300]
            for line in result.stderr.splitlines()
            if line.strip() and not line.lstrip().startswith(("DETAIL", "CONTEXT", "Command was", "LINE"))
        ]
        raise BackupError(f"{Path(args[0]).name} failed ({result.returncode}): " + " | ".join(lines[-4:]))


def dump_postgres(url: str, file: Path) -> Contents:
    """`pg_dump -Fc` the database of `url` into `file`, counting rows in the same snapshot."""
    info, env = _libpq(url)
    engine = sa.create_engine(url, poolclass=NullPool, future=True)
    try:
        with engine.connect() as conn:
            conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                snapshot = conn.scalar(sa.text("SELECT pg_export_snapshot()"))
                found = contents(conn)
                # The snapshot lives as long as this transaction: pg_dump runs inside it.
                _run([pg_program("pg_dump"), "-Fc", f"--snapshot={snapshot}", f"--file={file}", "-d", info], env)
    except sa.exc.OperationalError as error:
        raise BackupError(f"Cannot reach {hidden_url(url)}: {type(error.orig).__name__}") from None
    finally:
        engine.dispose()
    _run([pg_program("pg_restore"), "--list", str(file)], env)  # the archive reads back whole
    return found


def restore_postgres(file: Path, url: str, tables: List[str]) -> None:
    """Replace the database of `url` with the dump in `file`, whose tables are `tables`.

    pg_restore drops and re-creates the dump's objects in one transaction (nothing changes
    if it fails); then tables the dump does not have (a newer release's) are dropped, so the
    target holds exactly the backup.
    """
    info, env = _libpq(url)
    _run(
        [
            pg_program("pg_restore"),
            "--clean",
            "--if-exists",
            "--single-transaction",
            "--exit-on-error",
            "--no-owner",
            "--no-privileges",
            "-d",
            info,
            str(file),
        ],
        env,
    )
    engine = sa.create_engine(url, poolclass=NullPool, future=True)
    try:
        with engine.begin() as conn:
            preparer = conn.dialect.identifier_preparer
            for name in set(sa.inspect(conn).get_table_names()) - set(tables):
                conn.exec_driver_sql(f"DROP TABLE {preparer.quote(name)} CASCADE")
    finally:
        engine.dispose()
