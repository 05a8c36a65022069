"""The staff's improvement loop end to end, on real processes and a real retrain.

A professional asks something in the widget that the assistant gets wrong and gives 👎.
A staff account made with the real command logs in to the staff app (its own process),
finds the conversation, marks the right intent in the review queue, downloads the export,
merges it into a copy of the training data, the model is retrained, and the assistant
served with the new model answers the same question with the right article. Afterwards
no raw phone number typed in the conversation is left in the database or any log.

About four minutes: Rasa loads a model twice and retrains the NLU part (the dialogue
policies come from Rasa's training cache, since stories and domain did not change).
"""

import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from fagchat.run.launcher import Stack
from tests.conftest import stack_env
from tests.helpers import post, say

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

# Words the training data does not hold, so the shipped model cannot place the question.
QUESTION = "eksmanden dukker op ved graven på kirkegården hver søndag"
# Typed in the same conversation: redaction must hold along the whole loop.
PERSONAL = "hun har nr 20 30 40 50 hvis I vil ringe"
RAW_NUMBER = "20 30 40 50"
RIGHT = "stalking_forms"
USER, PASSWORD = "lise", "en lang og hemmelig adgangskode"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_LOGIN = re.compile(r'name="login_token" value="([^"]+)"')
_REVIEW_ITEM = re.compile(r'<p class="text quote">(.*?)</p>.*?name="event_id" value="(\d+)"', re.S)


class Browser:
    """Talks to the staff app over HTTP like a browser: cookies and the page's CSRF token."""

    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
        self.csrf = ""

    def get(self, path: str) -> httpx.Response:
        resp = self.http.get(path)
        found = _CSRF.search(resp.text)
        self.csrf = found.group(1) if found else self.csrf
        return resp

    def post(self, path: str, form: dict) -> httpx.Response:
        return self.http.post(path, data={"csrf_token": self.csrf, **form})

    def login(self, user: str, password: str) -> httpx.Response:
        token = _LOGIN.search(self.get("/login").text).group(1)
        resp = self.http.post("/login", data={"login_token": token, "username": user, "password": password})
        self.get("/")
        return resp


def article_of(answer: list) -> str:
    """The article a chat answer showed, or '' when it showed none."""
    return next(((m.get("custom") or {}).get("article", "") for m in answer if m.get("custom")), "")


def run(args: list, env: dict, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, **kwargs)


@pytest.fixture
def stack(tmp_path):
    """Every process of `make run` on free ports, with its own database and logs."""
    stack = Stack(stack_env(tmp_path), services=("actions", "rasa", "web", "staff"), log_dir=tmp_path / "log")
    try:
        yield stack.start()
    finally:
        stack.stop()


def test_a_failed_question_is_reviewed_retrained_and_then_answered(stack, tmp_path):
    env = stack.env
    web = stack.url("web")
    sender = uuid.uuid4().hex

    # 1. The widget: the shipped model does not give the right article. Either it falls back
    # (did-you-mean), or it shows a wrong article and the user gives 👎.
    before = say(web, sender, QUESTION)
    wrong = article_of(before)
    assert wrong != RIGHT, "pick a QUESTION the shipped model gets wrong"
    if wrong:
        status, _ = post(f"{web}/webhooks/fagchat/feedback", {"sender": sender, "value": "down", "article": wrong})
        assert status == 200
    inbox_filter, reason = ("thumbs_down=1", "down") if wrong else ("fallback=1", "fallback")
    say(web, sender, PERSONAL)

    # 2. A staff account, made with the command `make staff-user` runs.
    made = run(
        [str(BIN / "python"), "-m", "fagchat.staff.cli", "create-user", USER, "--password-stdin"],
        env,
        input=PASSWORD + "\n",
    )
    assert made.returncode == 0, made.stderr

    # 3. Log in, find the conversation among the failed ones, open it.
    staff = Browser(stack.url("staff"))
    assert staff.get("/").status_code == 303  # anonymous: to the login page
    assert staff.login(USER, PASSWORD).status_code == 303
    inbox = staff.get("/?" + inbox_filter)
    assert inbox.status_code == 200 and f"/conversation/?id={sender}" in inbox.text
    conversation = staff.get(f"/conversation/?id={sender}")
    assert conversation.status_code == 200
    assert QUESTION in conversation.text and "[TELEFON]" in conversation.text
    assert RAW_NUMBER not in conversation.text

    # 4. The review queue holds the message, redacted; mark the right intent.
    queue = {text: event_id for text, event_id in _REVIEW_ITEM.findall(staff.get("/review/?reason=" + reason).text)}
    assert QUESTION in queue, list(queue)
    decided = staff.post(
        "/review/", {"event_id": queue[QUESTION], "decision": RIGHT, "example": QUESTION, "note": "fremmøde ved graven"}
    )
    assert decided.status_code == 303

    # 5. Download the export and merge it into a copy of the training data.
    export = staff.get("/export/nlu.yml")
    assert export.status_code == 200 and QUESTION in export.text and RAW_NUMBER not in export.text
    exported = tmp_path / "reviewed.yml"
    exported.write_text(export.text, encoding="utf-8")
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data", data)
    merged = run(
        [str(BIN / "python"), "-m", "fagchat.staff.cli", "merge-nlu", str(data / "nlu.yml"), "--from", str(exported)],
        env,
    )
    assert merged.returncode == 0, merged.stderr
    assert f"- {QUESTION}\n" in (data / "nlu.yml").read_text(encoding="utf-8")

    # 6. Retrain (as `make train` does, on the merged copy) and serve the new model.
    trained = run(
        [
            str(BIN / "rasa"),
            "train",
            "--data",
            str(data),
            "--domain",
            "domain.yml",
            "--config",
            "config.yml",
            "--out",
            str(tmp_path / "models"),
            "--fixed-model-name",
            "retrained",
        ],
        env,
        timeout=900,
    )
    assert trained.returncode == 0, trained.stdout[-3000:] + trained.stderr[-3000:]
    stack.stop_service("rasa")
    stack.env["FAGCHAT_MODEL"] = str(tmp_path / "models" / "retrained.tar.gz")
    stack.start_service("rasa")
    stack.wait_ready(["rasa"])

    # 7. The same question, in a new conversation, now gets the right article.
    after = say(web, uuid.uuid4().hex, QUESTION)
    assert article_of(after) == RIGHT, after

    # 8. The raw number is nowhere: not in the database (and its journal), the logs, the
    # export or the merged data - every file this test's processes wrote.
    stack.stop()
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix != ".gz"]
    assert any(p.name == "fagchat.db" for p in written) and any(p.suffix == ".log" for p in written)
    assert [p for p in written if RAW_NUMBER.encode() in p.read_bytes()] == []
