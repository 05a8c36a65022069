"""Staff app: login required everywhere, cookies, CSRF, lockout, audit, headers, accounts."""

import pytest

from fagchat.staff import schema
from tests.test_staff_support import (
    PASSWORD,
    Staff,
    rows,
    run_cli,
)

PAGES = ["/", "/review/", "/export/", "/export/nlu.yml", "/dashboard/", "/knowledge/", "/audit/", "/conversation/?id=x"]
FORMS = ["/review/", "/conversation/delete", "/logout"]


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_is_sent_to_login(make_app, path):
    resp = Staff(make_app()).get(path)
    assert resp.status == 303
    assert resp.headers["location"].startswith("/login")


@pytest.mark.parametrize("path", FORMS)
def test_anonymous_post_is_sent_to_login(make_app, path):
    resp = Staff(make_app()).post(path, {"csrf_token": "x"}, csrf=False)
    assert resp.status == 303 and resp.headers["location"].startswith("/login")


def test_login_and_health_are_public(make_app):
    client = Staff(make_app())
    assert client.get("/healthz").status == 200
    page = client.get("/login")
    assert page.status == 200 and 'name="password"' in page.text


def test_next_argument_is_kept_and_checked(make_app):
    client = Staff(make_app())
    assert client.get("/knowledge/").headers["location"] == "/login?next=%2Fknowledge%2F"
    location = client.get("/conversation/?id=c-1").headers["location"]
    assert location == "/login?next=%2Fconversation%2F%3Fid%3Dc-1"
    assert 'name="next" value="/conversation/?id=c-1"' in client.get(location).text
    page = client.get("/login?next=//evil.example/")
    assert 'name="next" value="/"' in page.text


@pytest.mark.parametrize("path", PAGES)
def test_signed_in_pages_answer(staff, path):
    resp = staff.get(path)
    assert resp.status == (404 if "conversation" in path else 200), resp.text


def test_session_cookie_is_httponly_strict_and_secure_by_default(make_app):
    resp = Staff(make_app()).login()  # the settings' default
    cookies = [c for c in resp.headers.get_list("set-cookie") if c.startswith("fagchat_staff")]
    assert len(cookies) == 2  # the login and the spent login-form cookie
    for cookie in cookies:
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" in cookie
    assert "Strict-Transport-Security" in resp.headers
    plain = Staff(make_app(secure_cookie=False)).login()  # FAGCHAT_STAFF_SECURE_COOKIE=0
    cookie = next(c for c in plain.headers.get_list("set-cookie") if c.startswith("fagchat_staff="))
    assert "HttpOnly" in cookie and "Secure" not in cookie
    assert "Strict-Transport-Security" not in plain.headers


def test_login_form_needs_its_token(make_app):
    client = Staff(make_app())
    client.get("/login")
    resp = client.post("/login", {"username": "anna", "password": PASSWORD}, csrf=False)
    assert resp.status == 403


@pytest.mark.parametrize("path", FORMS)
@pytest.mark.parametrize("token", [None, "wrong"])
def test_forms_without_the_right_csrf_token_are_refused(staff, path, token):
    data = {"event_id": "1", "decision": "greet", "id": "x", "confirm": "yes"}
    if token:
        data["csrf_token"] = token
    resp = staff.post(path, data, csrf=False)
    assert resp.status == 403
    assert "Genindlæs siden" in resp.text


def test_logout_ends_the_session(staff):
    old = dict(staff.cookies)
    assert staff.post("/logout").status == 303
    staff.cookies = old  # even a kept cookie no longer works
    assert staff.get("/").status == 303


def test_session_expires(staff, clock):
    assert staff.get("/").status == 200
    clock.now += 8 * 3600 + 1
    assert staff.get("/").status == 303


def test_wrong_password_is_refused_and_audited(make_app, db_url):
    client = Staff(make_app())
    resp = client.login(password="forkert forkert")
    assert resp.status == 401 and "Forkert brugernavn" in resp.text
    assert [r.action for r in rows(db_url, schema.audit)] == ["login.failed"]


def test_lockout_per_username(make_app, clock):
    app = make_app()
    for _ in range(5):
        assert Staff(app).login(password="forkert forkert").status == 401
    assert Staff(app).login().status == 429  # even the right password
    clock.now += 15 * 60 + 1
    assert Staff(app).login().status == 303


def test_success_resets_the_username_count(make_app):
    app = make_app()
    for _ in range(4):
        Staff(app).login(password="forkert forkert")
    assert Staff(app).login().status == 303
    for _ in range(4):
        assert Staff(app).login(password="forkert forkert").status == 401


def test_security_headers_on_every_response(staff):
    for resp in (staff.get("/"), staff.get("/nope"), staff.get("/static/staff.css"), Staff(staff.app).get("/")):
        csp = resp.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src" not in csp and "frame-ancestors 'none'" in csp
        assert resp.headers["x-content-type-options"] == "nosniff"
        assert resp.headers["x-frame-options"] == "DENY"
        assert resp.headers["referrer-policy"] == "no-referrer"


def test_audit_log_records_logins(staff, db_url):
    actions = [r.action for r in rows(db_url, schema.audit)]
    assert actions == ["login"]
    assert "Logget ind" in staff.get("/audit/").text


def test_create_user_command(db_url, clock, make_app, capsys):
    assert run_cli(db_url, clock, ["create-user", "Mette", "--password-stdin"], "en lang adgangskode\n") == 0
    assert Staff(make_app()).login("mette", "en lang adgangskode").status == 303
    stored = rows(db_url, schema.users, username="mette")[0].password_hash
    assert stored.startswith("$argon2id$") and "adgangskode" not in stored
    with pytest.raises(SystemExit, match="exists already"):
        run_cli(db_url, clock, ["create-user", "mette", "--password-stdin"], "en lang adgangskode\n")
    with pytest.raises(SystemExit, match="at least 12"):
        run_cli(db_url, clock, ["create-user", "kim", "--password-stdin"], "kort\n")
    with pytest.raises(SystemExit, match="User names"):
        run_cli(db_url, clock, ["create-user", "<script>", "--password-stdin"], "en lang adgangskode\n")


def test_set_password_lifts_a_lockout(db_url, clock, make_app):
    app = make_app()
    for _ in range(5):
        Staff(app).login(password="forkert forkert")
    assert Staff(app).login().status == 429
    run_cli(db_url, clock, ["set-password", "anna", "--password-stdin"], "et helt nyt kodeord\n")
    assert Staff(app).login(password="et helt nyt kodeord").status == 303
    assert Staff(app).login().status == 401
