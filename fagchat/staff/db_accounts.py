"""The staff app's SQL for accounts: users, sessions, failed logins and the audit log.

The conversation side (events, summaries, reviews, counts) is in db.py; every SQL
statement of the staff app lives in one of these two modules.
"""

from typing import Any, List, Optional, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from fagchat.staff.schema import (
    audit,
    login_failures,
    sessions,
    users,
)


def get_user(conn: Connection, username: str) -> Optional[Any]:
    """The account named `username`."""
    return conn.execute(sa.select(users).where(users.c.username == username)).first()


def create_user(conn: Connection, username: str, password_hash: str, now: float) -> None:
    """Add an account."""
    conn.execute(users.insert().values(username=username, password_hash=password_hash, created_at=now))


def set_password(conn: Connection, username: str, password_hash: str) -> int:
    """Replace an account's password hash; return 1 if the account exists."""
    return conn.execute(users.update().where(users.c.username == username).values(password_hash=password_hash)).rowcount


def create_session(conn: Connection, token_hash: str, username: str, csrf: str, expires_at: float) -> None:
    """Remember a login."""
    conn.execute(sessions.insert().values(token_hash=token_hash, username=username, csrf=csrf, expires_at=expires_at))


def get_session(conn: Connection, token_hash: str, now: float) -> Optional[Any]:
    """The unexpired login with this token hash."""
    s = sessions.c
    return conn.execute(sa.select(sessions).where(s.token_hash == token_hash, s.expires_at > now)).first()


def delete_sessions(conn: Connection, token_hash: Optional[str] = None, username: Optional[str] = None) -> None:
    """End one login, or every login of `username`."""
    cond = sessions.c.token_hash == token_hash if token_hash else sessions.c.username == username
    conn.execute(sessions.delete().where(cond))


def add_login_failure(conn: Connection, username: str, ip: str, at: float) -> None:
    """Count one failed login."""
    conn.execute(login_failures.insert().values(username=username, ip=ip, at=at))


def login_failures_since(conn: Connection, username: str, ip: str, since: float) -> Tuple[int, int]:
    """Failed logins since `since` for this user name and for this IP."""
    f = login_failures.c
    count = [sa.select(sa.func.count()).where(cond, f.at >= since) for cond in (f.username == username, f.ip == ip)]
    return conn.execute(count[0]).scalar_one(), conn.execute(count[1]).scalar_one()


def clear_login_failures(conn: Connection, username: str) -> None:
    """Forget the failed logins of `username` (after a success or a password reset)."""
    conn.execute(login_failures.delete().where(login_failures.c.username == username))


def purge_auth(conn: Connection, now: float, failures_before: float) -> None:
    """Drop expired logins and old failed-login records."""
    conn.execute(sessions.delete().where(sessions.c.expires_at <= now))
    conn.execute(login_failures.delete().where(login_failures.c.at < failures_before))


def add_audit(
    conn: Connection, at: float, username: str, action: str, target: str = "", detail: str = "", ip: str = ""
) -> None:
    """Record a staff action (ids and labels only, never conversation content)."""
    row = dict(at=at, username=username[:64], action=action, target=target[:255], detail=detail[:255], ip=ip[:64])
    conn.execute(audit.insert().values(**row))


def list_audit(conn: Connection, limit: int, offset: int) -> List[Any]:
    """One page of the audit log, newest first."""
    return conn.execute(sa.select(audit).order_by(audit.c.id.desc()).limit(limit).offset(offset)).all()
