"""The staff app factory: one blueprint per area, one error handler, strict headers.

    app = create_app()                      # settings from the environment
    app = create_app({"db_url": "sqlite:///x.db", "clock": lambda: 1.7e9})  # tests

The database opens in `before_server_start` and closes in `after_server_stop`. At start the
retention purge runs once; a background task then keeps the summary tables current and
purges again every day.
"""

import asyncio
import logging
import threading
from pathlib import Path
from typing import Any, Dict, Optional, Union

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy.exc import OperationalError

from fagchat import httpkit
from fagchat.ops import health, memory
from fagchat.staff import (
    articles,
    audit_log,
    auth,
    conversation,
    dashboard,
    export,
    inbox,
    indexer,
    login,
    model_server,
    retention,
    review,
    suggestions,
    topics,
    training_page,
)
from fagchat.staff.config import StaffConfig
from fagchat.staff.engine import connect
from fagchat.staff.pages import Locked, StaffError, environment, render

logger = logging.getLogger("fagchat.staff")
STATIC = Path(__file__).resolve().parent / "static"
REFRESH_WAIT = 3.0  # seconds a page waits for the indexer
# No script at all: the app is server-rendered HTML, CSS and inline SVG (the training page
# alone allows its one file: training_page.CSP).
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    **httpkit.SECURITY_HEADERS,
    "Content-Security-Policy": CSP,
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def create_app(config: Union[StaffConfig, Dict[str, Any], None] = None) -> Sanic:
    """Build the staff app.

    Args:
        config: A ready `StaffConfig`, or overrides of its fields (tests), or None to read
            every value from `fagchat.settings`.

    Returns:
        The Sanic app; `python -m fagchat.staff` serves it on FAGCHAT_STAFF_PORT.
    """
    cfg = config if isinstance(config, StaffConfig) else StaffConfig.from_settings(config)
    _ = cfg.knowledge  # load and validate now: a broken article stops start-up
    # env_prefix=None: no SANIC_* variable configures the app (SANIC_PROXIES_COUNT would make
    # Sanic believe forwarded headers from anyone); settings come from fagchat.settings only.
    app = Sanic("fagchat_staff", register=False, configure_logging=False, env_prefix=None)
    app.config.REQUEST_MAX_SIZE = cfg.max_body_bytes
    app.ctx.config, app.ctx.jinja = cfg, environment()
    app.ctx.proxies = httpkit.proxy_networks(cfg.trusted_proxies, "FAGCHAT_STAFF_TRUSTED_PROXIES")
    app.ctx.day = indexer.day_function(cfg.tz)
    app.ctx.intents = cfg.intents()
    app.ctx.index_lock = threading.Lock()
    app.ctx.suggester = suggestions.Suggester(cfg.group_encoder, cfg.low_confidence)
    for area in (
        auth,
        login,
        inbox,
        conversation,
        review,
        export,
        dashboard,
        articles,
        audit_log,
        training_page,
        topics,
    ):
        app.blueprint(area.bp)
    app.blueprint(model_server.bp)  # no login: Rasa fetches the approved model (FAGCHAT_MODEL_SERVER_ALLOW)
    app.static("/static", str(STATIC), name="static")
    app.register_middleware(auth.guard, "request")
    app.register_middleware(_refresh, "request")
    app.register_middleware(_headers, "response")
    app.error_handler.add(Exception, _error)
    app.register_listener(_open, "before_server_start")
    app.register_listener(_close, "after_server_stop")
    app.ctx.readiness = health.Readiness("staff", {"database": health.database_check(cfg.db_url)})
    app.add_route(_health, "/healthz", name="health")
    app.add_route(_ready, "/readyz", name="ready")
    app.add_route(_no_icon, "/favicon.ico", name="favicon")
    return app


async def _health(request: Request) -> HTTPResponse:
    return health.alive("staff")


async def _ready(request: Request) -> HTTPResponse:
    return await request.app.ctx.readiness.answer(request.app)


async def _no_icon(request: Request) -> HTTPResponse:
    return response.empty()


def refresh(app: Sanic, max_events: Optional[int] = None, wait: float = 0) -> int:
    """Index new events (waiting up to `wait` s for a run in progress); return how many."""
    lock = app.ctx.index_lock
    if not (lock.acquire(timeout=wait) if wait > 0 else lock.acquire(blocking=False)):
        return 0
    try:
        return indexer.catch_up(app.ctx.db, app.ctx.day, max_events)
    except OperationalError as error:
        # SQLite: Rasa is writing. Rasa goes first; the next page or round catches up.
        logger.warning("staff.index_deferred reason=%s", type(error.orig).__name__)
        return 0
    finally:
        lock.release()


async def _refresh(request: Request) -> None:
    """Request middleware: pages show what Rasa stored up to this moment.

    Runs in a thread so that waiting for a background run (a first start's backlog) never
    blocks other requests; after REFRESH_WAIT seconds the page shows what is indexed.
    """
    if request.ctx.user and request.method == "GET":
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, refresh, request.app, 2 * indexer.BATCH, REFRESH_WAIT)


async def _headers(request: Request, resp: HTTPResponse) -> None:
    httpkit.add_headers(resp, HEADERS)
    if request.app.ctx.config.secure_cookie:
        resp.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    logger.info("staff.request method=%s route=%s status=%s", request.method, auth.route_name(request), resp.status)


def _error(request: Request, error: Exception) -> HTTPResponse:
    """Turn any error into a Danish page; log the type, never the request's content."""
    status = httpkit.error_status(error)
    if status >= 500:
        logger.error("staff.error status=500 route=%s error=%s", auth.route_name(request), type(error).__name__)
        logger.debug("staff.error traceback", exc_info=error)
    # Our own errors carry a Danish message for the user; Sanic's are English.
    message = str(error) if isinstance(error, StaffError) else httpkit.describe(status)[1]
    resp = render(request, "error.html", status=status, message=message)
    resp.headers.update(httpkit.exception_headers(error) if status == 405 else {})
    if isinstance(error, Locked):
        resp.headers["Retry-After"] = str(error.retry_after)
    return resp


async def _open(app: Sanic, loop: asyncio.AbstractEventLoop) -> None:
    cfg = app.ctx.config
    app.ctx.db = connect(cfg.db_url, cfg.query_timeout_ms)
    # Each argon2 check takes 64 MiB: a login flood queues here instead of exhausting memory.
    app.ctx.hashing = asyncio.Semaphore(cfg.hash_concurrency)
    retention.purge(app.ctx.db, cfg.retention_days, cfg.clock)
    memory.return_large_blocks()  # the encoder's batches and argon2's 64 MiB leave no residue
    # The sentence encoder for grouped suggestions loads (and warms up) now, in the
    # background, so the process's memory settles at start rather than at the first batch.
    app.ctx.warming = loop.run_in_executor(None, app.ctx.suggester.start)
    app.ctx.worker = loop.create_task(_background(app))


async def _background(app: Sanic) -> None:
    """Keep the summaries current; purge once a day (the first purge ran at start)."""
    loop = asyncio.get_running_loop()
    cfg = app.ctx.config
    next_purge = loop.time() + cfg.purge_every
    while True:
        try:
            while await loop.run_in_executor(None, refresh, app, 20 * indexer.BATCH):
                pass  # a large backlog (first start) is worked off in steps
            # Then group new messages for the review queue, one bounded batch per round.
            await loop.run_in_executor(None, app.ctx.suggester.catch_up, app.ctx.db, suggestions.BACKGROUND_BATCH)
            if loop.time() >= next_purge:
                next_purge = loop.time() + cfg.purge_every
                await loop.run_in_executor(None, retention.purge, app.ctx.db, cfg.retention_days, cfg.clock)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - keep serving; the next round retries
            logger.error("staff.background_failed type=%s", type(error).__name__)
        await asyncio.sleep(cfg.index_every)


async def _close(app: Sanic, loop: asyncio.AbstractEventLoop) -> None:
    app.ctx.worker.cancel()
    try:
        await app.ctx.worker
    except (asyncio.CancelledError, Exception):  # noqa: BLE001 - stopping anyway
        pass
    app.ctx.db.dispose()
