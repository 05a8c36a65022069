"""The staff audit trail: actions and their rows together, pages with user text, purges,
no typed user names, old login records purged, and request logs without raw paths."""

import logging

import pytest

from fagchat.staff import db_accounts, retention, schema
from fagchat.staff.engine import connect
from tests.test_staff_support import (
    DAY,
    NOW,
    Clock,
    Staff,
    rows,
    run_cli,
)


@pytest.fixture
def audit_fails(monkeypatch):
    """Make writing the audit row of `action` fail (a full disk, a dropped connection)."""
    real = db_accounts.add_audit

    def fail_on(action):
        def add_audit(conn, at, username, what, *args, **kwargs):
            if what == action:
                raise RuntimeError("audit row not written")
            return real(conn, at, username, what, *args, **kwargs)

        monkeypatch.setattr(db_accounts, "add_audit", add_audit)

    return fail_on


def test_a_decision_is_not_stored_without_its_audit_row(seeded_staff, seeded_url, audit_fails):
    seeded_staff.get("/")  # index
    message = rows(seeded_url, schema.messages, sender_id="c-fallback")[0]
    audit_fails("review.decide")
    resp = seeded_staff.post("/review/", {"event_id": str(message.event_id), "decision": "out_of_scope"})
    assert resp.status == 500
    assert rows(seeded_url, schema.reviews) == []


def test_a_deletion_is_not_done_without_its_audit_row(seeded_staff, seeded_url, audit_fails):
    audit_fails("conversation.delete")
    resp = seeded_staff.post("/conversation/delete", {"id": "c-fallback", "confirm": "yes"})
    assert resp.status == 500
    assert rows(seeded_url, schema.events, sender_id="c-fallback")


def test_pages_that_show_user_text_are_audited(seeded_staff, seeded_url):
    seeded_staff.get("/review/?reason=fallback")
    seeded_staff.get("/export/")
    seeded_staff.get("/export/nlu.yml")
    audited = {r.action: r for r in rows(seeded_url, schema.audit)}
    assert {"review.view", "export.view", "export.download"} <= set(audited)
    assert audited["review.view"].username == "anna" and "reason=fallback" in audited["review.view"].detail
    assert "Så gennemgangslisten" in seeded_staff.get("/audit/").text


def test_the_retention_purge_is_audited(seeded_url, db_url, clock):
    assert retention.purge(connect(seeded_url), 30, Clock(NOW)) == 1
    run_cli(db_url, Clock(NOW), ["purge"])  # retention_days from the settings: 90, nothing left
    purged = [r for r in rows(seeded_url, schema.audit) if r.action == "retention.purge"]
    assert [(r.username, r.detail) for r in purged] == [("system", "conversations=1 older_than_days=30")]
    assert retention.purge(connect(seeded_url), 5, Clock(NOW), actor="cli") == 1
    assert [r.username for r in rows(seeded_url, schema.audit) if r.action == "retention.purge"] == ["system", "cli"]


def test_a_failed_login_never_stores_what_was_typed(make_app, db_url):
    app = make_app()
    typed = "mit hemmelige kodeord"  # a password typed into the user name field
    for _ in range(2):
        assert Staff(app).login(typed, "x").status == 401
    assert Staff(app).login("anna", "forkert forkert").status == 401
    stored = [r.username for r in rows(db_url, schema.audit)] + [
        r.username for r in rows(db_url, schema.login_failures)
    ]
    assert not any("hemmelig" in name or "kodeord" in name for name in stored), stored
    unknown = {name for name in stored if name != "anna"}
    assert len(unknown) == 1  # one hash for one typed name: repeated tries stay visible
    assert stored.count("anna") == 2  # an account's name is kept: it is no secret
    page = Staff(app)
    page.login()
    assert "hemmelige" not in page.get("/audit/").text


def test_old_records_of_failed_logins_are_purged(db_url):
    engine = connect(db_url)
    with engine.begin() as conn:
        for at, action in [(NOW - 100 * DAY, "login.failed"), (NOW - 100 * DAY, "login.locked")]:
            db_accounts.add_audit(conn, at, "#abc", action, ip="203.0.113.9")
        for at, action in [(NOW - 100 * DAY, "login"), (NOW - 100 * DAY, "review.decide"), (NOW - DAY, "login.failed")]:
            db_accounts.add_audit(conn, at, "anna", action, ip="203.0.113.9")
        db_accounts.add_login_failure(conn, "#abc", "203.0.113.9", NOW - 2 * DAY)
        db_accounts.add_login_failure(conn, "#abc", "203.0.113.9", NOW - 60)
    retention.purge(engine, 90, Clock(NOW))
    kept = sorted((r.action, r.at) for r in rows(db_url, schema.audit))
    assert kept == [("login", NOW - 100 * DAY), ("login.failed", NOW - DAY), ("review.decide", NOW - 100 * DAY)]
    assert [r.at for r in rows(db_url, schema.login_failures)] == [NOW - 60]


def test_request_log_names_the_route_never_the_path(staff, caplog):
    caplog.set_level(logging.INFO, logger="fagchat.staff")
    staff.get("/review/?reason=all")
    staff.get("/anna-hansen-20304050/")
    staff.post("/review/", {"event_id": "1", "decision": "greet"}, csrf=False)  # refused: CSRF
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("fagchat.staff")]
    assert "staff.request method=GET route=fagchat_staff.review.queue status=200" in lines
    assert "staff.request method=GET route=unmatched status=404" in lines
    assert any(line.startswith("staff.csrf_rejected route=fagchat_staff.review.decide") for line in lines)
    assert not any("anna-hansen" in line or "/review/" in line for line in lines), lines
