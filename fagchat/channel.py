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
- logs without user text: the stock channel logs the raw message on failure.
"""

import hashlib
import json
import logging
import re
import unicodedata
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.shared.core.events import BotUttered, SlotSet, UserUttered
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from fagchat import settings

logger = logging.getLogger(__name__)

FALLBACK_RESPONSE = "utter_service_unavailable"
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
            text = await _guard_command(agent, sender, text)
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
            await _store_feedback(request.app.ctx.agent, sender, {"value": value, "article": article})
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
        """Run the message through Rasa; fall back to contact details if nothing came."""
        collector = CollectingOutputChannel()
        try:
            await on_new_message(UserMessage(text, collector, sender, input_channel=self.name()))
        except Exception as exc:  # noqa: BLE001 - the user must get an answer whatever failed
            # The exception text can quote the message, so log its type only.
            logger.error("chat.failed conversation=%s error=%s", sender_ref(sender), type(exc).__name__)
            logger.debug("chat.failed traceback", exc_info=True)
        messages = merge_custom(collector.messages)
        if not messages:
            logger.warning("chat.no_answer conversation=%s: sent contact details", sender_ref(sender))
            messages = [_bot(sender, _fallback_text(agent))]
        return messages


def _parse(request: Request) -> Any:
    """Return the JSON object of the request body, or an error response."""
    body = request.body or b""
    if len(body) > settings.get_int("FAGCHAT_MAX_BODY_BYTES"):
        return error(413, "too_large", "Beskeden er for stor.")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
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
