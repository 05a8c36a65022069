"""Rasa's model server: the approved model, for every Rasa worker on every machine.

    GET /model/current.tar.gz     200 with the active model, or 304 when `If-None-Match`
                                  names it already; ETag = its SHA-256 (fagchat/model_files.py)

Rasa 3.6 asks this URL every `wait_time_between_pulls` seconds when its endpoints file has a
`models:` section (the launcher writes it when FAGCHAT_MODEL_SERVER_URL is set) and loads a
model whose ETag differs from the one it has (rasa/core/agent.py `_update_model_from_server`).
No login: Rasa has none to give. Only FAGCHAT_MODEL_SERVER_ALLOW may fetch it; others get
403. Each request first takes in a new repository model (FAGCHAT_MODEL, `make train`), so the
repository supersedes a staff-trained model without anyone pressing a button.
"""

import asyncio
import ipaddress
import logging
import time
from typing import Any, Dict, Optional

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from fagchat import httpkit
from fagchat.model_files import etag, matches
from fagchat.staff import db_accounts, training
from fagchat.staff.auth import client_ip

logger = logging.getLogger("fagchat.staff.model_server")
bp = Blueprint("model_server")
PATH = "/model/current.tar.gz"


def allowed(request: Request) -> bool:
    """Whether the caller's address is one of FAGCHAT_MODEL_SERVER_ALLOW."""
    try:
        address = ipaddress.ip_address(client_ip(request).strip("[]"))
    except ValueError:
        return False
    return any(address in network for network in request.app.ctx.model_server_allow)


def take_in_repository_model(app: Any) -> Optional[Dict[str, Any]]:
    """Register FAGCHAT_MODEL when it is new (seed, or `make train` ran); audit it. Blocking."""
    entry = training.sync(app.ctx.config)
    if entry is not None:
        with app.ctx.db.begin() as conn:
            detail = training.summary(entry)
            db_accounts.add_audit(conn, app.ctx.config.clock(), "repository", "model.repository", entry["id"], detail)
    return entry


@bp.listener("before_server_start")
async def _settings(app: Any, loop: asyncio.AbstractEventLoop) -> None:
    """Read the allowed addresses (a malformed entry stops the start, naming the setting)."""
    allow = app.ctx.config.model_server_allow
    app.ctx.model_server_allow = httpkit.proxy_networks(allow, "FAGCHAT_MODEL_SERVER_ALLOW")
    app.ctx.model_pulls = {}


@bp.listener("after_server_start")
async def _seed(app: Any, loop: asyncio.AbstractEventLoop) -> None:
    """The repository's model is the first approved one (and a newer one supersedes)."""
    try:
        await loop.run_in_executor(None, take_in_repository_model, app)
    except Exception as error:  # noqa: BLE001 - serve pages anyway; the next pull tries again
        logger.error("model_server.seed_failed error=%s", type(error).__name__)


@bp.route(PATH, methods=["GET"], name="current_model")
async def current_model(request: Request) -> HTTPResponse:
    """The active model for Rasa (see the module's docstring)."""
    if not allowed(request):
        logger.warning("model_server.refused")
        return response.text("Ingen adgang til modellen fra denne adresse.\n", status=403)
    app = request.app
    await asyncio.get_running_loop().run_in_executor(None, take_in_repository_model, app)
    models = training.registry(app.ctx.config)
    active = models.active()
    if active is None or not models.model_file(active["id"]).exists():
        return response.text("Ingen godkendt model.\n", status=404)  # Rasa keeps what it has
    tag = etag(active["hash"])
    headers = {"ETag": tag, "filename": f"{active['id']}.tar.gz", "Cache-Control": "no-cache"}
    # What each address holds: a 304 means Rasa there has the active model already.
    has = matches(request.headers.get("if-none-match"), active["hash"])
    app.ctx.model_pulls[client_ip(request)] = {"model": active["id"], "at": time.time(), "has": has}
    if has:
        return response.empty(status=304, headers=headers)
    logger.info("model_server.sent model=%s", active["id"])
    return await response.file(str(models.model_file(active["id"])), headers=headers, mime_type="application/gzip")
