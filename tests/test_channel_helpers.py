"""Pure helpers of the chat channel."""

import asyncio
import re
from types import SimpleNamespace

from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered

from fagchat.channel.requests import SENDER, offered_payloads
from fagchat.channel.turns import merge_custom
from fagchat.text import clean_text, conversation_ref
from fagchat.web.app import WIDGET_DIR
from tests.helpers import logged


def test_clean_text_drops_invisible_and_control_characters():
    assert clean_text("  hej\x00 med\u200b dig\u202e\n\tigen ") == "hej med dig igen"
    assert clean_text("æøå 👍") == "æøå 👍"


def turn(text, *payloads):
    """A user message and the bot's reply with buttons carrying `payloads`."""
    buttons = [{"title": p, "payload": p} for p in payloads]
    return [UserUttered(text), ActionExecuted("action_answer"), BotUttered("svar", {"buttons": buttons})]


def test_offered_payloads_are_those_of_the_bot_s_last_two_turns():
    events = (
        turn("først", "/old") + turn("hej", "/late_offer") + turn("igen", "/safety", '/inform_role{"role":"politi"}')
    )
    events.append(ActionExecuted("action_listen"))
    # "/late_offer" came after "hej" but, the action server being slow, reached the user
    # only with the reply to "igen": a tap on it is still a button, "/old" is not.
    assert offered_payloads(events) == {"/late_offer", "/safety", '/inform_role{"role":"politi"}'}
    assert offered_payloads(events, turns=1) == {"/safety", '/inform_role{"role":"politi"}'}


def test_the_command_guard_lets_a_late_offer_s_button_through_and_nothing_older():
    from rasa.core.tracker_store import InMemoryTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    from fagchat.channel.requests import guard_command

    store = InMemoryTrackerStore(Domain.empty())
    events = turn("først", "/old") + turn("hej", "/late_offer") + turn("igen", "/safety")
    asyncio.run(store.save(DialogueStateTracker.from_events("abc", events)))
    agent = SimpleNamespace(tracker_store=store)
    assert asyncio.run(guard_command(agent, "abc", "/late_offer")) == "/late_offer"
    assert asyncio.run(guard_command(agent, "abc", "/old")) == "old"
    assert asyncio.run(guard_command(agent, "abc", "/acute_danger")) == "acute_danger"


def test_merge_custom_attaches_article_to_the_answer():
    merged = merge_custom(
        [
            {"recipient_id": "s", "text": "svar", "buttons": []},
            {"recipient_id": "s", "custom": {"article": "safety"}},
            {"recipient_id": "s", "text": "næste"},
        ]
    )
    assert merged == [
        {"recipient_id": "s", "text": "svar", "buttons": [], "custom": {"article": "safety"}},
        {"recipient_id": "s", "text": "næste"},
    ]


def test_conversation_ref_does_not_reveal_the_sender():
    assert "abc123" not in conversation_ref("abc123") and len(conversation_ref("abc123")) == 10
    assert conversation_ref("abc123") == conversation_ref("abc123") != conversation_ref("abc124")


def test_a_conversation_ref_reaches_the_log_whole():
    # The log redaction must never read a reference as a phone or CPR number.
    hidden = []
    for number in range(20000):
        ref = conversation_ref(f"{number:032x}")
        if logged("chat.failed conversation=%s", ref) != f"chat.failed conversation={ref}":
            hidden.append(ref)
    assert not hidden, hidden[:5]


def test_the_widget_keeps_a_saved_sender_only_if_the_channel_accepts_it():
    # A shorter id from an old session would be refused on every message (issue 12).
    script = (WIDGET_DIR / "fagchat.js").read_text()
    checks = re.findall(r"/(\^\[A-Za-z0-9_-\]\{\d+,\d+\}\$)/\.test\(saved\.sender\)", script)
    assert checks == [SENDER.pattern]
