"""Reading the widget's requests: size, JSON, sender, message, and the `/` command guard."""

import json
import logging
import re
from typing import Any, Dict, List, Set, Union

from rasa.shared.core.events import BotUttered, UserUttered
from sanic.request import Request
from sanic.response import HTTPResponse

from fagchat.httpkit import json_error
from fagchat.text import clean_text, conversation_ref

logger = logging.getLogger("fagchat.channel")

# A sender id is the only key to a conversation and its feedback, so it must not be
# guessable: at least 22 characters of base64url (132 random bits; the widget sends 32 hex
# characters, 128 bits). Shorter ids are refused (issue 12).
MIN_SENDER_CHARS = 22
SENDER = re.compile(rf"^[A-Za-z0-9_-]{{{MIN_SENDER_CHARS},128}}$")
ARTICLE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
# A message this many times the limit is refused as too large (413), not just too long
# (400): the widget caps what a user can type at the limit, so only a script sends that.
TOO_LARGE_FACTOR = 4


def parse_body(request: Request, max_body: int) -> Union[Dict[str, Any], HTTPResponse]:
    """The JSON object of the request body, or an error response.

    Sanic refuses a body with a larger Content-Length itself; this catches bodies sent
    without one (chunked).
    """
    body = request.body or b""
    if len(body) > max_body:
        return json_error(413, "too_large", "Beskeden er for stor.")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # deep nesting: [[[[...
        return json_error(400, "invalid_json", "Beskeden kunne ikke læses. Prøv igen.")
    if not isinstance(payload, dict):
        return json_error(400, "invalid_json", "Beskeden kunne ikke læses. Prøv igen.")
    return payload


def valid_sender(sender: Any) -> bool:
    """Whether `sender` has the form of a conversation id the widget makes."""
    return isinstance(sender, str) and bool(SENDER.match(sender))


def valid_article(article: Any) -> bool:
    """Whether `article` has the form of an article id."""
    return isinstance(article, str) and bool(ARTICLE.match(article))


def message_text(message: Any, max_chars: int) -> Union[str, HTTPResponse]:
    """The cleaned message text ("" when nothing visible is left), or an error response."""
    if not isinstance(message, str):
        return json_error(400, "invalid_message", "Beskeden skal være tekst.")
    text = clean_text(message)
    if len(text) > max_chars:
        return json_error(
            413 if len(text) > TOO_LARGE_FACTOR * max_chars else 400,
            "message_too_long",
            f"Din besked er for lang. Skriv højst {max_chars} tegn, gerne kortere.",
        )
    return text


def offered_payloads(events: List[Any], turns: int = 2) -> Set[str]:
    """Return the button payloads of the bot's last `turns` turns.

    Two by default: when the action server was slow, the end of a turn (an offer with its
    buttons) reaches the user only with the reply to their next message, so a button in
    that reply can belong to the turn before the latest user message.
    """
    payloads: Set[str] = set()
    for event in reversed(events):
        if isinstance(event, UserUttered):
            turns -= 1
            if turns <= 0:
                break
        elif isinstance(event, BotUttered):
            for button in (event.data or {}).get("buttons") or []:
                payloads.add(str(button.get("payload", "")))
    return payloads


async def guard_command(agent: Any, sender: str, text: str) -> str:
    """Keep `/intent` commands only when they are a button the bot recently offered."""
    if not text.startswith("/"):
        return text
    tracker = await agent.tracker_store.retrieve(sender) if agent.tracker_store else None
    if tracker is not None and text in offered_payloads(list(tracker.events)):
        return text
    logger.info("chat.command_as_text conversation=%s", conversation_ref(sender))
    return text.lstrip("/ ") or "?"
