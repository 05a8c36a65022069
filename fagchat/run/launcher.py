"""Start and supervise Fagchat's processes: `make run` and the integration tests use this.

    python -m fagchat.run.launcher            # everything, until Ctrl-C

Processes (addresses and ports are settings; fagchat/run/serve.py):
    actions  rasa_sdk action server     FAGCHAT_HOST         FAGCHAT_ACTIONS_PORT (5055)
    rasa     Rasa server, chat channel  FAGCHAT_HOST         FAGCHAT_RASA_PORT    (5005)
    web      widget and demo page       FAGCHAT_PUBLIC_HOST  FAGCHAT_WEB_PORT     (8080)
    staff    staff review app           FAGCHAT_HOST         FAGCHAT_STAFF_PORT   (8081)
Both hosts default to 127.0.0.1; only the web process is meant to face the internet.

Rasa's endpoints file is written to var/run/endpoints-PORT.yml from `endpoints.yml` with the
current settings (action server URL, lock store), so ports and engines stay settings.
A process that dies is restarted; Ctrl-C (or SIGTERM) stops every process it started.
On a server, systemd runs the same commands instead (fagchat/run/process.py, docs/operations.md).

FAGCHAT_RASA_WORKERS becomes Rasa's SANIC_WORKERS: the default runs two Rasa workers on one
port, sharing the conversation locks through our SQLite lock store (FAGCHAT_LOCK_STORE=sqlite),
because one Python process cannot use two cores. Scale-out mode is settings only
(docs/operations.md): FAGCHAT_LOCK_STORE=redis names our atomic Redis lock store in the
endpoints file, and FAGCHAT_DB_URL points the tracker store at PostgreSQL.
"""

import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, Dict, List, Optional, Sequence

from fagchat import settings
from fagchat.logs import configure_logging
from fagchat.nlu.encoder import OPENMP_ENV
from fagchat.run.endpoints import (  # noqa: F401 - re-exported for the launcher's users
    LOCK_STORES,
    endpoints_path,
    lock_store,
    model_server_url,
    rasa_workers,
    write_endpoints,
)
from fagchat.run.serve import bind_address, local_url

ROOT = settings.ROOT
BIN = Path(sys.executable).parent
SERVICES = ("actions", "rasa", "web", "staff")
logger = logging.getLogger("fagchat.run.launcher")


def _env_get(env: Dict[str, str], name: str) -> str:
    return settings.read(env).str(name)


def model_path(env: Optional[Dict[str, str]] = None) -> Path:
    """The model Rasa loads: FAGCHAT_MODEL of `env` (default: this process's settings)."""
    return settings.read(env).model_path if env is not None else settings.current().model_path


def command(name: str, env: Dict[str, str]) -> List[str]:
    """The command line of service `name` under the settings in `env`; the systemd units run it too."""
    host, port = bind_address("rasa", settings.read(env))
    py = str(BIN / "python")
    if name == "actions":
        return [py, "-m", "fagchat.run.action_server"]
    if name == "rasa":
        return [
            str(BIN / "rasa"),
            "run",
            "--model",
            str(model_path(env)),
            "--endpoints",
            str(endpoints_path(env)),
            "--credentials",
            str(ROOT / "credentials.yml"),
            "--interface",
            host,
            "--port",
            str(port),
            "--cors",
            *_env_get(env, "FAGCHAT_ALLOWED_ORIGINS").split(","),
            # The HTTP API stays off: only the chat channel is served.
        ]
    if name == "web":
        return [py, "-m", "fagchat.web"]
    if name == "staff":
        return [py, "-m", "fagchat.staff"]
    raise ValueError(f"unknown service {name!r}")


def service_env(name: str, env: Dict[str, str]) -> Dict[str, str]:
    """The environment of service `name`'s process: `env`, quiet and offline, FAGCHAT_RASA_WORKERS applied."""
    path = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    # OPENMP_ENV bounds the sentence encoder's spinning threads (fagchat/nlu/encoder.py); it
    # must be there when the process starts.
    quiet = {"TF_CPP_MIN_LOG_LEVEL": "2", "RASA_TELEMETRY_ENABLED": "false", **OPENMP_ENV}
    child = {**quiet, **env, "PYTHONPATH": path}
    return {**child, "SANIC_WORKERS": str(rasa_workers(env))} if name == "rasa" else child


def health_url(name: str, env: Dict[str, str], probe: str = "readyz") -> str:
    """The service's /readyz (200 once `name` is ready) or /healthz (200 once it answers);
    fagchat/ops/health.py. A web process is ready only when its Rasa is."""
    prefix = "/webhooks/fagchat" if name == "rasa" else ""
    return local_url(name, settings.read(env)) + f"{prefix}/{probe}"


def is_up(url: str) -> bool:
    """Whether `url` answers 200 right now."""
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return answer.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


class Stack:
    """A set of Fagchat processes sharing one environment (settings)."""

    def __init__(
        self,
        env: Optional[Dict[str, str]] = None,
        services: Sequence[str] = SERVICES,
        log_dir: Optional[Path] = None,
    ) -> None:
        """Prepare; nothing starts until `start()`."""
        self.env = {**os.environ, **(env or {})}
        self.services = list(services)
        self.log_dir = Path(log_dir or ROOT / _env_get(self.env, "FAGCHAT_VAR_DIR") / "log")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.procs: Dict[str, subprocess.Popen] = {}
        self._logs: Dict[str, IO[bytes]] = {}

    def url(self, name: str) -> str:
        """Base URL of service `name`."""
        return health_url(name, self.env).rsplit("/", 1)[0].replace("/webhooks/fagchat", "")

    def start_service(self, name: str) -> None:
        """Start one service in its own process group, logging to log_dir/NAME.log."""
        log = self._logs.get(name) or open(self.log_dir / f"{name}.log", "ab")
        self._logs[name] = log
        if name == "rasa":
            write_endpoints(self.env)
        self.procs[name] = subprocess.Popen(
            command(name, self.env),
            cwd=ROOT,
            env=service_env(name, self.env),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def wait_ready(self, names: Sequence[str], timeout: float = 240, probe: str = "readyz") -> None:
        """Wait until every named service answers `probe`; raise with the log tail if not."""
        deadline = time.monotonic() + timeout
        for name in names:
            while not is_up(health_url(name, self.env, probe)):
                proc = self.procs.get(name)
                if proc is not None and proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}:\n{self.log_tail(name)}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} not ready after {timeout:.0f}s:\n{self.log_tail(name)}")
                time.sleep(0.5)

    def start(self, timeout: float = 240, probe: str = "readyz") -> "Stack":
        """Start every service and wait until all answer `probe` (readyz or healthz)."""
        for name in self.services:
            self.start_service(name)
        self.wait_ready(self.services, timeout, probe)
        return self

    def stop_service(self, name: str, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
        """Stop one service and its children."""
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        except ProcessLookupError:
            pass

    def stop(self) -> None:
        """Stop every service (web first, so no request reaches a half-stopped Rasa)."""
        for name in reversed(list(self.procs)):
            self.stop_service(name)
        for log in self._logs.values():
            log.close()
        self._logs.clear()

    def log_tail(self, name: str, lines: int = 40) -> str:
        """The last lines of a service's log."""
        path = self.log_dir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def __enter__(self) -> "Stack":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> int:
    """Start everything, print the URLs, supervise until Ctrl-C."""
    configure_logging("launcher")
    stack = Stack()
    if not model_path(stack.env).exists():
        print(f"No trained model at {model_path(stack.env)}: run `make train` (make run does it).", file=sys.stderr)
        return 1
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    print("Starting Fagchat (Rasa needs about half a minute to load the model) ...", flush=True)
    try:
        stack.start()
    except RuntimeError as problem:
        print(f"Start-up failed: {problem}", file=sys.stderr)
        stack.stop()
        return 1
    print(
        f"\nFagchat is running. Logs: {stack.log_dir}\n"
        f"  Chat (demo page):  {stack.url('web')}/\n"
        f"  Staff review app:  {stack.url('staff')}/\n"
        "Press Ctrl-C to stop.\n",
        flush=True,
    )
    restarts: Dict[str, List[float]] = {}
    while not stopping:
        for name, proc in list(stack.procs.items()):
            if proc.poll() is None:
                continue
            recent = [t for t in restarts.get(name, []) if time.monotonic() - t < 60]
            if len(recent) >= 3:
                print(f"{name} keeps failing; see {stack.log_dir / (name + '.log')}. Stopping.", file=sys.stderr)
                stopping = True
                break
            logger.warning("%s exited with %s; restarting", name, proc.returncode)
            restarts[name] = recent + [time.monotonic()]
            stack.start_service(name)
        time.sleep(0.5)
    print("Stopping Fagchat ...", flush=True)
    stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
