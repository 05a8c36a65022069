"""The approved models: a folder per model and a small JSON registry, which one is active.

    FAGCHAT_VAR_DIR/models/registry.json       {"active": id, "models": [...], "history": [...]}
    FAGCHAT_VAR_DIR/models/<id>/model.tar.gz   the model Rasa pulls while it is active
    FAGCHAT_VAR_DIR/models/<id>/nlu.yml        the NLU data it was trained on (cross-validation)

A model enters in one of two ways: from the repository (FAGCHAT_MODEL, written by
`make train`; the first one seeds the registry) or as a candidate trained in the staff app
that passed its gates and was approved. Each entry keeps its id, hash, when it was made,
who trained and approved it, and its figures (fagchat/staff/gates.py), so the gates of the
next candidate compare with the active model without measuring it again. Old models stay:
any approved model can be made active again (a rollback). A new repository model (a
different hash at FAGCHAT_MODEL) supersedes whatever is active: the repository stays the
source of truth (docs/staff.md).

Every change happens under an exclusive file lock and is written atomically, so the staff
app and the training job (another process) never lose each other's updates.
"""

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

from fagchat.model_files import fingerprint

logger = logging.getLogger("fagchat.staff.models")
REGISTRY = "registry.json"
SETTLE_SECONDS = 5.0  # a repository model younger than this may be half written
# A model's id: k (trained in the staff app) or r (taken in from the repository), the UTC time
# it was made, and a short random or hash part. The time is ISO 8601's basic form with its T
# and Z: written "20261130-221012-3177c73" as before 2026-12, the time of day read as a date
# and, with four digits after it, as a CPR number, so the log redaction hid the id. The old
# form is still accepted: registries on disk keep their ids.
MODEL_ID = re.compile(r"^[kr]-\d{8}(?:T\d{6}Z|-\d{6})-[0-9a-f]{6,7}$")


def new_model_id(kind: str, made: float, suffix: str) -> str:
    """The id of a model of `kind` ("k" or "r") made at `made` (epoch seconds), ending in `suffix`."""
    return f"{kind}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(made))}-{suffix}"


def write_json(path: Path, data: Any) -> None:
    """Write `data` as JSON atomically (a reader sees the old file or the new one, never half)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def read_json(path: Path, default: Any = None) -> Any:
    """The JSON at `path`, or `default` when there is none (or it is unreadable)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return default


class Registry:
    """The approved models under one folder."""

    def __init__(self, root: Path) -> None:
        """Use (and create) the folder `root`."""
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[Dict[str, Any]]:
        """The registry, locked against every other process until the block ends; saved after."""
        with open(self.root / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                data = self.read()
                yield data
                write_json(self.root / REGISTRY, data)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def read(self) -> Dict[str, Any]:
        """The whole registry (a snapshot)."""
        data = read_json(self.root / REGISTRY, {}) or {}
        return {"active": data.get("active"), "models": data.get("models", []), "history": data.get("history", [])}

    def entries(self) -> List[Dict[str, Any]]:
        """Every model, newest first."""
        return list(reversed(self.read()["models"]))

    def entry(self, model_id: str, data: Optional[Dict[str, Any]] = None) -> Optional[Dict[str, Any]]:
        """The model `model_id`."""
        return next((m for m in (data or self.read())["models"] if m["id"] == model_id), None)

    def active(self) -> Optional[Dict[str, Any]]:
        """The approved model Rasa is to use, if any."""
        data = self.read()
        return self.entry(data["active"], data) if data["active"] else None

    def model_file(self, model_id: str) -> Path:
        """Where the model file of `model_id` is."""
        return self.root / model_id / "model.tar.gz"

    def nlu_file(self, model_id: str) -> Path:
        """Where the NLU data `model_id` was trained on is."""
        return self.root / model_id / "nlu.yml"

    def rollback_target(self) -> Optional[Dict[str, Any]]:
        """The model that was active before the current one (still on disk), if any."""
        data = self.read()
        seen = set()
        for event in reversed(data["history"]):
            model_id = event["id"]
            if model_id != data["active"] and model_id not in seen and self.model_file(model_id).exists():
                return self.entry(model_id, data)
            seen.add(model_id)
        return None

    def add(self, model_id: str, model: Path, nlu: Optional[Path], now: float, **fields: Any) -> Dict[str, Any]:
        """Copy a model (and its NLU data) in as `model_id`; it is not active yet."""
        folder = self.root / model_id
        folder.mkdir(parents=True, exist_ok=True)
        part = folder / ".model.tar.gz.part"
        shutil.copyfile(model, part)
        os.replace(part, folder / "model.tar.gz")
        if nlu is not None and Path(nlu).exists():
            shutil.copyfile(nlu, folder / "nlu.yml")
        entry = {
            "id": model_id,
            "hash": fingerprint(folder / "model.tar.gz"),
            "created": now,
            "source": "staff",
            "trained_by": "",
            "approved_by": "",
            "approved_at": None,
            "figures": None,
            **fields,
        }
        with self._locked() as data:
            data["models"] = [m for m in data["models"] if m["id"] != model_id] + [entry]
        return entry

    def activate(self, model_id: str, by: str, now: float, action: str = "activate") -> Dict[str, Any]:
        """Make `model_id` the active model; record who and when (`action`: activate, rollback, repository)."""
        if not self.model_file(model_id).exists():
            raise KeyError(model_id)
        with self._locked() as data:
            entry = self.entry(model_id, data)
            if entry is None:
                raise KeyError(model_id)
            data["active"] = model_id
            entry["approved_by"] = entry.get("approved_by") or by
            entry["approved_at"] = entry.get("approved_at") or now
            data["history"].append({"at": now, "id": model_id, "by": by, "action": action})
        logger.info("models.%s model=%s hash=%s", action, model_id, entry["hash"][:12])
        return entry

    def store_figures(self, model_id: str, figures: Dict[str, Any]) -> None:
        """Keep `model_id`'s measured figures (merged into what it has)."""
        with self._locked() as data:
            entry = self.entry(model_id, data)
            if entry is not None:
                entry["figures"] = {**(entry.get("figures") or {}), **figures}

    def sync_repository(self, model: Path, nlu: Path, now: float) -> Optional[Dict[str, Any]]:
        """Take in the repository's model when it is new (seed, or `make train` ran since).

        Returns the entry when it was added and made active, else None. A hash the registry
        knows changes nothing: a rollback away from a repository model stays in force.
        """
        if not Path(model).exists() or time.time() - Path(model).stat().st_mtime < SETTLE_SECONDS:
            return None  # missing, or `rasa train` may still be writing it: next time
        digest = fingerprint(model)
        if any(m["hash"] == digest for m in self.read()["models"]):
            return None  # the usual case: no lock, no copy
        with open(self.root / ".sync.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # two pulls at once add it once
            if any(m["hash"] == digest for m in self.read()["models"]):
                return None
            made = dt.datetime.fromtimestamp(Path(model).stat().st_mtime, dt.timezone.utc)
            model_id = new_model_id("r", made.timestamp(), digest[:6])
            self.add(model_id, model, nlu, made.timestamp(), source="repository", trained_by="make train")
            return self.activate(model_id, "repository", now, action="repository")
