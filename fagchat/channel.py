"""The chat channel the widget talks to: Rasa's REST channel, hardened.

Registered in `credentials.yml` as `fagchat.channel.FagchatInput`; it serves
`POST /webhooks/fagchat/webhook` (messages) and `POST /webhooks/fagchat/feedback` (👍/👎).
Compared with the stock REST channel it:

- validates every request and answers bad input with a 4xx and a Danish message, never a 5xx;
- never lets typed text act as an intent command: Rasa reads `/intent{...}` as a command, so
  a message starting with "/" passes unchanged only when it is a button payload the bot
  offered in its last message (did-you-mean, follow-ups, role); otherwise the slashes are
  dropped and the rest is classified as text;
- answers with the domain's contact-details response when the bot produced nothing (the
  action server is down, or processing failed), so a user is never left without an answer;
- fails loudly when the tracker database or the lock store (Redis) is down: the user is
  told in Danish that the message was not stored, with the contact details, and the
  operator gets an ERROR line; Rasa's silent fall-back to memory is switched off;
- answers within `FAGCHAT_HOLDING_SECONDS` with a holding answer when the bot is slow (a
  slow action server): the message is still processed once, under the conversation's
  lock, and its answer comes with the user's next message;
- logs without user text: the stock channel logs the raw message on failure;
- refuses bodies over `FAGCHAT_MAX_BODY_BYTES` with 413 before reading them, and puts
  security headers on every answer.
See docs/operations.md for the faults and how each is tested.
"""

import asyncio
import hashlib
import json
import logging
import re
import time
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.shared.core.events import BotUttered, SlotSet, UserUttered
from sanic import Blueprint, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

from fagchat import settings, speedups
from fagchat.lock_store import LockStoreUnavailable
from fagchat.tracker_store import TrackerStoreUnavailable, fail_loudly

logger = logging.getLogger(__name__)
speedups.install()  # Rasa loads this module in every worker (fagchat/speedups.py)

FALLBACK_RESPONSE = "utter_service_unavailable"
# Said before the domain's contact details (utter_service_unavailable) in each case.
NOT_STORED = (
    "Din besked blev ikke gemt, fordi vi har en teknisk fejl lige nu. Skriv den gerne igen om lidt."
)
HOLDING = (
    "Det tager længere tid end normalt at finde svaret. Det kommer, når du skriver igen om "
    "lidt – du kan også kontakte os direkte."
)
LATE = "Her er svaret på din forrige besked:"
LATE_TTL = 600.0  # seconds an undelivered late answer is kept for the next message
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
FEEDBACK_SLOT = "feedback"
_SENDER = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_ARTICLE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
# Control and format characters (NUL, bidi overrides, zero-width) carry no meaning in a
# question and can hide text from reviewers; newlines and tabs become spaces.
_DROP_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn"}


def sender_ref(sender_id: str) -> str:
    """A short, stable reference to a conversation for log lines (not the id itself)."""
    return hashlib.sha256(sender_id.encode()).hexdigest()[:10]


def clean_text(text: str) -> str:
    """Drop control and invisible characters and fold whitespace."""
    text = unicodedata.normalize("NFC", text)
    kept = (" " if c in "\n\r\t" else c for c in text)
    text = "".join(c for c in kept if unicodedata.category(c) not in _DROP_CATEGORIES)
    return " ".join(text.split())


def offered_payloads(events: List[Any]) -> Set[str]:
    """Return the button payloads the bot sent since the user's last message."""
    payloads: Set[str] = set()
    for event in reversed(events):
        if isinstance(event, UserUttered):
            break
        if isinstance(event, BotUttered):
            for button in (event.data or {}).get("buttons") or []:
                payloads.add(str(button.get("payload", "")))
    return payloads


def error(status: int, code: str, message: str) -> HTTPResponse:
    """A JSON error with a machine code and a Danish message for the user."""
    return response.json({"error": code, "message": message}, status=status)


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


class FagchatInput(RestInput):
    """Hardened REST channel for the web widget."""

    @classmethod
    def name(cls) -> str:
        """Name used in the URL: /webhooks/fagchat/."""
        return "fagchat"

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        """Create the channel's routes."""
        bp = Blueprint("fagchat_channel", __name__)
        self._late: Dict[str, List[_Turn]] = {}

        @bp.listener("before_server_start")
        async def harden_app(app: Any, _loop: Any) -> None:
            # Sanic then refuses a larger body with 413 before reading it (its default
            # is 100 MB); _parse checks again for bodies sent without a length.
            app.config.REQUEST_MAX_SIZE = settings.get_int("FAGCHAT_MAX_BODY_BYTES")
            # This channel is all the Rasa server serves: Sanic's own error pages (which
            # quote the URL, and show a traceback in debug mode) become our JSON.
            app.error_handler.add(Exception, handle_error)

        @bp.middleware("response")
        async def security_headers(request: Request, answer: HTTPResponse) -> None:
            for name, value in HEADERS.items():
                answer.headers.setdefault(name, value)

        @bp.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            payload = _parse(request)
            if isinstance(payload, HTTPResponse):
                return payload
            sender, message = payload.get("sender"), payload.get("message")
            if not isinstance(sender, str) or not _SENDER.match(sender):
                return error(400, "invalid_sender", "Samtalen kunne ikke genkendes. Start en ny samtale.")
            if not isinstance(message, str):
                return error(400, "invalid_message", "Beskeden skal være tekst.")
            text = clean_text(message)
            if not text:
                return response.json([_bot(sender, "Din besked er tom. Skriv dit spørgsmål, så hjælper jeg gerne.")])
            limit = settings.get_int("FAGCHAT_MAX_MESSAGE_CHARS")
            if len(text) > limit:
                return error(
                    413 if len(text) > 4 * limit else 400,
                    "message_too_long",
                    f"Din besked er for lang. Skriv højst {limit} tegn, gerne kortere.",
                )
            agent = request.app.ctx.agent
            fail_loudly(agent.tracker_store)
            return response.json(await self._handle(agent, on_new_message, sender, text))

        @bp.route("/feedback", methods=["POST"])
        async def feedback(request: Request) -> HTTPResponse:
            payload = _parse(request)
            if isinstance(payload, HTTPResponse):
                return payload
            sender, value, article = (payload.get(k) for k in ("sender", "value", "article"))
            if not isinstance(sender, str) or not _SENDER.match(sender):
                return error(400, "invalid_sender", "Samtalen kunne ikke genkendes.")
            if value not in ("up", "down"):
                return error(400, "invalid_value", "Feedback skal være 👍 eller 👎.")
            if article is not None and (not isinstance(article, str) or not _ARTICLE.match(article)):
                return error(400, "invalid_article", "Ukendt svar.")
            agent = request.app.ctx.agent
            fail_loudly(agent.tracker_store)
            try:
                await _store_feedback(agent, sender, {"value": value, "article": article})
            except Exception as exc:  # noqa: BLE001 - storage down: say so, never a traceback
                if not isinstance(exc, (TrackerStoreUnavailable, LockStoreUnavailable)):
                    logger.error("feedback.failed conversation=%s error=%s", sender_ref(sender), type(exc).__name__)
                return error(503, "storage_unavailable", "Din vurdering kunne ikke gemmes lige nu. Prøv igen om lidt.")
            logger.info("feedback.stored conversation=%s value=%s article=%s", sender_ref(sender), value, article)
            return response.json({"ok": True})

        return bp

    async def _handle(
        self,
        agent: Any,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        sender: str,
        text: str,
    ) -> List[Dict[str, Any]]:
        """Run the message through Rasa and return what the user should see.

        The processing runs as a task of its own: when it takes longer than
        FAGCHAT_HOLDING_SECONDS the user gets a holding answer now and the real answer
        with the next message. The task is never cancelled or repeated, so no action
        runs twice, and it keeps the conversation's lock until it is done.
        """
        turn = _Turn(asyncio.ensure_future(self._process(agent, on_new_message, sender, text)))
        await asyncio.wait({turn.task}, timeout=settings.get_float("FAGCHAT_HOLDING_SECONDS"))
        late = self._take_late(sender, agent)
        if not turn.task.done():
            logger.warning("chat.holding conversation=%s: sent the holding answer", sender_ref(sender))
            self._keep_late(sender, turn)
            return late + [_bot(sender, f"{HOLDING}\n\n{_fallback_text(agent)}")]
        return late + _answer(agent, sender, turn.task.result())

    async def _process(
        self,
        agent: Any,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        sender: str,
        text: str,
    ) -> "_Outcome":
        """Process one message; never raises: failures become an outcome."""
        collector = CollectingOutputChannel()
        try:
            text = await _guard_command(agent, sender, text)
            await on_new_message(UserMessage(text, collector, sender, input_channel=self.name()))
        except (TrackerStoreUnavailable, LockStoreUnavailable):
            # The store has logged the ERROR; the user is told the message was not kept.
            logger.error("chat.not_stored conversation=%s", sender_ref(sender))
            return _Outcome(stored=False)
        except Exception as exc:  # noqa: BLE001 - the user must get an answer whatever failed
            # The exception text can quote the message, so log its type only.
            logger.error("chat.failed conversation=%s error=%s", sender_ref(sender), type(exc).__name__)
            logger.debug("chat.failed traceback", exc_info=True)
        return _Outcome(messages=merge_custom(collector.messages))

    def _keep_late(self, sender: str, turn: "_Turn") -> None:
        """Keep a slow turn until its answer goes out with the sender's next message."""
        self._late.setdefault(sender, []).append(turn)
        asyncio.get_running_loop().call_later(LATE_TTL + 1, self._expire_late, sender)

    def _expire_late(self, sender: str) -> None:
        """Forget late answers nobody came back for (memory stays bounded)."""
        turns = [t for t in self._late.get(sender, []) if time.monotonic() - t.started < LATE_TTL]
        if turns:
            self._late[sender] = turns
        else:
            self._late.pop(sender, None)

    def _take_late(self, sender: str, agent: Any) -> List[Dict[str, Any]]:
        """The answers of earlier slow turns that have finished since, in order."""
        turns = self._late.get(sender)
        messages: List[Dict[str, Any]] = []
        while turns and turns[0].task.done():
            messages += _answer(agent, sender, turns.pop(0).task.result())
        if turns is not None and not turns:
            self._late.pop(sender, None)
        return [_bot(sender, LATE)] + messages if messages else []


@dataclass
class _Outcome:
    """What processing one message gave: the bot's messages, or that nothing was stored."""

    messages: List[Dict[str, Any]] = field(default_factory=list)
    stored: bool = True


@dataclass
class _Turn:
    """One message being processed, possibly longer than the holding time."""

    task: "asyncio.Future[_Outcome]"
    started: float = field(default_factory=time.monotonic)


def _answer(agent: Any, sender: str, outcome: _Outcome) -> List[Dict[str, Any]]:
    """The messages for the user: the bot's, or a Danish explanation with contact details."""
    if not outcome.stored:
        return [_bot(sender, f"{NOT_STORED}\n\n{_fallback_text(agent)}")]
    if not outcome.messages:
        logger.warning("chat.no_answer conversation=%s: sent contact details", sender_ref(sender))
        return [_bot(sender, _fallback_text(agent))]
    return outcome.messages


ERRORS = {
    400: ("bad_request", "Forespørgslen kunne ikke læses. Prøv igen."),
    404: ("not_found", "Siden findes ikke."),
    405: ("method_not_allowed", "Den handling er ikke mulig her."),
    413: ("too_large", "Beskeden er for stor."),
    500: ("server_error", "Der skete en fejl hos os. Prøv igen om lidt."),
}


def handle_error(request: Request, exception: Exception) -> HTTPResponse:
    """Answer any error of the Rasa server with a Danish JSON message, never a traceback."""
    status = exception.status_code if isinstance(exception, SanicException) else 500
    code, message = ERRORS.get(status) or ERRORS[500 if status >= 500 else 400]
    if status >= 500:
        # Only the type: an exception's text can quote the request.
        logger.error("channel.error status=%s error=%s", status, type(exception).__name__)
        logger.debug("channel.error traceback", exc_info=exception)
    headers = {**HEADERS, **dict(getattr(exception, "headers", None) or {})}  # e.g. Allow on 405
    return response.json({"error": code, "message": message}, status=status, headers=headers)


def _parse(request: Request) -> Any:
    """Return the JSON object of the request body, or an error response."""
    body = request.body or b""
    if len(body) > settings.get_int("FAGCHAT_MAX_BODY_BYTES"):
        return error(413, "too_large", "Beskeden er for stor.")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # deep nesting: [[[[...
        return error(400, "invalid_json", "Beskeden kunne ikke læses. Prøv igen.")
    if not isinstance(payload, dict):
        return error(400, "invalid_json", "Beskeden kunne ikke læses. Prøv igen.")
    return payload


async def _guard_command(agent: Any, sender: str, text: str) -> str:
    """Keep `/intent` commands only when they are a button the bot just offered."""
    if not text.startswith("/"):
        return text
    tracker = await agent.tracker_store.retrieve(sender) if agent.tracker_store else None
    if tracker is not None and text in offered_payloads(list(tracker.events)):
        return text
    logger.info("chat.command_as_text conversation=%s", sender_ref(sender))
    return text.lstrip("/ ") or "?"


async def _store_feedback(agent: Any, sender: str, value: Dict[str, Optional[str]]) -> None:
    """Append the feedback to the conversation, under the conversation's lock."""
    async with agent.lock_store.lock(sender):
        tracker = await agent.tracker_store.get_or_create_tracker(sender)
        tracker.update(SlotSet(FEEDBACK_SLOT, value))
        await agent.tracker_store.save(tracker)


def _fallback_text(agent: Any) -> str:
    """The domain's contact-details response: it needs no action server."""
    try:
        return agent.domain.responses[FALLBACK_RESPONSE][0]["text"]
    except (AttributeError, KeyError, IndexError):
        return "Beklager, der skete en fejl. Ved akut fare: ring 112."


def _bot(sender: str, text: str) -> Dict[str, Any]:
    return {"recipient_id": sender, "text": text}
