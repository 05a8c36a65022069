"""Starting and stopping what is measured: stock `rasa init`, Fagchat embedded, single and scale-out.

Also the waiting helpers, the training times and the py-spy profile.
"""

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from load import measure, rss_each_kb, rss_kb, run_phase
from report import summarize_profile

from fagchat.run.launcher import Stack, rasa_workers
from fagchat.run.services import Postgres, Redis

BIN = Path(sys.executable).parent
# The raw figures (bench.py --quick writes bench-quick.json beside it); the py-spy files go in its folder.
RAW = ROOT / "var" / "results" / "bench.json"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
    times: Dict[str, float] = {}

    def timed(args: List[str]) -> float:
        started = time.monotonic()
        subprocess.run(
            [str(BIN / "rasa"), "train", *args],
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=_rasa_env(),
        )
        return round(time.monotonic() - started, 1)

    times["no_change"] = timed(["--fixed-model-name", "fagchat", "--out", "models"])
    if full:
        print("[train] full training into a temp dir (models/ untouched)", flush=True)
        times["full"] = timed(["--force", "--out", str(tmp / "models")])
    return times
