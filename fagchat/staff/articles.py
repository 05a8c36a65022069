"""The knowledge view: every article with its use, its 👍/👎 and its review date."""

import datetime as dt

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from fagchat.staff import db
from fagchat.staff.pages import render

bp = Blueprint("knowledge", url_prefix="/knowledge")
STALE_AFTER_DAYS = 365  # an article not reviewed for 12 months is flagged


@bp.get("/")
async def articles(request: Request) -> HTTPResponse:
    """List every article: times shown, 👍, 👎, reviewed date, flagged when stale."""
    config = request.app.ctx.config
    with request.app.ctx.db.begin() as conn:
        counts = db.marks_per_article(conn)
    today = config.today()
    rows = []
    for article in config.knowledge.articles.values():
        stale = (today - article.reviewed) > dt.timedelta(days=STALE_AFTER_DAYS)
        rows.append(
            {
                "article": article,
                "shown": counts.get((article.id, "shown"), 0),
                "up": counts.get((article.id, "up"), 0),
                "down": counts.get((article.id, "down"), 0),
                "stale": stale,
            }
        )
    rows.sort(key=lambda r: (not r["stale"], -r["shown"], r["article"].title))
    return render(request, "knowledge.html", rows=rows, stale=sum(r["stale"] for r in rows))
