"""The login form and logging in: throttled, one password check at a time per slot.

* The form carries a token matched against a short-lived cookie.
* Before the password is checked, `throttle.reserve` decides whether this user name and
  client address may try now, and records the try, in one transaction (429 otherwise).
* At most FAGCHAT_STAFF_HASH_CONCURRENCY argon2 checks (64 MiB each) run at once; further
  logins wait their turn, so a flood of logins cannot exhaust memory.
* What was typed as the user name is stored (failure counts, audit log) only when it names
  an account; otherwise as a keyed hash, since people type their password there by mistake.
"""

import asyncio
import hashlib
import hmac
import logging
import math
import re
import secrets

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy.engine import Connection

from fagchat.ops import metrics
from fagchat.staff import auth, db_accounts, throttle
from fagchat.staff.pages import Locked, Refused, local_path, render

logger = logging.getLogger(__name__)
bp = Blueprint("login")
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")
WRONG = "Forkert brugernavn eller adgangskode."


def typed_name(conn: Connection, typed: str, known: bool) -> str:
    """What is stored for a typed user name: the account's name, or "#" and a keyed hash."""
    if known:
        return typed
    key = db_accounts.name_key(conn).encode()
    return "#" + hmac.new(key, typed.encode(), hashlib.sha256).hexdigest()[:24]


def locked_message(wait: float) -> str:
    """The Danish 429 message, with the wait in minutes (or hours when long)."""
    minutes = max(1, math.ceil(wait / 60))
    if minutes < 120:
        when = "1 minut" if minutes == 1 else f"{minutes} minutter"
    else:
        when = f"{math.ceil(minutes / 60)} timer"
    return f"For mange mislykkede loginforsøg. Prøv igen om {when}."


@bp.get("/login")
async def login_form(request: Request) -> HTTPResponse:
    """Show the login form."""
    return _login_page(request, "", 200)


def _login_page(request: Request, error: str, status: int) -> HTTPResponse:
    source = request.form if request.method == "POST" and request.form else request.args
    # Reuse a token already issued, so a second tab (or a favicon request that lands
    # here) does not void the form open in the first.
    token = request.cookies.get(auth.LOGIN_COOKIE) or ""
    token = token if _TOKEN.match(token) else secrets.token_urlsafe(32)
    resp = render(
        request, "login.html", status=status, error=error, login_token=token, next=local_path(source.get("next"))
    )
    auth.set_cookie(resp, request, auth.LOGIN_COOKIE, token, 3600)
    return resp


@bp.post("/login")
async def login(request: Request) -> HTTPResponse:
    """Check the password (unless throttled) and start a login."""
    app, form = request.app, request.form or {}
    config = app.ctx.config
    sent, expected = form.get("login_token") or "", request.cookies.get(auth.LOGIN_COOKIE) or ""
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise Refused("Loginformularen er udløbet. Genindlæs siden og prøv igen.")
    typed = (form.get("username") or "").strip().lower()[:64]
    password = form.get("password") or ""
    now, address = config.clock(), auth.client_ip(request)
    with app.ctx.db.begin() as conn:
        user = db_accounts.get_user(conn, typed)
        who = typed_name(conn, typed, user is not None)
        wait, attempt = throttle.reserve(conn, who, address, now, config.throttle)
        if wait:
            db_accounts.add_audit(conn, now, who, "login.locked", ip=address)
    if wait:
        logger.warning("staff.login_locked ip=%s wait_s=%d", address, wait)
        metrics.inc("fagchat_staff_logins_total", result="locked")
        raise Locked(locked_message(wait), retry_after=math.ceil(wait))
    stored = user.password_hash if user else None
    loop = asyncio.get_running_loop()
    async with app.ctx.hashing:
        ok, rehash = await loop.run_in_executor(None, auth.check_password, stored, password)
        renewed = await loop.run_in_executor(None, auth.hash_password, password) if ok and rehash else None
    now = config.clock()
    with app.ctx.db.begin() as conn:
        current = db_accounts.get_user(conn, typed) if ok else None
        # A password changed while this one was checked: the old one opens no login.
        ok = current is not None and current.password_hash == stored
        if not ok:
            db_accounts.add_audit(conn, now, who, "login.failed", ip=address)
        else:
            db_accounts.delete_login_failure(conn, attempt)
            db_accounts.clear_login_failures(conn, who, address)
            if renewed:
                db_accounts.set_password(conn, typed, renewed)
            token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            expires = now + config.session_minutes * 60
            db_accounts.create_session(conn, auth.token_hash(token), typed, csrf, now, expires)
            db_accounts.add_audit(conn, now, typed, "login", ip=address)
    metrics.inc("fagchat_staff_logins_total", result="ok" if ok else "failed")
    if not ok:
        logger.info("staff.login_failed ip=%s", address)
        return _login_page(request, WRONG, 401)
    resp = response.redirect(local_path(form.get("next")), status=303)
    auth.set_cookie(resp, request, auth.SESSION_COOKIE, token, config.session_minutes * 60)
    auth.set_cookie(resp, request, auth.LOGIN_COOKIE, "", 0)
    return resp
