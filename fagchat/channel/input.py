"""The channel's routes: messages, feedback, health; security headers; the server's hardening.

Compared with the stock REST channel it validates every request (requests.py), answers
slow or failed turns with something useful (turns.py), fails loudly when the tracker
database or the lock store is down, and logs without user text: the stock channel logs
the raw message on failure.
"""

import logging
from typing import Any, Awaitable, Callable, Dict, Optional

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from fagchat import httpkit, logs, rasa_patches, settings
from fagchat.channel import requests
from fagchat.channel.feedback import Verdict, store_feedback
from fagchat.channel.turns import Turns, bot, count_store_error
from fagchat.ops import health, metrics
from fagchat.stores.late_answers import LateAnswers
from fagchat.stores.lock_store import LockStoreUnavailable
from fagchat.stores.tracker_store import TrackerStoreUnavailable
from fagchat.text import conversation_ref

logger = logging.getLogger("fagchat.channel")

HEADERS = {
    **httpkit.SECURITY_HEADERS,
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
}
EMPTY = "Din besked er tom. Skriv dit spørgsmål, så hjælper jeg gerne."
# A refused vote: the status and what the user reads (fagchat/channel/feedback.py).
FEEDBACK_REFUSED = {
    Verdict.UNKNOWN_CONVERSATION: (
        404,
        "Samtalen findes ikke hos os, så din vurdering blev ikke gemt. Skriv en besked for at starte en ny samtale.",
    ),
    Verdict.ARTICLE_NOT_SHOWN: (422, "Du kan kun vurdere de svar, du har fået i denne samtale."),
}


class FagchatInput(RestInput):
    """Hardened REST channel for the web widget."""

    def __init__(self, serve_metrics: bool = False) -> None:
        """`serve_metrics`: count into the machine's shared metrics files and serve them.

        credentials.yml turns it on for the real Rasa server; tests that mount the
        blueprint on an app of their own count in memory instead (fagchat/ops/metrics.py).
        """
        self.serve_metrics = serve_metrics

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> "FagchatInput":
        """The channel as credentials.yml configures it (`metrics: true`)."""
        return cls(serve_metrics=bool((credentials or {}).get("metrics")))

    @classmethod
    def name(cls) -> str:
        """Name used in the URL: /webhooks/fagchat/."""
        return "fagchat"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Create the channel's routes; settings are read once, here."""
        env = settings.current()
        max_body, max_chars = env.int("FAGCHAT_MAX_BODY_BYTES"), env.int("FAGCHAT_MAX_MESSAGE_CHARS")
        turns = Turns(env.float("FAGCHAT_HOLDING_SECONDS"), LateAnswers.configured())
        readiness = health.Readiness("rasa", readiness_checks(env))
        bp = Blueprint("fagchat_channel", __name__)

        @bp.listener("before_server_start")
        async def start(app: Any, _loop: Any) -> None:
            # Once per Rasa worker, before the first message (fagchat/rasa_patches.py).
            rasa_patches.install()
            rasa_patches.harden_server_app(app, max_body, handle_error)
            # Rasa has set up its logging by now; at DEBUG it logs every user message.
            logger.info("channel.log_redaction handlers=%d", logs.install_redaction("rasa"))
            if self.serve_metrics:
                metrics.start("rasa")

        @bp.middleware("response")
        async def security_headers(request: Request, answer: HTTPResponse) -> None:
            httpkit.add_headers(answer, HEADERS)

        @bp.route("/", methods=["GET"])
        async def root(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/healthz", methods=["GET"])
        async def healthz(request: Request) -> HTTPResponse:
            return health.alive("rasa")

        @bp.route("/readyz", methods=["GET"])
        async def readyz(request: Request) -> HTTPResponse:
            return await readiness.answer(request.app)

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            payload = requests.parse_body(request, max_body)
            if isinstance(payload, HTTPResponse):
                return payload
            sender = payload.get("sender")
            if not requests.valid_sender(sender):
                return httpkit.json_error(400, "invalid_sender", "Samtalen kunne ikke genkendes. Start en ny samtale.")
            text = requests.message_text(payload.get("message"), max_chars)
            if isinstance(text, HTTPResponse):
                return text
            if not text:
                return response.json([bot(sender, EMPTY)])
            messages = await turns.handle(request.app.ctx.agent, on_new_message, sender, text, self.name())
            return response.json(messages)

        @bp.route("/feedback", methods=["POST"])
        async def feedback(request: Request) -> HTTPResponse:
            payload = requests.parse_body(request, max_body)
            if isinstance(payload, HTTPResponse):
                return payload
            sender, value, article = (payload.get(k) for k in ("sender", "value", "article"))
            if not requests.valid_sender(sender):
                return httpkit.json_error(400, "invalid_sender", "Samtalen kunne ikke genkendes.")
            if value not in ("up", "down"):
                return httpkit.json_error(400, "invalid_value", "Feedback skal være 👍 eller 👎.")
            if not requests.valid_article(article):
                return httpkit.json_error(400, "invalid_article", "Vurderingen skal høre til et af svarene.")
            try:
                verdict = await store_feedback(request.app.ctx.agent, sender, value, article)
            except Exception as exc:  # noqa: BLE001 - storage down: say so, never a traceback
                count_store_error(exc)
                if not isinstance(exc, (TrackerStoreUnavailable, LockStoreUnavailable)):
                    logger.error(
                        "feedback.failed conversation=%s error=%s", conversation_ref(sender), type(exc).__name__
                    )
                return httpkit.json_error(
                    503, "storage_unavailable", "Din vurdering kunne ikke gemmes lige nu. Prøv igen om lidt."
                )
            if verdict is not Verdict.STORED:
                # Forged or stale: nothing stored. The article id passed ARTICLE's pattern.
                logger.warning(
                    "feedback.refused conversation=%s reason=%s article=%s",
                    conversation_ref(sender),
                    verdict.value,
                    article,
                )
                status, message = FEEDBACK_REFUSED[verdict]
                return httpkit.json_error(status, verdict.value, message)
            logger.info("feedback.stored conversation=%s value=%s article=%s", conversation_ref(sender), value, article)
            return response.json({"ok": True})

        return bp


def readiness_checks(env: settings.Settings) -> Dict[str, health.Check]:
    """Rasa is ready when its model is loaded, the database answers and, with Redis locks, Redis does."""
    checks: Dict[str, health.Check] = {
        "model": model_loaded,
        "database": health.database_check(env.str("FAGCHAT_DB_URL")),
    }
    if env.str("FAGCHAT_LOCK_STORE") == "redis":
        checks["lock_store"] = health.redis_check(env.str("FAGCHAT_REDIS_URL"))
    return checks


def model_loaded(app: Any) -> str:
    """Whether this worker's agent holds a loaded model."""
    agent = getattr(app.ctx, "agent", None)
    return health.OK if agent is not None and agent.is_ready() else "not_loaded"


def handle_error(request: Request, exception: Exception) -> HTTPResponse:
    """Answer any error of the Rasa server with a Danish JSON message, never a traceback."""
    status = httpkit.error_status(exception)
    code, message = httpkit.describe(status)
    if status >= 500:
        httpkit.log_server_error(logger, "channel.error", request, exception)
    return httpkit.json_error(status, code, message, {**HEADERS, **httpkit.exception_headers(exception)})
