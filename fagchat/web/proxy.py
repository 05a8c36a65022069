"""Forward the widget's chat requests to the Rasa server's chat channel (fagchat/channel/).

The widget talks to this process only, so one origin serves the page, the script and the
API: the demo page's CSP can stay `connect-src 'self'`, and Rasa itself need not be exposed.
Bodies pass through unchanged; the channel validates them and answers bad input with a
4xx and a Danish message, which is passed back as it is. When Rasa cannot be reached or
does not answer in time, the widget gets a 503 `bot_unavailable` and shows the contact
details instead. A client address over its rate limit gets 429 before anything is
forwarded (ratelimit.py). Log lines name the route, status and duration, never the content.
"""

import asyncio
import logging
import math
import time
from typing import Optional
from urllib.parse import urlparse

import aiohttp
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from fagchat import httpkit
from fagchat.text import conversation_ref
from fagchat.web.ratelimit import client_key

logger = logging.getLogger("fagchat.web.proxy")

bp = Blueprint("proxy", url_prefix="/webhooks/fagchat")

TOO_MANY = "Du har sendt mange beskeder på kort tid. Vent et øjeblik, og prøv så igen."
UNAVAILABLE = (
    "Fagchat kan ikke svare lige nu. Prøv igen om lidt, eller kontakt Dansk Stalking Center "
    "direkte. Er nogen i fare lige nu, så ring 112."
)


@bp.before_server_start
async def open_session(app, _loop) -> None:
    """Open one HTTP client for the process: its connection pool is reused per request."""
    config = app.ctx.config
    app.ctx.rasa = aiohttp.ClientSession(
        # connect is short: a refused or unreachable Rasa should fail fast, not at `total`.
        timeout=aiohttp.ClientTimeout(total=config.timeout, connect=min(5.0, config.timeout)),
        connector=aiohttp.TCPConnector(limit=100),
        # Never pass on the browser's cookies or anything else: we send only the body.
        cookie_jar=aiohttp.DummyCookieJar(),
    )


@bp.after_server_stop
async def close_session(app, _loop) -> None:
    """Close the HTTP client."""
    await app.ctx.rasa.close()


def unavailable() -> HTTPResponse:
    """The answer when Rasa is down or slow: the widget then shows the contact details."""
    return response.json(
        {"error": "bot_unavailable", "message": UNAVAILABLE},
        status=503,
        headers={"Retry-After": "10"},
    )


def origin_allowed(request: Request) -> bool:
    """Whether a browser request comes from our own page or a configured website.

    A request without an Origin header does not come from a page's script (curl, the
    tests, server-to-server), so CORS has nothing to say about it.
    """
    origin = request.headers.get("origin")
    if not origin:
        return True
    if origin.rstrip("/") in request.app.ctx.config.allowed_origins:
        return True
    # Same origin: our own demo page. Compared by host only, because a TLS-terminating
    # reverse proxy makes the scheme we see differ from the browser's.
    return urlparse(origin).netloc == request.host


def add_cors_headers(request: Request, answer: HTTPResponse) -> None:
    """Let an allowed website's widget read our API answers (errors included)."""
    origin = request.headers.get("origin")
    if origin and origin_allowed(request):
        answer.headers["Access-Control-Allow-Origin"] = origin
    answer.headers["Vary"] = "Origin"


async def preflight(request: Request) -> HTTPResponse:
    """Answer a CORS preflight: only the configured origins may call us."""
    if not request.headers.get("origin") or not origin_allowed(request):
        return forbidden()
    return HTTPResponse(
        status=204,
        headers={
            "Access-Control-Allow-Methods": "GET" if request.path.endswith(".json") else "POST",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": "600",
        },
    )


def forbidden() -> HTTPResponse:
    """Refuse a browser request from a website that is not configured."""
    return response.json({"error": "forbidden", "message": "Adgang nægtet."}, status=403)


@bp.route("/webhook", methods=["POST"])
async def webhook(request: Request) -> HTTPResponse:
    """Forward a chat message to Rasa."""
    return await forward(request, "webhook")


@bp.route("/feedback", methods=["POST"])
async def feedback(request: Request) -> HTTPResponse:
    """Forward a 👍/👎 to Rasa."""
    return await forward(request, "feedback")


@bp.route("/webhook", methods=["OPTIONS"], name="webhook_preflight")
@bp.route("/feedback", methods=["OPTIONS"], name="feedback_preflight")
async def chat_preflight(request: Request) -> HTTPResponse:
    """Answer a CORS preflight for the chat routes."""
    return await preflight(request)


def rate_limited(request: Request, name: str) -> Optional[HTTPResponse]:
    """The 429 answer when the client has used up its requests (ratelimit.py), else None."""
    limiter = request.app.ctx.limiter
    if limiter is None:
        return None
    config = request.app.ctx.config
    forwarded = ",".join(request.headers.getall("x-forwarded-for", []))
    key = client_key(httpkit.client_address(request.ip or "", forwarded, config.trusted_proxies))
    wait = limiter.take(key)
    if not wait:
        return None
    if limiter.newly_limited(key):
        # Once per client until it is served again; the address is personal data: hashed.
        logger.warning("proxy.rate_limited route=%s client=%s", name, conversation_ref(key))
    return response.json(
        {"error": "too_many_requests", "message": TOO_MANY},
        status=429,
        headers={"Retry-After": str(max(1, math.ceil(wait))), "Cache-Control": "no-store"},
    )


async def forward(request: Request, name: str) -> HTTPResponse:
    """Forward a request to the channel's route `name` and pass its answer back."""
    refused = rate_limited(request, name)
    if refused is not None:
        return refused
    if not origin_allowed(request):
        logger.warning("proxy.forbidden_origin route=%s", name)
        return forbidden()
    config = request.app.ctx.config
    body = request.body or b""
    if len(body) > config.max_body:  # Sanic's REQUEST_MAX_SIZE already stops most
        return response.json({"error": "too_large", "message": "Beskeden er for stor."}, status=413)
    started = time.monotonic()
    try:
        async with request.app.ctx.rasa.post(
            f"{config.rasa_url}/webhooks/fagchat/{name}",
            data=body,
            headers={"Content-Type": "application/json"},
        ) as answer:
            payload = await answer.read()
            status, content_type = answer.status, answer.content_type
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        logger.warning("proxy.unavailable route=%s error=%s", name, type(exc).__name__)
        return unavailable()
    elapsed = int((time.monotonic() - started) * 1000)
    if status >= 500 or content_type != "application/json":
        # Not the channel answering (Rasa failing or starting up): the same as down.
        logger.warning("proxy.bad_upstream route=%s status=%s ms=%s", name, status, elapsed)
        return unavailable()
    logger.info("proxy.forwarded route=%s status=%s ms=%s", name, status, elapsed)
    return HTTPResponse(payload, status=status, content_type="application/json", headers={"Cache-Control": "no-store"})
