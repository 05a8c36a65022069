"""What every view shares: templates, Danish labels, number and date formats, paging."""

import datetime as dt
import functools
import math
import re
from dataclasses import dataclass
from typing import Any, Dict, Optional
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined
from sanic import response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

from fagchat.vocabulary import ACUTE_DANGER, NEW_TOPIC, NONE_OF_THESE, OUT_OF_SCOPE

TOPIC_LABELS = {
    "what_is_stalking": "Hvad er stalking",
    "stalking_forms": "Former for stalking",
    "conflict_vs_stalking": "Konflikt eller stalking",
    "documentation": "Dokumentation",
    "safety": "Sikkerhed",
    ACUTE_DANGER: "Akut fare",  # a topic id (knowledge.py TOPICS), not the intent
    "risk_tools": "Risikovurdering",
    "law_and_police": "Lov og politi",
    "victim_referral": "Henvisning af udsatte",
    "perpetrator_help": "Hjælp til udøvere",
    "children_and_relatives": "Børn og pårørende",
    "consultation": "Sparring",
    "courses_and_materials": "Kurser og materialer",
    "contact": "Kontakt",
    "about_dsc": "Om centret",
}
ROLE_LABELS = {"politi": "Politi", "kommune": "Kommune", "sundhed": "Sundhed", "andet": "Andet"}
DECISION_LABELS = {OUT_OF_SCOPE: "Uden for emnet (out_of_scope)", NEW_TOPIC: "Nyt emne mangler"}
REASON_LABELS = {"fallback": "Forstod ikke", "low": "Lav sikkerhed", "down": "Hjalp ikke"}
# Intents without a knowledge article, as a counsellor would name them (the others are
# named by their article's title).
INTENT_LABELS = {
    ACUTE_DANGER: "Akut fare",
    "greet": "Hilsen",
    "goodbye": "Farvel",
    "thank": "Tak",
    "affirm": "Ja",
    "deny": "Nej",
    "help": "Hvad kan chatten?",
    "bot_challenge": "Er du en robot?",
    "human_handover": "Vil tale med en medarbejder",
    "case_consultation": "Sparring om en konkret sag",
    "check_stalking": "Er det stalking? (tjek)",
    "inform_role": "Fortæller sin rolle",
    NONE_OF_THESE: "Ingen af forslagene",
    OUT_OF_SCOPE: "Uden for emnet",
    NEW_TOPIC: "Nyt emne mangler",
}
# 👍/👎 as words: the symbols are decoration only (no emoji font, no meaning lost).
FEEDBACK_LABELS = {"up": "Hjalp", "down": "Hjalp ikke"}
FEEDBACK_SYMBOLS = {"up": "👍", "down": "👎"}
DATE_HINT = "dd.mm.åååå"
# Day first, as Danes write it (25.11.2025, also 25-11-2025 and 25/11/2025); ISO dates from
# older links and bookmarks are read too.
_DANISH_DATE = re.compile(r"(\d{1,2})[.\-/](\d{1,2})[.\-/](\d{4})")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


class StaffError(SanicException):
    """An error whose (Danish) message is shown to the user as it is."""

    quiet = True


class BadInput(StaffError):
    """A malformed argument or form field."""

    status_code = 400


class BadDate(BadInput):
    """A date field that is not a date; `field` names the form field."""

    def __init__(self, field: str, raw: str) -> None:
        super().__init__(f"„{raw[:20]}“ er ikke en dato. Skriv datoen som {DATE_HINT}, fx 25.11.2025.")
        self.field = field


class Refused(StaffError):
    """A missing or wrong CSRF token, or an action not allowed."""

    status_code = 403


class Missing(StaffError):
    """No such conversation or message."""

    status_code = 404


class Locked(StaffError):
    """Too many failed logins: try again later (in `retry_after` seconds)."""

    status_code = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@functools.lru_cache(maxsize=None)
def environment() -> Environment:
    """The Jinja2 environment: autoescaping always on, unknown names an error.

    One per process, shared by every app in it (tests build hundreds), so each template is
    compiled once; nothing changes an environment after it is built.
    """
    env = Environment(
        loader=PackageLoader("fagchat.staff", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(num=num, conf=conf, pct=pct, date=danish_date)
    env.globals.update(
        topic_labels=TOPIC_LABELS,
        role_labels=ROLE_LABELS,
        decision_labels=DECISION_LABELS,
        reason_labels=REASON_LABELS,
        feedback_labels=FEEDBACK_LABELS,
        feedback_symbols=FEEDBACK_SYMBOLS,
        date_hint=DATE_HINT,
    )
    return env


def num(value: Optional[float]) -> str:
    """A whole number the Danish way: 10.000."""
    return "–" if value is None else f"{int(value):,}".replace(",", ".")


def conf(value: Optional[float]) -> str:
    """A confidence with two decimals and a decimal comma: 0,93."""
    return "–" if value is None else f"{value:.2f}".replace(".", ",")


def pct(value: Optional[float]) -> str:
    """A share as a whole percentage: 12 %."""
    return "–" if value is None else f"{round(value * 100)} %"


def danish_date(value: Optional[dt.date]) -> str:
    """A date as Danes write it: 25.11.2025."""
    return "–" if value is None else value.strftime("%d.%m.%Y")


def parse_date(field: str, raw: str) -> Optional[dt.date]:
    """The date typed into `field` (dd.mm.åååå, or ISO); empty is None, anything else BadDate."""
    raw = raw.strip()
    if not raw:
        return None
    danish, iso = _DANISH_DATE.fullmatch(raw), _ISO_DATE.fullmatch(raw)
    try:
        if danish:
            day, month, year = (int(p) for p in danish.groups())
            return dt.date(year, month, day)
        if iso:
            return dt.date(*(int(p) for p in iso.groups()))
    except ValueError:  # 31.02.2025
        pass
    raise BadDate(field, raw)


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTTPResponse:
    """Render `template` with the signed-in user, CSRF token and time helpers."""
    app = request.app
    tz = app.ctx.config.tz

    def when(ts: Optional[float]) -> str:
        if ts is None:
            return "–"
        return dt.datetime.fromtimestamp(ts, tz).strftime("%d.%m.%Y %H:%M")

    def day(ts: Optional[float]) -> str:
        return "–" if ts is None else danish_date(dt.datetime.fromtimestamp(ts, tz).date())

    html = app.ctx.jinja.get_template(template).render(
        user=getattr(request.ctx, "user", None),
        csrf_token=getattr(request.ctx, "csrf", ""),
        path=request.path,
        when=when,
        day=day,
        low_confidence=app.ctx.config.low_confidence,
        **context,
    )
    return response.html(html, status=status)


def arg_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    """An integer query argument clamped to [low, high]; malformed is a 400."""
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        return max(low, min(high, int(raw)))
    except ValueError:
        raise BadInput(f"'{name}' skal være et helt tal.") from None


def local_path(target: Optional[str], default: str = "/") -> str:
    """`target` if it is a path on this site, else `default` (no open redirects)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


@dataclass
class Pager:
    """Where one page sits in a capped list, and the links to its neighbours."""

    page: int
    size: int
    total: int
    cap: int
    args: Dict[str, str]

    @property
    def offset(self) -> int:
        """Rows before this page."""
        return (self.page - 1) * self.size

    @property
    def pages(self) -> int:
        """Pages there are (within the cap)."""
        return max(1, math.ceil(min(self.total, self.cap) / self.size))

    @property
    def capped(self) -> bool:
        """Whether there are more rows than the cap counts."""
        return self.total > self.cap

    def url(self, page: int) -> str:
        """The query string for another page with the same filters."""
        return "?" + urlencode({**self.args, "page": str(page)})


def pager(request: Request, total: int, size: int, cap: int) -> Pager:
    """The pager for this request's `page` argument."""
    args = {k: values[0] for k, values in request.args.items() if k != "page" and values}
    last = max(1, math.ceil(min(total, cap) / size))
    return Pager(arg_int(request, "page", 1, 1, last), size, total, cap, args)
