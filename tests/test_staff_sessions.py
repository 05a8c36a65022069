"""Staff logins: idle timeout, revoked by a password change, and databases of the first schema."""

import sqlite3
from pathlib import Path

from fagchat.staff import auth, schema, suggestions
from fagchat.staff.app import create_app
from tests.test_staff_support import (
    NOW,
    PASSWORD,
    Staff,
    rows,
    run_cli,
)

OLD_SCHEMA = Path(__file__).resolve().parent / "staff_schema_v1.sql"
NEW_PASSWORD = "et helt nyt kodeord"


def test_a_login_ends_after_thirty_idle_minutes(staff, clock):
    for _ in range(3):  # in use: each request keeps it going, past the idle time in all
        clock.now += 30 * 60 - 1
        assert staff.get("/").status == 200
    clock.now += 30 * 60 + 1
    resp = staff.get("/")
    assert resp.status == 303 and resp.headers["location"].startswith("/login")


def test_the_idle_time_is_a_setting(make_app, clock):
    client = Staff(make_app(idle_minutes=5))
    assert client.login().status == 303
    clock.now += 5 * 60 + 1
    assert client.get("/").status == 303


def test_a_password_change_ends_every_earlier_login(make_app, db_url, clock):
    app = make_app()
    first, second = Staff(app), Staff(app)
    assert first.login().status == 303 and second.login().status == 303
    run_cli(db_url, clock, ["set-password", "anna", "--password-stdin"], NEW_PASSWORD + "\n")
    assert first.get("/").status == 303 and second.get("/").status == 303
    assert Staff(app).login(password=NEW_PASSWORD).status == 303


def test_a_password_changed_while_it_is_checked_opens_no_login(make_app, db_url, clock, hasher):
    app = make_app()
    # The administrator resets the password while the old one is being checked.
    hasher.during = lambda: run_cli(db_url, clock, ["set-password", "anna", "--password-stdin"], NEW_PASSWORD + "\n")
    resp = Staff(app).login()
    hasher.during = None
    assert resp.status == 401
    assert rows(db_url, schema.sessions, username="anna") == []
    assert Staff(app).login(password=NEW_PASSWORD).status == 303


def test_a_database_of_the_first_schema_is_upgraded(tmp_path, clock, fast_hashing):
    path = tmp_path / "first-schema.db"  # not db_url: that one has today's tables already
    db_url = f"sqlite:///{path}"
    old_token = "o" * 43
    with sqlite3.connect(path) as con:
        con.executescript(OLD_SCHEMA.read_text())
        con.execute("INSERT INTO staff_users VALUES (1, 'anna', ?, ?)", (auth.hash_password(PASSWORD), NOW))
        con.execute(
            "INSERT INTO staff_sessions VALUES (?, 'anna', 'csrf', ?)", (auth.token_hash(old_token), NOW + 3600)
        )
    # Grouping by n-grams, as make_app does: the encoder's 8 s warm-up is not what this tests.
    app = create_app({"db_url": db_url, "clock": clock, "group_encoder": suggestions.NGRAMS_ONLY})
    before = Staff(app)
    before.cookies[auth.SESSION_COOKIE] = old_token
    assert before.get("/").status == 303  # a login from before the idle timeout: ended
    client = Staff(app)
    assert client.login().status == 303 and client.get("/").status == 200
    with sqlite3.connect(path) as con:
        columns = {row[1] for row in con.execute("PRAGMA table_info(staff_sessions)")}
        tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "last_seen" in columns and "staff_login_guard" in tables
