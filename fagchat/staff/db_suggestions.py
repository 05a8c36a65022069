"""The SQL of grouped suggestions and of the "new topic needed" list (suggestions.py).

A message's group key is its group id; a message a reviewer took out of its group is a
group of its own, keyed by its negated event id (so it never meets the group it led); a
message not embedded yet is a group of its own under its event id.
"""

from collections import Counter
from typing import Any, Dict, List, Sequence, Set, Tuple

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from fagchat.staff.db import NEW_TOPIC, count_rows, needs_review, queue_from, queue_where
from fagchat.staff.engine import chunks
from fagchat.staff.schema import events, messages, reviews, suggestions

GroupHead = Tuple[int, int, float]  # (group key, open messages, newest message's time)


def group_key() -> Any:
    """The group a message belongs to (see the module docstring)."""
    m, s = messages.c, suggestions.c
    return sa.case((s.split == 1, -m.event_id), else_=sa.func.coalesce(s.group_id, m.event_id))


def _from() -> Any:
    return queue_from().outerjoin(suggestions, suggestions.c.event_id == messages.c.event_id)


# --- embedding -----------------------------------------------------------------------
def unembedded(conn: Connection, threshold: float, limit: int) -> List[Any]:
    """(event_id, sender_id, data) of messages to embed: open ones and new topics, newest first."""
    m, r = messages.c, reviews.c
    query = (
        sa.select(m.event_id, m.sender_id, events.c.data)
        .select_from(_from().join(events, events.c.id == m.event_id))
        .where(
            needs_review(threshold),
            suggestions.c.event_id.is_(None),
            sa.or_(r.event_id.is_(None), r.decision == NEW_TOPIC),
        )
        .order_by(m.ts.desc(), m.event_id.desc())
    )
    return conn.execute(query.limit(limit)).all()


def existing(conn: Connection, ids: Sequence[int]) -> Set[int]:
    """Which of `ids` are messages still (a conversation may have been deleted meanwhile)."""
    found: Set[int] = set()
    for part in chunks(list(ids)):
        found.update(conn.execute(sa.select(messages.c.event_id).where(messages.c.event_id.in_(part))).scalars())
    return found


def leaders(conn: Connection, kind: str, cap: int) -> Tuple[List[int], np.ndarray]:
    """The newest `cap` group leaders with vectors of `kind`: their ids and vectors."""
    s = suggestions.c
    query = sa.select(s.event_id, s.vector).where(s.leads == 1, s.encoder == kind, s.split == 0)
    rows = conn.execute(query.order_by(s.event_id.desc()).limit(cap)).all()
    if not rows:
        return [], np.zeros((0, 0), np.float32)
    return [r.event_id for r in rows], np.stack([np.frombuffer(r.vector, np.float32) for r in rows])


def save_vectors(conn: Connection, rows: List[Dict[str, Any]]) -> None:
    """Store vectors and groups (replacing rows another process stored meanwhile)."""
    for part in chunks([r["event_id"] for r in rows]):
        conn.execute(suggestions.delete().where(suggestions.c.event_id.in_(part)))
    if rows:
        conn.execute(suggestions.insert(), rows)


def split(conn: Connection, event_id: int) -> bool:
    """Take a message out of its group; False if it was in none."""
    query = suggestions.update().where(suggestions.c.event_id == event_id).values(split=1, leads=0)
    return conn.execute(query).rowcount > 0


# --- the grouped queue ---------------------------------------------------------------
# Grouping runs over a subquery's `group_key` column, not over the CASE expression itself:
# PostgreSQL does not see two renderings of one expression with bound values as the same.
def _keyed(*conds: Any) -> Any:
    """(event_id, ts, decision, group_key) of the messages matching `conds`."""
    m = messages.c
    query = sa.select(m.event_id, m.ts, reviews.c.decision, group_key().label("group_key"))
    return query.select_from(_from()).where(*conds).subquery()


def count_groups(conn: Connection, threshold: float, reason: str, cap: int) -> int:
    """How many groups the open queue holds, counting at most `cap` + 1."""
    keyed = _keyed(*queue_where(threshold, reason, False))
    return count_rows(conn, sa.select(keyed.c.group_key).group_by(keyed.c.group_key), cap)


def queue_groups(conn: Connection, threshold: float, reason: str, limit: int, offset: int) -> List[GroupHead]:
    """One page of the open queue's groups: the largest first, then the newest."""
    keyed = _keyed(*queue_where(threshold, reason, False))
    key, n, newest = keyed.c.group_key, sa.func.count(), sa.func.max(keyed.c.ts)
    query = sa.select(key, n, newest).group_by(key).order_by(n.desc(), newest.desc(), key.desc())
    return [tuple(r) for r in conn.execute(query.limit(limit).offset(offset))]


def group_members(conn: Connection, threshold: float, reason: str, keys: Sequence[int], cap: int) -> List[Any]:
    """The open messages of the groups `keys` (at most `cap` each, newest first), with their data."""
    if not keys:
        return []
    key, m, r = group_key(), messages.c, reviews.c
    rank = sa.func.row_number().over(partition_by=key, order_by=(m.ts.desc(), m.event_id.desc()))
    inner = (
        sa.select(
            messages,
            events.c.data,
            r.decision,
            r.note,
            r.example,
            r.reviewer,
            r.decided_at,
            key.label("group_key"),
            rank.label("rank"),
        )
        .select_from(_from().join(events, events.c.id == m.event_id))
        .where(*queue_where(threshold, reason, False), key.in_(list(keys)))
        .subquery()
    )
    query = sa.select(inner).where(inner.c.rank <= cap).order_by(inner.c.ts.desc(), inner.c.event_id.desc())
    return conn.execute(query).all()


def earlier_decisions(conn: Connection, keys: Sequence[int]) -> Dict[int, Counter]:
    """How the decided messages of the groups `keys` were decided: {key: Counter(decision)}."""
    found: Dict[int, Counter] = {}
    for part in chunks(list(keys)):
        keyed = _keyed(reviews.c.event_id.isnot(None), group_key().in_(part))
        query = sa.select(keyed.c.group_key, keyed.c.decision, sa.func.count())
        for group, decision, n in conn.execute(query.group_by(keyed.c.group_key, keyed.c.decision)):
            found.setdefault(group, Counter())[decision] = n
    return found


def get_review(conn: Connection, event_id: int) -> Any:
    """The decision stored on one message, or None."""
    return conn.execute(sa.select(reviews).where(reviews.c.event_id == event_id)).first()


# --- "new topic needed" --------------------------------------------------------------
def new_topics(conn: Connection, cap: int) -> List[Any]:
    """Messages decided "new topic needed": group key, example, note, asked and decided time."""
    r, m = reviews.c, messages.c
    query = (
        sa.select(group_key().label("group_key"), r.event_id, r.example, r.note, r.decided_at, m.ts)
        .select_from(_from())
        .where(r.decision == NEW_TOPIC)
        .order_by(m.ts.desc())
    )
    return conn.execute(query.limit(cap)).all()


def open_in_groups(conn: Connection, threshold: float, keys: Sequence[int]) -> Dict[int, Tuple[int, float, float]]:
    """Open messages of the groups `keys`: {key: (how many, first asked, last asked)}."""
    found: Dict[int, Tuple[int, float, float]] = {}
    for part in chunks(list(keys)):
        keyed = _keyed(*queue_where(threshold, "all", False), group_key().in_(part))
        ts = keyed.c.ts
        query = sa.select(keyed.c.group_key, sa.func.count(), sa.func.min(ts), sa.func.max(ts))
        found.update(
            {group: (n, first, last) for group, n, first, last in conn.execute(query.group_by(keyed.c.group_key))}
        )
    return found
