"""Sessions, the login guard, CSRF checks, logging out and the audit trail.

* Passwords are hashed with argon2 (argon2-cffi); accounts come from `cli create-user`.
* A login is a random token in an HttpOnly, SameSite=Strict, Secure cookie (Secure can be
  turned off for plain-HTTP development: FAGCHAT_STAFF_SECURE_COOKIE=0); the database
  holds only its SHA-256 and the login's CSRF token, which every POST form must send back.
* A login ends FAGCHAT_STAFF_SESSION_MINUTES after it began, or FAGCHAT_STAFF_IDLE_MINUTES
  after its last request, or when the account's password is changed.
* Logging in, with its throttling, is in login.py and throttle.py.
"""

import hashlib
import hmac
import logging
import secrets
from typing import Optional, Tuple
from urllib.parse import urlencode

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy.engine import Connection

from fagchat import httpkit
from fagchat.staff import db_accounts
from fagchat.staff.pages import Refused

logger = logging.getLogger(__name__)
bp = Blueprint("auth")

SESSION_COOKIE = "fagchat_staff"
LOGIN_COOKIE = "fagchat_staff_login"
PUBLIC_PATHS = {"/login", "/healthz", "/readyz", "/favicon.ico", "/model/current.tar.gz"}  # the last: model_server.py
TOUCH_EVERY = 60  # seconds: a login's last use is written at most this often
HASHER = PasswordHasher()
_DUMMY = HASHER.hash(secrets.token_urlsafe(16))  # verified for unknown names: same timing


def hash_password(password: str) -> str:
    """The argon2 hash of `password`."""
    return HASHER.hash(password)


def check_password(stored: Optional[str], password: str) -> Tuple[bool, bool]:
    """Whether `password` matches `stored`, and whether the hash should be renewed."""
    try:
        HASHER.verify(stored or _DUMMY, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, False
    return stored is not None, stored is not None and HASHER.check_needs_rehash(stored)


def token_hash(token: str) -> str:
    """What the database stores for a session token."""
    return hashlib.sha256(token.encode()).hexdigest()


def client_ip(request: Request) -> str:
    """The caller's address: the peer's, or behind FAGCHAT_STAFF_TRUSTED_PROXIES the client
    their X-Forwarded-For names (httpkit.client_address).

    Never Sanic's `remote_addr`, which believes headers whenever Sanic is configured to.
    """
    forwarded = ",".join(request.headers.getall("x-forwarded-for", []))
    return httpkit.client_address(request.ip or "", forwarded, request.app.ctx.proxies)


def audit(request: Request, action: str, target: str = "", detail: str = "", conn: Optional[Connection] = None) -> None:
    """Record a staff action in the audit log (ids and labels only, never content).

    Pass `conn` to record it in the transaction of the action itself: then the action and
    its audit row are stored together or not at all.
    """
    app = request.app
    who = getattr(request.ctx, "user", None) or ""
    row = (app.ctx.config.clock(), who, action, target, detail, client_ip(request))
    if conn is not None:
        db_accounts.add_audit(conn, *row)
        return
    with app.ctx.db.begin() as own:
        db_accounts.add_audit(own, *row)


def route_name(request: Request) -> str:
    """The route a request matched, for log lines (a raw path can hold anything)."""
    return request.name or "unmatched"


def set_cookie(resp: HTTPResponse, request: Request, name: str, value: str, max_age: int) -> None:
    """Set a staff cookie: HttpOnly, SameSite=Strict, Secure unless turned off."""
    resp.cookies[name] = value
    cookie = resp.cookies[name]
    cookie["httponly"] = True
    cookie["samesite"] = "Strict"
    cookie["path"] = "/"
    cookie["max-age"] = max_age
    if request.app.ctx.config.secure_cookie:
        cookie["secure"] = True


async def guard(request: Request) -> Optional[HTTPResponse]:
    """Request middleware: load the login; send strangers to /login; check CSRF on POST."""
    request.ctx.user, request.ctx.csrf = None, ""
    if request.path in PUBLIC_PATHS or request.path.startswith("/static/"):
        return None
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        config = request.app.ctx.config
        now = config.clock()
        with request.app.ctx.db.begin() as conn:
            session = db_accounts.get_session(conn, token_hash(token), now, now - config.idle_minutes * 60)
            if session is not None and session.last_seen < now - TOUCH_EVERY:
                db_accounts.touch_session(conn, session.token_hash, now)
        if session is not None:
            request.ctx.user, request.ctx.csrf = session.username, session.csrf
    if request.ctx.user is None:
        query = "?" + request.query_string if request.query_string else ""
        target = request.path + query if request.method == "GET" else "/"
        return response.redirect(app_url("/login", target), status=303)
    if request.method not in ("GET", "HEAD"):
        sent = (request.form or {}).get("csrf_token") or ""
        if not hmac.compare_digest(sent.encode(), request.ctx.csrf.encode()):
            logger.warning("staff.csrf_rejected route=%s", route_name(request))
            raise Refused("Formularen er udløbet eller ugyldig. Genindlæs siden og prøv igen.")
    return None


def app_url(path: str, next_path: str) -> str:
    """`path` with a `next` argument when it is not the start page."""
    return path if next_path in ("", "/") else f"{path}?{urlencode({'next': next_path})}"


@bp.post("/logout")
async def logout(request: Request) -> HTTPResponse:
    """End this login."""
    with request.app.ctx.db.begin() as conn:
        db_accounts.delete_sessions(conn, token_hash=token_hash(request.cookies.get(SESSION_COOKIE, "")))
    audit(request, "logout")
    resp = response.redirect("/login", status=303)
    set_cookie(resp, request, SESSION_COOKIE, "", 0)
    return resp
