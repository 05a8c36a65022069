"""The dashboard: how the assistant is used, as charts over a chosen period."""

import datetime as dt
from collections import Counter
from typing import Any, Dict, List, Tuple

from markupsafe import Markup
from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from fagchat.staff import charts, db
from fagchat.staff.pages import FEEDBACK_LABELS, TOPIC_LABELS, BadInput, num, pct, render

bp = Blueprint("dashboard", url_prefix="/dashboard")
PERIODS = {7: "7 dage", 30: "30 dage", 90: "90 dage", 365: "12 måneder"}
Chart = Tuple[str, Markup]  # (visible heading, SVG)


def _label(day: int) -> str:
    d = dt.date.fromordinal(day)
    return f"{d.day}.{d.month}."


def usage_charts(days: List[int], convs: Dict[int, int], msgs: Dict[int, Tuple[int, int]]) -> List[Chart]:
    """Conversations and messages per day; the share of messages that ended in a fallback."""
    labels = [_label(d) for d in days]
    span = f"{labels[0]}–{labels[-1]}"
    conv_counts = [convs.get(d, 0) for d in days]
    msg_counts = [msgs.get(d, (0, 0))[0] for d in days]
    fb_counts = [msgs.get(d, (0, 0))[1] for d in days]
    rates = [fb / n if n else 0.0 for fb, n in zip(fb_counts, msg_counts)]
    busiest = max(days, key=lambda d: convs.get(d, 0))
    overall = sum(fb_counts) / sum(msg_counts) if sum(msg_counts) else None
    title1, title2 = "Samtaler og beskeder pr. dag", "Andel beskeder assistenten ikke forstod (fallback)"
    return [
        (
            title1,
            charts.line_chart(
                "usage",
                title1,
                f"{span}: {num(sum(conv_counts))} samtaler og {num(sum(msg_counts))} beskeder i alt; "
                f"flest samtaler {_label(busiest)} ({num(convs.get(busiest, 0))}).",
                labels,
                [("Samtaler", conv_counts, "s1"), ("Beskeder", msg_counts, "s2")],
            ),
        ),
        (
            title2,
            charts.line_chart(
                "fallback",
                title2,
                f"{span}: {pct(overall)} af beskederne endte i en fallback; højeste dag {pct(max(rates))}. "
                "Dage uden beskeder står som 0 %.",
                labels,
                [("Fallback-andel", rates, "s3")],
                percent=True,
            ),
        ),
    ]


def article_charts(per_article: Dict[Tuple[str, str], int], articles: Dict[str, Any]) -> List[Chart]:
    """The most shown topics, and "hjalp"/"hjalp ikke" for the most rated articles."""
    topics: Counter = Counter()
    for (article, kind), n in per_article.items():
        if kind == "shown" and article in articles:
            topics[articles[article].topic] += n
    top = [(TOPIC_LABELS.get(t, t), n) for t, n in topics.most_common(10)]
    rated = Counter()
    for (article, kind), n in per_article.items():
        if kind in ("up", "down") and article:
            rated[article] += n
    items = [
        (articles[a].title if a in articles else a, [per_article.get((a, "up"), 0), per_article.get((a, "down"), 0)])
        for a, _ in rated.most_common(12)
    ]
    ups, downs = sum(i[1][0] for i in items), sum(i[1][1] for i in items)
    title1, title2 = "De mest viste emner", "Bedømmelser pr. artikel: hjalp og hjalp ikke"
    return [
        (
            title1,
            charts.bar_chart(
                "topics",
                title1,
                "Flest viste svar: " + ", ".join(f"{t} ({num(n)})" for t, n in top[:3]) + ".",
                [(t, [n]) for t, n in top],
                [("Viste svar", "s1")],
            ),
        ),
        (
            title2,
            charts.bar_chart(
                "feedback",
                title2,
                # Words, not 👍/👎: SVG text has no fallback where no emoji font is installed.
                f"{num(ups)} gange „hjalp“ og {num(downs)} gange „hjalp ikke“ for de {len(items)} "
                "mest bedømte artikler.",
                items,
                [(FEEDBACK_LABELS["up"], "up"), (FEEDBACK_LABELS["down"], "down")],
            ),
        ),
    ]


def escalation_chart(days: List[int], counts: Dict[Tuple[int, str], int]) -> Chart:
    """Handovers and acute-danger answers, summed into ISO weeks."""
    weeks: List[Tuple[int, int]] = []
    sums: Dict[str, Counter] = {"handover": Counter(), "acute": Counter()}
    for day in days:
        year, week, _ = dt.date.fromordinal(day).isocalendar()
        if (year, week) not in weeks:
            weeks.append((year, week))
        for kind, total in sums.items():
            total[(year, week)] += counts.get((day, kind), 0)
    handover = [sums["handover"][w] for w in weeks]
    acute = [sums["acute"][w] for w in weeks]
    title = "Henvisninger til en medarbejder og svar om akut fare pr. uge"
    return title, charts.column_chart(
        "escalations",
        title,
        f"{num(sum(handover))} henvisninger og {num(sum(acute))} svar om akut fare i perioden.",
        [f"uge {w}" for _, w in weeks],
        [("Henvist til medarbejder", handover, "s2"), ("Akut fare besvaret", acute, "s4")],
    )


@bp.get("/")
async def overview(request: Request) -> HTTPResponse:
    """Draw the charts for the last 7, 30, 90 or 365 days."""
    config = request.app.ctx.config
    period = request.args.get("days") or "30"
    if not period.isdigit() or int(period) not in PERIODS:
        raise BadInput("Vælg en af perioderne.")
    today = config.today().toordinal()
    days = list(range(today - int(period) + 1, today + 1))
    with request.app.ctx.db.begin() as conn:
        convs = db.conversations_per_day(conn, days[0])
        msgs = db.messages_per_day(conn, days[0])
        marks = {(d, k): n for d, k, n in db.marks_per_day(conn, ["handover", "acute"], days[0])}
        per_article = db.marks_per_article(conn, days[0])
    drawn = usage_charts(days, convs, msgs) + article_charts(per_article, config.knowledge.articles)
    drawn.append(escalation_chart(days, marks))
    n_msgs = sum(n for n, _ in msgs.values())
    totals = {
        "Samtaler": num(sum(convs.values())),
        "Beskeder": num(n_msgs),
        "Fallback-andel": pct(sum(fb for _, fb in msgs.values()) / n_msgs if n_msgs else None),
    }
    return render(request, "dashboard.html", period=int(period), periods=PERIODS, charts=drawn, totals=totals)
