"""The training page in a real browser: its one script follows a job under the page's CSP.

Starts `python -m fagchat.staff` on a free port with a model registry and candidate folders
of its own (the job's files written by the test, as the training job writes them), and
drives Debian's chromium with Playwright: the progress bar and the aria-live status follow
status.json, the page reloads to the gates when the job ends, a refused candidate names
its gate, and axe-core finds no serious problem. Screenshots go to $FAGCHAT_SCREENSHOTS
(docs/images/ holds the ones docs/staff.md shows).
"""

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

from fagchat.staff import db_accounts, gates
from fagchat.staff.auth import hash_password
from fagchat.staff.engine import connect
from fagchat.staff.model_registry import Registry, write_json
from tests.browser.test_staff_browser import AXE, shots
from tests.helpers import free_port, wait_until
from tests.test_model_server import fake_model

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parent.parent.parent
PASSWORD = "browser-test-password"
JOB = "k-20251125-100000-123abcd"


def figures(danger_blind: int, alarms: int, top1: int) -> dict:
    """Figures in the shape gates.measure writes (made up for the page, not measured)."""
    safety = {
        name: {"hits": hits, "total": 12, "danger": name.startswith("danger"), "blind": "blind" in name}
        for name, hits in (("danger_blind", danger_blind), ("lookalikes_blind", alarms), ("danger_dev", 12))
    }
    heldout = {"heldout_blind": {"right": top1, "total": 12, "blind": True}}
    intents = {"stalking_forms": [top1 - 9, 4], "documentation": [3, 3]}
    return {"signature": "s", "sample": 12, "safety": safety, "heldout": heldout, "intents": intents}


def job_files(var: Path, state: str, **status) -> Path:
    """A candidate folder as the training job leaves it."""
    folder = var / "candidates" / JOB
    folder.mkdir(parents=True, exist_ok=True)
    active = wait_until(lambda: Registry(var / "models").active(), 30, "the repository model taken in")
    spec = {"id": JOB, "created": time.time(), "by": "anna", "baseline": {"id": active["id"]}, "sample": 12}
    write_json(folder / "job.json", spec)
    write_json(folder / "status.json", {"id": JOB, "state": state, **status})
    return folder


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    """The staff app on a free port with an admin; yields (base URL, its var folder)."""
    tmp = tmp_path_factory.mktemp("training-browser")
    url = f"sqlite:///{tmp / 'fagchat.db'}"
    engine = connect(url)
    with engine.begin() as conn:
        db_accounts.create_user(conn, "anna", hash_password(PASSWORD), time.time(), admin=True)
        conn.exec_driver_sql(
            "INSERT INTO staff_reviews (event_id, sender_id, decision, example, note, reviewer, decided_at)"
            " VALUES (1, 'c-1', 'stalking_forms', 'han står ved graven hver søndag', '', 'anna', 0)"
        )
    engine.dispose()
    port = free_port()
    env = {**os.environ, "FAGCHAT_DB_URL": url, "FAGCHAT_STAFF_PORT": str(port), "PYTHONPATH": str(ROOT)}
    env.update(FAGCHAT_STAFF_SECURE_COOKIE="0", FAGCHAT_VAR_DIR=str(tmp / "var"), FAGCHAT_MODEL_SERVER_URL="staff")
    env["FAGCHAT_MODEL"] = str(fake_model(tmp / "fagchat.tar.gz", b"repository model"))
    log = open(tmp / "staff.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "fagchat.staff"], cwd=ROOT, env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return urllib.request.urlopen(base + "/healthz", timeout=2).status == 200
        except OSError:
            return False

    try:
        wait_until(up, 60, "the staff app", every=0.25)
        yield base, tmp / "var"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def signed_in(browser, base: str, **options):
    page = browser.new_context(viewport={"width": 1280, "height": 900}, **options).new_page()
    page.goto(base + "/login?next=/training/")
    page.fill("#username", "anna")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/training/")
    return page


def test_the_progress_follows_the_job_and_the_page_shows_the_gates(server, browser, tmp_path):
    base, var = server
    folder = job_files(var, "running", stage="train", percent=31, message="Træner kandidatmodellen …")
    page = signed_in(browser, base)
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.reload()
    assert page.get_attribute("#training", "data-state") == "running"
    assert page.eval_on_selector("#training-progress", "e => e.value") == 31
    page.screenshot(path=str(shots(tmp_path) / "staff-training-running.png"), full_page=True)
    # The job moves on: the script polls status.json and updates bar, step and live region.
    write_json(folder / "status.json", {"id": JOB, "state": "running", "stage": "evaluate", "percent": 72,
                                        "message": "Måler kandidaten …"})  # fmt: skip
    # (polled from here: wait_for_function evaluates a string, which this page's CSP forbids)
    wait_until(lambda: "Måler kandidaten" in page.text_content("#training-status"), 30, "the live region", every=0.2)
    assert page.eval_on_selector("#training-progress", "e => e.value") == 72
    assert page.get_attribute("[data-stage=evaluate]", "aria-current") == "step"
    assert page.get_attribute("#training-status", "aria-live") == "polite"
    # It ends: the page reloads by itself and shows the gates and the figures side by side.
    before, after = figures(11, 1, 10), figures(11, 1, 11)
    after["conversations"] = {"passed": True}
    found = gates.judge(before, after, 0.01, 0.01, 0)
    write_json(folder / "status.json", {
        "id": JOB, "state": "passed", "stage": "evaluate", "percent": 100, "message": "Kandidaten bestod alle porte.",
        "before": before, "after": after, "gates": gates.as_dicts(found), "approvable": gates.passed(found),
        "changed": gates.changed_intents(before, after), "merge": {"added": 1, "duplicates": 0, "conflicts": 0},
    })  # fmt: skip
    page.wait_for_selector("table.gates", timeout=30000)
    assert page.get_attribute("#training", "data-state") == "passed"
    assert page.locator("text=Tag kandidaten i brug").count() == 1
    page.screenshot(path=str(shots(tmp_path) / "staff-training-passed.png"), full_page=True)
    assert errors == []  # the CSP let the script run, and nothing else failed


def test_a_refused_candidate_names_its_gate_and_the_page_passes_axe(server, browser, tmp_path):
    base, var = server
    before, after = figures(11, 1, 10), figures(10, 1, 10)
    after["conversations"] = {"passed": True}
    found = gates.judge(before, after, 0.01, 0.01, 0)
    job_files(var, "refused", stage="evaluate", percent=100, message="Kandidaten blev afvist.", before=before,
              after=after, gates=gates.as_dicts(found), approvable=False, changed=[],
              merge={"added": 1, "duplicates": 0, "conflicts": 0})  # fmt: skip
    (var / "candidates" / JOB / "candidate.tar.gz").write_bytes(b"x")
    page = signed_in(browser, base, bypass_csp=True)  # axe is injected as a script
    assert "den bestod ikke „Fare genkendt (112 først)“" in page.text_content("#training")
    assert page.locator("text=Tag kandidaten i brug").count() == 0
    page.screenshot(path=str(shots(tmp_path) / "staff-training-refused.png"), full_page=True)
    if not AXE.exists():
        pytest.fail("axe-core is not installed: run `make browser-deps` (make test does)")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    serious = [(v["id"], v["help"]) for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert serious == []
