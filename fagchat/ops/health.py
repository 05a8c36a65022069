"""Liveness and readiness of every Fagchat process: the answers of /healthz and /readyz.

`/healthz` (alive) answers 200 as long as the process's event loop runs; it checks nothing
else, so a supervisor restarts the process only when it is stuck or gone. `/readyz` (ready)
runs the process's checks (the model is loaded, the database answers, Redis answers, ...)
and answers 200 only when all pass, else 503; a load balancer or the launcher waits for it.
Both bodies are JSON: the process, and for /readyz each check's status ("ok", "timeout",
"error: <exception type>" or a word such as "not_loaded"), never a message, URL or secret.

Readiness must stay cheap and answer fast even when what it checks hangs: each check runs
in a thread of its own (or as a task) bounded by CHECK_TIMEOUT, the checks run side by side,
and a check whose previous run still hangs is reported as "timeout" without starting
another one, so a dead database gives 503 within about two seconds and never piles up threads.
"""

import asyncio
import logging
import sqlite3
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Mapping, Optional, Union

import redis
import sqlalchemy as sa
from sanic import response
from sanic.response import HTTPResponse
from sqlalchemy.engine.url import make_url
from sqlalchemy.pool import NullPool

logger = logging.getLogger(__name__)

CHECK_TIMEOUT = 1.5  # seconds one check may take; /readyz answers within about this
NO_STORE = {"Cache-Control": "no-store"}
OK = "ok"
# A check gets the Sanic app and returns OK (or another word: not ready), or raises.
Check = Callable[[Any], Union[str, Awaitable[str]]]


def alive(service: str) -> HTTPResponse:
    """The /healthz answer: the process answers."""
    return response.json({"status": "alive", "service": service}, headers=NO_STORE)


class Readiness:
    """The readiness checks of one process and the /readyz answer they give."""

    def __init__(self, service: str, checks: Mapping[str, Check], timeout: float = CHECK_TIMEOUT) -> None:
        """Keep the checks; nothing runs until `answer()`."""
        self.service = service
        self.checks = dict(checks)
        self.timeout = timeout
        self._threads = ThreadPoolExecutor(max_workers=max(1, len(self.checks)), thread_name_prefix="readyz")
        self._running: Dict[str, Union["asyncio.Future[Any]", Future]] = {}
        self._last: Dict[str, str] = {}

    async def statuses(self, app: Any) -> Dict[str, str]:
        """Every check's status, run side by side."""
        names = list(self.checks)
        results = await asyncio.gather(*(self._run(name, app) for name in names))
        return dict(zip(names, results))

    async def answer(self, app: Any) -> HTTPResponse:
        """The /readyz answer: 200 when every check says ok, else 503."""
        checks = await self.statuses(app)
        ready = all(status == OK for status in checks.values())
        body = {"status": "ready" if ready else "not_ready", "service": self.service, "checks": checks}
        return response.json(body, status=200 if ready else 503, headers=NO_STORE)

    async def _run(self, name: str, app: Any) -> str:
        running = self._running.get(name)
        if running is not None and not running.done():
            return self._note(name, "timeout")  # the last run still hangs: do not start another
        check = self.checks[name]
        if asyncio.iscoroutinefunction(check):
            future: "asyncio.Future[Any]" = asyncio.ensure_future(check(app))
            self._running[name] = future
        else:
            # The thread's own future is kept: it tells "still hanging" whatever loop asks.
            self._running[name] = self._threads.submit(check, app)
            future = asyncio.wrap_future(self._running[name])
        future.add_done_callback(_consume)
        try:
            result = await asyncio.wait_for(asyncio.shield(future), self.timeout)
        except asyncio.TimeoutError:
            return self._note(name, "timeout")
        except Exception as error:  # noqa: BLE001 - a failing check is an answer, not a crash
            return self._note(name, f"error: {type(error).__name__}")
        return self._note(name, result if isinstance(result, str) else "failed")

    def _note(self, name: str, status: str) -> str:
        """Log a check's status when it changes (a load balancer polls every few seconds)."""
        if self._last.get(name, OK) != status:
            level = logging.INFO if status == OK else logging.WARNING
            logger.log(level, "readyz.check service=%s check=%s status=%s", self.service, name, status)
        self._last[name] = status
        return status


def _consume(future: "asyncio.Future[Any]") -> None:
    """Fetch a finished check's outcome, so a late error is not reported as never retrieved."""
    if not future.cancelled():
        future.exception()


def database_check(url: str, timeout: float = CHECK_TIMEOUT) -> Check:
    """A check that the database at SQLAlchemy `url` answers a query on a connection of its own.

    A new connection each time, not one from the app's pool: a pooled SQLite connection
    keeps reading a file that was moved or deleted, and a pooled PostgreSQL connection
    says nothing about whether a new one can be made. An SQLite file is opened without
    being created (mode=rw), so a missing file fails instead of starting an empty database.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        uri = Path(parsed.database).resolve().as_uri() + "?mode=rw"

        def check_file(_app: Any) -> str:
            db = sqlite3.connect(uri, uri=True, timeout=timeout)
            try:
                db.execute("SELECT count(*) FROM sqlite_master").fetchone()  # reads the file's header
            finally:
                db.close()
            return OK

        return check_file
    engine: Optional[sa.engine.Engine] = None

    def check_server(_app: Any) -> str:
        nonlocal engine
        if engine is None:
            args = {"connect_timeout": max(1, int(timeout))} if parsed.get_backend_name() == "postgresql" else {}
            engine = sa.create_engine(parsed, poolclass=NullPool, connect_args=args)
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        return OK

    return check_server


def redis_check(url: str, timeout: float = CHECK_TIMEOUT) -> Check:
    """A check that Redis at `url` answers PING within `timeout` seconds."""
    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)

    def check(_app: Any) -> str:
        return OK if client.ping() else "failed"

    return check
