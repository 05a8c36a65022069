"""`make bench`: load, latency, memory and training time, against a stock Rasa assistant.

    python benchmarks/bench.py                 # everything (about 40 minutes on 2 cores)
    python benchmarks/bench.py --quick         # `make bench-quick`: stock vs embedded at 50 conversations (~4 min)

Virtual users talk to the chat channel over HTTP (REST) with realistic Danish multi-turn
conversations, one fresh sender id per conversation (Rasa's advice for load tests: a
shared sender serializes on the conversation lock). Three assistants, one at a time:

    stock     `rasa init --no-prompt` (trained here, in a temp dir), its REST channel
    embedded  Fagchat as `make run` starts it: SQLite, two Rasa workers sharing the SQLite lock store
    single    the same with one Rasa process (in-memory lock): the gain from the design alone
    scaled    Fagchat in scale-out mode: PostgreSQL, Redis, 2 Rasa and 2 action workers

Each gets the same load: sequential messages (latency percentiles), then 10, 50 and 200
concurrent conversations (throughput, p95, errors). The embedded stack is profiled with
py-spy and soaked for 10 minutes (resident memory of each process before and after).
Training time is measured for a full training (into a temp dir) and a no-change run.
Writes benchmarks/results.md (and the raw figures to var/results/bench.json).
"""

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from fagchat.run.launcher import Stack, model_path, rasa_workers  # noqa: E402
from fagchat.run.services import Postgres, Redis  # noqa: E402

BIN = Path(sys.executable).parent
RESULTS = ROOT / "benchmarks" / "results.md"
RAW = ROOT / "var" / "results" / "bench.json"
FALLBACK_MARK = "Beklager, jeg kan ikke svare lige nu"  # utter_service_unavailable

# Realistic conversations of a professional: greeting, questions, follow-ups, goodbye.
CONVERSATIONS = [
    ["Hej", "Hvad er stalking?", "Hvordan dokumenterer man stalking?", "Tak for hjælpen", "farvel"],
    [
        "Hej",
        "Jeg er politibetjent",
        "Er det stalking eller bare en konflikt mellem to naboer?",
        "Skal vi tilbyde mægling?",
        "Hvad siger loven om stalking?",
        "farvel",
    ],
    [
        "Hvor kan offeret få hjælp?",
        "og hvor kan krænkeren henvises til?",
        "kan jeg tale med en rådgiver hos jer om en konkret sag?",
        "tak",
    ],
    [
        "Hej",
        "hvordan vurderer jeg om hun er i fare",
        "han sender 40 sms'er om dagen og venter ved hendes arbejde",
        "hvad skal jeg skrive i journalen",
        "farvel",
    ],
    [
        "hvad er et polititilhold",
        "hvor længe gælder et tilhold",
        "hvad sker der hvis han overtræder det",
        "tak for svaret",
    ],
    [
        "Goddag, jeg er sagsbehandler i kommunen",
        "en borger fortæller at hendes eks følger efter hende",
        "hvad kan jeg gøre som kommune?",
        "hvor finder jeg mere viden",
        "tak",
    ],
]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_each_kb(pid: int) -> List[int]:
    """Resident memory of `pid` and of each of its descendants (Sanic workers), KiB."""
    sizes, todo = [], [pid]
    while todo:
        each = todo.pop()
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(int(line.split()[1]))
            for task in Path(f"/proc/{each}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return sizes


def rss_kb(pid: int) -> int:
    """Resident memory of `pid` and its descendants together, KiB."""
    return sum(rss_each_kb(pid))


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def pct(values: List[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


# -- load generation -------------------------------------------------------------------------


@dataclass
class Phase:
    """What one load phase measured."""

    name: str
    users: int
    seconds: float = 0.0
    latencies: List[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    notes: Counter = field(default_factory=Counter)
    load_before: str = ""
    load_after: str = ""

    @property
    def ok(self) -> int:
        return len(self.latencies)

    def summary(self) -> Dict[str, Any]:
        return {
            "users": self.users,
            "seconds": round(self.seconds, 1),
            "messages": self.ok,
            "throughput": round(self.ok / self.seconds, 2) if self.seconds else 0,
            "p50": round(pct(self.latencies, 50), 3),
            "p95": round(pct(self.latencies, 95), 3),
            "p99": round(pct(self.latencies, 99), 3),
            "errors": sum(self.errors.values()),
            "error_kinds": dict(self.errors),
            "notes": dict(self.notes),
            "load": f"{self.load_before} -> {self.load_after}",
        }


async def talk(session: aiohttp.ClientSession, url: str, sender: str, text: str, phase: Phase) -> None:
    started = time.monotonic()
    try:
        async with session.post(url, json={"sender": sender, "message": text}) as answer:
            body = await answer.json(content_type=None)
            status = answer.status
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
        phase.errors[type(exc).__name__] += 1
        return
    took = time.monotonic() - started
    if status != 200:
        phase.errors[f"http_{status}"] += 1
        return
    phase.latencies.append(took)
    if not body or not any(m.get("text") for m in body):
        phase.notes["empty_answer"] += 1  # the stock bot predicts no utterance for some texts
    elif any(FALLBACK_MARK in (m.get("text") or "") for m in body):
        phase.notes["contact_fallback"] += 1


async def run_phase(url: str, users: int, seconds: float, name: str, max_messages: Optional[int] = None) -> Phase:
    """`users` virtual users hold conversations for `seconds` (or `max_messages` in all).

    No new message starts after `seconds`; the messages under way are waited for and
    counted, and the phase lasts until the last answer (throughput = answers / that time).
    """
    phase = Phase(name, users, load_before=load())
    rng = random.Random(users)
    timeout = aiohttp.ClientTimeout(total=180)
    sent = 0
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=0)) as session:
        started = time.monotonic()
        end = started + seconds

        async def user(index: int) -> None:
            nonlocal sent
            await asyncio.sleep(index * min(0.02, 2.0 / users))  # ramp up over at most 2 s
            while time.monotonic() < end and (max_messages is None or sent < max_messages):
                sender = f"bench-{uuid.uuid4().hex}"
                for text in rng.choice(CONVERSATIONS):
                    if time.monotonic() >= end or (max_messages is not None and sent >= max_messages):
                        return
                    sent += 1
                    await talk(session, url, sender, text, phase)

        await asyncio.gather(*(user(i) for i in range(users)))
        phase.seconds = time.monotonic() - started
    phase.load_after = load()
    return phase


def measure(url: str, label: str, args: argparse.Namespace) -> Dict[str, Any]:
    """Sequential latency, then each concurrency level; return the summaries."""
    out: Dict[str, Any] = {}
    print(f"[{label}] warm-up", flush=True)
    asyncio.run(run_phase(url, 2, 10 if not args.quick else 4, "warmup"))
    seq = asyncio.run(run_phase(url, 1, 10_000, "sequential", max_messages=args.sequential))
    out["sequential"] = seq.summary()
    print(f"[{label}] sequential {out['sequential']}", flush=True)
    for users in (50,) if args.quick else (10, 50, 200):
        phase = asyncio.run(run_phase(url, users, args.phase_seconds, f"c{users}"))
        out[f"c{users}"] = phase.summary()
        print(f"[{label}] {users} conversations {out[f'c{users}']}", flush=True)
        time.sleep(3)  # let queues drain between levels
    return out


# -- the assistants --------------------------------------------------------------------------


def bench_env(tmp: Path) -> Dict[str, str]:
    return {
        "FAGCHAT_RASA_PORT": str(free_port()),
        "FAGCHAT_ACTIONS_PORT": str(free_port()),
        "FAGCHAT_VAR_DIR": str(tmp / "var"),
        "FAGCHAT_DB_URL": f"sqlite:///{tmp / 'fagchat.db'}",
        "FAGCHAT_LOG_LEVEL": "WARNING",
        # Capacity is measured on real answers: no holding answer in between.
        "FAGCHAT_HOLDING_SECONDS": "120",
    }


def profile(pid: int, seconds: int, out: Path, url: str) -> Dict[str, Any]:
    """Sample the Rasa process (and its workers) with py-spy under 50 conversations."""
    spy = shutil.which("py-spy", path=str(BIN)) or shutil.which("py-spy")
    if not spy:
        return {"error": "py-spy not installed"}
    proc = subprocess.Popen(
        [
            spy,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(seconds),
            "--rate",
            "50",
            "--subprocesses",
            "--nonblocking",
            "--format",
            "raw",
            "--output",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    asyncio.run(run_phase(url, 50, seconds, "profile"))
    _, err = proc.communicate(timeout=120)
    if not out.exists():
        return {"error": err.decode(errors="replace")[-300:]}
    return summarize_profile(out)


BUCKETS = [
    ("TensorFlow (DIET/TED inference)", ("tensorflow", "keras")),
    ("spaCy tokenizer/lemmatizer", ("spacy", "thinc")),
    ("scikit-learn/scipy featurizers", ("sklearn", "scipy")),
    ("SQL tracker store (SQLAlchemy, driver)", ("sqlalchemy", "sqlite3", "psycopg2")),
    ("Redis lock store", ("redis",)),
    ("action server calls (aiohttp)", ("aiohttp",)),
    ("Rasa policies/featurization", ("rasa/core/policies", "rasa/core/featurizers", "rasa/utils/tensorflow")),
    ("Rasa NLU components", ("rasa/nlu",)),
    ("Rasa tracker/events (de)serialization", ("rasa/shared/core", "rasa/core/tracker_store")),
    ("Rasa graph/processor", ("rasa/engine", "rasa/core/processor", "rasa/core/agent")),
    ("Fagchat channel and stores", ("fagchat/",)),
    ("Sanic/asyncio/HTTP", ("sanic", "asyncio", "uvloop", "httptools")),
]


def summarize_profile(path: Path) -> Dict[str, Any]:
    """Where the samples go, from py-spy's collapsed stacks.

    Each sample counts once, for the area of the deepest frame that belongs to one (a
    TensorFlow frame under DIET counts as TensorFlow); `self` is the leaf function.
    """
    total, areas, leaves = 0, Counter(), Counter()
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        if "popen_fork.py" in frames[-1]:
            continue  # Sanic's main process waiting for its workers: idle, not work
        total += n
        leaves[frames[-1]] += n
        for frame in reversed(frames):
            name = next((name for name, needles in BUCKETS if any(needle in frame for needle in needles)), None)
            if name:
                areas[name] += n
                break
        else:
            areas["other"] += n
    share = {name: round(100 * c / total, 1) for name, c in areas.most_common()} if total else {}
    top = [(f, round(100 * c / total, 1)) for f, c in leaves.most_common(15)] if total else []
    return {"samples": total, "areas": share, "self": top}


def run_stock(tmp: Path, args: argparse.Namespace) -> Dict[str, Any]:
    """Train and serve `rasa init --no-prompt`; measure it.

    The full bench trains it afresh in a temp dir (its training time is reported); the
    quick one reuses var/bench/stock once it has been trained there.
    """
    project = ROOT / "var" / "bench" / "stock" if args.quick else tmp / "stock"
    train_seconds = 0.0
    if not (args.quick and any((project / "models").glob("*.tar.gz"))):
        shutil.rmtree(project, ignore_errors=True)
        project.mkdir(parents=True)
        print("[stock] rasa init --no-prompt (trains the stock model)", flush=True)
        started = time.monotonic()
        subprocess.run(
            [str(BIN / "rasa"), "init", "--no-prompt", "--init-dir", str(project)],
            cwd=project.parent,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=_rasa_env(),
        )
        train_seconds = time.monotonic() - started
    port = free_port()
    log = open(tmp / "stock.log", "ab")
    proc = subprocess.Popen(
        [
            str(BIN / "rasa"),
            "run",
            "--port",
            str(port),
            "--interface",
            "127.0.0.1",
            "--model",
            "models",
            "--credentials",
            "credentials.yml",
            "--endpoints",
            "endpoints.yml",
        ],
        cwd=project,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=_rasa_env(),
        start_new_session=True,
    )
    try:
        _wait(f"http://127.0.0.1:{port}/", 300, proc)
        url = f"http://127.0.0.1:{port}/webhooks/rest/webhook"
        rss_start = rss_kb(proc.pid)
        figures = measure(url, "stock", args)
        figures["rss_kb"] = {"rasa": [rss_start, rss_kb(proc.pid)]}
        figures["rasa_process_rss_kb"] = max(rss_each_kb(proc.pid))
    finally:
        _stop(proc)
    figures["train_seconds"] = round(train_seconds, 1)
    return figures


def run_fagchat(tmp: Path, args: argparse.Namespace, scaled: bool, single: bool = False) -> Dict[str, Any]:
    """Start Fagchat (embedded, single or scaled), measure, profile, and (embedded) soak."""
    label = "scaled" if scaled else "single" if single else "embedded"
    env = bench_env(tmp / label)
    if single:
        env.update({"FAGCHAT_RASA_WORKERS": "1", "FAGCHAT_LOCK_STORE": "memory"})
    servers: List[Any] = []
    if scaled:
        base = tmp / "services"
        base.mkdir(parents=True, exist_ok=True)
        base.chmod(0o755)
        postgres, redis_server = (
            Postgres(base / "postgres", free_port()).start(),
            Redis(base / "redis", free_port()).start(),
        )
        servers = [postgres, redis_server]
        env.update(
            {
                "FAGCHAT_DB_URL": postgres.url,
                "FAGCHAT_LOCK_STORE": "redis",
                "FAGCHAT_REDIS_URL": redis_server.url,
                "FAGCHAT_RASA_WORKERS": str(args.rasa_workers),
                "FAGCHAT_ACTIONS_WORKERS": str(args.actions_workers),
            }
        )
    stack = Stack(env, services=("actions", "rasa"), log_dir=tmp / label / "log")
    try:
        print(f"[{label}] starting", flush=True)
        stack.start(timeout=600)
        _wait_workers(stack, args.rasa_workers if scaled else rasa_workers(env))
        url = stack.url("rasa") + "/webhooks/fagchat/webhook"
        pids = {name: proc.pid for name, proc in stack.procs.items()}
        rss_start = {name: rss_kb(pid) for name, pid in pids.items()}
        figures = measure(url, label, args) if not args.profile_only else {}
        if args.profile_only:
            asyncio.run(run_phase(url, 4, 10, "warmup"))
        if not args.no_profile and not single:
            print(f"[{label}] profiling", flush=True)
            RAW.parent.mkdir(parents=True, exist_ok=True)
            figures["profile"] = profile(pids["rasa"], args.profile_seconds, RAW.parent / f"profile-{label}.pyspy", url)
        if label == "embedded" and args.soak_seconds and not args.profile_only:
            print(f"[{label}] soak {args.soak_seconds}s at 10 conversations", flush=True)
            soak_start = {name: rss_kb(pid) for name, pid in pids.items()}
            soak = asyncio.run(run_phase(url, 10, args.soak_seconds, "soak"))
            figures["soak"] = soak.summary()
            figures["soak_rss_kb"] = {name: [soak_start[name], rss_kb(pid)] for name, pid in pids.items()}
        figures["rss_kb"] = {name: [rss_start[name], rss_kb(pid)] for name, pid in pids.items()}
        figures["rasa_process_rss_kb"] = max(rss_each_kb(pids["rasa"]))
    finally:
        stack.stop()
        for server in servers:
            server.stop()
    return figures


def _wait_workers(stack: Stack, workers: int, timeout: float = 600) -> None:
    """Wait until every Sanic worker of Rasa has loaded the model (one log line each)."""
    deadline = time.monotonic() + timeout
    log = stack.log_dir / "rasa.log"
    while log.read_text(errors="replace").count("Rasa server is up and running") < workers:
        if time.monotonic() > deadline:
            raise RuntimeError(f"not all {workers} Rasa workers came up")
        time.sleep(1)


def _rasa_env() -> Dict[str, str]:
    return {
        **os.environ,
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "RASA_TELEMETRY_ENABLED": "false",
        "PYTHONWARNINGS": "ignore::DeprecationWarning",
    }


def _wait(url: str, timeout: float, proc: subprocess.Popen) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: the server exited")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(1)
    raise RuntimeError(f"{url} not ready after {timeout}s")


def _stop(proc: subprocess.Popen) -> None:
    import signal

    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def training_times(tmp: Path, full: bool) -> Dict[str, float]:
    """No-change training (fingerprints hit) and, if asked, a full training into a temp dir."""
    rasa = str(BIN / "rasa")
    times: Dict[str, float] = {}
    started = time.monotonic()
    subprocess.run(
        [rasa, "train", "--fixed-model-name", "fagchat", "--out", "models"],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=_rasa_env(),
    )
    times["no_change"] = round(time.monotonic() - started, 1)
    if full:
        print("[train] full training into a temp dir (models/ untouched)", flush=True)
        started = time.monotonic()
        subprocess.run(
            [rasa, "train", "--force", "--out", str(tmp / "models")],
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=_rasa_env(),
        )
        times["full"] = round(time.monotonic() - started, 1)
    return times


# -- the report ------------------------------------------------------------------------------


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}×" if b else "n/a"


def normalize(data: Dict[str, Any]) -> None:
    """Count empty and fallback answers as answers with a note (older runs called them errors)."""
    for figures in (data.get(k, {}) for k in ("stock", "embedded", "single", "scaled")):
        for phase in [v for k, v in figures.items() if isinstance(v, dict) and "throughput" in v]:
            if "notes" in phase:
                continue
            kinds = phase.get("error_kinds", {})
            phase["notes"] = {k: kinds.pop(k) for k in ("empty_answer", "contact_fallback") if k in kinds}
            phase["messages"] += sum(phase["notes"].values())
            phase["errors"] -= sum(phase["notes"].values())
            phase["throughput"] = round(phase["messages"] / phase["seconds"], 2) if phase["seconds"] else 0


def notes_text(phase: Dict[str, Any]) -> str:
    notes = phase.get("notes", {})
    return ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in notes.items() if v) or "–"


def goal_rows(stock: Dict[str, Any], fag: Dict[str, Any], name: str) -> List[str]:
    """The goals of issue 14 for one Fagchat variant against stock, as table rows."""
    if not (stock.get("c50") and fag.get("c50")):
        return []
    rows = []

    def row(goal: str, target: str, value: float, detail: str, met: bool) -> None:
        rows.append(f"| {name}: {goal} | {target} | {value:.2f}× ({detail}) | {'yes' if met else 'no'} |")

    s50, f50 = stock["c50"], fag["c50"]
    t = f50["throughput"] / s50["throughput"] if s50["throughput"] else 0
    row("throughput at 50 conversations", "≥ 1.5×", t, f"{f50['throughput']} vs {s50['throughput']} msg/s", t >= 1.5)
    p = f50["p50"] / s50["p50"] if s50["p50"] else 0
    row("p50 at 50 conversations", "≤ 1.0×", p, f"{f50['p50']} vs {s50['p50']} s", p <= 1.0)
    if stock.get("sequential") and fag.get("sequential"):
        q = fag["sequential"]["p50"] / stock["sequential"]["p50"] if stock["sequential"]["p50"] else 0
        detail = f"{fag['sequential']['p50']} vs {stock['sequential']['p50']} s"
        row("sequential p50", "≤ 1.0×", q, detail, q <= 1.0)
    if stock.get("rasa_process_rss_kb") and fag.get("rasa_process_rss_kb"):
        m = fag["rasa_process_rss_kb"] / stock["rasa_process_rss_kb"]
        detail = (
            f"{fag['rasa_process_rss_kb'] / 1024:.0f} vs {stock['rasa_process_rss_kb'] / 1024:.0f} MiB, largest process"
        )
        row("Rasa process RSS", "≤ 1.0×", m, detail, m <= 1.0)
    failed = f50["errors"] + f50.get("notes", {}).get("contact_fallback", 0)
    met = "yes" if not failed else "no"
    rows.append(f"| {name}: errors (and contact fallbacks) at 50 conversations | 0 | {failed} | {met} |")
    return rows


def report(data: Dict[str, Any], args: argparse.Namespace) -> str:
    normalize(data)
    stock, emb, sc = data.get("stock", {}), data.get("embedded", {}), data.get("scaled", {})
    single = data.get("single", {})
    assistants = (
        ("stock rasa init", stock),
        ("Fagchat embedded (2 Rasa workers)", emb),
        ("Fagchat, one Rasa process", single),
        ("Fagchat scale-out", sc),
    )
    lines = [
        "# Benchmark results",
        "",
        f"Written by `make bench` (`{data.get('command', 'python benchmarks/bench.py')}`) "
        f"on {data['date']}: {data['machine']}. Load average (1/5/15 min) at start {data['load_start']}, "
        f"at end {data['load_end']}; a figure above 2 means other processes shared the 2 cores, "
        "so absolute numbers are pessimistic and ratios within one run are what to compare.",
        "",
        "Load: virtual users hold realistic Danish multi-turn conversations (benchmarks/bench.py) over the REST "
        "chat channel, a fresh sender per conversation; the load generator runs on the same machine. Each "
        f"concurrency level starts messages for {args.phase_seconds:.0f} s and then waits for the answers under "
        "way; throughput is answers (HTTP 200) per second over the whole phase. An error is a non-200 or a "
        "timeout; empty answers (the stock bot predicts no utterance for some of the Danish texts) and "
        "Fagchat's contact-details fallback are counted as answers and listed. Fagchat runs with "
        "FAGCHAT_HOLDING_SECONDS=120, so no holding answer replaces a real one.",
        "",
        "## Training",
        "",
        "| what | seconds |",
        "| --- | --- |",
    ]
    train = data.get("training", {})
    if "full" in train:
        lines.append(f"| Fagchat, full training (`rasa train --force`) | {train['full']} |")
    lines.append(f"| Fagchat, nothing changed (`make train` again) | {train.get('no_change', 'n/a')} |")
    if stock.get("train_seconds"):
        lines.append(f"| stock `rasa init --no-prompt` (creates and trains) | {stock['train_seconds']} |")
    lines += [
        "",
        "## Sequential latency per message (one conversation at a time)",
        "",
        "| assistant | messages | p50 s | p95 s | p99 s | errors | empty / fallback |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, figures in assistants:
        s = figures.get("sequential")
        if s:
            lines.append(
                f"| {name} | {s['messages']} | {s['p50']} | {s['p95']} | {s['p99']} | {s['errors']} | {notes_text(s)} |"
            )
    lines += [
        "",
        "## Concurrent conversations",
        "",
        "| assistant | conversations | messages/s | p50 s | p95 s | errors | empty / fallback | load before → after |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for users in (10, 50, 200):
        for name, figures in assistants:
            c = figures.get(f"c{users}")
            if c:
                kinds = f" ({', '.join(f'{k}: {v}' for k, v in c['error_kinds'].items())})" if c["errors"] else ""
                lines.append(
                    f"| {name} | {users} | {c['throughput']} | {c['p50']} | {c['p95']} | "
                    f"{c['errors']}{kinds} | {notes_text(c)} | {c['load']} |"
                )
    lines += ["", "## Goals", "", "| goal | target | measured | met |", "| --- | --- | --- | --- |"]
    lines += goal_rows(stock, emb, "embedded")
    lines += goal_rows(stock, single, "one Rasa process")
    if sc.get("c50") and emb.get("c50"):
        for users in (50, 200):
            t = sc[f"c{users}"]["throughput"] / emb[f"c{users}"]["throughput"] if emb[f"c{users}"]["throughput"] else 0
            lines.append(
                f"| scale-out throughput vs embedded, {users} conversations | ≥ 1.7× | {t:.2f}× "
                f"({sc[f'c{users}']['throughput']} vs {emb[f'c{users}']['throughput']} msg/s) | "
                f"{'yes' if t >= 1.7 else 'no'} |"
            )
    if emb.get("soak_rss_kb"):
        worst = max((after - before) / before for before, after in emb["soak_rss_kb"].values() if before)
        lines.append(
            f"| RSS growth over the {args.soak_seconds // 60}-minute soak (worst process) | ≤ 10 % | "
            f"{100 * worst:.1f} % | {'yes' if worst <= 0.10 else 'no'} |"
        )
    lines += [
        "",
        "## Memory (resident set, MiB; a Sanic process with its workers)",
        "",
        "| assistant | process | at start | after the run | soak: before → after |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, figures in assistants:
        for process, (start, end) in figures.get("rss_kb", {}).items():
            soak = figures.get("soak_rss_kb", {}).get(process)
            soak_text = (
                f"{soak[0] / 1024:.0f} → {soak[1] / 1024:.0f} ({100 * (soak[1] - soak[0]) / soak[0]:+.1f} %)"
                if soak
                else ""
            )
            lines.append(f"| {name} | {process} | {start / 1024:.0f} | {end / 1024:.0f} | {soak_text} |")
    if emb.get("soak"):
        s = emb["soak"]
        lines.append(
            f"\nSoak: {s['messages']} messages in {s['seconds']:.0f} s at 10 conversations, "
            f"p95 {s['p95']} s, {s['errors']} errors."
        )
    for name, figures in (("embedded", emb), ("scale-out", sc)):
        prof = figures.get("profile")
        if not prof:
            continue
        lines += ["", f"## Where the time goes: Fagchat {name}, 50 conversations (py-spy)", ""]
        if "error" in prof:
            lines.append(f"py-spy failed: {prof['error']}")
            continue
        again = f" Profiled again with `--profile-only` (load average then {prof['load']})." if prof.get("load") else ""
        lines += [
            f"{prof['samples']} samples of the Rasa process{'es' if name == 'scale-out' else ''} (py-spy, "
            f"50 Hz, busy threads only; Sanic's main process waiting for its workers left out).{again} Each sample counts for the area of its deepest frame that belongs "
            "to one:",
            "",
            "| area | % of samples |",
            "| --- | --- |",
        ]
        lines += [f"| {area} | {share} |" for area, share in prof["areas"].items()]
        if prof.get("self"):
            lines += ["", "Functions the samples were in (self time):", ""]
            lines += [f"- {share} % `{frame[:120]}`" for frame, share in prof["self"][:10]]
    lines += ["", "Raw figures: var/results/bench.json.", ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short phases, no soak, no full training")
    parser.add_argument(
        "--only", nargs="*", choices=["stock", "embedded", "single", "scaled"], help="assistants to run"
    )
    parser.add_argument("--phase-seconds", type=float, default=60.0)
    parser.add_argument("--sequential", type=int, default=100, help="messages in the sequential phase")
    parser.add_argument("--soak-seconds", type=int, default=600)
    parser.add_argument("--profile-seconds", type=int, default=30)
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--no-full-train", action="store_true")
    parser.add_argument("--rasa-workers", type=int, default=2)
    parser.add_argument("--actions-workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--report-only", action="store_true", help="rewrite the report from var/results/bench.json")
    parser.add_argument(
        "--profile-only",
        action="store_true",
        help="profile embedded and scale-out again into var/results/bench.json, rewrite the report",
    )
    args = parser.parse_args()
    if args.quick:
        global RAW
        RAW = RAW.with_name("bench-quick.json")
    if args.profile_only:
        data = json.loads(RAW.read_text())
        tmp = Path(tempfile.mkdtemp(prefix="fagchat-bench-"))
        tmp.chmod(0o755)
        try:
            for label in ("embedded", "scaled"):
                data[label]["profile"] = run_fagchat(tmp, args, scaled=label == "scaled")["profile"]
                data[label]["profile"]["load"] = load()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        RAW.write_text(json.dumps(data, indent=1))
        args.out.write_text(report(data, args))
        print(f"Wrote {args.out}")
        return 0
    if args.report_only:
        data = json.loads(RAW.read_text())
        for label in ("embedded", "scaled"):  # profiles again from the kept py-spy files
            raw = RAW.parent / f"profile-{label}.pyspy"
            if raw.exists() and label in data:
                data[label]["profile"] = {**data[label].get("profile", {}), **summarize_profile(raw)}
        args.out.write_text(report(data, args))
        print(f"Wrote {args.out}")
        return 0
    if args.quick:
        if args.out == RESULTS:  # the quick figures never replace the full report
            args.out = RAW.with_name("bench-quick.md")
        args.phase_seconds, args.sequential, args.soak_seconds, args.no_profile = 20.0, 30, 0, True
        args.no_full_train = True
        args.only = args.only or ["stock", "embedded"]
    if not model_path().exists():
        print("No trained model: run `make train` first (make bench does).", file=sys.stderr)
        return 1
    only = set(args.only or ["stock", "embedded", "single", "scaled"])
    tmp = Path(tempfile.mkdtemp(prefix="fagchat-bench-"))
    tmp.chmod(0o755)  # PostgreSQL (as the postgres user) keeps its data below
    data: Dict[str, Any] = {
        "command": " ".join(["python benchmarks/bench.py", *sys.argv[1:]]),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{os.cpu_count()} cores, {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB",
        "load_start": load(),
    }
    try:
        if not args.quick:
            data["training"] = training_times(tmp, full=not args.no_full_train)
            print(f"[train] {data['training']}", flush=True)
        if "stock" in only:
            data["stock"] = run_stock(tmp, args)
        if "embedded" in only:
            data["embedded"] = run_fagchat(tmp, args, scaled=False)
        if "single" in only:
            data["single"] = run_fagchat(tmp, args, scaled=False, single=True)
        if "scaled" in only:
            data["scaled"] = run_fagchat(tmp, args, scaled=True)
    finally:
        data["load_end"] = load()
        RAW.parent.mkdir(parents=True, exist_ok=True)
        RAW.write_text(json.dumps(data, indent=1))
        shutil.rmtree(tmp, ignore_errors=True)
    text = report(data, args)
    args.out.write_text(text)
    print(f"Wrote {args.out}", flush=True)
    if args.quick:
        print("\n".join(line for line in text.splitlines() if line.startswith("| embedded")), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
