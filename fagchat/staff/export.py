"""Export of reviewed messages: an overview page and the Rasa NLU YAML download."""

from collections import Counter

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from fagchat.staff import db, nlu
from fagchat.staff.auth import audit
from fagchat.staff.pages import render

bp = Blueprint("export", url_prefix="/export")
EXPORT_CAP = 20000  # decisions read for one export


@bp.get("/")
async def overview(request: Request) -> HTTPResponse:
    """Show what an export holds and the messages that ask for a new topic."""
    with request.app.ctx.db.begin() as conn:
        rows = db.decided_examples(conn, EXPORT_CAP)
        # The page quotes the examples that ask for a new topic (what users wrote).
        audit(request, "export.view", detail=f"examples={len(rows)}", conn=conn)
    counts = Counter(r.decision for r in rows if r.decision != db.NEW_TOPIC)
    new_topics = [r for r in rows if r.decision == db.NEW_TOPIC]
    return render(
        request, "export.html", counts=sorted(counts.items()), total=sum(counts.values()), new_topics=new_topics
    )


@bp.get("/nlu.yml")
async def download(request: Request) -> HTTPResponse:
    """Download the reviewed messages as Rasa NLU YAML."""
    with request.app.ctx.db.begin() as conn:
        rows = db.decided_examples(conn, EXPORT_CAP)
        merged = sum(1 for r in rows if r.decision != db.NEW_TOPIC)
        audit(request, "export.download", detail=f"examples={merged}", conn=conn)
    text = nlu.export_yaml(((r.decision, r.example) for r in rows), request.app.ctx.config.today())
    return response.text(
        text,
        content_type="application/yaml; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="fagchat-review-nlu.yml"'},
    )
