"""The training job: one candidate model, trained and gated in a background process.

    nice -n 10 python -m fagchat.staff.training_job var/candidates/<id>

The staff app starts it (fagchat/staff/training.py) with a folder holding `job.json` (what
to do) and `accepted.yml` (the staff's accepted examples, exactly the export that
`merge-nlu --from` reads). The job never touches the repository's data: it copies `data/`
into the folder and merges there. Stages, each written to `status.json` as it goes:

    merge     accepted examples into the copy (fagchat/staff/nlu.py `merge`, as merge-nlu does)
    validate  rasa data validate --fail-on-warnings on the copy
    train     rasa train --out <folder> (the repository's training cache makes it faster)
    evaluate  figures of the candidate (and, once, of the active model), conversation tests,
              cross-validation; then the gates (fagchat/staff/gates.py)

One job at a time: it holds an exclusive lock on the candidates folder while it runs.
Everything it starts runs with its low priority, so the chat and the staff app go first.
"""

import fcntl
import gc
import logging
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from fagchat.logs import configure_logging
from fagchat.staff import gates, nlu
from fagchat.staff.model_registry import Registry, read_json, write_json

logger = logging.getLogger("fagchat.staff.training")
BIN = Path(sys.executable).parent
LOCK = ".training.lock"
STAGES = (("merge", 5), ("validate", 10), ("train", 45), ("evaluate", 40))  # (name, share of 100 %)
MESSAGES = {
    "merge": "Fletter de godkendte eksempler ind i en kopi af træningsdata …",
    "validate": "Kontrollerer træningsdata (rasa data validate) …",
    "train": "Træner kandidatmodellen …",
    "evaluate": "Måler kandidaten: fare, falske alarmer, rigtige svar, samtaletest …",
}


class StageFailed(Exception):
    """A stage could not finish; the message (Danish) is shown on the page."""


class Job:
    """One candidate's folder, its parameters and its status file."""

    def __init__(self, folder: Path) -> None:
        """Read `job.json` in `folder`."""
        self.folder = Path(folder)
        self.spec: Dict[str, Any] = read_json(self.folder / "job.json")
        self.status: Dict[str, Any] = read_json(self.folder / "status.json", {}) or {}
        self.stage_started = time.time()

    def update(self, **fields: Any) -> None:
        """Change the status and write it (atomically) for the page to read."""
        self.status.update(fields, updated=time.time())
        write_json(self.folder / "status.json", self.status)

    def progress(self, stage: str, within: float, message: Optional[str] = None) -> None:
        """Stage `stage` is `within` (0..1) done: the overall percentage follows from STAGES."""
        before = sum(share for name, share in STAGES[: [n for n, _ in STAGES].index(stage)])
        share = dict(STAGES)[stage]
        percent = min(99, int(before + share * max(0.0, min(1.0, within))))
        same = self.status.get("stage") == stage and self.status.get("message")
        message = message or (self.status["message"] if same else MESSAGES[stage])  # the live region speaks once
        self.update(stage=stage, percent=max(percent, self.status.get("percent", 0)), message=message)

    def run(self, args: List[str], stage: str, expected: float = 0) -> int:
        """Run a command (output to job.log), updating the progress every second; its exit code."""
        proc = subprocess.Popen(args, cwd=self.spec["root"], stdin=subprocess.DEVNULL)
        while proc.poll() is None:
            if expected:
                self.progress(stage, 0.95 * min(1.0, (time.time() - self.stage_started) / expected))
            time.sleep(1)
        return proc.returncode


def merge(job: Job) -> Dict[str, Any]:
    """Stage 1: the repository's data copied, the accepted examples merged into the copy."""
    data = job.folder / "data"
    shutil.rmtree(data, ignore_errors=True)
    shutil.copytree(job.spec["data_dir"], data)
    pairs = nlu.read_export(job.folder / "accepted.yml")
    report = nlu.merge(data / "nlu.yml", pairs, job.spec["intents"])
    summary = {
        "added": report.total,
        "duplicates": report.duplicates,
        "conflicts": len(report.conflicts),
        "unknown": len(report.unknown),
        "by_intent": report.added,
    }
    if not report.total:
        raise StageFailed("Ingen nye eksempler: alle godkendte eksempler findes allerede i træningsdata.")
    return summary


def validate(job: Job) -> None:
    """Stage 2: the merged copy passes Rasa's validation with warnings as errors."""
    spec = job.spec
    args = [str(BIN / "rasa"), "data", "validate", "--data", str(job.folder / "data"), "--domain", spec["domain"]]
    args += ["--config", spec["config"], "--fail-on-warnings", "--max-history", "5"]
    if job.run(args, "validate", expected=30) != 0:
        raise StageFailed("Træningsdata er ikke gyldige (rasa data validate); se job.log i kandidatens mappe.")


def train(job: Job) -> Path:
    """Stage 3: the candidate model, trained on the merged copy."""
    spec = job.spec
    args = [str(BIN / "rasa"), "train", "--data", str(job.folder / "data"), "--domain", spec["domain"]]
    # Stage 2 validated this copy with warnings as errors; Rasa's own check would take 20 s more.
    args += [
        "--config",
        spec["config"],
        "--out",
        str(job.folder),
        "--fixed-model-name",
        "candidate",
        "--skip-validation",
    ]
    if job.run(args, "train", expected=spec.get("expected_train") or 150) != 0:
        raise StageFailed("Træningen fejlede (rasa train); se job.log i kandidatens mappe.")
    return job.folder / "candidate.tar.gz"


def measure(job: Job, model: Path, within: Callable[[float], None]) -> gates.Figures:
    """Figures of one model on the (sampled) safety and held-out sets."""
    from fagchat.nlu.quality import Parser

    parser = Parser(model)  # it quiets Rasa's structlog: no parsed message reaches job.log
    try:
        return gates.measure(parser, job.spec["sample"], lambda done, total: within(done / total))
    finally:
        parser.loop.close()
        del parser
        gc.collect()


def conversation_tests(job: Job, model: Path) -> Dict[str, Any]:
    """`rasa test core` on the conversation tests with the candidate: passed, and how many failed."""
    out = job.folder / "core"
    args = [str(BIN / "rasa"), "test", "core", "--stories", job.spec["stories"], "--fail-on-prediction-errors"]
    args += ["--model", str(model), "--out", str(out), "--no-plot"]
    code = job.run(args, "evaluate")
    failed_file = out / "failed_test_stories.yml"
    failed = failed_file.read_text(encoding="utf-8").count("- story:") if failed_file.exists() else 0
    if code == 0:
        return {"passed": True, "failed": 0}
    why = f"{failed} samtaletest fejlede." if failed else f"rasa test core sluttede med kode {code}."
    return {"passed": False, "failed": failed, "why": why}


def crossval(job: Job, nlu_file: Path, out: Path) -> Optional[Dict[str, Any]]:
    """Macro-F1 of `folds`-fold cross-validation of the pipeline on `nlu_file` (seeded folds)."""
    from fagchat.nlu.quality import crossval_report, run_crossval

    folds = job.spec["folds"]
    if run_crossval(folds, out, Path(job.spec["config"]), nlu=nlu_file) != 0:
        return None
    macro, _report = crossval_report(out)
    return {"folds": folds, "macro_f1": round(macro, 4)}


def evaluate(job: Job, candidate: Path) -> Dict[str, Any]:
    """Stage 4: figures before and after, the conversation tests, cross-validation, the gates."""
    spec, base = job.spec, job.spec["baseline"]
    registry = Registry(Path(spec["models_dir"]))
    before = dict(base.get("figures") or {})
    folds = spec["folds"]
    measure_before = before.get("signature") != gates.signature(spec["sample"])
    crossval_before = folds > 0 and (before.get("crossval") or {}).get("folds") != folds
    steps = [("before", 3)] * measure_before + [("after", 3), ("talk", 2)]
    steps += [("cv_before", 4)] * crossval_before + [("cv_after", 4)] * (folds > 0)
    total = sum(w for _, w in steps)

    def step(name: str) -> Callable[[float], None]:
        done = sum(w for n, w in steps[: [n for n, _ in steps].index(name)])
        weight = dict(steps)[name]
        return lambda f: job.progress("evaluate", (done + weight * f) / total)

    if measure_before:  # once per active model: cached in the registry afterwards
        job.update(message="Måler den aktive model (én gang) …")
        before.update(measure(job, Path(base["model"]), step("before")))
        registry.store_figures(base["id"], {k: v for k, v in before.items() if k != "crossval"})
    job.update(message="Måler kandidaten …")
    after = measure(job, candidate, step("after"))
    step("talk")(0)
    job.update(message="Kører samtaletestene …")
    after["conversations"] = conversation_tests(job, candidate)
    if crossval_before:
        step("cv_before")(0)
        job.update(message=f"Krydsvaliderer den aktive models data ({folds} fold, én gang) …")
        before["crossval"] = crossval(job, Path(base["nlu"]), job.folder / "crossval-before")
        if before["crossval"]:
            registry.store_figures(base["id"], {"crossval": before["crossval"]})
    if folds > 0:
        step("cv_after")(0)
        job.update(message=f"Krydsvaliderer kandidatens data ({folds} fold) …")
        after["crossval"] = crossval(job, job.folder / "data" / "nlu.yml", job.folder / "crossval")
    verdicts = gates.judge(before, after, spec["top1_margin"], spec["f1_margin"], folds)
    return {
        "before": before,
        "after": after,
        "gates": gates.as_dicts(verdicts),
        "changed": gates.changed_intents(before, after),
        "approvable": gates.passed(verdicts),
    }


def run(folder: Path) -> int:
    """Run every stage of the job in `folder`; 0 when the candidate passed every gate."""
    job = Job(folder)
    with open(folder.parent / LOCK, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            job.update(state="failed", message="En anden træning kører allerede.", finished=time.time())
            return 1
        return _stages(job)


def _stages(job: Job) -> int:
    durations: Dict[str, float] = {}
    job.update(state="running", percent=0, started=time.time())
    stage = "merge"
    try:
        for stage, _ in STAGES:
            job.stage_started = time.time()
            job.progress(stage, 0)
            if stage == "merge":
                job.update(merge=merge(job))
            elif stage == "validate":
                validate(job)
            elif stage == "train":
                candidate = train(job)
            else:
                job.update(**evaluate(job, candidate))
            durations[stage] = round(time.time() - job.stage_started, 1)
            job.update(durations=durations)
    except StageFailed as failure:
        logger.warning("training.failed candidate=%s stage=%s", job.spec["id"], stage)
        job.update(state="failed", failed_stage=stage, message=str(failure), finished=time.time())
        return 1
    except Exception as error:  # noqa: BLE001 - the page must say it failed, whatever happened
        logger.error("training.error candidate=%s stage=%s error=%s", job.spec["id"], stage, type(error).__name__)
        logger.debug("training.error traceback", exc_info=error)
        message = f"Uventet fejl under {stage} ({type(error).__name__}); se job.log i kandidatens mappe."
        job.update(state="failed", failed_stage=stage, message=message, finished=time.time())
        return 1
    ok = job.status["approvable"]
    state, message = ("passed", "Kandidaten bestod alle porte.") if ok else ("refused", "Kandidaten blev afvist.")
    logger.info("training.%s candidate=%s seconds=%s", state, job.spec["id"], durations)
    job.update(state=state, percent=100, message=message, finished=time.time())
    return 0 if ok else 2


if __name__ == "__main__":
    configure_logging()
    sys.exit(run(Path(sys.argv[1])))
