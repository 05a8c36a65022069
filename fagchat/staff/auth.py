"""Logging in and out, the login guard, CSRF checks, lockout and the audit trail.

* Passwords are hashed with argon2 (argon2-cffi); accounts come from `cli create-user`.
* A login is a random token in an HttpOnly, SameSite=Strict cookie (Secure when
  FAGCHAT_STAFF_SECURE_COOKIE=1); the database holds only its SHA-256 and the login's
  CSRF token, which every POST form must send back.
* The login form itself carries a token matched against a short-lived cookie.
* After FAGCHAT_STAFF_LOCKOUT_ATTEMPTS failed logins within FAGCHAT_STAFF_LOCKOUT_MINUTES,
  for one user name or from one IP, further tries are refused (429) until the window
  has passed, whether the password is right or not.
"""

import asyncio
import hashlib
import hmac
import logging
import re
import secrets
from typing import Optional, Tuple
from urllib.parse import urlencode

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from fagchat.staff import db_accounts
from fagchat.staff.pages import Locked, Refused, local_path, render
from fagchat.stores.redaction import redact

logger = logging.getLogger(__name__)
bp = Blueprint("auth")

SESSION_COOKIE = "fagchat_staff"
LOGIN_COOKIE = "fagchat_staff_login"
PUBLIC_PATHS = {"/login", "/healthz", "/favicon.ico"}
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")
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
    """The caller's address (from a trusted proxy's header when one is configured)."""
    return (request.remote_addr or request.ip or "")[:64]


def audit(request: Request, action: str, target: str = "", detail: str = "", username: Optional[str] = None) -> None:
    """Record a staff action in the audit log (ids and labels only, never content)."""
    app = request.app
    with app.ctx.db.begin() as conn:
        who = username if username is not None else getattr(request.ctx, "user", None) or ""
        db_accounts.add_audit(conn, app.ctx.config.clock(), who, action, target, detail, client_ip(request))


def _cookie(resp: HTTPResponse, request: Request, name: str, value: str, max_age: int) -> None:
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
        app = request.app
        with app.ctx.db.begin() as conn:
            session = db_accounts.get_session(conn, token_hash(token), app.ctx.config.clock())
        if session is not None:
            request.ctx.user, request.ctx.csrf = session.username, session.csrf
    if request.ctx.user is None:
        query = "?" + request.query_string if request.query_string else ""
        target = request.path + query if request.method == "GET" else "/"
        return response.redirect(app_url("/login", target), status=303)
    if request.method not in ("GET", "HEAD"):
        sent = (request.form or {}).get("csrf_token") or ""
        if not hmac.compare_digest(sent.encode(), request.ctx.csrf.encode()):
            logger.warning("staff.csrf_rejected path=%s", request.path)
            raise Refused("Formularen er udløbet eller ugyldig. Genindlæs siden og prøv igen.")
    return None


def app_url(path: str, next_path: str) -> str:
    """`path` with a `next` argument when it is not the start page."""
    return path if next_path in ("", "/") else f"{path}?{urlencode({'next': next_path})}"


@bp.get("/login")
async def login_form(request: Request) -> HTTPResponse:
    """Show the login form."""
    return _login_page(request, "", 200)


def _login_page(request: Request, error: str, status: int) -> HTTPResponse:
    source = request.form if request.method == "POST" and request.form else request.args
    # Reuse a token already issued, so a second tab (or a favicon request that lands
    # here) does not void the form open in the first.
    token = request.cookies.get(LOGIN_COOKIE) or ""
    token = token if _TOKEN.match(token) else secrets.token_urlsafe(32)
    resp = render(
        request, "login.html", status=status, error=error, login_token=token, next=local_path(source.get("next"))
    )
    _cookie(resp, request, LOGIN_COOKIE, token, 3600)
    return resp


@bp.post("/login")
async def login(request: Request) -> HTTPResponse:
    """Check the password (unless locked out) and start a login."""
    app, form = request.app, request.form or {}
    config = app.ctx.config
    sent, expected = form.get("login_token") or "", request.cookies.get(LOGIN_COOKIE) or ""
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise Refused("Loginformularen er udløbet. Genindlæs siden og prøv igen.")
    username = (form.get("username") or "").strip().lower()[:64]
    password = form.get("password") or ""
    now, ip = config.clock(), client_ip(request)
    with app.ctx.db.begin() as conn:
        by_user, by_ip = db_accounts.login_failures_since(conn, username, ip, now - config.lockout_minutes * 60)
        if max(by_user, by_ip) >= config.lockout_attempts:
            db_accounts.add_audit(conn, now, redact(username), "login.locked", ip=ip)
            logger.warning("staff.login_locked ip=%s", ip)
            raise Locked(f"For mange mislykkede forsøg. Prøv igen om {config.lockout_minutes} minutter.")
        user = db_accounts.get_user(conn, username)
    loop = asyncio.get_running_loop()
    ok, rehash = await loop.run_in_executor(None, check_password, user.password_hash if user else None, password)
    with app.ctx.db.begin() as conn:
        if not ok:
            db_accounts.add_login_failure(conn, username, ip, now)
            db_accounts.add_audit(conn, now, redact(username), "login.failed", ip=ip)  # whatever was typed
            logger.info("staff.login_failed ip=%s", ip)
            return _login_page(request, "Forkert brugernavn eller adgangskode.", 401)
        if rehash:
            db_accounts.set_password(conn, username, hash_password(password))
        db_accounts.clear_login_failures(conn, username)
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        db_accounts.create_session(conn, token_hash(token), username, csrf, now + config.session_minutes * 60)
        db_accounts.add_audit(conn, now, username, "login", ip=ip)
    resp = response.redirect(local_path(form.get("next")), status=303)
    _cookie(resp, request, SESSION_COOKIE, token, config.session_minutes * 60)
    _cookie(resp, request, LOGIN_COOKIE, "", 0)
    return resp


@bp.post("/logout")
async def logout(request: Request) -> HTTPResponse:
    """End this login."""
    with request.app.ctx.db.begin() as conn:
        db_accounts.delete_sessions(conn, token_hash=token_hash(request.cookies.get(SESSION_COOKIE, "")))
    audit(request, "logout")
    resp = response.redirect("/login", status=303)
    _cookie(resp, request, SESSION_COOKIE, "", 0)
    return resp
