"""Small helpers the tests are built from: ports, HTTP calls, trackers, dispatchers."""

import json
import logging
import socket
import time
import urllib.error
import urllib.request
from typing import Any, Callable, Dict, List, Optional, Tuple

from rasa_sdk import Tracker

from fagchat.stores.redaction import RedactingFilter

# The modules that register Rasa graph components import Rasa's default recipe, and with
# it TensorFlow: 5 s of CPU. Test modules that need them import them in a fixture, not at
# the top (collection imports every test module in every xdist worker), and share this
# xdist group, so in `make unit` only the worker that runs them pays for TensorFlow.
TENSORFLOW_GROUP = "tensorflow"


def logged(message: str, *args: Any) -> str:
    """A log line as it leaves the real redacting filter."""
    record = logging.LogRecord("fagchat", logging.INFO, __file__, 1, message, args, None)
    RedactingFilter().filter(record)
    return record.getMessage()


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def post(url: str, body: Any, raw: bool = False, timeout: float = 60) -> Tuple[int, Any]:
    """POST JSON (or raw bytes/str when `raw`) and return (status, parsed JSON or text)."""
    data = body if raw else json.dumps(body).encode()
    if isinstance(data, str):
        data = data.encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            status, text = answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode(errors="replace")
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def wait_until(condition: Callable[[], Any], timeout: float, what: str, every: float = 0.05) -> Any:
    """Poll `condition` until it returns something true; fail naming `what` after `timeout` s.

    The way tests wait for another process: never a fixed sleep. `timeout` is an upper
    bound for a slow machine, not the expected time.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(every)


def say(base: str, sender: str, text: str) -> List[Dict[str, Any]]:
    """Send one chat message to the Rasa channel and return the bot's messages."""
    status, answer = post(f"{base}/webhooks/fagchat/webhook", {"sender": sender, "message": text})
    assert status == 200, (status, answer)
    return answer


def texts(messages: List[Dict[str, Any]]) -> str:
    """All bot texts of one answer, joined."""
    return "\n".join(m.get("text") or "" for m in messages)


def make_tracker(
    intent: Optional[str] = None,
    slots: Optional[Dict[str, Any]] = None,
    events: Optional[List[Dict[str, Any]]] = None,
    entities: Optional[List[Dict[str, Any]]] = None,
    ranking: Optional[List[Dict[str, Any]]] = None,
    text: str = "",
) -> Tracker:
    """A rasa_sdk Tracker whose latest message has `intent`, `entities` and `ranking`."""
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.9} if intent else {},
        "entities": entities or [],
        "intent_ranking": ranking or [],
    }
    all_events = list(events or [])
    if intent:
        all_events.append({"event": "user", "text": text, "parse_data": latest})
    return Tracker.from_dict(
        {
            "sender_id": "test",
            "slots": slots or {},
            "latest_message": latest,
            "events": all_events,
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        }
    )
