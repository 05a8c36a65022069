"""The "new topic needed" list: questions no article answers, the most asked first.

Messages a reviewer decided "Nyt emne mangler" are listed by their group of similar
messages (suggestions.py). A group counts its messages decided so and those of it still
waiting in the review queue: the content owners see which missing answers are asked most.
The list downloads as CSV for them: semicolons and UTF-8 with a byte order mark, as Excel
with Danish settings reads it; dates as dd.mm.åååå.
"""

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any, List, Optional

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from fagchat.staff import db_suggestions
from fagchat.staff.auth import audit
from fagchat.staff.pages import danish_date, render

bp = Blueprint("topics", url_prefix="/new-topics")
CAP = 20000  # decisions read for one list
EXAMPLES = 5  # wordings shown per topic
CSV_NAME = "fagchat-nye-emner.csv"
COLUMNS = ("Antal gange stillet", "Spørgsmål", "Andre formuleringer", "Noter", "Først stillet", "Senest stillet")


@dataclass
class Topic:
    """One missing answer: the group's wordings, notes, how often and when it was asked."""

    key: int
    examples: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    decided: int = 0
    waiting: int = 0
    first: Optional[float] = None
    last: Optional[float] = None

    @property
    def asked(self) -> int:
        """Messages of the group: decided "new topic needed" and still in the queue."""
        return self.decided + self.waiting

    def seen(self, *times: Optional[float]) -> None:
        """Widen the first and last time asked by `times`."""
        for ts in (t for t in times if t is not None):
            self.first = ts if self.first is None else min(self.first, ts)
            self.last = ts if self.last is None else max(self.last, ts)


def _add(items: List[str], text: str, limit: int) -> None:
    if text and len(items) < limit and text.casefold() not in {i.casefold() for i in items}:
        items.append(text)


def ranked(conn: Any, threshold: float) -> List[Topic]:
    """Every missing answer, the most asked first (then the most recently asked)."""
    topics: dict = {}
    for row in db_suggestions.new_topics(conn, CAP):  # newest first
        topic = topics.setdefault(row.group_key, Topic(row.group_key))
        topic.decided += 1
        topic.seen(row.ts if row.ts is not None else row.decided_at)
        _add(topic.examples, row.example, EXAMPLES)
        _add(topic.notes, row.note, EXAMPLES)
    for key, (n, first, last) in db_suggestions.open_in_groups(conn, threshold, list(topics)).items():
        topics[key].waiting = n
        topics[key].seen(first, last)
    return sorted(topics.values(), key=lambda t: (-t.asked, -(t.last or 0), t.key))


@bp.get("/")
async def overview(request: Request) -> HTTPResponse:
    """List the questions no article answers, the most asked first."""
    with request.app.ctx.db.begin() as conn:
        topics = ranked(conn, request.app.ctx.config.low_confidence)
        # The list quotes what users wrote: who saw it is logged.
        audit(request, "topics.view", detail=f"topics={len(topics)}", conn=conn)
    return render(request, "topics.html", topics=topics, csv_name=CSV_NAME)


def _cell(value: Any) -> str:
    """A CSV cell that a spreadsheet shows as text, never runs as a formula."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@bp.get("/" + CSV_NAME)
async def download(request: Request) -> HTTPResponse:
    """Download the list as CSV for the content owners."""
    tz = request.app.ctx.config.tz
    with request.app.ctx.db.begin() as conn:
        topics = ranked(conn, request.app.ctx.config.low_confidence)
        audit(request, "topics.download", detail=f"topics={len(topics)}", conn=conn)

    def day(ts: Optional[float]) -> str:
        return "" if ts is None else danish_date(dt.datetime.fromtimestamp(ts, tz).date())

    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for t in topics:
        head, rest = (t.examples[0] if t.examples else ""), t.examples[1:]
        row = (t.asked, head, " | ".join(rest), " | ".join(t.notes), day(t.first), day(t.last))
        writer.writerow([_cell(v) for v in row])
    return response.raw(
        ("\ufeff" + out.getvalue()).encode("utf-8"),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{CSV_NAME}"'},
    )
