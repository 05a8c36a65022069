"""Training a candidate model from the staff app, and approving it: the app's side.

"Træn ny model" writes the accepted examples as the export file (`nlu.export_yaml`, the
very file /export/nlu.yml hands out and `merge-nlu --from` reads), a `job.json` naming the
active model to compare with, and starts the training job in the background
(fagchat/staff/training_job.py) at low priority, one at a time. The page polls
`status()`. A candidate that passed every gate can be approved: it is copied into the
model registry (fagchat/staff/model_registry.py) with its figures and made active, and
Rasa pulls it from the model server (fagchat/staff/model_server.py).

    FAGCHAT_VAR_DIR/candidates/<id>/   job.json, accepted.yml, data/, status.json, job.log,
                                       candidate.tar.gz, core/, crossval/
    FAGCHAT_VAR_DIR/models/            the approved models and registry.json
"""

import fcntl
import logging
import secrets
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from fagchat.settings import ROOT
from fagchat.staff import nlu
from fagchat.staff.model_registry import Registry, new_model_id, read_json, write_json
from fagchat.staff.training_job import LOCK
from fagchat.vocabulary import NEW_TOPIC

logger = logging.getLogger("fagchat.staff.training")
KEEP_CANDIDATES = 5  # newest candidate folders kept (each holds a model and a data copy)
START_GRACE = 60.0  # seconds a job just started counts as running before it holds its lock
_starting = threading.Lock()


class Refusal(Exception):
    """Why an action cannot be done now (a Danish sentence for the page)."""


def candidates_dir(config: Any) -> Path:
    """FAGCHAT_VAR_DIR/candidates."""
    return Path(config.var_dir) / "candidates"


def registry(config: Any) -> Registry:
    """The model registry under FAGCHAT_VAR_DIR/models."""
    return Registry(Path(config.var_dir) / "models")


def sync(config: Any) -> Optional[Dict[str, Any]]:
    """Take in the repository's model if it is new (seed or `make train`); the entry if so."""
    return registry(config).sync_repository(config.model_file, Path(config.data_dir) / "nlu.yml", config.clock())


def _lock_held(folder: Path) -> bool:
    """Whether a training job holds the candidates lock right now."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(lock, fcntl.LOCK_UN)
        return False


def jobs(config: Any) -> List[Path]:
    """Every candidate folder, newest first (ids sort by time)."""
    folder = candidates_dir(config)
    if not folder.exists():
        return []
    return sorted((p for p in folder.iterdir() if p.is_dir() and (p / "job.json").exists()), reverse=True)


def status(config: Any, job: Optional[Path] = None) -> Optional[Dict[str, Any]]:
    """The status of the newest job (or of `job`), with `running` right for a job that died."""
    folders = [job] if job else jobs(config)[:1]
    if not folders or folders[0] is None:
        return None
    current = read_json(folders[0] / "status.json", {}) or {}
    spec = read_json(folders[0] / "job.json", {}) or {}
    current.setdefault("id", spec.get("id"))
    if current.get("state") in ("starting", "running"):
        alive = _lock_held(candidates_dir(config)) or time.time() - spec.get("created", 0) < START_GRACE
        if not alive:  # killed, or the machine restarted: say so instead of running forever
            current.update(state="failed", message="Træningen blev afbrudt (processen stoppede). Start den igen.")
    return current


def running(config: Any) -> bool:
    """Whether a training job runs (or was started a moment ago)."""
    current = status(config)
    return bool(current and current.get("state") in ("starting", "running"))


def start(config: Any, decisions: List[Tuple[str, str]], user: str) -> str:
    """Start training a candidate on `decisions` ((intent, example) pairs); its id.

    Raises:
        Refusal: a job runs already, nothing is accepted, or there is no model to compare with.
    """
    with _starting:
        if running(config):
            raise Refusal("Der kører allerede en træning. Vent, til den er færdig.")
        if not any(intent != NEW_TOPIC and nlu.safe_example(example) for intent, example in decisions):
            raise Refusal("Der er ingen godkendte eksempler at træne på endnu (se Gennemgang).")
        export = nlu.export_yaml(decisions, config.today())
        sync(config)
        active = registry(config).active()
        if active is None:
            raise Refusal(f"Der er ingen model at sammenligne med: {config.model_file} mangler (make train).")
        now = time.time()  # real time, not the app's clock: ids sort in the order jobs started
        job_id = new_model_id("k", now, f"{int(now % 1 * 1000):03d}{secrets.token_hex(2)}")
        folder = candidates_dir(config) / job_id
        folder.mkdir(parents=True)
        (folder / "accepted.yml").write_text(export, encoding="utf-8")
        models = registry(config)
        spec = {
            "id": job_id,
            "created": now,
            "by": user,
            "root": str(ROOT),
            "data_dir": str(config.data_dir),
            "domain": str(config.domain_path),
            "config": str(ROOT / "config.yml"),
            "stories": str(ROOT / "tests" / "conversations"),
            "intents": list(config.intents()),
            "models_dir": str(models.root),
            "baseline": {
                "id": active["id"],
                "model": str(models.model_file(active["id"])),
                "nlu": str(models.nlu_file(active["id"])),
                "figures": active.get("figures"),
            },
            "sample": config.eval_sample,
            "folds": config.crossval_folds,
            "top1_margin": config.top1_margin,
            "f1_margin": config.f1_margin,
            "expected_train": _last_train_seconds(config),
        }
        write_json(folder / "job.json", spec)
        write_json(folder / "status.json", {"id": job_id, "state": "starting", "percent": 0, "stage": "merge"})
        spawn(folder)
    _prune(config)
    logger.info("training.started candidate=%s baseline=%s", job_id, active["id"])
    return job_id


def spawn(folder: Path) -> None:
    """Start the training job for `folder` in its own session, at low priority (tests replace this)."""
    log = open(folder / "job.log", "ab")
    try:
        subprocess.Popen(
            ["nice", "-n", "10", sys.executable, "-m", "fagchat.staff.training_job", str(folder)],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a restart of the staff app does not stop the job
        )
    finally:
        log.close()


def _last_train_seconds(config: Any) -> float:
    """How long the last successful training took (the progress bar's estimate)."""
    for folder in jobs(config):
        seconds = ((read_json(folder / "status.json", {}) or {}).get("durations") or {}).get("train")
        if seconds:
            return float(seconds)
    return 150.0


def _prune(config: Any) -> None:
    """Keep the newest KEEP_CANDIDATES candidate folders (an approved model lives in the registry)."""
    for folder in jobs(config)[KEEP_CANDIDATES:]:
        shutil.rmtree(folder, ignore_errors=True)


def approve(config: Any, job_id: str, user: str) -> Dict[str, Any]:
    """Make candidate `job_id` the active model; its registry entry.

    Raises:
        Refusal: it did not pass every gate, was compared with another model than the active
            one, or is gone.
    """
    folder = candidates_dir(config) / job_id
    current = status(config, folder) if (folder / "job.json").exists() else None
    if current is None:
        raise Refusal("Kandidaten findes ikke (den kan være ryddet op).")
    if current.get("state") != "passed" or not current.get("approvable"):
        failed = [g["label"] for g in current.get("gates") or [] if g.get("passed") is False]
        why = ("Den bestod ikke: " + ", ".join(failed) + ".") if failed else "Den er ikke færdig eller fejlede."
        raise Refusal("Kandidaten kan ikke tages i brug. " + why)
    spec = read_json(folder / "job.json", {})
    models = registry(config)
    active = models.active()
    if active is None or active["id"] != spec["baseline"]["id"]:
        raise Refusal("Kandidaten blev sammenlignet med en anden model end den aktive. Træn en ny kandidat.")
    models.add(
        job_id,
        folder / "candidate.tar.gz",
        folder / "data" / "nlu.yml",
        config.clock(),
        trained_by=spec["by"],
        figures=current["after"],
        gates=current["gates"],
        examples=(current.get("merge") or {}).get("added", 0),
    )
    return models.activate(job_id, user, config.clock(), action="activate")


def roll_back(config: Any, model_id: str, user: str) -> Dict[str, Any]:
    """Make an earlier approved model active again; its entry."""
    models = registry(config)
    active = models.active()
    if active is not None and active["id"] == model_id:
        raise Refusal("Den model er allerede i brug.")
    try:
        return models.activate(model_id, user, config.clock(), action="rollback")
    except KeyError:
        raise Refusal("Modellen findes ikke længere.") from None


def summary(entry: Optional[Dict[str, Any]], with_hash: bool = True) -> str:
    """A model's figures in one short line for the audit log (no messages, ≤ 255 characters)."""
    if not entry:
        return ""
    figures = entry.get("figures") or {}
    safety = figures.get("safety") or {}
    danger = (
        sum(s["hits"] for s in safety.values() if s["danger"]),
        sum(s["total"] for s in safety.values() if s["danger"]),
    )
    alarms = sum(s["hits"] for s in safety.values() if not s["danger"])
    held = figures.get("heldout") or {}
    right, total = sum(h["right"] for h in held.values()), sum(h["total"] for h in held.values())
    parts = [f"hash={entry['hash'][:12]}"] if with_hash else []
    if safety:
        parts += [f"danger={danger[0]}/{danger[1]}", f"false_alarms={alarms}"]
    if total:
        parts.append(f"top1={right}/{total}")
    if figures.get("crossval"):
        parts.append(f"f1={figures['crossval']['macro_f1']:.3f}")
    return " ".join(parts)[:255]
