"""The staff app's SQL for accounts: users, sessions, failed logins and the audit log.

The conversation side (events, summaries, reviews, counts) is in db.py; every SQL
statement of the staff app lives in one of these two modules.
"""

import secrets
from typing import Any, Iterable, List, Optional, Tuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from fagchat.staff.schema import (
    audit,
    login_failures,
    login_guard,
    sessions,
    state,
    users,
)

LOGIN_AUDIT = ("login.failed", "login.locked")  # audit rows about who tried: purged with time


def _insert_or_skip(conn: Connection, table: sa.Table, **row: Any) -> None:
    """Insert `row` unless its key exists (waiting, in PostgreSQL, for a concurrent insert)."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    conn.execute(insert(table).values(**row).on_conflict_do_nothing())


def get_user(conn: Connection, username: str) -> Optional[Any]:
    """The account named `username`."""
    return conn.execute(sa.select(users).where(users.c.username == username)).first()


def create_user(conn: Connection, username: str, password_hash: str, now: float, admin: bool = False) -> None:
    """Add an account (an admin may train and approve models)."""
    conn.execute(
        users.insert().values(username=username, password_hash=password_hash, created_at=now, admin=int(admin))
    )


def is_admin(conn: Connection, username: Optional[str]) -> bool:
    """Whether `username` may train, approve and roll back models."""
    flag = conn.execute(sa.select(users.c.admin).where(users.c.username == (username or ""))).scalar()
    return bool(flag)


def set_admin(conn: Connection, username: str, admin: bool) -> int:
    """Give or take the admin flag; return 1 if the account exists."""
    return conn.execute(users.update().where(users.c.username == username).values(admin=int(admin))).rowcount


def set_password(conn: Connection, username: str, password_hash: str) -> int:
    """Replace an account's password hash; return 1 if the account exists."""
    return conn.execute(users.update().where(users.c.username == username).values(password_hash=password_hash)).rowcount


def create_session(conn: Connection, token_hash: str, username: str, csrf: str, now: float, expires_at: float) -> None:
    """Remember a login."""
    row = dict(token_hash=token_hash, username=username, csrf=csrf, expires_at=expires_at, last_seen=now)
    conn.execute(sessions.insert().values(**row))


def get_session(conn: Connection, token_hash: str, now: float, active_since: float) -> Optional[Any]:
    """The login with this token hash, unless expired or unused since `active_since`."""
    s = sessions.c
    query = sa.select(sessions).where(s.token_hash == token_hash, s.expires_at > now, s.last_seen >= active_since)
    return conn.execute(query).first()


def touch_session(conn: Connection, token_hash: str, now: float) -> None:
    """Note that a login was used (for the idle timeout)."""
    conn.execute(sessions.update().where(sessions.c.token_hash == token_hash).values(last_seen=now))


def delete_sessions(conn: Connection, token_hash: Optional[str] = None, username: Optional[str] = None) -> None:
    """End one login, or every login of `username`."""
    cond = sessions.c.token_hash == token_hash if token_hash else sessions.c.username == username
    conn.execute(sessions.delete().where(cond))


def name_key(conn: Connection) -> str:
    """The random key that names typed at failed logins are hashed with (made at first use)."""
    _insert_or_skip(conn, state, key="name_key", value=secrets.token_hex(32))
    return conn.execute(sa.select(state.c.value).where(state.c.key == "name_key")).scalar_one()


def lock_login_keys(conn: Connection, keys: Iterable[str], now: float) -> None:
    """Lock the guard rows of `keys` until this transaction ends (always in the same order,
    so two logins never wait for each other crosswise)."""
    for key in sorted(set(keys)):
        _insert_or_skip(conn, login_guard, key=key[:160], at=now)
        conn.execute(login_guard.update().where(login_guard.c.key == key[:160]).values(at=now))


def add_login_failure(conn: Connection, username: str, ip: str, at: float) -> int:
    """Count one failed login (or an attempt being checked); return its id."""
    return conn.execute(login_failures.insert().values(username=username, ip=ip, at=at)).inserted_primary_key[0]


def delete_login_failure(conn: Connection, failure_id: int) -> None:
    """Take back an attempt that turned out right."""
    conn.execute(login_failures.delete().where(login_failures.c.id == failure_id))


def failures_of(conn: Connection, username: str, ip: str, since: float) -> Tuple[int, Optional[float]]:
    """How many failed logins for `username` from `ip` since `since`, and the latest's time."""
    f = login_failures.c
    query = sa.select(sa.func.count(), sa.func.max(f.at)).where(f.username == username, f.ip == ip, f.at >= since)
    count, last = conn.execute(query).one()
    return count, last


def nth_newest_failure(
    conn: Connection, n: int, since: float, username: Optional[str] = None, ip: Optional[str] = None
) -> Optional[float]:
    """The time of the `n`-th newest failed login since `since` for `username` or `ip`."""
    f = login_failures.c
    cond = f.username == username if username is not None else f.ip == ip
    query = sa.select(f.at).where(cond, f.at >= since).order_by(f.at.desc()).offset(max(0, n - 1)).limit(1)
    return conn.execute(query).scalar()


def clear_login_failures(conn: Connection, username: str, ip: Optional[str] = None) -> None:
    """Forget the failed logins of `username` (from `ip`, or from anywhere)."""
    cond = login_failures.c.username == username
    conn.execute(login_failures.delete().where(cond, login_failures.c.ip == ip if ip is not None else sa.true()))


def purge_auth(conn: Connection, now: float, failures_before: float, audit_before: float) -> None:
    """Drop expired logins, old failed-login records and old audit rows of failed logins."""
    conn.execute(sessions.delete().where(sessions.c.expires_at <= now))
    conn.execute(login_failures.delete().where(login_failures.c.at < failures_before))
    conn.execute(login_guard.delete().where(login_guard.c.at < failures_before))
    conn.execute(audit.delete().where(audit.c.action.in_(LOGIN_AUDIT), audit.c.at < audit_before))


def add_audit(
    conn: Connection, at: float, username: str, action: str, target: str = "", detail: str = "", ip: str = ""
) -> None:
    """Record a staff action (ids and labels only, never conversation content)."""
    row = dict(at=at, username=username[:64], action=action, target=target[:255], detail=detail[:255], ip=ip[:64])
    conn.execute(audit.insert().values(**row))


def list_audit(conn: Connection, limit: int, offset: int) -> List[Any]:
    """One page of the audit log, newest first."""
    return conn.execute(sa.select(audit).order_by(audit.c.id.desc()).limit(limit).offset(offset)).all()
