"""The review queue: user messages the assistant struggled with, and the staff's decisions.

A message needs a decision when it ended in a fallback, its NLU confidence was below
FAGCHAT_STAFF_LOW_CONFIDENCE, or the user said the answer did not help. The decision is a
domain intent (out_of_scope included) or "new topic needed", with an optional note, and
the example text to train on (editable, so a reviewer can take a name out; redacted again).

Open messages come in groups of similar ones (suggestions.py): one decision covers the
group, each message keeps its own example and its own decision row and audit row
(`review.decide`, detail `group_of=N` when it came with others). A reviewer can take a
message out of its group (`review.split`). The model's three best intents are one click
each, named by their article's title, with the model's probability.
"""

import asyncio
from collections import Counter
from typing import Any, Dict, List, Optional, Sequence, Tuple
from urllib.parse import urlencode

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from fagchat.staff import db, db_suggestions
from fagchat.staff.auth import audit
from fagchat.staff.indexer import event_data
from fagchat.staff.pages import INTENT_LABELS, BadInput, Missing, local_path, pager, render
from fagchat.stores.redaction import redact
from fagchat.text import clean_text

bp = Blueprint("review", url_prefix="/review")
REASONS = ("all", "fallback", "low", "down")
MAX_EXAMPLE = 500
MAX_NOTE = 500
GROUP_SHOWN = 50  # messages of one group on the page (and decided by one click)
NOTICES = ("saved", "n", "redacted", "split")  # one-off arguments a form returns with


def clean(text: str, limit: int) -> str:
    """One line of visible text: control characters dropped, spaces folded, redacted."""
    return redact(clean_text(text)[:limit])


def title(request: Request, intent: str) -> str:
    """What a counsellor calls an intent: its article's title, else its label, else its name."""
    article = request.app.ctx.config.knowledge.for_intent(intent)
    return article.title if article else INTENT_LABELS.get(intent, intent)


def decisions(request: Request) -> List[Tuple[str, str]]:
    """(value, label) of every allowed decision, intents named as counsellors name them."""
    out = [(intent, title(request, intent)) for intent in request.app.ctx.intents]
    return out + [(db.NEW_TOPIC, "Nyt emne mangler (intet svar passer)")]


def _reading(raw: Optional[str]) -> Tuple[str, List[Dict[str, Any]]]:
    """The message's text and the model's intent ranking, best first."""
    data = event_data(raw)
    parse = data.get("parse_data") if isinstance(data.get("parse_data"), dict) else {}
    ranking = [r for r in parse.get("intent_ranking") or [] if isinstance(r, dict)]
    return str(data.get("text") or ""), ranking


def choices(request: Request, rankings: Sequence[List[Dict[str, Any]]]) -> List[Tuple[str, str, float]]:
    """The three intents the model ranks best, averaged over a group: (intent, title, share)."""
    allowed, total = set(request.app.ctx.intents), Counter()
    for ranking in rankings:
        for guess in ranking:
            share = guess.get("confidence")
            if guess.get("name") in allowed and isinstance(share, (int, float)):
                total[guess["name"]] += float(share)
    best = sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    return [(intent, title(request, intent), share / len(rankings)) for intent, share in best]


def _member(row: Any, threshold: float) -> Dict[str, Any]:
    text, ranking = _reading(row.data)
    hits = (("fallback", row.fallback), ("low", row.confidence is not None and row.confidence < threshold))
    reasons = [name for name, hit in hits + (("down", row.thumbs_down),) if hit]
    return {
        "row": row,
        "text": text,
        "ranking": ranking,
        "reasons": reasons,
        "example": row.example or clean(text, MAX_EXAMPLE),
    }


def item(request: Request, rows: Sequence[Any], count: int, earlier: Optional[Counter] = None) -> Dict[str, Any]:
    """What the queue shows for one group of messages (newest first; `count` in all)."""
    threshold, allowed = request.app.ctx.config.low_confidence, set(request.app.ctx.intents)
    members = [_member(row, threshold) for row in rows]
    head = members[0]["row"]
    ranked = choices(request, [m["ranking"] for m in members])
    before = (earlier or Counter()).most_common()
    guesses = [d for d, _ in before] + [head.intent if head.intent in allowed else None] + [c[0] for c in ranked]
    return {
        "members": members,
        "head": members[0],
        "count": count,
        "reasons": [r for r in ("fallback", "low", "down") if any(r in m["reasons"] for m in members)],
        "choices": ranked,
        "earlier": [(title(request, d), n) for d, n in before],
        "suggestion": head.decision or next((g for g in guesses if g), ""),
    }


@bp.get("/")
async def queue(request: Request) -> HTTPResponse:
    """List messages that need a decision in groups of similar ones (or those decided)."""
    app, config = request.app, request.app.ctx.config
    reason = request.args.get("reason") or "all"
    if reason not in REASONS:
        raise BadInput("Ukendt årsag.")
    done = request.args.get("status") == "done"
    if not done:  # messages that just came in are shown in their groups at once
        await asyncio.get_running_loop().run_in_executor(None, app.ctx.suggester.for_page, app.ctx.db)
    threshold, cap = config.low_confidence, config.count_cap
    with app.ctx.db.begin() as conn:
        if done:
            total = db.count_review_queue(conn, threshold, reason, True, cap)
            page = pager(request, total, config.page_size, cap)
            rows = db.review_queue(conn, threshold, reason, True, page.size, page.offset)
            items = [item(request, [row], 1) for row in rows]
        else:
            total = db_suggestions.count_groups(conn, threshold, reason, cap)
            page = pager(request, total, config.page_size, cap)
            heads = db_suggestions.queue_groups(conn, threshold, reason, page.size, page.offset)
            keys = [key for key, _, _ in heads]
            members: Dict[int, List[Any]] = {}
            for row in db_suggestions.group_members(conn, threshold, reason, keys, GROUP_SHOWN):
                members.setdefault(row.group_key, []).append(row)
            earlier = db_suggestions.earlier_decisions(conn, keys)
            items = [item(request, members[key], n, earlier.get(key)) for key, n, _ in heads if key in members]
        saved = request.args.get("saved") or ""
        stored = db_suggestions.get_review(conn, int(saved)) if saved.isdigit() else None
        # The queue shows what users wrote: who saw which page of it is logged.
        audit(request, "review.view", detail=f"reason={reason} done={int(done)} page={page.page}", conn=conn)
    count = request.args.get("n") or ""
    return render(
        request,
        "review.html",
        items=items,
        page=page,
        reason=reason,
        reasons=REASONS,
        done=done,
        decisions=decisions(request),
        threshold=threshold,
        saved=stored,
        saved_count=count if count.isdigit() else "1",
        redacted=request.args.get("redacted") == "1",
        split=request.args.get("split") == "1",
        here=_here(request),
        title_of=lambda intent: title(request, intent),
    )


def _here(request: Request) -> str:
    """This page's address without the one-off notices (where a form returns to)."""
    args = {k: values[0] for k, values in request.args.items() if k not in NOTICES and values}
    return request.path + ("?" + urlencode(args) if args else "")


def _back(request: Request, **notice: Any) -> HTTPResponse:
    back = local_path(request.form.get("next"), "/review/")
    return response.redirect(back + ("&" if "?" in back else "?") + urlencode(notice), status=303)


def _event_ids(request: Request) -> List[int]:
    try:
        ids = [int(value) for value in request.form.getlist("event_id") or []]
    except ValueError:
        raise BadInput("Ingen besked angivet.") from None
    if not ids or len(ids) > GROUP_SHOWN:
        raise BadInput("Ingen besked angivet.")
    return list(dict.fromkeys(ids))


@bp.post("/")
async def decide(request: Request) -> HTTPResponse:
    """Store one decision on a message or on every message of a group."""
    form, ids = request.form, _event_ids(request)
    # A one-click choice is a button named "quick"; the list's choice comes as "decision".
    decision = form.get("quick") or form.get("decision") or ""
    if decision not in {value for value, _ in decisions(request)}:
        raise BadInput("Vælg en intent, 'uden for emnet' eller 'nyt emne mangler'.")
    app, changed = request.app, False
    note = clean(form.get("note") or "", MAX_NOTE)
    detail = decision if len(ids) == 1 else f"{decision} group_of={len(ids)}"
    with app.ctx.db.begin() as conn:
        # A conversation of the group may have been deleted since the page was shown.
        found = [(i, m) for i, m in ((i, db.get_message(conn, i)) for i in ids) if m is not None]
        if not found:
            raise Missing("Beskeden findes ikke (samtalen kan være slettet).")
        for event_id, message in found:
            typed = form.get(f"example-{event_id}")
            typed = form.get("example") if typed is None and len(ids) == 1 else typed
            plain = clean_text(_reading(message.data)[0] if typed is None else typed)[:MAX_EXAMPLE]
            example = redact(plain)  # typed text may hold personal data: never stored raw
            changed = changed or example != plain
            if not example:
                raise BadInput("Et eksempel er tomt. Skriv beskeden, som den skal læres, eller vælg en anden.")
            db.save_review(
                conn,
                event_id=event_id,
                sender_id=message.sender_id,
                decision=decision,
                example=example,
                note=note,
                reviewer=request.ctx.user,
                decided_at=app.ctx.config.clock(),
            )
            audit(request, "review.decide", target=str(event_id), detail=detail, conn=conn)
    notice = {"saved": found[0][0], "n": len(found), **({"redacted": 1} if changed else {})}
    return _back(request, **notice)


@bp.post("/split")
async def split(request: Request) -> HTTPResponse:
    """Take one message out of its group: it is then shown and decided on its own."""
    try:
        event_id = int(request.form.get("split") or "")
    except ValueError:
        raise BadInput("Ingen besked angivet.") from None
    with request.app.ctx.db.begin() as conn:
        if db.get_message(conn, event_id) is None:
            raise Missing("Beskeden findes ikke (samtalen kan være slettet).")
        if not db_suggestions.split(conn, event_id):
            raise BadInput("Beskeden er ikke i en gruppe.")
        audit(request, "review.split", target=str(event_id), conn=conn)
    return _back(request, split=1)
