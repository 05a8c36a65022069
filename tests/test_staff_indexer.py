"""The indexer: what it derives from Rasa's events, incrementally and from scratch."""

import asyncio
import json
from collections import namedtuple

from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet, UserUttered

from fagchat.staff import indexer, schema
from fagchat.staff.engine import connect
from tests import staff_sample as sample
from tests.test_staff_support import NOW, rows, seed

Row = namedtuple("Row", "id sender_id type_name timestamp action_name data")
DAY = indexer.day_function(__import__("datetime").timezone.utc)


def as_rows(events) -> list:
    """Events as the stored rows the indexer reads."""
    out = []
    for i, event in enumerate(events, start=1):
        data = event.as_dict()
        out.append(Row(i, "s", data["event"], data["timestamp"], data.get("name"), json.dumps(data)))
    return out


def summary(events):
    return indexer.summarise("s", as_rows(events), DAY)


def test_answered_conversation():
    conv, messages, marks = summary(sample._events([sample.ANSWERED, sample.DOCUMENTATION], NOW))
    assert conv["n_user"] == 2 and conv["n_bot"] == 2 and conv["thumbs_up"] == 1
    assert conv["min_conf"] == 0.88 and not conv["fallback"] and conv["role"] is None
    assert [m["article"] for m in messages] == ["what_is_stalking", "documentation"]
    # The bot's custom data and the last_article slot name the same showing: counted once.
    assert [(k["kind"], k["article"]) for k in marks] == [
        ("shown", "what_is_stalking"),
        ("shown", "documentation"),
        ("up", "what_is_stalking"),
    ]


def test_thumbs_down_marks_the_message_it_was_about():
    events = sample._events([sample.LOW_THUMBS_DOWN, sample.ANSWERED], NOW)
    conv, messages, _ = summary(events)
    assert [m["thumbs_down"] for m in messages] == [1, 0]
    assert conv["thumbs_down"] == 1 and conv["thumbs_up"] == 1


def test_changed_mind_counts_the_latest_feedback_only():
    events = sample._events([sample.ANSWERED], NOW)
    events.append(SlotSet("feedback", {"value": "down", "article": "what_is_stalking"}, timestamp=NOW + 60))
    conv, messages, marks = summary(events)
    assert (conv["thumbs_up"], conv["thumbs_down"]) == (0, 1)
    assert [k["kind"] for k in marks if k["kind"] in ("up", "down")] == ["down"]
    assert messages[0]["thumbs_down"] == 1


def test_fallbacks_acute_danger_handover_role_and_commands():
    events = sample._events([sample.ROLE] + sample.SCENARIOS[3] + [sample.ACUTE, sample.HANDOVER], NOW)
    conv, messages, marks = summary(events)
    assert conv["role"] == "kommune" and conv["fallback"] == 1
    assert conv["acute"] == 1 and conv["handover"] == 1
    assert [(m["intent"], m["fallback"], m["command"]) for m in messages] == [
        ("inform_role", 0, 0),
        ("nlu_fallback", 1, 0),
        ("conflict_vs_stalking", 0, 1),
        ("acute_danger", 0, 0),
        ("human_handover", 0, 0),
    ]


def test_an_article_chosen_from_the_offer_after_112_is_marked():
    _, messages, marks = summary(sample._events([sample.ACUTE_OFFERED, sample.OFFER_CHOSEN], NOW))
    assert [(k["kind"], k["article"]) for k in marks] == [
        ("acute", None),
        (schema.MARK_AFTER_ALARM, "documentation"),
        ("shown", "documentation"),
    ]
    assert [m["command"] for m in messages] == [0, 1]


def test_only_a_button_tapped_right_after_the_offer_counts():
    typed = sample.Turn("hvad skriver jeg i logskemaet?", "documentation", 0.9, article="documentation")
    for turns in (
        [sample.ACUTE_OFFERED, typed, sample.OFFER_CHOSEN],  # typed first: the offer was passed by
        [sample.ACUTE, sample.OFFER_CHOSEN],  # nothing was offered
        [sample.ANSWERED, sample.OFFER_CHOSEN],
    ):
        _, _, marks = summary(sample._events(turns, NOW))
        assert schema.MARK_AFTER_ALARM not in [k["kind"] for k in marks], turns


def test_slots_carried_into_a_new_session_are_not_counted_again():
    events = sample._events([sample.ANSWERED], NOW)
    later = NOW + 7200
    events += [
        ActionExecuted("action_session_start", timestamp=later),
        SessionStarted(timestamp=later),
        SlotSet("last_article", "what_is_stalking", timestamp=later),
        SlotSet("feedback", {"value": "up", "article": "what_is_stalking"}, timestamp=later),
        SlotSet("role", "politi", timestamp=later),
        ActionExecuted("action_listen", timestamp=later),
        UserUttered("tak", intent={"name": "thank", "confidence": 0.99}, timestamp=later + 5),
    ]
    conv, messages, marks = summary(events)
    assert conv["thumbs_up"] == 1 and len([k for k in marks if k["kind"] == "shown"]) == 1
    assert conv["role"] == "politi" and conv["n_user"] == 2 and conv["last_at"] == later + 5


def test_catch_up_is_incremental_and_matches_a_full_reindex(db_url):
    from fagchat.stores.tracker_store import RedactingSQLTrackerStore

    seed(db_url, [("a", [sample.FALLBACK], NOW - 100), ("b", [sample.ANSWERED], NOW - 50)])
    engine = connect(db_url)
    assert indexer.catch_up(engine, DAY) > 0
    assert indexer.catch_up(engine, DAY) == 0  # nothing new
    assert {r.sender_id: r.n_user for r in rows(db_url, schema.conversations)} == {"a": 1, "b": 1}

    # The conversation goes on: Rasa appends to the stored tracker.
    store = RedactingSQLTrackerStore(domain=sample.load_domain(), url=db_url)
    tracker = asyncio.run(store.retrieve("a"))
    tracker.update(
        UserUttered("ring mig på 20304050", intent={"name": "human_handover", "confidence": 0.4}, timestamp=NOW)
    )
    tracker.update(ActionExecuted("action_handover", timestamp=NOW + 1))
    asyncio.run(store.save(tracker))
    assert indexer.catch_up(engine, DAY) == 2
    a = rows(db_url, schema.conversations, sender_id="a")[0]
    assert (a.n_user, a.handover, a.min_conf, a.last_at) == (2, 1, 0.4, NOW + 1)

    incremental = {
        t.name: sorted(map(tuple, rows(db_url, t))) for t in (schema.conversations, schema.messages, schema.marks)
    }
    indexer.reindex(engine, DAY)
    assert {
        t.name: sorted(map(tuple, rows(db_url, t))) for t in (schema.conversations, schema.messages, schema.marks)
    } == incremental


def test_summary_tables_hold_no_user_text(db_url):
    seed(db_url, [("a", [sample.LOW_THUMBS_DOWN], NOW)])
    indexer.catch_up(connect(db_url), DAY)
    for table in (schema.conversations, schema.messages, schema.marks):
        assert "tilhold" not in repr(rows(db_url, table))
