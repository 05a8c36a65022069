"""Pure helpers of the chat channel."""

import re

from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered

from fagchat.channel.requests import SENDER, offered_payloads
from fagchat.channel.turns import merge_custom
from fagchat.text import clean_text, conversation_ref
from fagchat.web.app import WIDGET_DIR


def test_clean_text_drops_invisible_and_control_characters():
    assert clean_text("  hej\x00 med\u200b dig\u202e\n\tigen ") == "hej med dig igen"
    assert clean_text("æøå 👍") == "æøå 👍"


def test_offered_payloads_are_those_of_the_latest_bot_turn():
    events = [
        BotUttered("gammel", {"buttons": [{"title": "x", "payload": "/old"}]}),
        UserUttered("hej"),
        ActionExecuted("action_answer"),
        BotUttered("svar", {"buttons": [{"title": "a", "payload": "/safety"}]}),
        BotUttered("rolle", {"buttons": [{"title": "b", "payload": '/inform_role{"role":"politi"}'}]}),
        ActionExecuted("action_listen"),
    ]
    assert offered_payloads(events) == {"/safety", '/inform_role{"role":"politi"}'}


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


def test_the_widget_keeps_a_saved_sender_only_if_the_channel_accepts_it():
    # A shorter id from an old session would be refused on every message (issue 12).
    script = (WIDGET_DIR / "fagchat.js").read_text()
    checks = re.findall(r"/(\^\[A-Za-z0-9_-\]\{\d+,\d+\}\$)/\.test\(saved\.sender\)", script)
    assert checks == [SENDER.pattern]
