"""One message's way through Rasa, and what the user sees when it is slow or fails.

The processing runs as a task of its own. When it takes longer than the holding time the
user gets what the bot has already said (the 112 answer needs no action server, so it is
never held back by a slow one), a holding answer, and the rest with the next message,
whichever Rasa worker that reaches (fagchat/stores/late_answers.py); the task is never
cancelled or repeated, so no action runs twice, and it keeps the conversation's lock
until it is done.
When the bot produced nothing (the action server is down) or the message could not be
stored (database or Redis down), the user gets the domain's contact details, which need no
action server.

Each turn is counted once, when its processing ends (fagchat/ops/metrics.py): how long it
took, and whether the bot answered with 112, did not understand, handed over, gave nothing
or could not store the message. The kind of answer is read from the bot's messages, matched
against the domain's responses: counts, never text, leave this module.
"""

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from fagchat.channel.requests import guard_command
from fagchat.ops import metrics
from fagchat.stores.late_answers import LateAnswers, MemoryLateAnswers
from fagchat.stores.lock_store import LockStoreUnavailable
from fagchat.stores.tracker_store import TrackerStoreUnavailable
from fagchat.text import conversation_ref
from fagchat.vocabulary import FALLBACK_RESPONSES, UTTER_ACUTE_DANGER, UTTER_SERVICE_UNAVAILABLE

logger = logging.getLogger("fagchat.channel")

# Said before the domain's contact details (utter_service_unavailable) in each case.
NOT_STORED = "Din besked blev ikke gemt, fordi vi har en teknisk fejl lige nu. Skriv den gerne igen om lidt."
HOLDING = (
    "Det tager længere tid end normalt at finde svaret. Det kommer, når du skriver igen om "
    "lidt – du kan også kontakte os direkte."
)
LATE = "Her er svaret på din forrige besked:"
OnMessage = Callable[[UserMessage], Awaitable[Any]]
# The domain responses whose answers are counted, with the counter each adds to.
COUNTED_RESPONSES = {
    UTTER_ACUTE_DANGER: "fagchat_danger_answers_total",
    **{name: "fagchat_nlu_fallbacks_total" for name in FALLBACK_RESPONSES},
}


@dataclass
class Outcome:
    """What processing one message gave: the bot's messages, or that nothing was stored."""

    messages: List[Dict[str, Any]] = field(default_factory=list)
    stored: bool = True


@dataclass
class Turn:
    """One message being processed, possibly longer than the holding time."""

    task: "asyncio.Future[Outcome]"
    collector: CollectingOutputChannel  # what the bot has said so far, action by action
    started: float = field(default_factory=time.monotonic)

    @property
    def elapsed(self) -> float:
        """Seconds since the message arrived."""
        return time.monotonic() - self.started


def bot(sender: str, text: str) -> Dict[str, Any]:
    """A bot message in the REST channel's form."""
    return {"recipient_id": sender, "text": text}


def merge_custom(messages: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Attach a custom-only message (article id) to the bot message before it.

    Rasa's collecting channel sends `custom` data as a message of its own; the widget
    needs it on the answer it belongs to, to tie 👍/👎 to the article shown.
    """
    merged: List[Dict[str, Any]] = []
    for message in messages:
        if merged and set(message) <= {"recipient_id", "custom"} and "custom" in message:
            merged[-1].setdefault("custom", {}).update(message["custom"])
        else:
            merged.append(dict(message))
    return merged


def fallback_text(agent: Any) -> str:
    """The domain's contact-details response: it needs no action server."""
    try:
        return agent.domain.responses[UTTER_SERVICE_UNAVAILABLE][0]["text"]
    except (AttributeError, KeyError, IndexError):
        return "Beklager, der skete en fejl. Ved akut fare: ring 112."


def answer(agent: Any, sender: str, outcome: Outcome, sent: int = 0) -> List[Dict[str, Any]]:
    """The messages for the user: the bot's, or a Danish explanation with contact details.

    `sent`: how many of the bot's messages went out already with the holding answer.
    """
    if not outcome.stored:
        return [bot(sender, f"{NOT_STORED}\n\n{fallback_text(agent)}")]
    if not outcome.messages:
        logger.warning("chat.no_answer conversation=%s: sent contact details", conversation_ref(sender))
        return [bot(sender, fallback_text(agent))]
    return merge_custom(outcome.messages[sent:])


async def process(
    agent: Any, on_new_message: OnMessage, sender: str, text: str, channel: str, collector: CollectingOutputChannel
) -> Outcome:
    """Process one message into `collector`; never raises: failures become an outcome."""
    try:
        text = await guard_command(agent, sender, text)
        await on_new_message(UserMessage(text, collector, sender, input_channel=channel))
    except (TrackerStoreUnavailable, LockStoreUnavailable) as exc:
        # The store has logged the ERROR; the user is told the message was not kept.
        logger.error("chat.not_stored conversation=%s", conversation_ref(sender))
        count_store_error(exc)
        return Outcome(stored=False)
    except Exception as exc:  # noqa: BLE001 - the user must get an answer whatever failed
        # The exception text can quote the message, so log its type only.
        logger.error("chat.failed conversation=%s error=%s", conversation_ref(sender), type(exc).__name__)
        logger.debug("chat.failed traceback", exc_info=True)
        metrics.inc("fagchat_chat_errors_total")
    else:
        for counter in answer_kinds(agent, collector.messages):
            metrics.inc(counter)
    return Outcome(messages=list(collector.messages))


def count_store_error(exc: Exception) -> None:
    """Count a message or vote lost to the tracker database or the lock store (others: nothing)."""
    if isinstance(exc, TrackerStoreUnavailable):
        metrics.inc("fagchat_tracker_store_errors_total")
    elif isinstance(exc, LockStoreUnavailable):
        metrics.inc("fagchat_lock_store_errors_total")


def answer_kinds(agent: Any, messages: List[Dict[str, Any]]) -> Set[str]:
    """The counters one turn's bot messages add to, each once.

    A response's text arrives whole when it has buttons; without, Rasa's collecting channel
    splits it at blank lines, so its first paragraph is what is matched then.
    """
    if not messages:
        return {"fagchat_action_server_errors_total"}
    known = _response_texts(getattr(agent, "domain", None))
    kinds = {known[m["text"]] for m in messages if m.get("text") in known}
    if any(isinstance(m.get("custom"), dict) and m["custom"].get("handover") is True for m in messages):
        kinds.add("fagchat_handovers_total")
    return kinds


_texts_of: List[Any] = [object(), {}]  # [domain, its table]: a model pulled later brings a new domain


def _response_texts(domain: Any) -> Dict[str, str]:
    """Counted text -> counter, for the responses of `domain` (built once per domain)."""
    if _texts_of[0] is not domain:
        table: Dict[str, str] = {}
        responses = getattr(domain, "responses", None) or {}
        for name, counter in COUNTED_RESPONSES.items():
            for variation in responses.get(name) or []:
                text = (variation.get("text") or "").strip()
                if text:
                    table[text] = counter
                    if not variation.get("buttons"):
                        table[text.split("\n\n")[0]] = counter
        _texts_of[:] = [domain, table]
    return _texts_of[1]


class Turns:
    """The turns of this worker: answers within the holding time, late answers after it."""

    def __init__(self, holding_seconds: float, late: Optional[LateAnswers] = None) -> None:
        """Wait up to `holding_seconds` for an answer; keep late answers in `late` (shared by the workers)."""
        self.holding_seconds = holding_seconds
        self.late = late or LateAnswers(MemoryLateAnswers(), "memory")

    async def handle(
        self, agent: Any, on_new_message: OnMessage, sender: str, text: str, channel: str
    ) -> List[Dict[str, Any]]:
        """Run the message through Rasa and return what the user should see now."""
        metrics.inc("fagchat_messages_received_total")
        collector = CollectingOutputChannel()
        turn = Turn(asyncio.ensure_future(process(agent, on_new_message, sender, text, channel, collector)), collector)
        turn.task.add_done_callback(lambda _: metrics.observe("fagchat_answer_latency_seconds", turn.elapsed))
        await asyncio.wait({turn.task}, timeout=self.holding_seconds)
        if not turn.task.done():
            # What the bot has said already goes out now: a 112 answer is never held back
            # by a slow action server behind it (the offer after it, say).
            sent = len(turn.collector.messages)
            logger.warning(
                "chat.holding conversation=%s ready=%d: sent the holding answer", conversation_ref(sender), sent
            )
            metrics.inc("fagchat_holding_answers_total")
            # Kept when it is done, for the next message, whichever worker it reaches.
            turn.task.add_done_callback(lambda task: self._keep_late(agent, sender, task, sent))
            ready = merge_custom(turn.collector.messages[:sent])
            return self._take_late(sender) + ready + [bot(sender, f"{HOLDING}\n\n{fallback_text(agent)}")]
        return self._take_late(sender) + answer(agent, sender, turn.task.result())

    def _keep_late(self, agent: Any, sender: str, task: "asyncio.Future[Outcome]", sent: int) -> None:
        """Keep the rest of a slow turn's answer (after the `sent` messages) until the sender's next message."""
        if task.cancelled():  # cancelled only when the server stops
            return
        outcome = task.result()
        if sent and outcome.stored and len(outcome.messages) <= sent:
            return  # everything went out with the holding answer
        self.late.put(sender, answer(agent, sender, outcome, sent))

    def _take_late(self, sender: str) -> List[Dict[str, Any]]:
        """The answers of earlier slow turns that have finished since, in order, under one heading."""
        messages = self.late.take(sender)
        return [bot(sender, LATE)] + messages if messages else []
