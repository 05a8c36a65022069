"""The "Træn ny model" page: start a candidate, follow it, see its gates, approve or roll back.

    GET  /training/              the page (its one script polls the status; CSP allows only it)
    GET  /training/status.json   the newest job's stage, percentage and message
    POST /training/start         train a candidate on the accepted examples (admins)
    POST /training/activate      approve a candidate that passed every gate (admins)
    POST /training/rollback      make an earlier approved model active again (admins)

Starting, approving and rolling back are in the audit log with the model's figures.
"""

import asyncio
from typing import Any, Dict, List, Optional

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from fagchat.staff import db, db_accounts, training
from fagchat.staff.auth import audit
from fagchat.staff.model_registry import MODEL_ID, read_json
from fagchat.staff.model_server import PATH as MODEL_PATH
from fagchat.staff.model_server import take_in_repository_model
from fagchat.staff.pages import BadInput, Refused, render
from fagchat.staff.training_job import STAGES
from fagchat.vocabulary import NEW_TOPIC

bp = Blueprint("training", url_prefix="/training")
STAGE_LABELS = {"merge": "Flet", "validate": "Kontrollér", "train": "Træn", "evaluate": "Mål og vurdér"}
# The staff app's CSP (app.py) plus this page's one script and its status requests.
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; script-src 'self'; connect-src 'self'"
)
EXPORT_CAP = 20000
JOB_DEFAULTS = {"state": "", "stage": "", "percent": 0, "message": "", "merge": None, "gates": [], "changed": []}


def _admin(request: Request) -> bool:
    with request.app.ctx.db.begin() as conn:
        return db_accounts.is_admin(conn, request.ctx.user)


def _require_admin(request: Request) -> None:
    if not _admin(request):
        raise Refused("Kun administratorer kan træne og tage modeller i brug (cli set-admin).")


def _model_id(request: Request, field: str) -> str:
    value = request.form.get(field) or ""
    if not MODEL_ID.match(value):
        raise BadInput("Ukendt model.")
    return value


def figure_rows(before: Optional[Dict[str, Any]], after: Optional[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Before/after side by side, one row a set (figures only: never a message)."""
    before, after, rows = before or {}, after or {}, []
    for name, a in (after.get("safety") or {}).items():
        b = (before.get("safety") or {}).get(name)
        kind = "Fare genkendt" if a["danger"] else "Falske alarmer"
        rows.append(_row(kind, name, a.get("blind"), b and (b["hits"], b["total"]), (a["hits"], a["total"])))
    for name, a in (after.get("heldout") or {}).items():
        b = (before.get("heldout") or {}).get(name)
        rows.append(
            _row("Rigtigt svar (top-1)", name, a.get("blind"), b and (b["right"], b["total"]), (a["right"], a["total"]))
        )
    return rows


def _row(kind: str, name: str, blind: Optional[bool], b: Optional[tuple], a: tuple) -> Dict[str, Any]:
    def show(pair: Optional[tuple]) -> str:
        return "–" if not pair else f"{pair[0]}/{pair[1]} ({round(100 * pair[0] / pair[1]) if pair[1] else 0} %)"

    return {"kind": kind, "set": name, "blind": blind, "before": show(b), "after": show(a), "changed": b != a}


def _accepted(request: Request) -> List[tuple]:
    with request.app.ctx.db.begin() as conn:
        return [(r.decision, r.example) for r in db.decided_examples(conn, EXPORT_CAP)]


@bp.get("/")
async def page(request: Request) -> HTTPResponse:
    """The training page."""
    app, config = request.app, request.app.ctx.config
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, take_in_repository_model, app)
    current = training.status(config)
    spec = (read_json(training.candidates_dir(config) / current["id"] / "job.json", {}) if current else {}) or {}
    job = {**JOB_DEFAULTS, **current} if current else None
    models = training.registry(config)
    active = models.active()
    accepted = sum(1 for decision, _ in _accepted(request) if decision != NEW_TOPIC)
    resp = render(
        request,
        "training.html",
        admin=_admin(request),
        job=job,
        baseline_id=(spec.get("baseline") or {}).get("id"),
        sample=spec.get("sample"),
        stages=[(name, STAGE_LABELS[name]) for name, _ in STAGES],
        figures=figure_rows((job or {}).get("before"), (job or {}).get("after")),
        active=active,
        rollback=models.rollback_target(),
        models=models.entries(),
        summary=training.summary,
        accepted=accepted,
        config=config,
        model_path=MODEL_PATH,
        pulls=sorted(getattr(app.ctx, "model_pulls", {}).items()),
        notice=request.args.get("done") or "",
    )
    resp.headers["Content-Security-Policy"] = CSP
    return resp


@bp.get("/status.json")
async def status(request: Request) -> HTTPResponse:
    """The newest job's progress, for the page's script."""
    current = training.status(request.app.ctx.config) or {"state": "idle"}
    keys = ("id", "state", "stage", "percent", "message", "failed_stage")
    return response.json({k: current.get(k) for k in keys})


@bp.post("/start")
async def start(request: Request) -> HTTPResponse:
    """Train a candidate on every accepted example (admins)."""
    _require_admin(request)
    pairs = _accepted(request)
    loop = asyncio.get_running_loop()
    try:
        job_id = await loop.run_in_executor(None, training.start, request.app.ctx.config, pairs, request.ctx.user)
    except training.Refusal as refusal:
        raise Refused(str(refusal)) from None
    examples = sum(1 for decision, _ in pairs if decision != NEW_TOPIC)
    audit(request, "training.start", target=job_id, detail=f"examples={examples}")
    return response.redirect("/training/", status=303)


@bp.post("/activate")
async def activate(request: Request) -> HTTPResponse:
    """Approve a candidate that passed every gate: Rasa pulls it from the model server (admins)."""
    return await _change_model(request, "candidate", training.approve, "model.activate", "activate")


@bp.post("/rollback")
async def rollback(request: Request) -> HTTPResponse:
    """Make an earlier approved model active again (admins)."""
    return await _change_model(request, "model", training.roll_back, "model.rollback", "rollback")


async def _change_model(request: Request, field: str, change: Any, action: str, done: str) -> HTTPResponse:
    """Run `change(config, model id, user)` for an admin, audit it with the model's figures, go back."""
    _require_admin(request)
    model_id = _model_id(request, field)
    loop = asyncio.get_running_loop()
    try:
        entry = await loop.run_in_executor(None, change, request.app.ctx.config, model_id, request.ctx.user)
    except training.Refusal as refusal:
        raise Refused(str(refusal)) from None
    audit(request, action, target=model_id, detail=training.summary(entry))
    return response.redirect(f"/training/?done={done}", status=303)
