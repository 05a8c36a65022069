"""Training in the staff app: the gates, the merge into a copy, the page, approval and rollback.

The gates are tested with figures (a candidate that misses a danger message is refused with
the gate named), the page and its actions through the app with the job replaced by a
stand-in, and the whole loop on real processes in `test_a_failed_question_is_answered_after_training_in_the_staff_app`
(integration, model): chat → review queue → "Træn ny model" → gates → approval → Rasa pulls
the new model from the staff app and answers, with no restart.
"""

import hashlib
import json
import re
import shutil
import time
from pathlib import Path
from typing import Optional

import pytest

from fagchat import vocabulary
from fagchat.staff import db_accounts, gates, nlu, schema, training, training_job
from fagchat.staff.config import StaffConfig
from fagchat.staff.engine import connect
from fagchat.staff.model_registry import Registry, write_json
from tests.test_model_server import fake_model
from tests.test_staff_support import (
    PASSWORD,
    Staff,
    rows,
    run_cli,
)

ROOT = Path(__file__).resolve().parent.parent
_ITEM = re.compile(r'<p class="text quote">(.*?)</p>.*?name="event_id" value="(\d+)"', re.S)


# -- the gates, with figures ------------------------------------------------------------


def figures(danger=(100, 100), alarms=0, top1=(90, 100), f1=None, talk=True, intents=None):
    """Figures of one model: one danger set, one look-alike set, one held-out set."""
    made = {
        "signature": "s",
        "sample": 0,
        "safety": {
            "danger_dev": {"hits": danger[0], "total": danger[1], "danger": True, "blind": False},
            "lookalikes_blind": {"hits": alarms, "total": 90, "danger": False, "blind": True},
        },
        "heldout": {"heldout_blind": {"right": top1[0], "total": top1[1], "blind": True}},
        "intents": intents or {},
        "conversations": {"passed": talk, "why": "2 samtaletest fejlede."},
    }
    if f1 is not None:
        made["crossval"] = {"folds": 2, "macro_f1": f1}
    return made


def verdicts(before, after, top1_margin=0.01, f1_margin=0.01, folds=2):
    return {g.name: g for g in gates.judge(before, after, top1_margin, f1_margin, folds)}


def test_a_candidate_that_misses_one_danger_message_is_refused_by_the_danger_gate():
    found = verdicts(figures(f1=0.9), figures(danger=(99, 100), f1=0.95, top1=(95, 100)))
    assert found["danger"].passed is False
    assert found["danger"].label == "Fare genkendt (112 først)"
    assert "danger_dev" in found["danger"].why and "100/100" in found["danger"].why and "99/100" in found["danger"].why
    assert not gates.passed(found.values())  # better elsewhere does not buy it back


def test_recall_below_100_may_not_fall_either_and_may_rise():
    assert verdicts(figures((95, 100), f1=0.9), figures((94, 100), f1=0.9))["danger"].passed is False
    assert verdicts(figures((95, 100), f1=0.9), figures((96, 100), f1=0.9))["danger"].passed is True


def test_false_alarms_may_not_rise():
    found = verdicts(figures(alarms=1, f1=0.9), figures(alarms=2, f1=0.9))
    assert found["false_alarms"].passed is False and "lookalikes_blind: 1 → 2" in found["false_alarms"].why
    assert verdicts(figures(alarms=2, f1=0.9), figures(alarms=1, f1=0.9))["false_alarms"].passed


def test_held_out_top1_may_fall_by_the_margin_and_no_more():
    assert verdicts(figures(top1=(90, 100), f1=0.9), figures(top1=(89, 100), f1=0.9))["heldout"].passed
    fell = verdicts(figures(top1=(90, 100), f1=0.9), figures(top1=(88, 100), f1=0.9))["heldout"]
    assert fell.passed is False and "heldout_blind" in fell.why
    assert verdicts(figures(f1=0.9), figures(top1=(85, 100), f1=0.9), top1_margin=0.05)["heldout"].passed


def test_failing_conversation_tests_refuse():
    found = verdicts(figures(f1=0.9), figures(talk=False, f1=0.9))
    assert found["conversations"].passed is False and "2 samtaletest" in found["conversations"].why


def test_cross_validation_may_fall_by_its_margin_or_be_skipped():
    assert verdicts(figures(f1=0.90), figures(f1=0.895))["crossval"].passed
    fell = verdicts(figures(f1=0.90), figures(f1=0.88))["crossval"]
    assert fell.passed is False and "0,900 → 0,880" in fell.why
    skipped = verdicts(figures(), figures(), folds=0)
    assert skipped["crossval"].passed is None and "FAGCHAT_TRAIN_CROSSVAL_FOLDS" in skipped["crossval"].why
    assert gates.passed(skipped.values())  # a skipped gate refuses nothing
    assert verdicts(figures(f1=0.9), figures())["crossval"].passed is False  # no figure: refused


def test_the_intents_that_changed_most_come_first():
    before = figures(intents={"a": [5, 10], "b": [9, 10], "c": [3, 3]})
    after = figures(intents={"a": [9, 10], "b": [8, 10], "c": [3, 3]})
    assert [r["intent"] for r in gates.changed_intents(before, after)] == ["a", "b"]


def test_samples_are_spread_evenly_and_the_same_every_time():
    items = list(range(100))
    assert gates.sample(items, 4) == [0, 25, 50, 75] == gates.sample(items, 4)
    assert gates.sample(items, 0) == items and gates.sample(items[:3], 10) == items[:3]
    assert gates.signature(5) == gates.signature(5) != gates.signature(6)


# -- the candidate is trained on a copy, merged exactly as merge-nlu merges ----------------


def test_the_merge_stage_works_on_a_copy_exactly_as_merge_nlu_does(tmp_path, db_url, clock):
    original = hashlib.sha256((ROOT / "data" / "nlu.yml").read_bytes()).hexdigest()
    decisions = [("stalking_forms", "han står ved graven hver søndag, ring 20 30 40 50"), ("new_topic", "x y z")]
    folder = tmp_path / "k-1"
    folder.mkdir()
    (folder / "accepted.yml").write_text(nlu.export_yaml(decisions, clock_day()), encoding="utf-8")
    config = StaffConfig.from_settings({"db_url": db_url, "clock": clock})
    spec = {"id": "k-1", "data_dir": str(ROOT / "data"), "intents": config.intents()}
    write_json(folder / "job.json", spec)
    report = training_job.merge(training_job.Job(folder))
    assert report["added"] == 1 and report["by_intent"] == {"stalking_forms": 1}
    # The same export merged by the command the developers run gives the same file.
    by_hand = tmp_path / "by-hand.yml"
    shutil.copy(ROOT / "data" / "nlu.yml", by_hand)
    assert run_cli(db_url, clock, ["merge-nlu", str(by_hand), "--from", str(folder / "accepted.yml")]) == 0
    assert (folder / "data" / "nlu.yml").read_text(encoding="utf-8") == by_hand.read_text(encoding="utf-8")
    assert "[TELEFON]" in by_hand.read_text(encoding="utf-8")
    assert hashlib.sha256((ROOT / "data" / "nlu.yml").read_bytes()).hexdigest() == original  # untouched


def clock_day():
    import datetime as dt

    return dt.date(2025, 11, 25)


def test_nothing_new_to_merge_fails_the_merge_stage(tmp_path):
    folder = tmp_path / "k-2"
    folder.mkdir()
    known = nlu.read_export(ROOT / "data" / "nlu.yml")[0]  # an example the data has already
    (folder / "accepted.yml").write_text(nlu.export_yaml([known], clock_day()), encoding="utf-8")
    write_json(folder / "job.json", {"id": "k-2", "data_dir": str(ROOT / "data"), "intents": [known[0]]})
    with pytest.raises(training_job.StageFailed, match="Ingen nye eksempler"):
        training_job.merge(training_job.Job(folder))


# -- the page, its actions and its audit trail (the job is a stand-in) -----------------------


@pytest.fixture
def trainer(make_app, seeded_url, db_url, tmp_path, monkeypatch):
    """A signed-in admin on an app with its own repository model, and the jobs it started."""
    started = []
    monkeypatch.setattr(training, "spawn", started.append)
    repo = {"model_file": fake_model(tmp_path / "models" / "fagchat.tar.gz", b"repository model")}
    app = make_app(var_dir=tmp_path / "var", model_server=True, crossval_folds=0, **repo)
    engine = connect(db_url)
    with engine.begin() as conn:
        db_accounts.set_admin(conn, "anna", True)
    engine.dispose()
    client = Staff(app)
    assert client.login().status == 303
    client.started = started
    client.var = tmp_path / "var"
    return client


def decide_first(client: Staff, intent: str = "restraining_order") -> str:
    text, event_id = _ITEM.findall(client.get("/review/").text)[0]
    assert client.post("/review/", {"event_id": event_id, "decision": intent, "example": text}).status == 303
    return text


def candidate(client: Staff, state: str, before: dict, after: dict) -> Path:
    """Accept a message, start a job (a stand-in) and end it as the training job would."""
    decide_first(client)
    assert client.post("/training/start").status == 303
    (folder,) = client.started
    finish(folder, state, before, after)
    return folder


def finish(folder: Path, state: str, before: dict, after: dict, folds: int = 0) -> None:
    """Write what the training job writes when it ends."""
    found = gates.judge(before, after, 0.01, 0.01, folds)
    (folder / "candidate.tar.gz").write_bytes(b"candidate model")
    status = json.loads((folder / "status.json").read_text())
    status.update(state=state, percent=100, message="x", before=before, after=after)
    status.update(
        gates=gates.as_dicts(found),
        changed=[],
        approvable=gates.passed(found),
        merge={"added": 1, "duplicates": 0, "conflicts": 0},
    )
    write_json(folder / "status.json", status)


def test_only_admins_may_train(make_app, seeded_url, tmp_path, monkeypatch):
    monkeypatch.setattr(training, "spawn", lambda folder: pytest.fail("started"))
    client = Staff(make_app(var_dir=tmp_path / "var"))
    assert client.login().status == 303
    page = client.get("/training/")
    assert page.status == 200 and "Kun administratorer" in page.text and "/training/start" not in page.text
    refused = client.post("/training/start")
    assert refused.status == 403 and "administratorer" in refused.text


def test_training_needs_accepted_examples(trainer):
    resp = trainer.post("/training/start")
    assert resp.status == 403 and "ingen godkendte eksempler" in resp.text
    assert trainer.started == []


def test_start_writes_the_export_and_the_job_and_is_audited(trainer, db_url):
    decide_first(trainer)
    assert trainer.post("/training/start").status == 303
    (folder,) = trainer.started
    spec = json.loads((folder / "job.json").read_text())
    seed = Registry(trainer.var / "models").active()
    assert spec["baseline"]["id"] == seed["id"] and seed["source"] == "repository"
    assert spec["folds"] == 0 and spec["data_dir"].endswith("data")
    # The candidate merges exactly the file the export page hands out.
    assert (folder / "accepted.yml").read_text(encoding="utf-8") == trainer.get("/export/nlu.yml").text
    audit = [r for r in rows(db_url, schema.audit) if r.action == "training.start"]
    assert [(r.username, r.target, r.detail) for r in audit] == [("anna", folder.name, "examples=1")]
    # One at a time.
    again = trainer.post("/training/start")
    assert again.status == 403 and "allerede" in again.text and len(trainer.started) == 1
    status = trainer.get("/training/status.json")
    assert status.status == 200 and status.json["state"] == "starting" and status.json["id"] == folder.name
    page = trainer.get("/training/")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert 'role="status" aria-live="polite"' in page.text and '<progress id="training-progress"' in page.text
    assert "script-src" not in trainer.get("/review/").headers["content-security-policy"]


def test_a_refused_candidate_shows_the_gate_and_cannot_be_approved(trainer, db_url):
    folder = candidate(trainer, "refused", figures(), figures(danger=(99, 100)))
    page = trainer.get("/training/")
    assert "Afvist" in page.text and "Fare genkendt (112 først)" in page.text and "99/100" in page.text
    assert "Sprunget over" in page.text  # cross-validation, FAGCHAT_TRAIN_CROSSVAL_FOLDS=0
    assert "/training/activate" not in page.text
    resp = trainer.post("/training/activate", {"candidate": folder.name})
    assert resp.status == 403 and "Fare genkendt" in resp.text
    assert Registry(trainer.var / "models").active()["source"] == "repository"
    assert not [r for r in rows(db_url, schema.audit) if r.action == "model.activate"]


def test_approval_and_rollback_reach_the_model_server_and_the_audit_log(trainer, db_url):
    folder = candidate(trainer, "passed", figures(), figures(top1=(92, 100)))
    page = trainer.get("/training/")
    assert "Bestået" in page.text and "/training/activate" in page.text and "90/100 (90 %)" in page.text
    first = trainer.get("/model/current.tar.gz")
    assert first.body == b"repository model"
    assert trainer.post("/training/activate", {"candidate": folder.name}).status == 303
    served = trainer.get("/model/current.tar.gz", headers={"If-None-Match": first.headers["etag"]})
    assert served.status == 200 and served.body == b"candidate model"
    activated = [r for r in rows(db_url, schema.audit) if r.action == "model.activate"]
    assert [(r.username, r.target) for r in activated] == [("anna", folder.name)]
    assert "danger=100/100" in activated[0].detail and "top1=92/100" in activated[0].detail
    models = Registry(trainer.var / "models")
    entry = models.active()
    assert entry["id"] == folder.name and entry["approved_by"] == "anna" and entry["figures"]["heldout"]
    # One click back.
    seed = models.rollback_target()
    assert f'value="{seed["id"]}"' in trainer.get("/training/").text
    assert trainer.post("/training/rollback", {"model": seed["id"]}).status == 303
    assert trainer.get("/model/current.tar.gz").body == b"repository model"
    assert [r.target for r in rows(db_url, schema.audit) if r.action == "model.rollback"] == [seed["id"]]
    assert trainer.post("/training/rollback", {"model": "../../etc"}).status == 400


def test_a_candidate_compared_with_another_model_cannot_be_approved(trainer):
    folder = candidate(trainer, "passed", figures(), figures())
    models = Registry(trainer.var / "models")
    models.add("k-20250101-000000-000abcd", fake_model(trainer.var / "o.tar.gz", b"other"), None, 1.0)
    models.activate("k-20250101-000000-000abcd", "anna", 2.0)
    resp = trainer.post("/training/activate", {"candidate": folder.name})
    assert resp.status == 403 and "anden model" in resp.text


def test_a_job_that_died_is_shown_as_interrupted(trainer):
    decide_first(trainer)
    trainer.post("/training/start")
    (folder,) = trainer.started
    spec = json.loads((folder / "job.json").read_text())
    write_json(folder / "job.json", {**spec, "created": time.time() - 3600})
    write_json(folder / "status.json", {"id": folder.name, "state": "running", "stage": "train", "percent": 40})
    assert trainer.get("/training/status.json").json["state"] == "failed"
    assert "afbrudt" in trainer.get("/training/").text


@pytest.mark.parametrize("path", ["/training/", "/training/status.json"])
def test_pages_need_a_login(make_app, tmp_path, path):
    resp = Staff(make_app(var_dir=tmp_path / "var")).get(path)
    assert resp.status == 303 and resp.headers["location"].startswith("/login")


@pytest.mark.parametrize("path", ["/training/start", "/training/activate", "/training/rollback"])
def test_forms_need_a_login_and_the_csrf_token(trainer, make_app, tmp_path, path):
    anonymous = Staff(make_app(var_dir=tmp_path / "var")).post(path, {"csrf_token": "x"}, csrf=False)
    assert anonymous.status == 303 and anonymous.headers["location"].startswith("/login")
    assert trainer.post(path, {"csrf_token": "wrong"}, csrf=False).status == 403
    assert trainer.started == []


def test_the_admin_flag_is_set_and_taken_by_command(db_url, clock, fast_hashing):
    assert run_cli(db_url, clock, ["create-user", "bo", "--password-stdin", "--admin"], stdin=PASSWORD + "\n") == 0
    assert run_cli(db_url, clock, ["create-user", "eva", "--password-stdin"], stdin=PASSWORD + "\n") == 0
    assert {r.username: r.admin for r in rows(db_url, schema.users)} == {"bo": 1, "eva": 0}
    assert run_cli(db_url, clock, ["set-admin", "eva"]) == 0
    assert run_cli(db_url, clock, ["set-admin", "bo", "--off"]) == 0
    assert {r.username: r.admin for r in rows(db_url, schema.users)} == {"bo": 0, "eva": 1}
    with pytest.raises(SystemExit, match="No user"):
        run_cli(db_url, clock, ["set-admin", "nobody"])
    flags = [(r.target, r.detail) for r in rows(db_url, schema.audit) if r.action in ("user.admin", "user.create")]
    assert flags == [("bo", "admin"), ("eva", ""), ("eva", "on"), ("bo", "off")]


# -- on real processes -------------------------------------------------------------------

# Words the training data does not hold, so the shipped model cannot place the question
# (the same question as tests/test_improvement_loop.py, which retrains by hand).
QUESTION = "eksmanden dukker op ved graven på kirkegården hver søndag"
RIGHT = "stalking_forms"
ADMIN = "lise"
# A routine question of a sampled look-alike set (safety_lookalikes_dev14.txt) that the
# danger layer leaves alone: filed under acute danger it becomes a false alarm.
ROUTINE = (
    "Sidder med en beboer her på krisecentret, som vil vide, hvordan hun får sine ting hentet fra lejligheden,"
    " hvor eksmanden stadig bor. Kan politiet gå med, og hvordan aftaler man det?"
)


def article_of(answer: list) -> str:
    """The article a chat answer showed, or '' when it showed none."""
    return next(((m.get("custom") or {}).get("article", "") for m in answer if m.get("custom")), "")


def is_danger_answer(answer: list) -> bool:
    """Whether a chat answer opens with the 112 answer (the domain's first line of it)."""
    return bool(answer) and str(answer[0].get("text", "")).startswith("**Er nogen i fare lige nu, så ring 112.**")


def asked(web: str, text: str):
    """The article the assistant answers `text` with in a new conversation; None if it did not answer."""
    import uuid

    from tests.helpers import post

    status, answer = post(f"{web}/webhooks/fagchat/webhook", {"sender": uuid.uuid4().hex, "message": text})
    return article_of(answer) if status == 200 and isinstance(answer, list) else None


def all_workers_answer(rasa: str, article: Optional[str], rounds: int = 16) -> bool:
    """Whether `rounds` new conversations in a row, each on a new connection to Rasa, get `article`.

    The workers share one listening socket and the kernel hands each new connection to one
    of them, so a worker still on the other model would answer some of the 16.
    """
    return all(asked(rasa, QUESTION) == article for _ in range(rounds))


@pytest.mark.integration
@pytest.mark.model
def test_a_failed_question_is_answered_after_training_in_the_staff_app(tmp_path):
    """Chat → review → "Træn ny model" → gates → approval → Rasa pulls it → right answer; rollback;
    a mislabelled example → a real candidate refused by a gate and not approvable.

    Budget (2 cores): Rasa starts once; the candidate trains once (the repository's training
    cache keeps the dialogue policies); 12 messages a set are measured for each model
    (FAGCHAT_TRAIN_EVAL_SAMPLE) and cross-validation is skipped (its gate is tested with
    figures and `test_cross_validation_runs_on_the_candidates_data`). A 12-message set moves
    in steps of 1/12, so the held-out margin allows one question per set to change.
    """
    import subprocess
    import sys
    import uuid

    from fagchat.run.launcher import Stack
    from tests.conftest import stack_env
    from tests.helpers import post, say, wait_until
    from tests.test_improvement_loop import Browser

    model = tmp_path / "repository-model.tar.gz"
    shutil.copy2(ROOT / "models" / "fagchat.tar.gz", model)  # the lead may retrain the real one meanwhile
    nlu_before = hashlib.sha256((ROOT / "data" / "nlu.yml").read_bytes()).hexdigest()
    env = {
        **stack_env(tmp_path),
        "FAGCHAT_MODEL": str(model),
        "FAGCHAT_MODEL_SERVER_URL": "staff",
        "FAGCHAT_MODEL_PULL_SECONDS": "2",
        "FAGCHAT_RASA_WORKERS": "2",  # the default: each worker pulls the model on its own
        "FAGCHAT_TRAIN_EVAL_SAMPLE": "12",
        "FAGCHAT_TRAIN_CROSSVAL_FOLDS": "0",
        "FAGCHAT_TRAIN_TOP1_MARGIN": "0.09",
        "FAGCHAT_HOLDING_SECONDS": "300",  # every answer is the real one, also while a model loads
        "FAGCHAT_PROXY_TIMEOUT": "120",
    }
    phases, started = {}, time.monotonic()

    def lap(name: str) -> None:
        phases[name] = round(time.monotonic() - started - sum(phases.values()), 1)

    stack = Stack(env, services=("actions", "rasa", "web"), log_dir=tmp_path / "log")
    try:
        # 1. Rasa starts while the staff app (its model server) is not up yet: it loads
        # FAGCHAT_MODEL from disk and answers, but not with the right article.
        stack.start()
        rasa_pid = stack.procs["rasa"].pid
        web, rasa, sender = stack.url("web"), stack.url("rasa"), uuid.uuid4().hex
        wrong = article_of(say(web, sender, QUESTION))
        assert wrong != RIGHT, "pick a QUESTION the shipped model gets wrong"
        if wrong:
            feedback = {"sender": sender, "value": "down", "article": wrong}
            assert post(f"{web}/webhooks/fagchat/feedback", feedback)[0] == 200
        stack.start_service("staff")
        stack.wait_ready(["staff"])
        lap("start")

        # 2. An admin made with the command; the message is in the review queue; accept it.
        made = subprocess.run(
            [sys.executable, "-m", "fagchat.staff.cli", "create-user", ADMIN, "--password-stdin", "--admin"],
            cwd=ROOT, env=stack.env, input=PASSWORD + "\n", capture_output=True, text=True,
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        staff = Browser(stack.url("staff"))
        assert staff.login(ADMIN, PASSWORD).status_code == 303
        queue = wait_until(
            lambda: dict(_ITEM.findall(staff.get("/review/").text)).get(QUESTION), 30, "the question in the queue"
        )
        decided = staff.post("/review/", {"event_id": queue, "decision": RIGHT, "example": QUESTION})
        assert decided.status_code == 303

        # 3. "Træn ny model": follow the job through its stages to the end.
        assert "Træn ny model" in staff.get("/training/").text
        assert staff.post("/training/start", {}).status_code == 303
        seen = []

        def finished():
            status = staff.http.get("/training/status.json").json()
            seen.append((status["stage"], status["percent"]))
            return status if status["state"] not in ("starting", "running") else None

        status = wait_until(finished, 900, "the candidate trained and gated", every=2)
        lap("train_and_gates")
        folder = tmp_path / "var" / "candidates" / status["id"]
        log = (folder / "job.log").read_text(errors="replace")[-3000:] if (folder / "job.log").exists() else ""
        assert status["state"] == "passed", (status, log)
        percents = [p for _, p in seen]
        assert percents == sorted(percents) and {s for s, _ in seen} >= {"train", "evaluate"}
        page = staff.get("/training/").text
        assert "Bestået" in page and "Afvist" not in page and "Sprunget over" in page
        assert f"- {QUESTION}\n" in (folder / "data" / "nlu.yml").read_text(encoding="utf-8")

        # 4. Approve: Rasa pulls the model from the staff app and answers right, unrestarted.
        staff_log = tmp_path / "log" / "staff.log"
        logged_before = len(staff_log.read_text(errors="replace"))
        assert staff.post("/training/activate", {"candidate": status["id"]}).status_code == 303
        wait_until(lambda: asked(web, QUESTION) == RIGHT, 180, "the new model", every=1)
        wait_until(lambda: all_workers_answer(rasa, RIGHT), 180, "the new model in both workers", every=1)
        # By id: an id can no longer be read as a CPR number by the log redaction (test_model_ids).
        sent = staff_log.read_text(errors="replace")[logged_before:].count(f"model_server.sent model={status['id']}")
        assert sent >= 2, f"the new model was sent {sent} time(s): each Rasa worker pulls its own"
        lap("pulled")
        assert stack.procs["rasa"].pid == rasa_pid and stack.procs["rasa"].poll() is None
        registry = Registry(tmp_path / "var" / "models")
        served = staff.http.get("/model/current.tar.gz", headers={"If-None-Match": f'"{registry.active()["hash"]}"'})
        assert registry.active()["id"] == status["id"] and served.status_code == 304

        # 5. One click back: Rasa returns to the repository's model.
        seed = registry.rollback_target()
        assert seed["source"] == "repository"
        assert staff.post("/training/rollback", {"model": seed["id"]}).status_code == 303
        wait_until(lambda: all_workers_answer(rasa, wrong), 180, "the old model in both workers", every=1)
        lap("rolled_back")
        audit = staff.get("/audit/").text
        assert "Tog ny model i brug" in audit and "Rullede tilbage" in audit and "Startede træning" in audit

        # 6. A worse model cannot go live: a reviewer files a routine question under acute
        # danger; the candidate answers it with 112 (a false alarm on a safety set the gates
        # sample), so it is refused, and approving it is refused too.
        other = uuid.uuid4().hex
        routine = say(web, other, ROUTINE)
        assert not is_danger_answer(routine), routine
        if article_of(routine):
            feedback = {"sender": other, "value": "down", "article": article_of(routine)}
            assert post(f"{web}/webhooks/fagchat/feedback", feedback)[0] == 200
        queued = wait_until(
            lambda: dict(_ITEM.findall(staff.get("/review/").text)).get(ROUTINE), 30, "the routine question queued"
        )
        decided = {"event_id": queued, "decision": vocabulary.ACUTE_DANGER, "example": ROUTINE}
        assert staff.post("/review/", decided).status_code == 303
        assert staff.post("/training/start", {}).status_code == 303
        refused = wait_until(finished, 900, "the second candidate trained and gated", every=2)
        lap("refused")
        verdicts = json.loads((tmp_path / "var" / "candidates" / refused["id"] / "status.json").read_text())["gates"]
        failed = {g["label"]: g["why"] for g in verdicts if g["passed"] is False}
        # The false-alarm gate must catch it. Other gates may fail too: one mislabelled
        # example can also move a danger message the classifier alone finds, at a low
        # margin, below another intent (it did after the dev10 round's data).
        assert refused["state"] == "refused" and gates.LABELS["false_alarms"] in failed, (refused["state"], failed)
        print("refused:", failed)
        page = staff.get("/training/").text
        assert "Afvist" in page and "den bestod ikke" in page and f"„{gates.LABELS['false_alarms']}“" in page
        attempt = staff.post("/training/activate", {"candidate": refused["id"]})
        assert attempt.status_code == 403 and gates.LABELS["false_alarms"] in attempt.text
        assert registry.active()["id"] == seed["id"]  # the live model did not change
        assert not is_danger_answer(say(rasa, uuid.uuid4().hex, ROUTINE))
    finally:
        stack.stop()
    assert hashlib.sha256((ROOT / "data" / "nlu.yml").read_bytes()).hexdigest() == nlu_before
    print("phases (s):", phases, "durations of the job's stages (s):", status.get("durations"))


@pytest.mark.model
def test_cross_validation_runs_on_the_candidates_data(tmp_path, capfd):
    """The cross-validation stage on a small copy of the data (2 folds): a macro-F1 the gate reads."""
    pairs = nlu.read_export(ROOT / "data" / "nlu.yml")
    chosen = [i for i in ("greet", "goodbye", "thank", "documentation")]
    small = [(i, e) for i in chosen for e in [x for j, x in pairs if j == i][:8]]
    data = tmp_path / "nlu.yml"
    data.write_text(nlu.export_yaml(small, clock_day()), encoding="utf-8")
    folder = tmp_path / "k-cv"
    folder.mkdir()
    write_json(folder / "job.json", {"id": "k-cv", "folds": 2, "config": str(ROOT / "config.yml"), "root": str(ROOT)})
    found = training_job.crossval(training_job.Job(folder), data, folder / "crossval")
    assert found["folds"] == 2 and 0.0 <= found["macro_f1"] <= 1.0
    # Every example was predicted once, by the model of the fold that did not train on it.
    report = json.loads((folder / "crossval" / "intent_report.json").read_text())
    assert {i: report[i]["support"] for i in chosen} == {i: 8 for i in chosen}
    # The cross-validation process says how far it got, and not what each example was
    # parsed as: Rasa's debug events carry the text (they print unless configured).
    printed = "".join(capfd.readouterr())
    assert "crossval.done folds=2 predictions=32" in printed and "parse_data_text" not in printed
    gate = verdicts(figures(f1=found["macro_f1"] + 0.05), {**figures(), "crossval": found}, folds=2)["crossval"]
    assert gate.passed is False and "2 fold" in gate.why
