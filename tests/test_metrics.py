"""Prometheus metrics: names and labels, what each chat turn and staff login counts, and the
shared files that let several processes (Rasa's workers) add up on one loopback port."""

import asyncio
import re
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest
from prometheus_client import generate_latest
from rasa.shared.core.domain import Domain

from fagchat import vocabulary
from fagchat.channel.turns import HOLDING, LATE, Turns
from fagchat.ops import metrics
from fagchat.stores.late_answers import LateAnswers, MemoryLateAnswers
from fagchat.stores.lock_store import LockStoreUnavailable
from fagchat.stores.tracker_store import TrackerStoreUnavailable
from tests.helpers import free_port, wait_until
from tests.test_staff_support import (
    Staff,
)

ROOT = Path(__file__).resolve().parent.parent
SENDER = "a" * 32
# One process counting like a Rasa worker: `n` messages of 0.3 s, then optionally serving.
WORKER = """
import sys, threading
from pathlib import Path
from fagchat.ops import metrics
directory, port, n = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
metrics.use_directory(directory)
for _ in range(n):
    metrics.inc("fagchat_messages_received_total")
    metrics.observe("fagchat_answer_latency_seconds", 0.3)
if port:
    threading.Thread(target=metrics.serve, args=(port, directory, 0.05), daemon=True).start()
print("counted", flush=True)
sys.stdin.read()
"""


# ---- names and labels ------------------------------------------------------------------


@pytest.mark.parametrize("spec", metrics.SPECS, ids=lambda s: s.name)
def test_names_carry_the_prefix_and_their_unit(spec):
    assert re.fullmatch(r"fagchat_[a-z0-9_]+", spec.name)
    assert spec.name.endswith({"counter": "_total", "histogram": "_seconds"}[spec.kind])
    assert spec.help and all(re.fullmatch(r"[a-z]+", label) for label in spec.labels)


def test_the_exposition_holds_exactly_the_declared_series():
    text = generate_latest(metrics._metrics().registry).decode()
    # In memory prometheus_client adds a *_created gauge to each; the shared files have none.
    families = {f for f in re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M) if not f[0].endswith("_created")}
    assert families == {(s.name, s.kind) for s in metrics.SPECS}
    logins = sorted(re.findall(r'^fagchat_staff_logins_total\{result="(\w+)"\}', text, re.M))
    assert logins == ["failed", "locked", "ok"]  # every result exists at 0 before the first login
    assert re.search(r'^fagchat_answer_latency_seconds_bucket\{le="4\.0"\}', text, re.M)


def test_a_label_value_outside_the_declared_ones_is_refused():
    with pytest.raises(ValueError):
        metrics.inc("fagchat_staff_logins_total", result="anna")  # a user name must never become a label
    with pytest.raises(ValueError):
        metrics.inc("fagchat_messages_received_total", result="ok")


def test_the_operations_doc_explains_every_metric():
    doc = (ROOT / "docs" / "operations.md").read_text()
    assert [s.name for s in metrics.SPECS if f"`{s.name}`" not in doc] == []


def test_the_counted_responses_exist_in_the_domain():
    responses = Domain.load(str(ROOT / "domain.yml")).responses
    assert {vocabulary.UTTER_ACUTE_DANGER, *vocabulary.FALLBACK_RESPONSES} <= set(responses)


# ---- what a chat turn counts -----------------------------------------------------------


@pytest.fixture(scope="module")
def agent():
    return SimpleNamespace(domain=Domain.load(str(ROOT / "domain.yml")), tracker_store=None)


def response_text(agent, name: str) -> str:
    return agent.domain.responses[name][0]["text"]


def counts():
    return {s.name: metrics.sample(s.name) for s in metrics.SPECS if s.kind == "counter" and not s.labels}


def turn(agent, bot, holding: float = 5.0):
    """Handle one message with `bot` as Rasa; return the change of every counter and the answer."""
    before, latency = counts(), metrics.sample("fagchat_answer_latency_seconds_count")

    async def run():
        turns = Turns(holding)
        answer = await turns.handle(agent, bot, SENDER, "hej", "fagchat")
        for _ in range(200):  # the slow turn finishes after the holding answer
            if metrics.sample("fagchat_answer_latency_seconds_count") > latency:
                break
            await asyncio.sleep(0.01)
        return answer

    answer = asyncio.run(run())
    after = counts()
    assert metrics.sample("fagchat_answer_latency_seconds_count") == latency + 1
    return {name: after[name] - before[name] for name in after if after[name] != before[name]}, answer


def test_a_danger_answer_counts_the_message_and_the_112_answer(agent):
    async def danger(message):
        await message.output_channel.send_text_with_buttons(
            message.sender_id, response_text(agent, vocabulary.UTTER_ACUTE_DANGER), [{"title": "x", "payload": "/y"}]
        )

    changed, _ = turn(agent, danger)
    assert changed == {"fagchat_messages_received_total": 1, "fagchat_danger_answers_total": 1}


def test_not_understood_and_handover_are_counted(agent):
    async def unsure(message):
        await message.output_channel.send_text_message(message.sender_id, response_text(agent, "utter_still_unsure"))
        await message.output_channel.send_text_message(message.sender_id, "Kontakt centret.")
        await message.output_channel.send_custom_json(message.sender_id, {"handover": True})

    changed, _ = turn(agent, unsure)
    assert changed == {
        "fagchat_messages_received_total": 1,
        "fagchat_nlu_fallbacks_total": 1,
        "fagchat_handovers_total": 1,
    }


def test_an_ordinary_answer_counts_only_the_message(agent):
    async def ordinary(message):
        await message.output_channel.send_text_message(message.sender_id, "Stalking er gentagen forfølgelse.")

    changed, _ = turn(agent, ordinary)
    assert changed == {"fagchat_messages_received_total": 1}


@pytest.mark.parametrize(
    "error, counter",
    [
        (TrackerStoreUnavailable("down"), "fagchat_tracker_store_errors_total"),
        (LockStoreUnavailable("down"), "fagchat_lock_store_errors_total"),
        (RuntimeError("bug"), "fagchat_chat_errors_total"),
        (None, "fagchat_action_server_errors_total"),  # Rasa ran, the bot said nothing
    ],
)
def test_each_failure_is_counted_once(agent, error, counter):
    async def failing(message):
        if error is not None:
            raise error

    changed, answer = turn(agent, failing)
    assert changed == {"fagchat_messages_received_total": 1, counter: 1}
    assert "25 17 73 74" in answer[-1]["text"]  # the user still got the contact details


def test_a_slow_turn_counts_the_holding_answer_and_its_full_time(agent):
    async def slow(message):
        await asyncio.sleep(0.3)
        await message.output_channel.send_text_message(message.sender_id, "Svar.")

    slow_before = metrics.sample("fagchat_answer_latency_seconds_bucket", le="0.25")
    changed, _ = turn(agent, slow, holding=0.05)
    assert changed == {"fagchat_messages_received_total": 1, "fagchat_holding_answers_total": 1}
    # Observed when the answer was ready (0.3 s), not when the holding answer went out.
    assert metrics.sample("fagchat_answer_latency_seconds_bucket", le="0.25") == slow_before


class RecordingLateAnswers(MemoryLateAnswers):
    """Late answers in memory, with an event set when one is kept."""

    def __init__(self) -> None:
        super().__init__()
        self.kept = asyncio.Event()

    def put(self, sender, messages):
        super().put(sender, messages)
        self.kept.set()


@pytest.mark.parametrize("offer", [True, False])
def test_a_slow_turn_sends_the_112_answer_at_once_and_the_rest_later(agent, offer):
    """A slow action after the 112 answer never holds that answer back."""
    danger = response_text(agent, vocabulary.UTTER_ACUTE_DANGER)
    buttons = [{"title": "Logskema", "payload": "/documentation"}]

    async def run():
        release, late = asyncio.Event(), RecordingLateAnswers()

        async def slow_offer(message):  # the 112 response, then an action server that hangs
            await message.output_channel.send_text_with_buttons(message.sender_id, danger, buttons)
            await release.wait()
            if offer:
                await message.output_channel.send_text_with_buttons(message.sender_id, "Tilbud", buttons)

        async def quick(message):
            await message.output_channel.send_text_message(message.sender_id, "Næste svar.")

        turns = Turns(0.05, LateAnswers(late, "memory"))
        first = await turns.handle(agent, slow_offer, SENDER, "hej", "fagchat")
        release.set()
        if offer:
            await asyncio.wait_for(late.kept.wait(), timeout=10)
        else:  # nothing more to keep: wait until the turn has ended instead
            for _ in range(1000):
                if metrics.sample("fagchat_answer_latency_seconds_count") > latency:
                    break
                await asyncio.sleep(0.01)
        second = await turns.handle(agent, quick, SENDER, "hej", "fagchat")
        return first, second, late

    latency = metrics.sample("fagchat_answer_latency_seconds_count")
    first, second, late = asyncio.run(run())
    assert first[0]["text"] == danger and first[0]["buttons"] == buttons
    assert first[1]["text"].startswith(HOLDING) and len(first) == 2
    if offer:
        assert [m["text"] for m in second] == [LATE, "Tilbud", "Næste svar."]
    else:
        assert [m["text"] for m in second] == ["Næste svar."] and not late.kept.is_set()


# ---- staff logins ----------------------------------------------------------------------


def test_staff_logins_are_counted_by_result(make_app):
    app = make_app()

    def logins():
        return {r: metrics.sample("fagchat_staff_logins_total", result=r) for r in ("ok", "failed", "locked")}

    before = logins()
    assert Staff(app).login().status == 303
    for _ in range(5):  # FAGCHAT_STAFF_LOCKOUT_ATTEMPTS free failures
        assert Staff(app).login(password="forkert forkert").status == 401
    assert Staff(app).login(password="forkert forkert").status == 429
    after = logins()
    assert {r: after[r] - before[r] for r in after} == {"ok": 1, "failed": 5, "locked": 1}


# ---- several processes, one sum, one loopback port -------------------------------------


def worker(directory: Path, port: int, n: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(directory), str(port), str(n)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "counted"
    return proc


def stop(proc: subprocess.Popen) -> None:
    proc.stdin.close()
    proc.wait(timeout=10)


def scrape(port: int):
    """The served text, or None while nobody serves the port."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as answer:
            return answer.read().decode()
    except OSError:
        return None


def served_value(port: int, name: str):
    text = scrape(port)
    match = text and re.search(rf"^{name} (\S+)$", text, re.M)
    return float(match.group(1)) if match else None


def listening_addresses(port: int):
    """The local addresses of the sockets listening on `port` (Linux /proc/net/tcp*)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.append(socket.inet_ntoa(bytes.fromhex(address)[::-1]) if len(address) == 8 else address)
    return found


def test_two_workers_add_up_and_one_serves_on_loopback_while_the_other_takes_over(tmp_path):
    directory, port = tmp_path / "metrics", free_port()
    holder = socket.create_server(("127.0.0.1", port))  # something else holds the port at first
    procs = []
    try:
        procs = [worker(directory, port, 3), worker(directory, port, 4)]
        holder.close()
        total = wait_until(lambda: served_value(port, "fagchat_messages_received_total"), 10, "a worker serves")
        assert total == 7 and served_value(port, "fagchat_answer_latency_seconds_count") == 7
        served = scrape(port)
        assert all(f"# TYPE {s.name} {s.kind}" in served for s in metrics.SPECS) and "_created" not in served
        assert listening_addresses(port) == ["127.0.0.1"]
        stop(procs[0])  # whichever served, the sum stays and stays served
        wait_until(lambda: served_value(port, "fagchat_messages_received_total") == 7, 10, "still served")
        stop(procs[1])
        assert scrape(port) is None and metrics.sample("fagchat_messages_received_total", directory) == 7
        # Every process has stopped: the next one to start begins again at zero.
        procs = [worker(directory, 0, 1)]
        assert metrics.sample("fagchat_messages_received_total", directory) == 1
    finally:
        holder.close()
        for proc in procs:
            if proc.poll() is None:
                stop(proc)
