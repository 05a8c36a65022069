"""/healthz and /readyz of every process, and the metrics the real processes serve.

Readiness must answer fast whatever it checks: a hanging check gives 503 "timeout" within
about two seconds, and a check that still hangs is not started again.
"""

import asyncio
import json
import os
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import redis

from fagchat.ops import health
from fagchat.run.launcher import Stack
from tests.helpers import free_port, post, wait_until
from tests.test_metrics import listening_addresses, served_value

ACUTE_START = "**Er nogen i fare lige nu, så ring 112.**"


def answer_of(readiness: health.Readiness):
    """(status, body, seconds) of one /readyz answer."""
    started = time.monotonic()
    answer = asyncio.run(readiness.answer(app=None))
    return answer.status, json.loads(answer.body), time.monotonic() - started


# ---- the checks, without servers -------------------------------------------------------


def test_a_hanging_check_gives_503_in_time_and_is_not_started_twice():
    release, started = threading.Event(), []

    def hangs(_app):
        started.append(1)
        release.wait(10)
        return health.OK

    readiness = health.Readiness("web", {"rasa": hangs, "fine": lambda _app: health.OK}, timeout=0.3)
    try:
        status, body, seconds = answer_of(readiness)
        assert status == 503 and seconds < 2
        assert body == {"status": "not_ready", "service": "web", "checks": {"rasa": "timeout", "fine": "ok"}}
        status, body, seconds = answer_of(readiness)
        assert status == 503 and body["checks"]["rasa"] == "timeout" and seconds < 0.2
        assert len(started) == 1  # the hanging run is not joined by a second thread
    finally:
        release.set()
    wait_until(lambda: answer_of(readiness)[0] == 200, 5, "ready once the check returns")


def test_a_failing_check_names_only_the_error_type():
    def fails(_app):
        raise ConnectionError("postgresql://fagchat:hemmeligt@db:5432 refused")

    status, body, _ = answer_of(health.Readiness("rasa", {"database": fails}))
    assert status == 503 and body["checks"] == {"database": "error: ConnectionError"}
    assert "hemmeligt" not in json.dumps(body)


def test_the_database_check_needs_the_sqlite_file_and_never_creates_it(tmp_path):
    path = tmp_path / "fagchat.db"
    check = health.database_check(f"sqlite:///{path}")
    with pytest.raises(sqlite3.OperationalError, match="unable to open"):
        check(None)
    assert not path.exists()
    path.write_bytes(b"not a database" * 100)
    with pytest.raises(sqlite3.DatabaseError, match="not a database"):
        check(None)
    path.unlink()
    health.database_check(f"sqlite:///{path}", timeout=1)  # building the check opens nothing
    assert not path.exists()
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.close()
    assert check(None) == health.OK


def test_the_redis_check_fails_fast_when_nobody_answers():
    check = health.redis_check(f"redis://127.0.0.1:{free_port()}/0", timeout=1)
    started = time.monotonic()
    with pytest.raises(redis.exceptions.ConnectionError):
        check(None)
    assert time.monotonic() - started < 2


# ---- the real processes ----------------------------------------------------------------


def get(url: str):
    """(status, JSON body) of a GET."""
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        body = error.read()
        try:
            return error.code, json.loads(body)
        except ValueError:
            return error.code, body.decode(errors="replace")


def probe_urls(stack: Stack, name: str):
    base = stack.url(name) + ("/webhooks/fagchat" if name == "rasa" else "")
    return base + "/healthz", base + "/readyz"


@pytest.fixture(scope="module")
def staff_stack(live_stack, tmp_path_factory):
    """The staff app next to the live stack, on a database of its own."""
    tmp = tmp_path_factory.mktemp("health-staff")
    env = {**live_stack.env, "FAGCHAT_STAFF_PORT": str(free_port()), "FAGCHAT_DB_URL": f"sqlite:///{tmp / 'staff.db'}"}
    stack = Stack(env, services=("staff",), log_dir=tmp / "log")
    stack.start(timeout=120)
    yield stack
    stack.stop()


CHECKS = {"actions": {"knowledge"}, "rasa": {"model", "database"}, "web": {"rasa"}, "staff": {"database"}}


@pytest.mark.integration
@pytest.mark.parametrize("name", sorted(CHECKS))
def test_every_process_answers_healthz_and_readyz(live_stack, staff_stack, name):
    stack = staff_stack if name == "staff" else live_stack
    alive, ready = probe_urls(stack, name)
    assert get(alive) == (200, {"status": "alive", "service": name})
    status, body = get(ready)
    assert status == 200 and body["status"] == "ready" and body["service"] == name
    assert set(body["checks"]) == CHECKS[name] and set(body["checks"].values()) == {"ok"}


def metrics_port(stack: Stack) -> int:
    return int(stack.env["FAGCHAT_METRICS_PORT"])


def served(stack: Stack, name: str) -> float:
    value = served_value(metrics_port(stack), name)
    assert value is not None, f"{name} is not served on the metrics port"
    return value


def chat(stack: Stack, text: str):
    status, answer = post(
        stack.url("web") + "/webhooks/fagchat/webhook", {"sender": os.urandom(16).hex(), "message": text}
    )
    assert status == 200, answer
    return answer


@pytest.mark.integration
def test_a_chat_message_is_counted_and_timed(live_stack):
    before = {
        n: served(live_stack, n) for n in ("fagchat_messages_received_total", "fagchat_answer_latency_seconds_count")
    }
    chat(live_stack, "Hvad er stalking?")
    wait_until(
        lambda: all(served(live_stack, n) == v + 1 for n, v in before.items()), 10, "the message counted and timed"
    )


@pytest.mark.integration
def test_a_danger_message_counts_a_112_answer(live_stack):
    before = served(live_stack, "fagchat_danger_answers_total")
    answer = chat(live_stack, "han står uden for hendes dør med en kniv lige nu")
    assert answer[0]["text"].startswith(ACUTE_START)
    wait_until(lambda: served(live_stack, "fagchat_danger_answers_total") == before + 1, 10, "the 112 answer counted")


@pytest.mark.integration
def test_metrics_are_served_on_loopback_only_never_on_the_web_port(live_stack):
    status, _ = get(live_stack.url("web") + "/metrics")
    assert status == 404
    assert listening_addresses(metrics_port(live_stack)) == ["127.0.0.1"]


@pytest.mark.integration
def test_readiness_fails_within_two_seconds_when_the_database_file_is_gone(live_stack):
    path = Path(live_stack.env["FAGCHAT_DB_URL"][len("sqlite:///") :])
    _, rasa_ready = probe_urls(live_stack, "rasa")
    _, web_ready = probe_urls(live_stack, "web")
    path.rename(path.with_suffix(".away"))  # moved back below: nothing chats meanwhile
    try:
        started = time.monotonic()
        status, body = get(rasa_ready)
        assert status == 503 and time.monotonic() - started < 2.5
        assert body["checks"]["database"].startswith("error") and body["checks"]["model"] == "ok"
        status, body = get(web_ready)
        assert status == 503 and body["checks"] == {"rasa": "not_ready"}
    finally:
        path.with_suffix(".away").rename(path)
    wait_until(lambda: get(rasa_ready)[0] == 200 and get(web_ready)[0] == 200, 10, "ready again")
