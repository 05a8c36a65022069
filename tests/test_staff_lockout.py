"""Staff login throttling: atomic under parallel logins, per (user, address) with back-off,
a per-address limit, trusted proxies only, and a Danish 429 page."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from fagchat.staff import schema, throttle
from fagchat.staff.engine import connect
from tests.test_staff_support import (
    DAY,
    NOW,
    Staff,
    add_flood_route,
    add_user,
    rows,
)

WRONG = "forkert forkert"
FLOOD_DEADLINE = 120  # seconds the /flood request may take (the test client's default is 5)
PROXY = ("127.0.0.1",)  # the test client connects from here


def signed_in_flooder(app, db_url):
    """A client signed in as "bo", for the /flood route (add the route before this)."""
    add_user(db_url, "bo")
    client = Staff(app)
    assert client.login("bo").status == 303
    return client


def test_fifty_parallel_wrong_logins_check_at_most_five_passwords(make_app, db_url, hasher):
    app = make_app()
    add_flood_route(app)
    client = signed_in_flooder(app, db_url)
    hasher.calls = hasher.peak = 0
    app.ctx.flood = [("anna", WRONG, {})] * 50
    statuses = client.get("/flood", timeout=FLOOD_DEADLINE).json
    assert hasher.calls <= 5, f"{hasher.calls} password checks for one user in one window"
    assert sorted(statuses) == [401] * hasher.calls + [429] * (50 - hasher.calls)


def test_at_most_two_password_checks_run_at_once(make_app, db_url, hasher):
    app = make_app()
    add_flood_route(app)
    client = signed_in_flooder(app, db_url)
    hasher.calls = hasher.peak = 0
    # Unknown names are checked against a dummy hash with the production cost (64 MiB each).
    app.ctx.flood = [(f"ukendt{i}", WRONG, {}) for i in range(6)]
    assert client.get("/flood", timeout=FLOOD_DEADLINE).json == [401] * 6
    assert hasher.calls == 6 and hasher.peak <= 2


def test_forged_forwarded_for_is_ignored_without_the_setting(make_app, db_url, monkeypatch):
    # Sanic would read these itself and believe the header; the staff app must not.
    monkeypatch.setenv("SANIC_PROXIES_COUNT", "1")
    monkeypatch.setenv("SANIC_REAL_IP_HEADER", "x-real-ip")
    app = make_app()
    assert "PROXIES_COUNT" not in app.config or not app.config.PROXIES_COUNT
    for i in range(5):
        forged = {"X-Forwarded-For": f"203.0.113.{i}", "X-Real-IP": f"198.51.100.{i}"}
        assert Staff(app).login(password=WRONG, headers=forged).status == 401
    assert {r.ip for r in rows(db_url, schema.audit)} == {"127.0.0.1"}
    fresh = {"X-Forwarded-For": "192.0.2.99", "X-Real-IP": "192.0.2.99"}
    assert Staff(app).login(headers=fresh).status == 429  # a new forged address is no way out


@pytest.mark.parametrize(
    "proxies, header, client",
    [
        (PROXY, "203.0.113.9", "203.0.113.9"),
        (PROXY, "198.51.100.1, 203.0.113.9", "203.0.113.9"),  # left of it: whatever the client sent
        (("127.0.0.1", "10.0.0.0/8"), "198.51.100.1, 203.0.113.9, 10.1.2.3", "203.0.113.9"),
        (PROXY, "nonsense", "127.0.0.1"),
    ],
)
def test_forwarded_for_is_honoured_from_a_trusted_proxy(make_app, db_url, proxies, header, client):
    app = make_app(trusted_proxies=proxies)
    assert Staff(app).login(password=WRONG, headers={"X-Forwarded-For": header}).status == 401
    assert [r.ip for r in rows(db_url, schema.audit)] == [client]


def test_one_address_cannot_lock_out_another(make_app):
    app = make_app(trusted_proxies=PROXY)
    attacker, colleague = {"X-Forwarded-For": "203.0.113.9"}, {"X-Forwarded-For": "198.51.100.7"}
    for _ in range(5):
        assert Staff(app).login(password=WRONG, headers=attacker).status == 401
    assert Staff(app).login(headers=attacker).status == 429
    assert Staff(app).login(headers=colleague).status == 303


def test_back_off_doubles_for_one_user_and_address(make_app, clock):
    app = make_app()
    for _ in range(5):
        assert Staff(app).login(password=WRONG).status == 401
    assert Staff(app).login().status == 429
    clock.now += 15 * 60 + 1  # the first wait: 15 minutes
    assert Staff(app).login(password=WRONG).status == 401
    assert Staff(app).login().status == 429
    clock.now += 15 * 60 + 1  # the second wait is twice as long
    assert Staff(app).login().status == 429
    clock.now += 15 * 60
    assert Staff(app).login().status == 303


def test_one_address_may_try_several_user_names_up_to_its_limit(make_app):
    app = make_app(address_failures=8)
    for i in range(8):  # more than one user's five: colleagues behind one address mistype too
        assert Staff(app).login(f"ukendt{i}", WRONG).status == 401
    resp = Staff(app).login()  # the address has used up its failures, whatever the name
    assert resp.status == 429 and "For mange mislykkede loginforsøg" in resp.text


def test_the_429_page_is_danish_and_accessible(make_app):
    app = make_app()
    for _ in range(5):
        Staff(app).login(password=WRONG)
    resp = Staff(app).login()
    assert resp.status == 429
    assert '<html lang="da">' in resp.text and 'role="alert"' in resp.text
    assert "For mange mislykkede loginforsøg" in resp.text and "Prøv igen om 15 minutter" in resp.text
    assert int(resp.headers["retry-after"]) == 15 * 60


POLICY = throttle.Policy(attempts=5, window=15 * 60.0, address_failures=20)


def attempt(engine, who, address, now):
    """One login's throttle step in its own transaction: (wait, attempt id)."""
    with engine.begin() as conn:
        return throttle.reserve(conn, who, address, now, POLICY)


def test_one_address_alone_never_reaches_the_user_ceiling(db_url):
    engine = connect(db_url)
    now, recorded = NOW, []
    while now < NOW + 3 * DAY:  # a guesser trying again the moment it may
        wait, tried = attempt(engine, "anna", "203.0.113.9", now)
        recorded += [now] if tried else []
        now += wait or 1
    most_in_a_day = max(sum(1 for t in recorded if start <= t < start + DAY) for start in recorded)
    assert most_in_a_day < POLICY.ceiling
    assert attempt(engine, "anna", "198.51.100.7", now)[0] == 0  # a colleague may still log in


def test_many_addresses_together_reach_the_user_ceiling(db_url):
    engine = connect(db_url)
    for i in range(POLICY.ceiling // POLICY.attempts):
        for _ in range(POLICY.attempts):
            assert attempt(engine, "anna", f"203.0.113.{i}", NOW)[0] == 0
    assert attempt(engine, "anna", "198.51.100.7", NOW) == (DAY, None)
    assert attempt(engine, "bo", "198.51.100.7", NOW)[0] == 0  # other accounts are not affected


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def test_parallel_attempts_in_threads_record_at_most_the_free_five(backend, request):
    # Threads have their own connections: only the database's locks keep count here.
    url = request.getfixturevalue("db_url" if backend == "sqlite" else "postgres_url")
    engine = connect(url)
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda _: attempt(engine, "anna", "203.0.113.9", NOW), range(40)))
    assert sum(1 for _, tried in results if tried) == POLICY.attempts
    engine.dispose()
