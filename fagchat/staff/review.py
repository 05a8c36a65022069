"""The review queue: user messages the assistant struggled with, and the staff's decisions.

A message needs a decision when it ended in a fallback, its NLU confidence was below
FAGCHAT_STAFF_LOW_CONFIDENCE, or the answer to it got a 👎. The decision is a domain
intent (out_of_scope included) or "new topic needed", with an optional note, and the
example text to train on (editable, so a reviewer can take a name out; redacted again).
"""

import json
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import urlencode

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from fagchat.staff import db
from fagchat.staff.auth import audit
from fagchat.staff.pages import BadInput, Missing, local_path, pager, render
from fagchat.stores.redaction import redact
from fagchat.text import clean_text

bp = Blueprint("review", url_prefix="/review")
REASONS = ("all", "fallback", "low", "down")
MAX_EXAMPLE = 500
MAX_NOTE = 500


def clean(text: str, limit: int) -> str:
    """One line of visible text: control characters dropped, spaces folded, redacted."""
    return redact(clean_text(text)[:limit])


def decisions(request: Request) -> List[Tuple[str, str]]:
    """(value, label) of every allowed decision, knowledge intents named by their article."""
    kb = request.app.ctx.config.knowledge
    out = []
    for intent in request.app.ctx.intents:
        article = kb.for_intent(intent)
        out.append((intent, f"{intent} – {article.title}" if article else intent))
    return out + [(db.NEW_TOPIC, "Nyt emne mangler (intet svar passer)")]


def _reading(raw: Optional[str]) -> Tuple[str, List[Dict[str, Any]]]:
    try:
        data = json.loads(raw or "{}")
    except ValueError:
        data = {}
    parse = data.get("parse_data") or {}
    ranking = [r for r in parse.get("intent_ranking") or [] if isinstance(r, dict)]
    return str(data.get("text") or ""), ranking[:3]


def item(row: Any, threshold: float, allowed: set) -> Dict[str, Any]:
    """What the queue shows for one message."""
    text, ranking = _reading(row.data)
    reasons = [
        name
        for name, hit in (
            ("fallback", row.fallback),
            ("low", row.confidence is not None and row.confidence < threshold),
            ("down", row.thumbs_down),
        )
        if hit
    ]
    guesses = [r.get("name") for r in ranking if r.get("name") in allowed]
    suggestion = row.decision or (row.intent if row.intent in allowed else None) or next(iter(guesses), "")
    return {
        "row": row,
        "text": text,
        "ranking": ranking,
        "reasons": reasons,
        "suggestion": suggestion,
        "example": row.example or clean(text, MAX_EXAMPLE),
    }


@bp.get("/")
async def queue(request: Request) -> HTTPResponse:
    """List messages that need a decision (or got one), newest first."""
    config = request.app.ctx.config
    reason = request.args.get("reason") or "all"
    if reason not in REASONS:
        raise BadInput("Ukendt årsag.")
    done = request.args.get("status") == "done"
    with request.app.ctx.db.begin() as conn:
        total = db.count_review_queue(conn, config.low_confidence, reason, done, config.count_cap)
        page = pager(request, total, config.page_size, config.count_cap)
        rows = db.review_queue(conn, config.low_confidence, reason, done, page.size, page.offset)
        # The queue shows what users wrote: who saw which page of it is logged.
        audit(request, "review.view", detail=f"reason={reason} done={int(done)} page={page.page}", conn=conn)
    allowed = set(request.app.ctx.intents)
    return render(
        request,
        "review.html",
        items=[item(r, config.low_confidence, allowed) for r in rows],
        page=page,
        reason=reason,
        reasons=REASONS,
        done=done,
        decisions=decisions(request),
        threshold=config.low_confidence,
        saved=request.args.get("saved") == "1",
        here=_here(request),
    )


def _here(request: Request) -> str:
    """This page's address without the one-off `saved` notice (where a form returns to)."""
    args = {k: values[0] for k, values in request.args.items() if k != "saved" and values}
    return request.path + ("?" + urlencode(args) if args else "")


@bp.post("/")
async def decide(request: Request) -> HTTPResponse:
    """Store a decision on one message."""
    form = request.form
    try:
        event_id = int(form.get("event_id") or "")
    except ValueError:
        raise BadInput("Ingen besked angivet.") from None
    decision = form.get("decision") or ""
    if decision not in {value for value, _ in decisions(request)}:
        raise BadInput("Vælg en intent, 'uden for emnet' eller 'nyt emne mangler'.")
    app = request.app
    with app.ctx.db.begin() as conn:
        message = db.get_message(conn, event_id)
        if message is None:
            raise Missing("Beskeden findes ikke (samtalen kan være slettet).")
        example = clean(form.get("example") or _reading(message.data)[0], MAX_EXAMPLE)
        if not example:
            raise BadInput("Eksemplet er tomt.")
        db.save_review(
            conn,
            event_id=event_id,
            sender_id=message.sender_id,
            decision=decision,
            example=example,
            note=clean(form.get("note") or "", MAX_NOTE),
            reviewer=request.ctx.user,
            decided_at=app.ctx.config.clock(),
        )
        audit(request, "review.decide", target=str(event_id), detail=decision, conn=conn)
    back = local_path(form.get("next"), "/review/")
    return response.redirect(back + ("&" if "?" in back else "?") + "saved=1", status=303)
