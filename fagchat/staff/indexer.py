"""The staff app's summary tables, kept up to date from Rasa's `events` incrementally.

Listing and filtering 100,000 conversations straight from `events` would mean parsing
millions of JSON documents per page, so the indexer derives small rows once: one per
conversation (`staff_conversations`), one per user message (`staff_messages`) and one per
countable moment (`staff_marks`). It reads events by id after the highest id it has
processed, and recomputes every conversation those events belong to from all of that
conversation's events. Recomputing (rather than adding up) keeps the result right when
an event arrives late or twice, and makes a conversation heal on its next message.
"""

import datetime as dt
import json
import logging
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from sqlalchemy.engine import Engine

from fagchat import vocabulary as v
from fagchat.staff import db, schema

logger = logging.getLogger(__name__)

BATCH = 5000  # events per step
Day = Callable[[float], int]


def day_function(tz: dt.tzinfo) -> Day:
    """A function turning a unix time into the ordinal of its local date in `tz`."""
    return lambda ts: dt.datetime.fromtimestamp(ts, tz).date().toordinal()


def catch_up(engine: Engine, day: Day, max_events: Optional[int] = None) -> int:
    """Process events not yet indexed (at most about `max_events`); return how many."""
    done = 0
    while max_events is None or done < max_events:
        with engine.begin() as conn:
            last = int(db.get_state(conn, schema.INDEXER_CURSOR, "0"))
            batch = db.events_after(conn, last, BATCH)
            if not batch:
                break
            senders = sorted({sender for _, sender in batch})
            index_conversations(conn, senders, day)
            db.set_state(conn, schema.INDEXER_CURSOR, str(batch[-1][0]))
        done += len(batch)
    if done:
        logger.debug("indexer.caught_up events=%d", done)
    return done


def reindex(engine: Engine, day: Day) -> int:
    """Rebuild every summary from the events; return how many events were read."""
    with engine.begin() as conn:
        db.replace_summaries(conn, None, [], [], [])
        db.set_state(conn, schema.INDEXER_CURSOR, "0")
    return catch_up(engine, day)


def index_conversations(conn: Any, senders: Sequence[str], day: Day) -> None:
    """Recompute the summaries of `senders` from all their events."""
    by_sender: Dict[str, List[Any]] = {}
    for row in db.events_of(conn, senders):
        by_sender.setdefault(row.sender_id, []).append(row)
    convs, msgs, mks = [], [], []
    for sender, rows in by_sender.items():
        conv, m, k = summarise(sender, rows, day)
        convs.append(conv)
        msgs += m
        mks += k
    db.replace_summaries(conn, senders, convs, msgs, mks)


def event_data(data: Optional[str]) -> Dict[str, Any]:
    """An event's JSON data as a dict; anything else (broken, not an object) as {}."""
    try:
        value = json.loads(data or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def tapped_after_alarm(data: Dict[str, Any]) -> Optional[str]:
    """The article intent a user message picked, if it is a tap on a button (to be read
    only as the very next message after the offer that follows a 112 answer)."""
    name = ((data.get("parse_data") or {}).get("intent") or {}).get("name")
    if not str(data.get("text") or "").startswith("/") or name in (None, v.ACUTE_DANGER, v.NLU_FALLBACK):
        return None
    return name if isinstance(name, str) else None


class _Conversation:
    """The running state while one conversation's events are read in order."""

    def __init__(self, sender: str, day: Day) -> None:
        self.sender, self.day = sender, day
        self.messages: List[Dict[str, Any]] = []
        self.marks: List[Dict[str, Any]] = []
        self.feedback: Dict[Optional[str], Dict[str, Any]] = {}
        self.turn: Optional[Dict[str, Any]] = None  # the latest user message
        self.turn_shown: set = set()
        self.session_start = False  # between session_started and the next action
        self.role: Optional[str] = None
        self.fallback = False
        self.offer_open = False  # articles were offered after a 112 answer; the next message may pick one

    def mark(self, event_id: int, ts: float, kind: str, article: Optional[str] = None) -> None:
        self.marks.append(
            {"event_id": event_id, "sender_id": self.sender, "day": self.day(ts), "kind": kind, "article": article}
        )

    def show(self, event_id: int, ts: float, article: Any) -> None:
        # The bot's message and the last_article slot both name the article: count once.
        if not isinstance(article, str) or not article or article in self.turn_shown:
            return
        self.turn_shown.add(article)
        self.mark(event_id, ts, "shown", article[:64])
        if self.turn is not None:
            self.turn["article"] = article[:64]

    def user(self, event_id: int, ts: float, data: Dict[str, Any]) -> None:
        intent = (data.get("parse_data") or {}).get("intent") or {}
        confidence = intent.get("confidence")
        name = intent.get("name")
        self.turn = {
            "event_id": event_id,
            "sender_id": self.sender,
            "ts": ts,
            "day": self.day(ts),
            "intent": name[:255] if isinstance(name, str) else None,
            "confidence": float(confidence) if isinstance(confidence, (int, float)) else None,
            "fallback": int(name == v.NLU_FALLBACK),
            "thumbs_down": 0,
            "article": None,
            "command": int(str(data.get("text") or "").startswith("/")),
        }
        self.messages.append(self.turn)
        self.turn_shown = set()
        # A button of the offer after a 112 answer, tapped as the very next message: the
        # user wanted that article, so the 112 answer was likely a false alarm.
        picked = tapped_after_alarm(data) if self.offer_open else None
        if picked:
            self.mark(event_id, ts, schema.MARK_AFTER_ALARM, picked[:64])
        self.offer_open = False

    def action(self, event_id: int, ts: float, name: Optional[str]) -> None:
        self.session_start = False
        if name in v.FALLBACK_ACTIONS:
            self.fallback = True
            if self.turn is not None:
                self.turn["fallback"] = 1
        elif name == v.ACTION_HANDOVER:
            self.mark(event_id, ts, "handover")
        elif name == v.UTTER_ACUTE_DANGER:
            self.mark(event_id, ts, "acute")
        elif name == v.ACTION_OFFER_AFTER_DANGER:
            self.offer_open = True

    def slot(self, event_id: int, ts: float, data: Dict[str, Any]) -> None:
        name, value = data.get("name"), data.get("value")
        if name == v.SLOT_ROLE:
            self.role = value if isinstance(value, str) else None
        elif self.session_start:
            return  # slots carried over into a new session repeat old facts
        elif name == v.SLOT_LAST_ARTICLE:
            self.show(event_id, ts, value)
        elif name == v.SLOT_FEEDBACK and isinstance(value, dict) and value.get("value") in ("up", "down"):
            article = value.get(v.CUSTOM_ARTICLE) if isinstance(value.get(v.CUSTOM_ARTICLE), str) else None
            # The latest 👍/👎 per article counts: a user may change their mind.
            self.feedback[article] = {"event_id": event_id, "ts": ts, "kind": value["value"]}

    def finish(self) -> None:
        """Turn the feedback into marks and flag the message each 👎 was about."""
        shown = {m["article"] for m in self.marks if m["kind"] == "shown"}
        for article, fb in self.feedback.items():
            if article not in shown:
                continue  # the chat channel's rule (fagchat/channel/feedback.py): not a vote
            self.mark(fb["event_id"], fb["ts"], fb["kind"], article[:64] if article else None)
            if fb["kind"] != "down":
                continue
            before = [m for m in self.messages if m["event_id"] < fb["event_id"]]
            about = [m for m in before if m["article"] == article] if article else before
            if about:
                about[-1]["thumbs_down"] = 1


def summarise(sender: str, rows: Sequence[Any], day: Day) -> Tuple[dict, List[dict], List[dict]]:
    """Derive the conversation row, message rows and mark rows from one conversation.

    Args:
        sender: The conversation's sender id.
        rows: Its events (id, type_name, timestamp, action_name, data) in id order.
        day: Turns a unix time into a local day number.

    Returns:
        (conversation row, user message rows, mark rows) ready to insert.
    """
    conv = _Conversation(sender, day)
    times = [r.timestamp for r in rows if r.timestamp is not None] or [0.0]
    ts = times[0]
    for row in rows:
        ts = row.timestamp if row.timestamp is not None else ts
        kind = row.type_name
        if kind == "user":
            conv.user(row.id, ts, event_data(row.data))
        elif kind == "action":
            conv.action(row.id, ts, row.action_name)
        elif kind == "session_started":
            conv.session_start = True
        elif kind == "slot":
            conv.slot(row.id, ts, event_data(row.data))
        elif kind == "bot":
            custom = (event_data(row.data).get("data") or {}).get("custom")
            if isinstance(custom, dict):
                conv.show(row.id, ts, custom.get("article"))
    conv.finish()
    kinds = [k["kind"] for k in conv.marks]
    confidences = [m["confidence"] for m in conv.messages if m["confidence"] is not None]
    row = {
        "sender_id": sender,
        "started_at": min(times),
        "last_at": max(times),
        "start_day": day(min(times)),
        "n_user": len(conv.messages),
        "n_bot": sum(1 for r in rows if r.type_name == "bot"),
        "fallback": int(conv.fallback or any(m["fallback"] for m in conv.messages)),
        "thumbs_up": kinds.count("up"),
        "thumbs_down": kinds.count("down"),
        "handover": kinds.count("handover"),
        "acute": kinds.count("acute"),
        "min_conf": min(confidences) if confidences else None,
        "role": conv.role,
    }
    return row, conv.messages, conv.marks
