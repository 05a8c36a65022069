"""Versioned migrations of the staff tables (fagchat/staff/db_migrations.py), on SQLite and PostgreSQL.

From the first release's schema (tests/staff_schema_v1.sql, and the same compiled for
PostgreSQL) to today's: the data is kept and the tables end up exactly as a new database
gets them; a second run changes nothing; a database newer than the code is refused (the
staff app's process does not start on it); each step is one transaction; two processes
starting at once apply each step once.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from fagchat.run.services import Postgres
from fagchat.staff import cli, db_accounts, db_migrations, schema
from fagchat.staff.config import StaffConfig
from fagchat.staff.engine import connect
from tests.helpers import free_port

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
V1 = {"sqlite": HERE / "staff_schema_v1.sql", "postgresql": HERE / "staff_schema_v1_postgresql.sql"}
NOW = 1_764_064_800.0
# A row for every table of the first release (ids left to the database where it assigns them).
V1_ROWS: Dict[str, List[Dict[str, Any]]] = {
    "events": [
        {"sender_id": "s1", "type_name": "user", "timestamp": NOW, "intent_name": "greet", "data": '{"event":"user"}'}
    ],
    "staff_conversations": [
        {
            "sender_id": "s1",
            "started_at": NOW,
            "last_at": NOW + 5,
            "start_day": 739580,
            "n_user": 1,
            "n_bot": 1,
            "fallback": 0,
            "thumbs_up": 0,
            "thumbs_down": 1,
            "handover": 0,
            "acute": 0,
            "min_conf": 0.42,
            "role": "politi",
        }
    ],
    "staff_messages": [
        {
            "event_id": 7,
            "sender_id": "s1",
            "ts": NOW,
            "day": 739580,
            "intent": "greet",
            "confidence": 0.42,
            "fallback": 1,
            "thumbs_down": 0,
            "article": None,
            "command": 0,
        }
    ],
    "staff_marks": [{"event_id": 8, "sender_id": "s1", "day": 739580, "kind": "down", "article": "safety"}],
    "staff_reviews": [
        {
            "event_id": 7,
            "sender_id": "s1",
            "decision": "greet",
            "example": "hej med dig",
            "note": "",
            "reviewer": "anna",
            "decided_at": NOW,
        }
    ],
    "staff_users": [{"username": "anna", "password_hash": "$argon2id$old", "created_at": NOW}],
    "staff_sessions": [{"token_hash": "t" * 64, "username": "anna", "csrf": "c" * 43, "expires_at": NOW + 3600}],
    "staff_login_failures": [{"username": "bo", "ip": "10.0.0.9", "at": NOW}],
    "staff_audit": [
        {"at": NOW, "username": "anna", "action": "review.decide", "target": "7", "detail": "greet", "ip": "10.0.0.1"}
    ],
    "staff_state": [{"key": "last_event_id", "value": "8"}],
}


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    # Under /tmp with 0755: PostgreSQL runs as the postgres user and must reach it.
    tmp = Path(tempfile.mkdtemp(prefix="fagchat-migrations-"))
    tmp.chmod(0o755)
    server = Postgres(tmp / "postgres", free_port()).start()
    yield server
    server.stop("immediate")  # a throwaway cluster: no shutdown checkpoint
    shutil.rmtree(tmp, ignore_errors=True)


def _pg_database(server: Postgres) -> str:
    name = "t" + uuid.uuid4().hex[:12]
    engine = sa.create_engine(server.url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    return server.url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def new_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A function giving an empty database of the parameter's kind each call."""
    if request.param == "sqlite":
        names = iter(range(100))
        yield lambda: f"sqlite:///{tmp_path / f'db{next(names)}.sqlite'}"
    else:
        server = request.getfixturevalue("postgres")
        yield lambda: _pg_database(server)


def _engine(url: str) -> sa.engine.Engine:
    return sa.create_engine(url, poolclass=NullPool, future=True)


def run_sql(url: str, script: str) -> None:
    code = "\n".join(line for line in script.splitlines() if not line.startswith("--"))
    engine = _engine(url)
    with engine.begin() as conn:
        for statement in filter(str.strip, code.split(";")):
            conn.exec_driver_sql(statement)
    engine.dispose()


def first_release(url: str) -> None:
    """Make `url` a database of the first release, with a row in every table."""
    run_sql(url, V1[sa.engine.make_url(url).get_backend_name()].read_text())
    engine = _engine(url)
    with engine.begin() as conn:
        meta = sa.MetaData()
        meta.reflect(conn)
        for name, rows in V1_ROWS.items():
            conn.execute(meta.tables[name].insert(), rows)
    engine.dispose()


def columns(url: str) -> Dict[str, List[str]]:
    """The column names of every table."""
    engine = _engine(url)
    inspector = sa.inspect(engine)
    found = {table: [c["name"] for c in inspector.get_columns(table)] for table in inspector.get_table_names()}
    engine.dispose()
    return found


def contents(url: str, shape: Optional[Dict[str, List[str]]] = None) -> Dict[str, List[tuple]]:
    """Every row of the tables and columns of `shape` (default: all), in a fixed order."""
    shape = shape or columns(url)
    engine = _engine(url)
    with engine.connect() as conn:
        out = {
            table: sorted(
                conn.execute(sa.select(*(sa.column(n) for n in names)).select_from(sa.table(table))).all(), key=repr
            )
            for table, names in shape.items()
        }
    engine.dispose()
    return out


def describe(url: str) -> Dict[str, Any]:
    """Tables, columns (name, type, NULL), primary keys, unique constraints and indexes."""
    engine = _engine(url)
    inspector = sa.inspect(engine)
    shape = {
        table: (
            sorted((c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)),
            inspector.get_pk_constraint(table)["constrained_columns"],
            sorted(tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)),
            sorted((i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in inspector.get_indexes(table)),
        )
        for table in inspector.get_table_names()
    }
    engine.dispose()
    return shape


def versions(url: str) -> List[int]:
    engine = _engine(url)
    with engine.connect() as conn:
        found = [row.version for row in conn.execute(schema.schema_version.select().order_by("version"))]
    engine.dispose()
    return found


def test_a_first_release_database_is_upgraded_and_keeps_its_data(new_url):
    old, fresh = new_url(), new_url()
    first_release(old)
    shape = columns(old)
    before = contents(old)
    assert db_migrations.migrate(old) == (1, db_migrations.LATEST)
    after = contents(old, shape)
    # Step 5 sends the indexer back to the first event, so that older conversations get
    # their 'after_112' marks; everything else is kept as it was.
    assert (before.pop("staff_state"), after.pop("staff_state")) == ([("last_event_id", "8")], [])
    assert after == before
    assert versions(old) == list(range(1, db_migrations.LATEST + 1))
    # Exactly the tables, columns and indexes a new database gets.
    assert db_migrations.migrate(fresh) == (None, db_migrations.LATEST)
    assert describe(old) == describe(fresh)
    # And the app's writes that need the new parts work on it.
    engine = connect(old)
    with engine.begin() as conn:
        db_accounts.create_session(conn, "n" * 64, "anna", "c" * 43, NOW, NOW + 60)
        db_accounts.lock_login_keys(conn, ["name:anna"], NOW)
        db_accounts.add_audit(conn, NOW, "anna", "login")
    with engine.connect() as conn:
        assert conn.scalar(sa.select(schema.sessions.c.last_seen).where(schema.sessions.c.token_hash == "n" * 64))
        assert conn.scalar(sa.select(sa.func.count()).select_from(schema.audit)) == 2
    engine.dispose()


def test_a_second_run_changes_nothing(new_url):
    url = new_url()
    first_release(url)
    db_migrations.migrate(url)
    shape, rows, done = describe(url), contents(url), versions(url)
    statements: List[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement.split(None, 1)[0].upper())

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", record)
    try:
        assert db_migrations.migrate(url) == (db_migrations.LATEST, db_migrations.LATEST)
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", record)
    assert statements and set(statements) <= {"SELECT", "PRAGMA"}, statements
    assert (describe(url), contents(url), versions(url)) == (shape, rows, done)


def test_a_database_newer_than_the_code_is_refused(new_url, capsys):
    url = new_url()
    db_migrations.migrate(url)
    engine = _engine(url)
    with engine.begin() as conn:
        conn.execute(schema.schema_version.insert().values(version=db_migrations.LATEST + 1, name="x", applied_at=NOW))
    engine.dispose()
    shape = describe(url)
    with pytest.raises(db_migrations.SchemaTooNew) as refused:
        connect(url)
    message = str(refused.value)
    assert f"version {db_migrations.LATEST + 1}" in message and f"({db_migrations.LATEST})" in message
    assert "upgrade Fagchat" in message and "Nothing was changed" in message
    config = StaffConfig.from_settings({"db_url": url})
    with pytest.raises(SystemExit) as stopped:
        cli.main(["migrate"], config)
    assert str(stopped.value) == message
    # Nor does the staff app start on it: the process ends, saying why.
    env = {**os.environ, "FAGCHAT_DB_URL": url, "FAGCHAT_STAFF_PORT": str(free_port()), "FAGCHAT_METRICS_PORT": "0"}
    app = subprocess.run(
        [sys.executable, "-m", "fagchat.staff"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert app.returncode != 0 and message in app.stderr
    assert describe(url) == shape and versions(url)[-1] == db_migrations.LATEST + 1


def _broken(conn: Any) -> None:
    conn.exec_driver_sql("ALTER TABLE staff_users ADD COLUMN half_done INTEGER")
    raise RuntimeError("step failed half-way")


def test_a_failing_step_leaves_nothing_behind(new_url):
    url = new_url()
    first_release(url)
    shape = describe(url)
    steps = (*db_migrations.STEPS, db_migrations.Step(db_migrations.LATEST + 1, "broken", _broken))
    with pytest.raises(RuntimeError, match="half-way"):
        db_migrations.migrate(url, steps)
    # The steps before it are in; the broken one's column and version are not.
    assert versions(url) == list(range(1, db_migrations.LATEST + 1))
    columns = {c["name"] for c in sa.inspect(_engine(url)).get_columns("staff_users")}
    assert "half_done" not in columns and describe(url) != shape


def test_two_processes_starting_at_once_apply_each_step_once(new_url):
    url = new_url()
    first_release(url)
    start, results, errors = threading.Barrier(4), [], []

    def one() -> None:
        start.wait()
        try:
            results.append(db_migrations.migrate(url))
        except Exception as error:  # noqa: BLE001 - collected for the assertion
            errors.append(error)

    threads = [threading.Thread(target=one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert len(results) == 4 and all(after == db_migrations.LATEST for _, after in results)
    assert versions(url) == list(range(1, db_migrations.LATEST + 1))
