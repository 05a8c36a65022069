"""A Sanic app on a real server of its own, started once and stopped at the end of the test.

sanic_testing's `app.test_client` starts a server, sends one request and stops the server
again, for every request; the stop alone polls in 0.1 s steps until the connection has
drained, so a test with ten requests spent seconds waiting. `served(app)` starts the app
once (its start-up and shutdown listeners run once, as in production) on 127.0.0.1 in a
thread with its own event loop; `request()` answers like the test client did
(`answer.status`, `answer.json`, `answer.text`), and `close_all()` (an autouse fixture in
conftest.py) stops every server a test started.
"""

import asyncio
import threading
from typing import Any, Coroutine, List

import httpx
from sanic_testing.testing import TestingResponse

from tests.helpers import free_port

_RUNNING: List["Served"] = []
_START_SECONDS = 30


class _Exit:
    """A SystemExit (or KeyboardInterrupt) on its way out of the loop's thread.

    Raised inside a task, either one stops asyncio's own event loop at once, before the
    callback that would hand it to the waiting caller has run: the caller then waited
    out its timeout (with uvloop, set by an earlier import, it arrived). Returned as a
    value it arrives either way, and the caller raises it.
    """

    def __init__(self, exit: BaseException) -> None:
        self.exit = exit


async def _carried(coroutine: Coroutine) -> Any:
    try:
        return await coroutine
    except (SystemExit, KeyboardInterrupt) as exit:
        return _Exit(exit)


class Served:
    """One app, one port, one event loop in a daemon thread."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=f"served-{app.name}", daemon=True)
        self._thread.start()
        try:
            self.server = self._call(self._start())
        except BaseException:
            self._end_loop()
            raise  # e.g. the SystemExit of a setting the app refuses at start
        # Plain HTTP: verify=False spares loading the CA bundle (0.3 s per client).
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=60, verify=False)

    def _run(self) -> None:
        try:
            self.loop.run_forever()
        except BaseException:  # noqa: BLE001 - an exit not carried by _call (a late listener's):
            pass  # the thread ends quietly; the next request to this server fails and says so

    def _call(self, coroutine: Coroutine) -> Any:
        outcome = asyncio.run_coroutine_threadsafe(_carried(coroutine), self.loop).result(_START_SECONDS)
        if isinstance(outcome, _Exit):
            raise outcome.exit
        return outcome

    async def _start(self) -> Any:
        server = await self.app.create_server(
            host="127.0.0.1", port=self.port, return_asyncio_server=True, access_log=False
        )
        # create_server has bound the socket already; no request arrives before the
        # listeners below have run, because the caller waits for this coroutine.
        await server.startup()
        await server.before_start()
        await server.after_start()
        return server

    async def _stop(self) -> None:
        await self.server.before_stop()
        await self.server.close()
        await self.server.after_stop()

    def request(self, method: str, path: str, cookies: Any = None, **kwargs: Any) -> TestingResponse:
        """One request; the client keeps no cookies of its own (the caller passes them)."""
        kwargs.setdefault("follow_redirects", kwargs.pop("allow_redirects", True))
        if isinstance(kwargs.get("data"), (str, bytes)):
            kwargs["content"] = kwargs.pop("data")  # a raw body, as the test client took it
        self.http.cookies.clear()
        answer = self.http.request(method, path, cookies=cookies, **kwargs)
        answer.__class__ = TestingResponse
        return answer

    def close(self) -> None:
        self.http.close()
        try:
            self._call(self._stop())
        finally:
            self._end_loop()

    def _end_loop(self) -> None:
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(_START_SECONDS)
        self.loop.close()


def served(app: Any) -> Served:
    """The running server of `app`, started on first use."""
    server = getattr(app.ctx, "served", None)
    if server is None:
        server = app.ctx.served = Served(app)
        _RUNNING.append(server)
    return server


def close_all() -> None:
    """Stop every server started since the last call (the newest first)."""
    while _RUNNING:
        _RUNNING.pop().close()
