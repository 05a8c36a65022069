"""Every SQL statement of the staff app: SQLAlchemy Core, bound parameters, capped.

The same code runs on SQLite and PostgreSQL. Functions take an open connection, so the
caller decides what one transaction holds; lists take `limit`/`offset` and counts stop at
a cap, so no page reads a large table whole.
"""

from typing import Any, Dict, Iterable, List, Optional, Sequence, Set, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from fagchat import vocabulary
from fagchat.staff.engine import chunks
from fagchat.staff.schema import (
    INDEXER_CURSOR,
    MARK_AFTER_ALARM,
    PER_CONVERSATION,
    conversations,
    events,
    marks,
    messages,
    reviews,
    state,
)

NEW_TOPIC = vocabulary.NEW_TOPIC  # review decision: no intent fits, content is missing


def count_rows(conn: Connection, query: Any, cap: int) -> int:
    """How many rows `query` gives, counting at most `cap` + 1."""
    inner = query.limit(cap + 1).subquery()
    return conn.execute(sa.select(sa.func.count()).select_from(inner)).scalar_one()


# --- indexer state and summaries ---------------------------------------------------
def get_state(conn: Connection, key: str, default: str = "") -> str:
    """Return a value of the staff app's own state."""
    value = conn.execute(sa.select(state.c.value).where(state.c.key == key)).scalar()
    return default if value is None else value


def set_state(conn: Connection, key: str, value: str) -> None:
    """Store a value of the staff app's own state."""
    if conn.execute(state.update().where(state.c.key == key).values(value=value)).rowcount == 0:
        conn.execute(state.insert().values(key=key, value=value))


def events_after(conn: Connection, after_id: int, limit: int) -> List[Tuple[int, str]]:
    """The (id, sender_id) of the next `limit` events after `after_id`."""
    query = sa.select(events.c.id, events.c.sender_id).where(events.c.id > after_id)
    return [tuple(r) for r in conn.execute(query.order_by(events.c.id).limit(limit))]


def events_of(conn: Connection, senders: Sequence[str]) -> List[sa.engine.Row]:
    """Every event of the given conversations, in order (for the indexer)."""
    e = events.c
    cols = [e.id, e.sender_id, e.type_name, e.timestamp, e.action_name, e.data]
    rows: List[sa.engine.Row] = []
    for part in chunks(sorted(set(senders))):
        rows += conn.execute(sa.select(*cols).where(e.sender_id.in_(part)).order_by(e.id)).all()
    return rows


def replace_summaries(
    conn: Connection, senders: Optional[Sequence[str]], convs: List[dict], msgs: List[dict], mks: List[dict]
) -> None:
    """Replace the derived rows of `senders` (None: of everyone) by freshly computed ones."""
    for part in chunks(sorted(set(senders))) if senders is not None else [None]:
        for table in (messages, marks, conversations):
            conn.execute(table.delete().where(table.c.sender_id.in_(part) if part else sa.true()))
    for table, rows in ((conversations, convs), (messages, msgs), (marks, mks)):
        if rows:
            conn.execute(table.insert(), rows)


# --- inbox and conversation --------------------------------------------------------
def _inbox_where(f: Any) -> List[Any]:
    """The conditions on staff_conversations for an `inbox.Filter`."""
    c = conversations.c
    conds: List[Any] = [c.n_user > 0]
    if f.start is not None:
        conds.append(c.last_at >= f.start)
    if f.end is not None:
        conds.append(c.last_at < f.end)
    conds += [c[flag] > 0 for flag in ("fallback", "thumbs_down", "handover", "acute") if getattr(f, flag)]
    if f.after_alarm:
        chosen = sa.select(marks.c.sender_id).where(marks.c.kind == MARK_AFTER_ALARM)
        conds.append(c.sender_id.in_(chosen))
    if f.below is not None:
        conds.append(c.min_conf < f.below)
    if f.role:
        conds.append(c.role == f.role)
    if f.articles is not None:
        # IN (subquery) is computed once; a correlated EXISTS would run per row.
        shown = sa.select(marks.c.sender_id).where(
            marks.c.kind == "shown", marks.c.article.in_(list(f.articles) or [""])
        )
        conds.append(c.sender_id.in_(shown))
    return conds


def list_conversations(conn: Connection, f: Any, limit: int, offset: int) -> List[Any]:
    """One page of conversations matching the inbox filter `f`, newest activity first."""
    c = conversations.c
    query = sa.select(conversations).where(*_inbox_where(f)).order_by(c.last_at.desc(), c.sender_id.desc())
    return conn.execute(query.limit(limit).offset(offset)).all()


def count_conversations(conn: Connection, f: Any, cap: int) -> int:
    """How many conversations match `f`, counting at most `cap` + 1."""
    return count_rows(conn, sa.select(conversations.c.sender_id).where(*_inbox_where(f)), cap)


def with_mark(conn: Connection, senders: Sequence[str], kind: str) -> Set[str]:
    """Those of `senders` whose conversation has a mark of `kind`."""
    found: Set[str] = set()
    for part in chunks(list(senders)):
        query = sa.select(marks.c.sender_id).where(marks.c.sender_id.in_(part), marks.c.kind == kind).distinct()
        found.update(conn.execute(query).scalars())
    return found


def articles_shown(conn: Connection, senders: Sequence[str]) -> Dict[str, List[str]]:
    """The articles shown in each of `senders`, in order of showing."""
    found: Dict[str, List[str]] = {}
    for part in chunks(list(senders)):
        # No ORDER BY: it would tempt SQLite to walk the whole table in id order.
        query = sa.select(marks.c.event_id, marks.c.sender_id, marks.c.article).where(
            marks.c.sender_id.in_(part), marks.c.kind == "shown"
        )
        for _, sender, article in sorted(conn.execute(query)):
            if article not in found.setdefault(sender, []):
                found[sender].append(article)
    return found


def get_conversation(conn: Connection, sender: str) -> Optional[Any]:
    """The summary row of one conversation."""
    return conn.execute(sa.select(conversations).where(conversations.c.sender_id == sender)).first()


def conversation_events(conn: Connection, sender: str, cap: int) -> List[Any]:
    """The first `cap` events of one conversation, in order."""
    e = events.c
    query = sa.select(e.id, e.type_name, e.timestamp, e.data).where(e.sender_id == sender)
    return conn.execute(query.order_by(e.id).limit(cap)).all()


def delete_conversations(conn: Connection, senders: Sequence[str]) -> int:
    """Delete conversations with everything derived from them; return how many existed."""
    found = 0
    for part in chunks(sorted(set(senders))):
        query = sa.select(sa.func.count(sa.distinct(events.c.sender_id))).where(events.c.sender_id.in_(part))
        found += conn.execute(query).scalar_one()
        conn.execute(events.delete().where(events.c.sender_id.in_(part)))
        for table in PER_CONVERSATION:
            conn.execute(table.delete().where(table.c.sender_id.in_(part)))
    # SQLite hands a deleted top id out again: never stay ahead of the highest id left.
    top = conn.execute(sa.select(sa.func.max(events.c.id))).scalar() or 0
    set_state(conn, INDEXER_CURSOR, str(min(int(get_state(conn, INDEXER_CURSOR, "0")), top)))
    return found


def stale_senders(conn: Connection, cutoff: float, limit: int) -> List[str]:
    """Conversations whose latest event is older than `cutoff` (read from Rasa's events)."""
    query = sa.select(events.c.sender_id).group_by(events.c.sender_id).having(sa.func.max(events.c.timestamp) < cutoff)
    return list(conn.execute(query.limit(limit)).scalars())


# --- review queue and export -------------------------------------------------------
def needs_review(threshold: float, reason: str = "all") -> Any:
    """The condition on staff_messages for "needs a decision" (for `reason`, or any)."""
    m = messages.c
    reasons = {"fallback": m.fallback == 1, "low": m.confidence < threshold, "down": m.thumbs_down == 1}
    return sa.and_(reasons.get(reason, sa.or_(*reasons.values())), m.command == 0)


def queue_where(threshold: float, reason: str, done: bool) -> List[Any]:
    """The conditions of the review queue (`done`: the decided part of it)."""
    decided = reviews.c.event_id.isnot(None) if done else reviews.c.event_id.is_(None)
    return [needs_review(threshold, reason), decided]


def queue_from() -> Any:
    """Messages with their decisions, if any."""
    return messages.outerjoin(reviews, reviews.c.event_id == messages.c.event_id)


def review_queue(conn: Connection, threshold: float, reason: str, done: bool, limit: int, offset: int) -> List[Any]:
    """One page of user messages that need (or got) a decision, newest first."""
    r = reviews.c
    query = (
        sa.select(messages, events.c.data, r.decision, r.note, r.example, r.reviewer, r.decided_at)
        .select_from(queue_from().join(events, events.c.id == messages.c.event_id))
        .where(*queue_where(threshold, reason, done))
        .order_by(messages.c.ts.desc(), messages.c.event_id.desc())
    )
    return conn.execute(query.limit(limit).offset(offset)).all()


def count_review_queue(conn: Connection, threshold: float, reason: str, done: bool, cap: int) -> int:
    """How many messages the queue holds, counting at most `cap` + 1."""
    query = sa.select(messages.c.event_id).select_from(queue_from())
    return count_rows(conn, query.where(*queue_where(threshold, reason, done)), cap)


def get_message(conn: Connection, event_id: int) -> Optional[Any]:
    """A user message's summary row with the stored event's JSON."""
    query = sa.select(messages, events.c.data).join(events, events.c.id == messages.c.event_id)
    return conn.execute(query.where(messages.c.event_id == event_id)).first()


def reviews_of(conn: Connection, sender: str) -> Dict[int, Any]:
    """The decisions taken on one conversation's messages, by event id."""
    return {row.event_id: row for row in conn.execute(sa.select(reviews).where(reviews.c.sender_id == sender))}


def save_review(conn: Connection, **row: Any) -> None:
    """Store a decision, replacing an earlier one on the same message."""
    conn.execute(reviews.delete().where(reviews.c.event_id == row["event_id"]))
    conn.execute(reviews.insert().values(**row))


def decided_examples(conn: Connection, cap: int) -> List[Any]:
    """Every decision (decision, example, note, decided_at), grouped by decision."""
    r = reviews.c
    query = sa.select(r.decision, r.example, r.note, r.decided_at).order_by(r.decision, r.decided_at)
    return conn.execute(query.limit(cap)).all()


# --- dashboard and knowledge -------------------------------------------------------
def conversations_per_day(conn: Connection, from_day: int) -> Dict[int, int]:
    """Conversations (with a user message) by the day they started."""
    c = conversations.c
    query = sa.select(c.start_day, sa.func.count()).where(c.start_day >= from_day, c.n_user > 0)
    return dict(conn.execute(query.group_by(c.start_day)).all())


def messages_per_day(conn: Connection, from_day: int) -> Dict[int, Tuple[int, int]]:
    """User messages and those that ended in a fallback, by day."""
    m = messages.c
    query = sa.select(m.day, sa.func.count(), sa.func.sum(m.fallback)).where(m.day >= from_day)
    return {day: (n, int(fb or 0)) for day, n, fb in conn.execute(query.group_by(m.day))}


def marks_per_day(conn: Connection, kinds: Iterable[str], from_day: int) -> List[Tuple[int, str, int]]:
    """(day, kind, count) of the given marks since `from_day`."""
    k = marks.c
    query = sa.select(k.day, k.kind, sa.func.count()).where(k.kind.in_(list(kinds)), k.day >= from_day)
    return [tuple(r) for r in conn.execute(query.group_by(k.day, k.kind))]


def marks_per_article(conn: Connection, from_day: Optional[int] = None) -> Dict[Tuple[str, str], int]:
    """{(article, kind): count} of shows, 👍 and 👎 (since `from_day`, or all)."""
    k = marks.c
    conds = [k.kind.in_(["shown", "up", "down"]), k.article.isnot(None)]
    if from_day is not None:
        conds.append(k.day >= from_day)
    query = sa.select(k.article, k.kind, sa.func.count()).where(*conds).group_by(k.article, k.kind)
    return {(article, kind): n for article, kind, n in conn.execute(query)}
