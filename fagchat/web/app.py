"""The web process's Sanic app: demo page, widget files, contact config and the chat proxy.

Routes:
    GET  /                         demo page (a plain organisation site with the widget)
    GET  /fagchat.js, /fagchat.css the widget (cacheable, embeddable on other origins)
    GET  /fagchat/config.json      contact details for the widget's offline fallback
    GET  /healthz                  alive: the process answers
    GET  /readyz                   ready: Rasa answers its own /readyz with 200 (fagchat/ops/health.py)
    POST /webhooks/fagchat/webhook, /webhooks/fagchat/feedback   proxied to Rasa (proxy.py)

Every response carries the security headers; HTML gets a strict Content-Security-Policy.
Errors are turned into responses in one place (`handle_error`): JSON for the API paths,
a small HTML page otherwise, always Danish and never a traceback.
"""

import hashlib
import html
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Tuple

import aiohttp
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from fagchat import httpkit, settings
from fagchat.knowledge import Contact, KnowledgeBase
from fagchat.ops import health
from fagchat.run.serve import local_url
from fagchat.web import proxy
from fagchat.web.ratelimit import RateLimiter

logger = logging.getLogger("fagchat.web")

ROOT = settings.ROOT
WIDGET_DIR = ROOT / "widget"
STATIC_DIR = Path(__file__).resolve().parent / "static"

# The demo page loads only our own files: no inline script or style, no frames.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'; object-src 'none'"
)
# Everything else is data or a file another page includes: it may load nothing itself.
DATA_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
# Served files: URL path -> (file, content type, Cache-Control).
FILES = {
    "/": (STATIC_DIR / "index.html", "text/html; charset=utf-8", "no-cache"),
    "/demo.css": (STATIC_DIR / "demo.css", "text/css; charset=utf-8", "public, max-age=3600"),
    "/fagchat.js": (WIDGET_DIR / "fagchat.js", "text/javascript; charset=utf-8", "public, max-age=3600"),
    "/fagchat.css": (WIDGET_DIR / "fagchat.css", "text/css; charset=utf-8", "public, max-age=3600"),
}
ERROR_PAGE = """<!doctype html>
<html lang="da"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} – Dansk Stalking Center</title><link rel="icon" href="data:,">
<link rel="stylesheet" href="/demo.css"></head>
<body><main class="error-page"><h1>{title}</h1><p>{text}</p>
<p><a href="/">Til forsiden</a></p></main></body></html>
"""


@dataclass(frozen=True)
class WebConfig:
    """The settings the web process uses, read once when the app is created."""

    rasa_url: str
    timeout: float
    max_body: int
    max_chars: int
    allowed_origins: Tuple[str, ...]
    rate_per_minute: float  # chat requests per client address; 0: no limit (ratelimit.py)
    rate_burst: int
    trusted_proxies: Tuple[httpkit.Network, ...]


def load_config(overrides: Optional[Dict[str, str]] = None) -> WebConfig:
    """Read the settings, with `overrides` (setting name -> value) taking precedence."""
    values = settings.read(overrides=overrides) if overrides else settings.current()
    return WebConfig(
        rasa_url=local_url("rasa", values),
        timeout=values.float("FAGCHAT_PROXY_TIMEOUT"),
        max_body=values.int("FAGCHAT_MAX_BODY_BYTES"),
        max_chars=values.int("FAGCHAT_MAX_MESSAGE_CHARS"),
        allowed_origins=tuple(o.rstrip("/") for o in values.list("FAGCHAT_ALLOWED_ORIGINS")),
        rate_per_minute=values.float("FAGCHAT_CHAT_RATE_PER_MINUTE"),
        rate_burst=values.int("FAGCHAT_CHAT_RATE_BURST"),
        trusted_proxies=httpkit.proxy_networks(
            values.list("FAGCHAT_WEB_TRUSTED_PROXIES"), "FAGCHAT_WEB_TRUSTED_PROXIES"
        ),
    )


def create_app(overrides: Optional[Dict[str, str]] = None) -> Sanic:
    """Create the web app; `overrides` replaces settings (tests point it at other ports).

    Args:
        overrides: setting name -> value, used instead of the environment.

    Returns:
        The Sanic app, ready to run.
    """
    config = load_config(overrides)
    # env_prefix=None: settings come from fagchat.settings only, not SANIC_* variables.
    # configure_logging=False: Sanic's loggers propagate to our redacting root handler.
    app = Sanic("fagchat_web", env_prefix=None, configure_logging=False)
    # Sanic refuses a larger body itself (413) before reading it, so nothing oversized
    # is buffered or forwarded.
    app.config.REQUEST_MAX_SIZE = config.max_body
    app.ctx.config = config
    app.ctx.files = _load_files()
    app.ctx.site_config = _site_config(config)
    app.ctx.limiter = RateLimiter(config.rate_per_minute, config.rate_burst) if config.rate_per_minute > 0 else None

    app.blueprint(proxy.bp)
    app.add_route(serve_file, "/", methods=["GET"], name="index")
    for path in FILES:
        if path != "/":
            app.add_route(serve_file, path, methods=["GET"], name=path.strip("/").replace(".", "_"))
    app.ctx.readiness = health.Readiness("web", {"rasa": rasa_ready})
    app.add_route(healthz, "/healthz", methods=["GET"])
    app.add_route(readyz, "/readyz", methods=["GET"])
    app.add_route(site_config, "/fagchat/config.json", methods=["GET"])
    app.add_route(proxy.preflight, "/fagchat/config.json", methods=["OPTIONS"], name="config_preflight")
    app.error_handler.add(Exception, handle_error)
    app.register_middleware(add_headers, "response")
    return app


def _load_files() -> Dict[str, Tuple[bytes, str, str, str]]:
    """Read the served files once: path -> (body, content type, Cache-Control, ETag)."""
    files = {}
    for path, (file, content_type, cache) in FILES.items():
        body = file.read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        files[path] = (body, content_type, cache, etag)
    return files


def _site_config(config: WebConfig) -> Dict[str, object]:
    """What the widget needs to help a user when the bot cannot: contact details, limits."""
    return {"contact": fallback_contact(KnowledgeBase.load().contact), "maxMessageChars": config.max_chars}


def fallback_contact(contact: Contact) -> Dict[str, str]:
    """The centre's details for professionals, shown by the widget when the bot cannot answer.

    `phone` is the counselling line for victims, their children and relatives, not the
    professionals' number (knowledge/contact.yml), so it is never sent: professionals get
    `professional_phone` (and its hours) once the centre sets it, and the e-mail address.
    An empty value is one the centre has not set, and is left out.
    """
    details = {k: getattr(contact, k) for k in ("name", "email", "professional_phone", "professional_hours")}
    if not details["professional_phone"]:
        details["professional_hours"] = ""  # hours without a number would say nothing
    return {k: v for k, v in details.items() if v}


async def serve_file(request: Request) -> HTTPResponse:
    """Serve the demo page or a widget file, answering 304 when the browser has it."""
    body, content_type, cache, etag = request.app.ctx.files[request.path]
    # The CSP goes on the 304 too: the browser merges its headers into the cached page.
    csp = PAGE_CSP if content_type.startswith("text/html") else DATA_CSP
    headers = {"Cache-Control": cache, "ETag": etag, "Content-Security-Policy": csp}
    if request.headers.get("if-none-match") == etag:
        return HTTPResponse(status=304, headers=headers)
    return HTTPResponse(body, headers=headers, content_type=content_type)


async def healthz(request: Request) -> HTTPResponse:
    """Say that the web process is up."""
    return health.alive("web")


async def readyz(request: Request) -> HTTPResponse:
    """Say whether chat works through this process: Rasa is ready."""
    return await request.app.ctx.readiness.answer(request.app)


async def rasa_ready(app: Sanic) -> str:
    """Whether Rasa's /readyz answers 200 (its model, database and locks are ready)."""
    url = app.ctx.config.rasa_url + "/webhooks/fagchat/readyz"
    async with app.ctx.rasa.get(url, timeout=aiohttp.ClientTimeout(total=health.CHECK_TIMEOUT)) as answer:
        return health.OK if answer.status == 200 else "not_ready"


async def site_config(request: Request) -> HTTPResponse:
    """Return the contact details and message limit for the widget."""
    return response.json(request.app.ctx.site_config, headers={"Cache-Control": "public, max-age=300"})


def is_api(path: str) -> bool:
    """Whether `path` is read by the widget's code (JSON) rather than by a person (HTML)."""
    return path.startswith("/webhooks/") or path.startswith("/fagchat/")


def handle_error(request: Request, exception: Exception) -> HTTPResponse:
    """Turn any exception into a Danish answer: JSON for the API, HTML otherwise."""
    status = httpkit.error_status(exception)
    code, text = httpkit.describe(status)
    if status >= 500:
        httpkit.log_server_error(logger, "web.error", request, exception)
    headers = httpkit.exception_headers(exception)
    if is_api(request.path):
        headers["Cache-Control"] = "no-store"
        return httpkit.json_error(status, code, text, headers)
    page = ERROR_PAGE.format(title=html.escape(text.split(".")[0]), text=html.escape(text))
    return response.html(page, status=status, headers=headers)


async def add_headers(request: Request, answer: HTTPResponse) -> None:
    """Add the security headers to every response, and CORS headers to the API."""
    httpkit.add_headers(answer, httpkit.SECURITY_HEADERS)
    is_html = (answer.content_type or "").startswith("text/html")
    answer.headers.setdefault("Content-Security-Policy", PAGE_CSP if is_html else DATA_CSP)
    if is_api(request.path):
        proxy.add_cors_headers(request, answer)
