"""The chat channel's routes on a real Sanic server, with Rasa's in-memory stores.

No model and no Rasa server: the channel's blueprint is mounted on a small Sanic app whose
`ctx.agent` holds Rasa's own in-memory tracker and lock stores, so what the routes accept,
refuse and store can be checked directly.
"""

import asyncio
import logging
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Sanic

from fagchat import rasa_patches
from fagchat.channel import FagchatInput
from fagchat.vocabulary import CUSTOM_ARTICLE, SLOT_FEEDBACK, SLOT_LAST_ARTICLE
from tests.helpers import TENSORFLOW_GROUP
from tests.served import served

# TensorFlow: the channel's start installs the Rasa patches, which import RemoteAction
# (tests/helpers.py: TENSORFLOW_GROUP).
pytestmark = pytest.mark.xdist_group(TENSORFLOW_GROUP)

ROOT = Path(__file__).resolve().parent.parent
SHOWN, OTHER = "what_is_stalking", "documentation"


def sender() -> str:
    return uuid.uuid4().hex  # 32 characters, the form the widget makes


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(ROOT / "domain.yml"))


@pytest.fixture
def channel(domain):
    """(app, agent, senders that reached Rasa) for one test."""
    agent = SimpleNamespace(tracker_store=InMemoryTrackerStore(domain), lock_store=InMemoryLockStore(), domain=domain)
    reached = []

    async def on_new_message(message) -> None:
        reached.append(message.sender_id)
        await message.output_channel.send_text_message(message.sender_id, "svar")

    app = Sanic(f"channel_{uuid.uuid4().hex[:8]}", register=False, configure_logging=False)
    app.ctx.agent = agent
    app.blueprint(FagchatInput().blueprint(on_new_message), url_prefix="/webhooks/fagchat")
    yield app, agent, reached
    rasa_patches.uninstall()  # the channel's start hook installs them; other tests expect Rasa's own


def seed(agent, me: str, domain: Domain) -> None:
    """Store a conversation in which the bot answered with article SHOWN."""
    events = [
        ActionExecuted("action_listen"),
        UserUttered("Hvad er stalking?"),
        ActionExecuted("action_answer"),
        BotUttered("Stalking er ...", data={"custom": {CUSTOM_ARTICLE: SHOWN}}),
        SlotSet(SLOT_LAST_ARTICLE, SHOWN),
        ActionExecuted("action_listen"),
    ]
    tracker = DialogueStateTracker.from_events(me, events, slots=domain.slots)
    asyncio.run(agent.tracker_store.save(tracker))


def stored(agent, me: str):
    return asyncio.run(agent.tracker_store.retrieve(me))


def feedback_slots(agent, me: str):
    tracker = stored(agent, me)
    return [e.value for e in (tracker.events if tracker else []) if isinstance(e, SlotSet) and e.key == SLOT_FEEDBACK]


def post(app, route: str, body: dict):
    answer = served(app).request("POST", f"/webhooks/fagchat/{route}", json=body)
    return answer


# ---- sender ids (issue 12: a short id is guessable) ------------------------------------


@pytest.mark.parametrize("bad", ["abc", "s1", "a" * 21, "x" * 129, "../../etc/passwd" + "a" * 10, "æ" * 30])
@pytest.mark.parametrize("route", ["webhook", "feedback"])
def test_a_short_or_odd_sender_id_gets_400_in_danish(channel, bad, route):
    app, agent, reached = channel
    answer = post(app, route, {"sender": bad, "message": "hej", "value": "up", "article": SHOWN})
    assert answer.status == 400 and answer.json["error"] == "invalid_sender"
    assert "Samtalen" in answer.json["message"]
    assert reached == [] and stored(agent, bad) is None


def test_a_widget_sized_sender_id_is_accepted(channel):
    app, _, reached = channel
    me = "A" * 22
    answer = post(app, "webhook", {"sender": me, "message": "hej"})
    assert answer.status == 200 and reached == [me]


# ---- feedback only for a conversation and an article it was shown ----------------------


def test_feedback_on_a_shown_article_is_stored(channel, domain):
    app, agent, _ = channel
    me = sender()
    seed(agent, me, domain)
    answer = post(app, "feedback", {"sender": me, "value": "down", "article": SHOWN})
    assert answer.status == 200 and answer.json == {"ok": True}
    assert feedback_slots(agent, me) == [{"value": "down", CUSTOM_ARTICLE: SHOWN}]


def test_feedback_for_an_unknown_conversation_is_refused_and_creates_nothing(channel, caplog):
    app, agent, _ = channel
    me = sender()
    with caplog.at_level(logging.INFO, logger="fagchat.channel"):
        answer = post(app, "feedback", {"sender": me, "value": "up", "article": SHOWN})
    assert answer.status == 404 and answer.json["error"] == "unknown_conversation"
    assert "samtale" in answer.json["message"].lower()
    assert stored(agent, me) is None
    refused = [r.getMessage() for r in caplog.records if "feedback.refused" in r.getMessage()]
    assert refused and "reason=unknown_conversation" in refused[0] and me not in refused[0]


def test_feedback_on_an_article_the_conversation_was_not_shown_is_refused(channel, domain, caplog):
    app, agent, _ = channel
    me = sender()
    seed(agent, me, domain)
    events_before = len(stored(agent, me).events)
    with caplog.at_level(logging.INFO, logger="fagchat.channel"):
        answer = post(app, "feedback", {"sender": me, "value": "up", "article": OTHER})
    assert answer.status == 422 and answer.json["error"] == "article_not_shown"
    assert answer.json["message"]
    assert len(stored(agent, me).events) == events_before and feedback_slots(agent, me) == []
    assert any("reason=article_not_shown" in r.getMessage() for r in caplog.records)


def test_feedback_without_an_article_is_refused(channel, domain):
    app, agent, _ = channel
    me = sender()
    seed(agent, me, domain)
    answer = post(app, "feedback", {"sender": me, "value": "up"})
    assert answer.status == 400 and answer.json["error"] == "invalid_article"
    assert feedback_slots(agent, me) == []


def test_feedback_on_an_article_shown_in_an_earlier_session_is_stored(channel, domain):
    """The widget keeps the chat history, so a user may rate yesterday's answer."""
    from rasa.shared.core.events import SessionStarted

    app, agent, _ = channel
    me = sender()
    seed(agent, me, domain)
    tracker = stored(agent, me)
    for event in [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")]:
        tracker.update(event)
    asyncio.run(agent.tracker_store.save(tracker))
    answer = post(app, "feedback", {"sender": me, "value": "up", "article": SHOWN})
    assert answer.status == 200
    assert feedback_slots(agent, me)[-1] == {"value": "up", CUSTOM_ARTICLE: SHOWN}
