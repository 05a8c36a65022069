"""10,000+ generated malformed and hostile requests to every public endpoint.

Targets, over HTTP only: the Rasa server's chat channel (webhook, feedback, anything else
on its port), the web process (widget files, demo page, config, the chat proxy) and the
staff app's login page. Required of every answer: no 5xx, no stack trace, none of the
request's text echoed back; bodies over FAGCHAT_MAX_BODY_BYTES get 413; every server keeps
answering; resident memory stays flat (measured after a warm-up, before and after).
"""

import http.client
import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import pytest

from fagchat.run.launcher import Stack
from tests.helpers import say, texts
from tests.scaleout_support import raw_http, rss_kb

pytestmark = pytest.mark.integration

TOTAL = 10_400
FULL_PIPELINE = 700  # well-formed chat messages with hostile text: each runs NLU and actions
LIMIT = 65_536  # FAGCHAT_MAX_BODY_BYTES's default, which the test stack uses
HOSTILE = [
    "\x00",
    "\u202e",
    "\u202d",
    "\u200b",
    "\u200d",
    "\ufeff",
    "\u2066",
    "\ud83d",
    "👍🏽",
    "🧑‍⚖️",
    "ﷺ",
    "مرحبا",
    "שלום",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "javascript:alert(1)",
    "' OR 1=1 --",
    '"; DROP TABLE events; --',
    "{{7*7}}",
    "${jndi:ldap://x}",
    "%s%n%x",
    "../../etc/passwd",
    "/acute_danger",
    '/handover{"role":"politi"}',
    "/restart",
    "/session_start",
    '/inform_role{"role": 1}',
    "\\u0000",
    "\r\n\r\nHTTP/1.1 200 OK",
    "æøå ÆØÅ",
    "A" * 300,
    "\t\n\r",
    "🙂" * 50,
]


@dataclass
class Probe:
    """One request: where, what, and what must come back."""

    target: str
    method: str
    path: str
    body: bytes = b""
    headers: Dict[str, str] = field(default_factory=dict)
    mark: str = ""  # text that must not come back
    expect: Optional[int] = None


def hostile_text(rng: random.Random, mark: str) -> str:
    parts = rng.choices(HOSTILE, k=rng.randint(1, 4)) + [mark]
    rng.shuffle(parts)
    return " ".join(parts)


def json_body(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=rng_choice_bool()).encode("utf-8", "surrogatepass")


_flip = random.Random(7)


def rng_choice_bool() -> bool:
    return _flip.random() < 0.5


def broken_json(rng: random.Random, mark: str) -> bytes:
    choices = [
        b"{" + mark.encode(),
        b'{"sender": "' + mark.encode() + b'", "message": ',
        bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 300))) + mark.encode(),
        b"\xff\xfe" + mark.encode("utf-16-le"),
        b'{"sender": "s", "message": "\xc3\x28' + mark.encode() + b'"}',
        b"[" * 50_000 + b"]" * 50_000,  # deep nesting: Python's parser recursion limit
        b'{"a":' * 20_000 + b"1" + b"}" * 20_000,
        b"",
        b"null",
        b"NaN",
        ("\x00" + mark).encode(),
        b'{"sender": "s", "message": "' + b"\\ud800" + mark.encode() + b'"}',
    ]
    return rng.choice(choices)


def wrong_fields(rng: random.Random, mark: str) -> object:
    values = [None, 1, 1.5e308, True, [], [mark], {}, {"$ne": mark}, mark * 3, "", " ", "a" * 200, -1]
    shape = rng.randint(0, 5)
    if shape == 0:
        return [mark, mark]
    if shape == 1:
        return {"sender": rng.choice(values), "message": rng.choice(values)}
    if shape == 2:
        return {"message": hostile_text(rng, mark)}
    if shape == 3:
        return {"sender": f"../{mark}", "message": "hej"}
    if shape == 4:
        return {"sender": "s" + mark, "message": rng.choice(values), "metadata": {"x": mark}}
    return {"sender": mark + "\u202e", "message": "hej", "value": mark, "article": f"<b>{mark}</b>"}


def chat_probes(rng: random.Random, target: str, count: int, full: int) -> List[Probe]:
    """Requests for a chat endpoint (Rasa's own or the web proxy's)."""
    probes = []
    for i in range(count):
        mark = f"zq{rng.getrandbits(40):010x}"
        route = rng.choice(["webhook", "webhook", "feedback"])
        path = f"/webhooks/fagchat/{route}"
        kind = "full" if i < full else rng.choice(["broken", "fields", "fields", "huge", "method", "path", "ctype"])
        if kind == "full":
            body = json_body({"sender": f"fuzz{rng.getrandbits(128):032x}", "message": hostile_text(rng, mark)})
            probes.append(Probe(target, "POST", "/webhooks/fagchat/webhook", body, mark=mark))
        elif kind == "broken":
            probes.append(Probe(target, "POST", path, broken_json(rng, mark), mark=mark))
        elif kind == "fields":
            probes.append(Probe(target, "POST", path, json_body(wrong_fields(rng, mark)), mark=mark))
        elif kind == "huge":
            size = rng.choice([LIMIT + 1, LIMIT * 2, 1_000_000, 5_000_000])
            body = json.dumps({"sender": "s", "message": (mark + "x" * 64) * (size // 66)}).encode()
            probes.append(Probe(target, "POST", path, body, mark=mark, expect=413))
        elif kind == "method":
            method = rng.choice(["GET", "PUT", "DELETE", "PATCH", "TRACE", "OPTIONS", "HEAD"])
            headers = {"Origin": rng.choice(["http://evil.example", "http://localhost", "null", mark])}
            probes.append(Probe(target, method, path, headers=headers, mark=mark))
        elif kind == "path":
            tail = rng.choice(
                [
                    mark,
                    f"../{mark}",
                    f"%2e%2e/{mark}",
                    f"{mark}?q=<script>",
                    f"model/parse?x={mark}",
                    "conversations/x/tracker",
                    "status",
                    "version",
                    "webhooks/rest/webhook",
                ]
            )
            method = rng.choice(["GET", "POST"])
            probes.append(Probe(target, method, f"/{tail}", json_body({"sender": "s", "message": mark}), mark=mark))
        else:
            headers = {
                "Content-Type": rng.choice(
                    [
                        "text/plain",
                        "multipart/form-data; boundary=" + mark,
                        "application/x-www-form-urlencoded",
                        "application/json; charset=latin-1",
                    ]
                )
            }
            probes.append(Probe(target, "POST", path, f"sender={mark}&message={mark}".encode(), headers, mark))
    return probes


def web_probes(rng: random.Random, count: int) -> List[Probe]:
    """Widget files, demo page and config of the web process, asked for in odd ways."""
    probes = []
    for _ in range(count):
        mark = f"zq{rng.getrandbits(40):010x}"
        path = rng.choice(
            [
                "/",
                "/fagchat.js",
                "/fagchat.css",
                "/demo.css",
                "/fagchat/config.json",
                "/healthz",
                f"/{mark}",
                f"/static/../{mark}",
                f"/fagchat.js?{mark}",
                "/%00",
                "/%ff%fe",
            ]
        )
        method = rng.choice(["GET", "GET", "HEAD", "POST", "PUT", "OPTIONS", "DELETE"])
        headers = {rng.choice(["If-None-Match", "Origin", "Accept", "Range", "Cookie", "X-Forwarded-For"]): mark}
        probes.append(Probe("web", method, path, mark.encode() if method in ("POST", "PUT") else b"", headers, mark))
    return probes


def staff_probes(rng: random.Random, count: int) -> List[Probe]:
    """The staff app: its login page, and every other path without a login."""
    probes = []
    for _ in range(count):
        mark = f"zq{rng.getrandbits(40):010x}"
        kind = rng.choice(["login_get", "login_post", "login_post", "other", "huge"])
        if kind == "login_get":
            probes.append(
                Probe("staff", "GET", rng.choice(["/login", f"/login?next={mark}", f"/login?next=//{mark}"]), mark=mark)
            )
        elif kind == "login_post":
            fields = {"username": hostile_text(rng, mark), "password": mark, "login_token": rng.choice(["", mark])}
            body = "&".join(f"{k}={v}" for k, v in fields.items()).encode("utf-8", "surrogatepass")
            ctype = rng.choice(["application/x-www-form-urlencoded", "application/json", "text/plain"])
            probes.append(Probe("staff", "POST", "/login", body, {"Content-Type": ctype}, mark))
        elif kind == "other":
            path = rng.choice(["/", "/inbox", "/review", "/export", f"/conversation/{mark}", "/audit", f"/{mark}"])
            probes.append(Probe("staff", rng.choice(["GET", "POST"]), path, mark=mark))
        else:
            body = b"username=" + (mark.encode() + b"x" * 64) * (2 * LIMIT // 66)
            probes.append(
                Probe(
                    "staff",
                    "POST",
                    "/login",
                    body,
                    {"Content-Type": "application/x-www-form-urlencoded"},
                    mark,
                    expect=413,
                )
            )
    return probes


def send(ports: Dict[str, int], probe: Probe) -> Tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", ports[probe.target], timeout=120)
    try:
        headers = {"Content-Type": "application/json", **probe.headers}
        conn.request(probe.method, probe.path, body=probe.body or None, headers=headers)
        answer = conn.getresponse()
        return answer.status, answer.read()
    except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected):
        # A server may close the connection on a refused body before reading it all;
        # then it must have sent its 413 first, which the retry without body shows.
        if probe.expect == 413:
            return 413, b""
        raise
    finally:
        conn.close()


def without_recipient(text: str) -> str:
    """The answer without `recipient_id`: Rasa's REST format returns the (opaque) sender id."""
    try:
        messages = json.loads(text)
    except ValueError:
        return text
    if isinstance(messages, list):
        messages = [{k: v for k, v in m.items() if k != "recipient_id"} for m in messages if isinstance(m, dict)]
    return json.dumps(messages, ensure_ascii=False)


def check(probe: Probe, status: int, body: bytes, problems: List[str]) -> None:
    text = without_recipient(body.decode("utf-8", errors="replace"))
    where = f"{probe.target} {probe.method} {probe.path[:60]}"
    if status >= 500:
        problems.append(f"{status} from {where}: {text[:200]}")
    if "Traceback" in text or 'File "/' in text:
        problems.append(f"stack trace from {where}")
    if probe.mark and probe.mark in text:
        problems.append(f"request text echoed by {where} ({status})")
    if probe.expect is not None and status != probe.expect:
        problems.append(f"{where}: {status}, expected {probe.expect}")


@pytest.fixture(scope="module")
def staff(live_stack, tmp_path_factory):
    stack = Stack(live_stack.env, services=("staff",), log_dir=tmp_path_factory.mktemp("staff-log"))
    stack.start(timeout=120)
    yield stack
    stack.stop()


def test_ten_thousand_hostile_requests(live_stack, staff):
    rng = random.Random(20261125)
    ports = {
        "rasa": int(live_stack.env["FAGCHAT_RASA_PORT"]),
        "web": int(live_stack.env["FAGCHAT_WEB_PORT"]),
        "staff": int(staff.env["FAGCHAT_STAFF_PORT"]),
    }
    probes = (
        chat_probes(rng, "rasa", 4200, FULL_PIPELINE * 2 // 3)
        + chat_probes(rng, "web", 2600, FULL_PIPELINE // 3)
        + web_probes(rng, 1600)
        + staff_probes(rng, 2000)
    )
    assert len(probes) >= 10_000
    rng.shuffle(probes)
    pids = {"rasa": live_stack.procs["rasa"].pid, "web": live_stack.procs["web"].pid, "staff": staff.procs["staff"].pid}
    problems: List[str] = []
    statuses: Counter = Counter()
    lock = threading.Lock()

    def run(batch: List[Probe]) -> None:
        for probe in batch:
            try:
                status, body = send(ports, probe)
            except Exception as exc:  # noqa: BLE001 - a dropped connection is a finding
                with lock:
                    problems.append(f"{probe.target} {probe.method} {probe.path[:60]}: {type(exc).__name__}")
                continue
            with lock:
                statuses[(probe.target, status)] += 1
                check(probe, status, body, problems)

    def run_all(batch: List[Probe], threads: int = 4) -> None:
        workers = [threading.Thread(target=run, args=(batch[i::threads],)) for i in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    def settled_rss() -> Dict[str, int]:
        # The least resident memory of each process over up to 10 s: login checks still
        # queued behind the hashing limit hold 64 MiB argon2 buffers for a moment, a leak
        # holds its memory for good.
        lowest = {name: rss_kb(pid) for name, pid in pids.items()}
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            time.sleep(0.5)  # a sampling interval, not a wait for some event
            lowest = {name: min(lowest[name], rss_kb(pid)) for name, pid in pids.items()}
        return lowest

    # Memory after a warm-up, half-way and at the end: flat means it stops growing.
    warm_up, first, second = probes[:2000], probes[2000:6000], probes[6000:]
    run_all(warm_up)
    rss = [settled_rss()]
    for batch in (first, second):
        run_all(batch)
        rss.append(settled_rss())

    # Malformed HTTP itself: a garbage request line, a lying Content-Length, a chunked body over the limit.
    for port in ports.values():
        for raw in (
            b"\x00\x01GARBAGE\r\n\r\n",
            b"POST /webhooks/fagchat/webhook HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
            b"POST /webhooks/fagchat/webhook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            + (b"10000\r\n" + b"x" * 0x10000 + b"\r\n") * 3
            + b"0\r\n\r\n",
        ):
            answer = raw_http(port, raw)
            status_line = answer.split(b"\r\n", 1)[0]
            assert not status_line.startswith(b"HTTP/1.1 5"), (port, status_line)
            assert b"Traceback" not in answer

    print("statuses:", dict(sorted(statuses.items())))
    print("rss KiB after warm-up, half-way, end:", rss)
    assert not problems, f"{len(problems)} problems, e.g. {problems[:15]}"
    for name in pids:
        # Flat over the second half (4,400 requests): the first half is warm-up too, since the
        # staff app's suggestion indexing embeds the first chat messages in batches and the
        # encoder's buffers and the allocator settle at their size then (~60 MiB, once).
        start, end = rss[1][name], rss[-1][name]
        # 10 %, and for the small processes at least 16 MiB: allocator pools settle in steps.
        assert end - start <= max(start * 0.10, 16 * 1024), f"{name} grew: {[r[name] for r in rss]} KiB"
    # Every server still serves.
    assert "Kilde" in texts(say(live_stack.url("rasa"), "fuzzafter-" + "0" * 20, "Hvad er stalking?"))
    for url in (live_stack.url("web") + "/healthz", staff.url("staff") + "/login"):
        conn = http.client.HTTPConnection("127.0.0.1", int(url.split(":")[2].split("/")[0]), timeout=10)
        conn.request("GET", "/" + url.split("/", 3)[3])
        assert conn.getresponse().status == 200


def request(port: int, method: str, path: str, body: bytes = b"", headers: Optional[Dict[str, str]] = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=body or None, headers={"Content-Type": "application/json", **(headers or {})})
        answer = conn.getresponse()
        return answer.status, dict(answer.getheaders()), answer.read()
    finally:
        conn.close()


def test_security_baseline(live_stack, staff):
    rasa = int(live_stack.env["FAGCHAT_RASA_PORT"])
    chat = json.dumps({"sender": "securitycheck-" + "0" * 20, "message": "hej"}).encode()
    # Rasa's HTTP API is off: only the chat channel answers.
    for method, path in [
        ("POST", "/model/parse"),
        ("GET", "/status"),
        ("GET", "/conversations/x/tracker"),
        ("POST", "/conversations/x/messages"),
        ("PUT", "/model"),
        ("POST", "/webhooks/rest/webhook"),
    ]:
        status, _, _ = request(rasa, method, path, chat)
        assert status in (404, 405), (method, path, status)
    # CORS: only the configured website origins (stack_env: http://localhost).
    _, headers, _ = request(rasa, "POST", "/webhooks/fagchat/webhook", chat, {"Origin": "http://evil.example"})
    assert "Access-Control-Allow-Origin" not in headers
    _, headers, _ = request(rasa, "POST", "/webhooks/fagchat/webhook", chat, {"Origin": "http://localhost"})
    assert headers.get("Access-Control-Allow-Origin") == "http://localhost"
    web = int(live_stack.env["FAGCHAT_WEB_PORT"])
    status, _, _ = request(web, "POST", "/webhooks/fagchat/webhook", chat, {"Origin": "http://evil.example"})
    assert status == 403
    # Security headers on the chat channel, its errors included, and on our pages.
    for path in ("/webhooks/fagchat/webhook", "/nothing-here"):
        _, headers, _ = request(rasa, "POST", path, chat)
        assert headers.get("X-Content-Type-Options") == "nosniff" and "default-src 'none'" in headers.get(
            "Content-Security-Policy", ""
        ), (path, headers)
        assert headers.get("Cache-Control") == "no-store"
    _, headers, _ = request(web, "GET", "/")
    assert "default-src 'self'" in headers["Content-Security-Policy"] and headers["X-Frame-Options"] == "DENY"
    # The staff app is never reachable without a login.
    port = int(staff.env["FAGCHAT_STAFF_PORT"])
    for path in ("/", "/inbox", "/export", "/review", "/audit", "/dashboard"):
        status, headers, body = request(port, "GET", path)
        assert status in (303, 404) and b"<table" not in body, (path, status)
        if status == 303:
            assert headers["Location"].startswith("/login")
