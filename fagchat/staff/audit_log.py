"""The audit log: who did what and when (ids and labels only, never content)."""

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from fagchat.staff import db_accounts
from fagchat.staff.pages import arg_int, render

bp = Blueprint("audit_log", url_prefix="/audit")
ACTIONS = {
    "login": "Logget ind",
    "login.failed": "Mislykket login",
    "login.locked": "Login spærret",
    "logout": "Logget ud",
    "conversation.view": "Så samtale",
    "conversation.delete": "Slettede samtale",
    "review.view": "Så gennemgangslisten",
    "review.decide": "Vurderede besked",
    "review.split": "Tog besked ud af gruppe",
    "topics.view": "Så listen over nye emner",
    "topics.download": "Hentede nye emner (CSV)",
    "export.view": "Så eksportsiden",
    "export.download": "Hentede eksport",
    "retention.purge": "Slettede gamle samtaler",
    "user.create": "Bruger oprettet",
    "user.password": "Adgangskode skiftet",
    "nlu.merge": "Eksempler flettet ind",
    "user.admin": "Administratorflag ændret",
    "training.start": "Startede træning af ny model",
    "model.activate": "Tog ny model i brug",
    "model.rollback": "Rullede tilbage til tidligere model",
    "model.repository": "Model fra repository taget i brug",
}


@bp.get("/")
async def entries(request: Request) -> HTTPResponse:
    """List the audit log, newest first."""
    size = request.app.ctx.config.page_size
    page = arg_int(request, "page", 1, 1, 1000)
    with request.app.ctx.db.begin() as conn:
        rows = db_accounts.list_audit(conn, size + 1, (page - 1) * size)
    return render(request, "audit.html", rows=rows[:size], page=page, more=len(rows) > size, actions=ACTIONS)
