"""The scale-out stack the scale-out and fault tests share, and the tools they use.

One PostgreSQL and one Redis server (Debian's, started by `fagchat.run.services`, installed
when missing), an action server with two workers, and two Rasa servers on that database
and lock store:

    rasa "a": FAGCHAT_RASA_WORKERS=2 (two Sanic workers on one port), talking to the
              action server directly;
    rasa "b": one worker; it reaches the action server through `ActionProxy`, which can
              delay calls and counts them (one worker: a late answer is kept in the
              worker that took the slow message, and the next message must reach it).

Started once per test session (Rasa takes a while to load its model) and stopped at exit.
"""

import atexit
import json
import re
import shutil
import socket
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from fagchat.run.launcher import Stack, model_path
from fagchat.run.services import Postgres, Redis
from tests.helpers import free_port

_STACK: Optional["ScaledStack"] = None


class ActionProxy:
    """An HTTP proxy between Rasa and the action server that can be slowed down.

    It records the (conversation, action, tracker length) of every call, so a test can
    tell that no action ran twice.
    """

    def __init__(self, upstream: str) -> None:
        """Listen on a free port and forward to `upstream` (http://host:port)."""
        import http.server

        self.upstream, self.delay, self.calls = upstream, 0.0, Counter()
        self._lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                proxy._record(body)
                time.sleep(proxy.delay)
                request = urllib.request.Request(
                    proxy.upstream + self.path, data=body, headers={"Content-Type": "application/json"}
                )
                try:
                    with urllib.request.urlopen(request, timeout=60) as answer:
                        status, payload = answer.status, answer.read()
                except urllib.error.HTTPError as error:
                    status, payload = error.code, error.read()
                except OSError:
                    status, payload = 502, b'{"error": "action server down"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:  # noqa: N802 - health checks pass through
                try:
                    with urllib.request.urlopen(proxy.upstream + self.path, timeout=5) as answer:
                        status, payload = answer.status, answer.read()
                except OSError:
                    status, payload = 502, b"{}"
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.port = free_port()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _record(self, body: bytes) -> None:
        try:
            call = json.loads(body)
            key = (call["sender_id"], call["next_action"], len(call["tracker"]["events"]))
        except (ValueError, KeyError, TypeError):
            return
        with self._lock:
            self.calls[key] += 1

    def repeated(self) -> List[Tuple[str, str, int]]:
        """Calls that reached the action server more than once."""
        with self._lock:
            return [key for key, count in self.calls.items() if count > 1]

    def stop(self) -> None:
        """Stop listening."""
        self.server.shutdown()
        self.server.server_close()


class ScaledStack:
    """PostgreSQL, Redis, the action server and two Rasa servers ("a" and "b")."""

    def __init__(self) -> None:
        """Start everything; raise with the logs when something does not come up."""
        # Under /tmp with 0755: PostgreSQL runs as the postgres user and must reach it.
        self.tmp = Path(tempfile.mkdtemp(prefix="fagchat-scaled-"))
        self.tmp.chmod(0o755)
        self.postgres = Postgres(self.tmp / "postgres", free_port()).start()
        self.redis = Redis(self.tmp / "redis", free_port()).start()
        actions_port = free_port()
        self.proxy = ActionProxy(f"http://127.0.0.1:{actions_port}")
        base = {
            "FAGCHAT_DB_URL": self.postgres.url,
            "FAGCHAT_LOCK_STORE": "redis",
            "FAGCHAT_REDIS_URL": self.redis.url,
            "FAGCHAT_VAR_DIR": str(self.tmp / "var"),
            "FAGCHAT_ALLOWED_ORIGINS": "http://localhost",
            "FAGCHAT_ACTIONS_PORT": str(actions_port),
        }
        log_dir = self.tmp / "log"
        self.actions = Stack(
            {**base, "FAGCHAT_ACTIONS_WORKERS": "2"}, services=("actions",), log_dir=log_dir / "actions"
        )
        self.rasa: Dict[str, Stack] = {
            "a": Stack(
                {**base, "FAGCHAT_RASA_PORT": str(free_port()), "FAGCHAT_RASA_WORKERS": "2"},
                services=("rasa",),
                log_dir=log_dir / "a",
            ),
            "b": Stack(
                {**base, "FAGCHAT_RASA_PORT": str(free_port()), "FAGCHAT_ACTIONS_PORT": str(self.proxy.port)},
                services=("rasa",),
                log_dir=log_dir / "b",
            ),
        }
        try:
            self.actions.start()
            for stack in self.rasa.values():
                stack.start_service("rasa")
            for stack in self.rasa.values():
                stack.wait_ready(["rasa"], timeout=400)
        except RuntimeError:
            self.stop()
            raise

    def url(self, name: str) -> str:
        """Base URL of Rasa server `name` ("a" or "b")."""
        return self.rasa[name].url("rasa")

    def log(self, name: str) -> str:
        """The whole log of Rasa server `name`."""
        return (self.rasa[name].log_dir / "rasa.log").read_text(errors="replace")

    def restart_actions(self) -> None:
        """Start the action server again (after a test killed it) and wait until it answers."""
        self.actions.start_service("actions")
        self.actions.wait_ready(["actions"], timeout=120)

    def user_texts(self, sender: str) -> List[str]:
        """The user messages stored for `sender`, in stored order."""
        return [e["text"] for e in self.events(sender) if e["event"] == "user"]

    def events(self, sender: str) -> List[Dict[str, Any]]:
        """Every stored event of `sender`, in stored order."""
        import psycopg2

        with psycopg2.connect(host="127.0.0.1", port=self.postgres.port, user="fagchat", dbname="fagchat") as conn:
            with conn.cursor() as cur:
                cur.execute("SELECT data FROM events WHERE sender_id = %s ORDER BY id", (sender,))
                return [json.loads(row[0]) for row in cur.fetchall()]

    def stop(self) -> None:
        """Stop every process and server, and remove the data."""
        for stack in [*self.rasa.values(), self.actions]:
            stack.stop()
        self.proxy.stop()
        self.redis.stop()
        self.postgres.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


def scaled_stack() -> ScaledStack:
    """The session's scaled stack, started on first use."""
    global _STACK
    if _STACK is None:
        if not model_path().exists():
            raise RuntimeError("No trained model: run `make train` first (make test does).")
        _STACK = ScaledStack()
        atexit.register(_STACK.stop)
    return _STACK


def whole_turns(events: List[Dict[str, Any]]) -> bool:
    """Whether each user message is followed by its own answers before the next one.

    A message processed while another was still in progress (no lock) would show as
    two user events in a row, or answers after the wrong message.
    """
    kinds = "".join("u" if e["event"] == "user" else "b" for e in events if e["event"] in ("user", "bot"))
    return re.fullmatch(r"(ub+)+", kinds) is not None


def rss_kb(pid: int) -> int:
    """Resident memory of process `pid` and its children, in KiB."""
    total = 0
    for each in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def _children(pid: int) -> List[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            for child in (task / "children").read_text().split():
                found += [int(child), *_children(int(child))]
        except OSError:
            pass
    return found


def raw_http(port: int, data: bytes, timeout: float = 10) -> bytes:
    """Send raw bytes to 127.0.0.1:`port` and return what comes back (for malformed HTTP)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                if b"\r\n\r\n" in b"".join(chunks) and len(b"".join(chunks)) > 12:
                    break
        except (socket.timeout, ConnectionResetError):
            pass
    return b"".join(chunks)
