"""The inbox: conversations newest first, filtered and paginated."""

import datetime as dt
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from fagchat.knowledge import ROLES
from fagchat.staff import db
from fagchat.staff.pages import FEEDBACK_LABELS, BadDate, BadInput, danish_date, pager, parse_date, render
from fagchat.staff.schema import MARK_AFTER_ALARM

bp = Blueprint("inbox")
FLAGS = {
    "fallback": "Forstod ikke (fallback)",
    "thumbs_down": f"Svaret {FEEDBACK_LABELS['down'].lower()}",
    "handover": "Henvist til en medarbejder",
    "acute": "Akut fare besvaret",
    # An article chosen from the offer right after the 112 answer: likely a false alarm,
    # worth a look-alike example or a review of the message (fagchat/staff/indexer.py).
    "after_alarm": "Valgte et emne efter 112-svaret",
}
DATES = {"from": "Fra", "to": "Til"}  # date filters and their labels


def _date(request: Request, name: str) -> Optional[dt.date]:
    return parse_date(name, request.args.get(name) or "")


def date_fields(request: Request) -> Dict[str, Dict[str, str]]:
    """Each date filter as the form shows it: its label, value (as Danes write it), error."""
    out = {}
    for name, label in DATES.items():
        raw = request.args.get(name) or ""
        try:
            day = _date(request, name)
        except BadDate as error:
            out[name] = {"label": label, "value": raw, "error": str(error)}
        else:
            out[name] = {"label": label, "value": danish_date(day) if day else "", "error": ""}
    return out


def _midnight(day: dt.date, tz: dt.tzinfo) -> float:
    return dt.datetime.combine(day, dt.time(), tz).timestamp()


@dataclass
class Filter:
    """The inbox filters; None or False means "any"."""

    start: Optional[float] = None  # unix time, inclusive
    end: Optional[float] = None  # unix time, exclusive
    fallback: bool = False
    thumbs_down: bool = False
    handover: bool = False
    acute: bool = False
    after_alarm: bool = False  # an article was chosen from the offer after a 112 answer
    below: Optional[float] = None  # lowest NLU confidence under this
    articles: Optional[List[str]] = None  # an article of the chosen topic was shown
    role: Optional[str] = None


def parse_filter(request: Request) -> Filter:
    """The inbox filter from the query string; malformed values are a 400."""
    config, args = request.app.ctx.config, request.args
    f = Filter()
    start, end = _date(request, "from"), _date(request, "to")
    if start:
        f.start = _midnight(start, config.tz)
    if end:  # the whole "to" day is included
        f.end = _midnight(end + dt.timedelta(days=1), config.tz)
    for flag in FLAGS:
        setattr(f, flag, args.get(flag) == "1")
    if args.get("below"):
        try:
            f.below = float(args.get("below").replace(",", "."))
        except ValueError:
            raise BadInput("Tærsklen for sikkerhed skal være et tal mellem 0 og 1.") from None
        if not 0 <= f.below <= 1:
            raise BadInput("Tærsklen for sikkerhed skal være et tal mellem 0 og 1.")
    topic = args.get("topic") or ""
    if topic:
        articles = [a.id for a in config.knowledge.articles.values() if a.topic == topic]
        if not articles:
            raise BadInput("Ukendt emne.")
        f.articles = articles
    role = args.get("role") or ""
    if role:
        if role not in ROLES:
            raise BadInput("Ukendt rolle.")
        f.role = role
    return f


def topics_of(request: Request, shown: List[str]) -> List[str]:
    """The topics of the articles shown, each once, in order."""
    articles = request.app.ctx.config.knowledge.articles
    topics: List[str] = []
    for article_id in shown:
        article = articles.get(article_id)
        if article is not None and article.topic not in topics:
            topics.append(article.topic)
    return topics


@bp.get("/")
async def index(request: Request) -> HTTPResponse:
    """List conversations, newest activity first, with the chosen filters."""
    config = request.app.ctx.config
    topics = sorted({a.topic for a in config.knowledge.articles.values()})
    form = dict(flags=FLAGS, topics=topics, roles=ROLES, args=request.args, dates=date_fields(request))
    if any(field["error"] for field in form["dates"].values()):
        # The form again, with the error at its field, rather than an error page.
        return render(request, "inbox.html", status=400, items=[], page=None, deleted=False, **form)
    f = parse_filter(request)
    with request.app.ctx.db.begin() as conn:
        total = db.count_conversations(conn, f, config.count_cap)
        page = pager(request, total, config.page_size, config.count_cap)
        rows = db.list_conversations(conn, f, page.size, page.offset)
        shown = db.articles_shown(conn, [r.sender_id for r in rows])
        after_alarm = db.with_mark(conn, [r.sender_id for r in rows], MARK_AFTER_ALARM)
    items: List[Dict[str, Any]] = [
        {"row": r, "topics": topics_of(request, shown.get(r.sender_id, [])), "after_alarm": r.sender_id in after_alarm}
        for r in rows
    ]
    return render(request, "inbox.html", items=items, page=page, deleted=request.args.get("deleted") == "1", **form)
