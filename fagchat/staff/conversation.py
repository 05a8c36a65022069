"""One conversation as the user saw it, with the assistant's reading of each message."""

import logging
from typing import Any, Dict, List

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from fagchat import vocabulary as v
from fagchat.staff import db
from fagchat.staff.auth import audit
from fagchat.staff.indexer import event_data, tapped_after_alarm
from fagchat.staff.pages import BadInput, Missing, render
from fagchat.text import conversation_ref

logger = logging.getLogger(__name__)
bp = Blueprint("conversation", url_prefix="/conversation")
EVENT_CAP = 2000


def entries(rows: List[Any], articles: Dict[str, Any], reviews: Dict[int, Any]) -> List[Dict[str, Any]]:
    """Turn stored events into what the conversation page shows, in order."""
    out: List[Dict[str, Any]] = []
    offer_open = False  # articles were offered after a 112 answer; the next message may pick one
    for row in rows:
        data, kind = event_data(row.data), row.type_name
        base = {"ts": row.timestamp, "event_id": row.id}
        if kind == "session_started":
            out.append({**base, "kind": "session"})
        elif kind == "user":
            parse = data.get("parse_data") or {}
            intent = parse.get("intent") or {}
            ranking = [r for r in parse.get("intent_ranking") or [] if isinstance(r, dict)][:3]
            out.append(
                {
                    **base,
                    "kind": "user",
                    "text": str(data.get("text") or ""),
                    "intent": intent.get("name"),
                    "confidence": intent.get("confidence"),
                    "ranking": ranking,
                    # 112 by the danger layer, or a danger signal it weighed as routine
                    "danger_alarm": parse.get(v.DANGER_RULE_KEY) in v.DANGER_ALARM_RULES,
                    "danger_weighed": parse.get(v.DANGER_RULE_KEY) in v.DANGER_WEIGHED_RULES,
                    "review": reviews.get(row.id),
                    # a button of that offer, tapped next: the 112 answer was likely a false alarm
                    "after_alarm": offer_open and tapped_after_alarm(data) is not None,
                }
            )
            offer_open = False
        elif kind == "bot":
            extra = data.get("data") or {}
            custom = extra.get("custom") if isinstance(extra.get("custom"), dict) else {}
            article = articles.get(custom.get(v.CUSTOM_ARTICLE) or "")
            buttons = [str(b.get("title", "")) for b in extra.get("buttons") or [] if isinstance(b, dict)]
            out.append(
                {
                    **base,
                    "kind": "bot",
                    "text": str(data.get("text") or ""),
                    "buttons": buttons,
                    "article": article,
                    "article_id": custom.get(v.CUSTOM_ARTICLE),
                    "handover": bool(custom.get("handover")),
                }
            )
        elif kind == "action" and data.get("name") == v.UTTER_ACUTE_DANGER:
            out.append({**base, "kind": "acute"})
        elif kind == "action" and data.get("name") == v.ACTION_OFFER_AFTER_DANGER:
            offer_open = True
        elif kind == "action" and data.get("name") in v.FALLBACK_ACTIONS:
            out.append({**base, "kind": "fallback", "name": data.get("name")})
        elif kind == "slot" and data.get("name") == v.SLOT_FEEDBACK and isinstance(data.get("value"), dict):
            value = data["value"]
            out.append(
                {
                    **base,
                    "kind": "feedback",
                    "value": value.get("value"),
                    "article": articles.get(value.get(v.CUSTOM_ARTICLE) or ""),
                    "article_id": value.get(v.CUSTOM_ARTICLE),
                }
            )
        elif kind == "slot" and data.get("name") == v.SLOT_ROLE and data.get("value"):
            out.append({**base, "kind": "role", "value": str(data.get("value"))})
    return out


@bp.get("/")
async def show(request: Request) -> HTTPResponse:
    """Show one conversation: messages, intents, confidences, answers, feedback."""
    sender = request.args.get("id") or ""
    app = request.app
    with app.ctx.db.begin() as conn:
        summary = db.get_conversation(conn, sender)
        rows = db.conversation_events(conn, sender, EVENT_CAP + 1)
        reviews = db.reviews_of(conn, sender)
        shown = db.articles_shown(conn, [sender]).get(sender, [])
    if not rows:
        raise Missing("Samtalen findes ikke (den kan være slettet).")
    audit(request, "conversation.view", target=sender)
    kb = app.ctx.config.knowledge
    return render(
        request,
        "conversation.html",
        sender=sender,
        summary=summary,
        entries=entries(rows[:EVENT_CAP], kb.articles, reviews),
        truncated=len(rows) > EVENT_CAP,
        cap=EVENT_CAP,
        shown=[kb.articles[a] for a in shown if a in kb.articles],
    )


@bp.post("/delete")
async def delete(request: Request) -> HTTPResponse:
    """Delete one conversation for good (after an explicit confirmation)."""
    sender = (request.form.get("id") or "") if request.form else ""
    if not sender:
        raise BadInput("Ingen samtale angivet.")
    if request.form.get("confirm") != "yes":
        raise BadInput("Sæt flueben for at bekræfte, at samtalen skal slettes.")
    with request.app.ctx.db.begin() as conn:
        found = db.delete_conversations(conn, [sender]) > 0
        if found:  # the deletion and its audit row are stored together or not at all
            audit(request, "conversation.delete", target=sender, conn=conn)
    if not found:
        raise Missing("Samtalen findes ikke (den kan være slettet).")
    logger.info("staff.conversation_deleted conversation=%s by=%s", conversation_ref(sender), request.ctx.user)
    return response.redirect("/?deleted=1", status=303)
