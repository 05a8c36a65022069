"""Backups that restore (fagchat/run/backup.py, dumps.py): SQLite and PostgreSQL, taken while Fagchat runs.

The unit tests use a staff app in this process on a seeded SQLite database; the integration
tests back up a running system (Rasa answering chat messages, the staff app as its own
process with accounts, a review decision and audit rows), restore into an empty database
and compare every table row by row: on SQLite (the session's `live_stack`) and on
PostgreSQL (the scale-out stack's server, tests/scaleout_support.py).
"""

import json
import logging
import re
import sqlite3
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from fagchat.run import backup, dumps
from fagchat.run.launcher import Stack
from fagchat.staff import db, db_migrations
from tests.helpers import free_port, say, wait_until
from tests.test_staff_support import (
    NOW,
    PASSWORD,
    Staff,
    run_cli,
    seed,
)

USER_TEXT = ("parkeringsbøde", "alert('xss')", "010190")  # stored messages: never in output or logs


def table_rows(url: str) -> Dict[str, List[tuple]]:
    """Every row of every table, in a fixed order."""
    engine = sa.create_engine(url, poolclass=NullPool, future=True)
    with engine.connect() as conn:
        out = {
            name: sorted(conn.execute(sa.select(sa.text("*")).select_from(sa.table(name))).all(), key=repr)
            for name in sa.inspect(conn).get_table_names()
        }
    engine.dispose()
    return out


def run(capsys: Any, *args: str) -> Tuple[int, str]:
    """Run the backup command line; return its exit code and everything it printed."""
    code = backup.main(list(args))
    out = capsys.readouterr()
    return code, out.out + out.err


def decide_first_in_queue(client: Staff) -> None:
    page = client.get("/review/")
    event_id = re.search(r'name="event_id" value="(\d+)"', page.text).group(1)
    resp = client.post("/review/", {"event_id": event_id, "decision": db.NEW_TOPIC, "next": "/review/"})
    assert resp.status == 303


def test_a_backup_restores_every_row_and_says_what_it_did(seeded_staff, seeded_url, tmp_path, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    decide_first_in_queue(seeded_staff)  # a review decision and audit rows, made by the app
    source = table_rows(seeded_url)
    assert source["staff_reviews"] and source["staff_audit"] and source["staff_users"] and source["events"]
    code, said = run(capsys, "--db-url", seeded_url, "--dir", str(tmp_path / "b"), "create")
    assert code == 0 and "Backup made" in said
    [made] = backup.backups(tmp_path / "b")
    manifest = json.loads((made / "manifest.json").read_text())
    [file] = manifest["files"]
    assert (
        file["sha256"] == backup.sha256(made / file["name"]) and file["bytes"] == (made / file["name"]).stat().st_size
    )
    assert manifest["tables"] == {name: len(rows) for name, rows in source.items()}
    assert manifest["schema_version"] == db_migrations.LATEST and manifest["backend"] == "sqlite"
    assert any("locks.db" in line for line in manifest["left_out"])

    target = f"sqlite:///{tmp_path / 'new' / 'fagchat.db'}"
    code, said = run(capsys, "--db-url", target, "--dir", str(tmp_path / "b"), "restore")
    assert code == 0, said
    assert "Gendannet" in said and "Restored" in said and "match the manifest" in said
    assert table_rows(target) == source
    assert "backup.created" in caplog.text and "backup.restored" in caplog.text
    logged = said + caplog.text + json.dumps(manifest)
    assert not [text for text in USER_TEXT if text in logged]


def test_a_restore_refuses_a_target_with_data_unless_forced(seeded_url, db_url, tmp_path, capsys):
    made = backup.create(seeded_url, tmp_path / "b", keep=0)
    seed(db_url, [("someone-else", [], NOW)])
    other = table_rows(db_url)
    code, said = run(capsys, "--db-url", db_url, "restore", str(made))
    assert code == 1 and "--force" in said and "nothing was changed" in said and "intet er ændret" in said
    assert table_rows(db_url) == other
    code, said = run(capsys, "--db-url", db_url, "restore", str(made), "--force")
    assert code == 0, said
    assert table_rows(db_url) == table_rows(seeded_url)


def test_a_damaged_backup_is_refused_before_anything_changes(seeded_url, tmp_path, capsys):
    made = backup.create(seeded_url, tmp_path / "b", keep=0)
    copy = made / "fagchat.sqlite3"
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    target = tmp_path / "new.db"
    code, said = run(capsys, "--db-url", f"sqlite:///{target}", "restore", str(made))
    assert code == 1 and "damaged" in said and "beskadiget" in said and "fagchat.sqlite3" in said
    assert not target.exists()


def test_a_backup_newer_than_the_code_is_refused(seeded_url, tmp_path):
    made = backup.create(seeded_url, tmp_path / "b", keep=0)
    manifest = json.loads((made / "manifest.json").read_text())
    manifest["schema_version"] = db_migrations.LATEST + 1
    (made / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(dumps.BackupError, match="newer than this Fagchat"):
        backup.restore(made, f"sqlite:///{tmp_path / 'new.db'}")


def test_only_the_newest_backups_are_kept_and_a_failed_one_deletes_none(seeded_url, tmp_path):
    folder, times = tmp_path / "b", iter([NOW, NOW + 60, NOW + 120, NOW + 180])
    made = [backup.create(seeded_url, folder, keep=2, clock=lambda: next(times)) for _ in range(3)]
    assert backup.backups(folder) == made[1:]
    with pytest.raises(dumps.BackupError, match="No SQLite database"):
        backup.create(f"sqlite:///{tmp_path / 'missing.db'}", folder, keep=1, clock=lambda: next(times))
    assert backup.backups(folder) == made[1:] and not list(folder.glob(".partial-*"))


def test_a_backup_taken_while_writers_commit_holds_whole_transactions(tmp_path):
    path = tmp_path / "busy.db"
    with sqlite3.connect(path) as con:
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, data TEXT)")
        con.executemany("INSERT INTO events (sender_id, data) VALUES ('bulk', ?)", [("x" * 200,)] * 30000)
    stop, committed = threading.Event(), [0]

    def writer() -> None:  # transactions of 50 rows, one conversation each, as fast as it can
        con = sqlite3.connect(path, timeout=30, isolation_level=None)
        while not stop.is_set():
            con.execute("BEGIN IMMEDIATE")
            con.executemany("INSERT INTO events (sender_id, data) VALUES (?, ?)", [(f"g{committed[0]}", "y")] * 50)
            con.execute("COMMIT")
            committed[0] += 1
        con.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        wait_until(lambda: committed[0] >= 3, 30, "the writer commits")
        before = committed[0]
        made = backup.create(f"sqlite:///{path}", tmp_path / "b", keep=0)
        after = committed[0]
    finally:
        stop.set()
        thread.join(30)
    assert after > before, "no transaction committed while the backup ran"
    with sqlite3.connect(made / "fagchat.sqlite3") as copy:
        groups = dict(copy.execute("SELECT sender_id, count(*) FROM events GROUP BY sender_id").fetchall())
    assert groups.pop("bulk") == 30000
    assert set(groups.values()) == {50}, "a transaction was copied in part"
    assert before <= len(groups) <= after
    assert json.loads((made / "manifest.json").read_text())["tables"]["events"] == 30000 + 50 * len(groups)


# --- A running system


class StaffBrowser:
    """The staff app over HTTP as a browser uses it: cookies, the login token, the CSRF token."""

    class _Keep(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any) -> None:
            return None  # 303 comes back as it is

    def __init__(self, base: str) -> None:
        self.base, self.cookies, self.csrf = base, {}, ""
        self.opener = urllib.request.build_opener(self._Keep)

    def request(self, path: str, form: Optional[Dict[str, str]] = None) -> Tuple[int, str]:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        req = urllib.request.Request(self.base + path, data=data, headers={"Cookie": cookie})
        try:
            with self.opener.open(req, timeout=60) as answer:
                status, headers, body = answer.status, answer.headers, answer.read()
        except urllib.error.HTTPError as error:
            status, headers, body = error.code, error.headers, error.read()
        for line in headers.get_all("Set-Cookie") or []:
            name, value = line.split(";", 1)[0].split("=", 1)
            self.cookies[name.strip()] = value.strip('"')
        text = body.decode(errors="replace")
        found = re.search(r'name="csrf_token" value="([^"]+)"', text)
        self.csrf = found.group(1) if found else self.csrf
        return status, text

    def login(self, username: str) -> None:
        _, page = self.request("/login")
        token = re.search(r'name="login_token" value="([^"]+)"', page).group(1)
        status, _ = self.request("/login", {"login_token": token, "username": username, "password": PASSWORD})
        assert status == 303, status

    def decide(self, event_id: int) -> None:
        self.request("/review/")
        form = {"event_id": str(event_id), "decision": db.NEW_TOPIC, "csrf_token": self.csrf, "next": "/review/"}
        assert self.request("/review/", form)[0] == 303


class Chat:
    """Chat messages to Rasa from a thread, new conversation every few, until stopped."""

    TEXTS = ("Hej", "Hvad er stalking?", "hvordan dokumenterer man stalking", "hvor kan offeret få hjælp")

    def __init__(self, rasa: str) -> None:
        self.rasa, self.sent, self.senders = rasa, 0, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.sent % len(self.TEXTS) == 0:
                self.senders.append("bkp-" + uuid.uuid4().hex)
            say(self.rasa, self.senders[-1], self.TEXTS[self.sent % len(self.TEXTS)])
            self.sent += 1

    def __enter__(self) -> "Chat":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(120)


def _events(url: str, senders: List[str]) -> Dict[str, List[tuple]]:
    engine = sa.create_engine(url, poolclass=NullPool, future=True)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT id, sender_id, type_name, data FROM events WHERE sender_id IN :s ORDER BY id").bindparams(
                sa.bindparam("s", expanding=True)
            ),
            {"s": senders},
        ).all()
    engine.dispose()
    out: Dict[str, List[tuple]] = {s: [] for s in senders}
    for row in rows:
        out[row.sender_id].append(tuple(row))
    return out


def _whole_turns(events: List[tuple]) -> bool:
    kinds = "".join({"user": "u", "bot": "b"}.get(e[2], "") for e in events)
    return not kinds or re.fullmatch(r"(ub+)+", kinds) is not None


def _exercise(env: Dict[str, str], rasa: str, url: str, new_target: Callable[[], str], tmp: Path) -> None:
    """Conversations, staff activity, a backup while chatting, then a backup equal to the source."""
    from tests.staff_sample import FALLBACK

    name = "bkp" + uuid.uuid4().hex[:8]
    assert run_cli(url, time.time, ["create-user", name, "--password-stdin"], PASSWORD + "\n") == 0
    staff = Stack({**env, "FAGCHAT_STAFF_PORT": str(free_port())}, services=("staff",), log_dir=tmp / "staff")
    staff.start(timeout=120)
    try:
        queued = "bkp-review-" + uuid.uuid4().hex
        seed(url, [(queued, [FALLBACK], time.time() - 60)])
        browser = StaffBrowser(staff.url("staff"))
        browser.login(name)
        # A page view makes the app index what Rasa stored (else its background round does).
        event_id = wait_until(lambda: browser.request("/") and _queued(url, queued), 60, "the seeded message indexed")
        browser.decide(event_id)

        with Chat(rasa) as chat:
            wait_until(lambda: chat.sent >= 3, 120, "chat messages answered")
            sent_before = chat.sent
            busy = backup.create(url, tmp / "backups", keep=0)
            wait_until(lambda: chat.sent >= sent_before + 2, 120, "chat goes on after the backup")
        target = new_target()
        backup.restore(busy, target)  # checks the rows per table against the manifest, too
        restored, source = _events(target, chat.senders), _events(url, chat.senders)
        assert sum(map(len, restored.values())) > 0
        for sender, events in restored.items():  # each conversation as it stood at one moment
            assert events == source[sender][: len(events)] and _whole_turns(events), sender

        # Once the chat has stopped and the staff app has indexed it: the backup is the source.
        # The target holds data now, and a table of a newer release: replaced only by force.
        wait_until(lambda: browser.request("/") and _indexed(url), 60, "the last events indexed")
        quiet = backup.create(url, tmp / "backups", keep=0)
        _add_table(target, "staff_from_a_newer_release")
        with pytest.raises(dumps.BackupError, match="--force"):
            backup.restore(quiet, target)
        deadline = time.monotonic() + 60
        while True:
            backup.restore(quiet, target, force=True)
            mine, theirs = table_rows(target), table_rows(url)
            differ = sorted(n for n in {*mine, *theirs} if mine.get(n) != theirs.get(n))
            if not differ or time.monotonic() > deadline:
                break
            quiet = backup.create(url, tmp / "backups", keep=0)  # a late write: take the next one
        assert not differ, f"tables differing from the source: {differ}"
        assert mine["staff_reviews"] and mine["staff_audit"] and mine["staff_users"] and mine["staff_sessions"]
        assert {row.action for row in mine["staff_audit"]} >= {"user.create", "login", "review.decide"}
    finally:
        staff.stop()


def _add_table(url: str, name: str) -> None:
    engine = sa.create_engine(url, poolclass=NullPool, future=True)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE {name} (x INTEGER)")
        conn.exec_driver_sql(f"INSERT INTO {name} VALUES (1)")
    engine.dispose()


def _queued(url: str, sender: str) -> Optional[int]:
    engine = sa.create_engine(url, poolclass=NullPool, future=True)
    with engine.connect() as conn:
        found = conn.execute(sa.text("SELECT event_id FROM staff_messages WHERE sender_id = :s"), {"s": sender}).first()
    engine.dispose()
    return found[0] if found else None


def _indexed(url: str) -> bool:
    engine = sa.create_engine(url, poolclass=NullPool, future=True)
    with engine.connect() as conn:
        last = conn.scalar(sa.text("SELECT max(id) FROM events"))
        done = conn.scalar(sa.text("SELECT value FROM staff_state WHERE key = 'last_event_id'"))
    engine.dispose()
    return str(last) == done


@pytest.mark.integration
def test_a_running_sqlite_system_is_backed_up_and_restored_row_for_row(live_stack, tmp_path):
    url = live_stack.env["FAGCHAT_DB_URL"]
    names = iter(range(100))
    _exercise(
        live_stack.env, live_stack.url("rasa"), url, lambda: f"sqlite:///{tmp_path / f'r{next(names)}.db'}", tmp_path
    )


@pytest.mark.integration
def test_a_running_postgresql_system_is_backed_up_and_restored_row_for_row(tmp_path):
    from tests.scaleout_support import scaled_stack

    scaled = scaled_stack()
    env = scaled.rasa["a"].env

    def new_database() -> str:
        name = "restore_" + uuid.uuid4().hex[:10]
        engine = sa.create_engine(scaled.postgres.url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        with engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        engine.dispose()
        return scaled.postgres.url.rsplit("/", 1)[0] + "/" + name

    _exercise(
        {**env, "FAGCHAT_STAFF_SECURE_COOKIE": "0"}, scaled.url("a"), env["FAGCHAT_DB_URL"], new_database, tmp_path
    )
