"""The web process (fagchat/web): pages, headers, config, and the proxy to Rasa.

Sanic-level tests with `create_app(overrides)` and sanic-testing's client. Rasa is a small
fake HTTP server in a thread, so every upstream failure (down, slow, 5xx, not JSON) can be
produced on demand; one integration test sends garbage through the real stack.
"""

import json
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Dict, Iterator, List, Tuple

import pytest

from fagchat.knowledge import CONTACT_FIELDS, Contact, KnowledgeBase
from fagchat.web.app import PAGE_CSP, WIDGET_DIR, create_app, fallback_contact, handle_error
from tests.helpers import free_port, post
from tests.served import served

SECRET = "Anna Hansen 010190-1234 hemmelig"  # user text that must never reach a log line


class FakeRasa(ThreadingHTTPServer):
    """Answers like the chat channel, or fails in the way `mode` says."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), FakeRasaHandler)
        self.port = self.server_address[1]
        self.mode = "ok"
        self.requests: List[Tuple[str, bytes]] = []


class FakeRasaHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.requests.append((self.path, body))
        mode = self.server.mode
        if mode == "slow":
            time.sleep(2.5)
        status, content_type, answer = {
            "ok": (200, "application/json", json.dumps([{"recipient_id": "a", "text": "Hej"}])),
            "slow": (200, "application/json", "[]"),
            "bad_request": (400, "application/json", json.dumps({"error": "invalid_json", "message": "Nej"})),
            "error": (500, "text/plain", "Traceback (most recent call last): boom"),
            "html": (404, "text/html", "<h1>Not found</h1>"),
        }[mode]
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(answer.encode())))
        self.end_headers()
        try:
            self.wfile.write(answer.encode())
        except BrokenPipeError:
            pass  # the proxy gave up waiting (the "slow" case)

    def log_message(self, *args: object) -> None:
        """Keep the test output quiet."""


@pytest.fixture
def rasa() -> Iterator[FakeRasa]:
    """A fake Rasa server on a free port."""
    server = FakeRasa()
    # A short poll interval: shutdown() waits for the next poll (0.5 s by default, per test).
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def make_app(rasa_port: int, **overrides: str):
    """A web app pointed at `rasa_port`, with small limits so tests stay fast."""
    config: Dict[str, str] = {"FAGCHAT_HOST": "127.0.0.1", "FAGCHAT_RASA_PORT": str(rasa_port)}
    config.update(FAGCHAT_PROXY_TIMEOUT="1", FAGCHAT_MAX_BODY_BYTES="2000")
    config.update(FAGCHAT_ALLOWED_ORIGINS="https://www.example.org", **overrides)
    return create_app(config)


@pytest.fixture
def app(rasa: FakeRasa):
    """The web app in front of the fake Rasa."""
    return make_app(rasa.port)


def chat(app, body: object = None, raw: bytes = None, path: str = "webhook", headers=None):
    """POST to the proxy; return sanic-testing's response."""
    data = raw if raw is not None else json.dumps(body or {"sender": "abc", "message": SECRET})
    answer = served(app).request("POST", f"/webhooks/fagchat/{path}", data=data, headers=headers or {})
    return answer


def assert_security_headers(answer) -> None:
    headers = answer.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Frame-Options"] == "DENY"
    assert "camera=()" in headers["Permissions-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


# ---- pages and files ----------------------------------------------------------------


def test_demo_page_has_strict_csp_and_the_embed_snippet(app) -> None:
    answer = served(app).request("GET", "/")
    assert answer.status == 200
    assert answer.headers["Content-Security-Policy"] == PAGE_CSP
    assert "script-src 'self';" in PAGE_CSP and "unsafe" not in PAGE_CSP
    assert_security_headers(answer)
    assert '<html lang="da">' in answer.text
    assert '<script src="/fagchat.js" defer' in answer.text
    # A 304 carries the page's CSP too: the browser merges it into the cached page.
    again = served(app).request("GET", "/", headers={"If-None-Match": answer.headers["ETag"]})
    assert again.status == 304 and again.headers["Content-Security-Policy"] == PAGE_CSP


@pytest.mark.parametrize("path, kind", [("/fagchat.js", "javascript"), ("/fagchat.css", "css")])
def test_widget_files_are_cacheable(app, path: str, kind: str) -> None:
    answer = served(app).request("GET", path)
    assert answer.status == 200
    assert kind in answer.headers["Content-Type"]
    assert "max-age=" in answer.headers["Cache-Control"]
    assert_security_headers(answer)
    again = served(app).request("GET", path, headers={"If-None-Match": answer.headers["ETag"]})
    assert again.status == 304


def test_widget_never_uses_inner_html() -> None:
    script = (WIDGET_DIR / "fagchat.js").read_text()
    for sink in (".innerHTML", ".outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script
    assert "localStorage." not in script and "document.cookie" not in script


def test_healthz(app) -> None:
    answer = served(app).request("GET", "/healthz")
    assert answer.status == 200 and answer.json == {"status": "alive", "service": "web"}


def test_config_has_contact_details_and_limit(rasa: FakeRasa) -> None:
    app = make_app(rasa.port, FAGCHAT_MAX_MESSAGE_CHARS="321")
    answer = served(app).request("GET", "/fagchat/config.json")
    assert answer.status == 200
    contact = answer.json["contact"]
    assert contact["name"] and "@" in contact["email"]
    assert all(contact.values()), "empty values are dropped"
    assert answer.json["maxMessageChars"] == 321
    # The counselling line is for victims and relatives, not the professionals' number.
    counselling = KnowledgeBase.load().contact.phone
    assert counselling and counselling not in answer.text and "phone" not in contact


def centre(**values: str) -> Contact:
    """The centre's contact details, with the counselling line set and `values` on top."""
    fields = {name: "" for name in CONTACT_FIELDS}
    fields.update(name="Dansk Stalking Center", phone="25 17 73 74", email="kontakt@example.dk", **values)
    return Contact(**fields)


@pytest.mark.parametrize(
    "values, expected",
    [
        ({}, {"name": "Dansk Stalking Center", "email": "kontakt@example.dk"}),
        ({"professional_hours": "hverdage kl. 9-12"}, {"name": "Dansk Stalking Center", "email": "kontakt@example.dk"}),
        (
            {"professional_phone": "11 22 33 44", "professional_hours": "hverdage kl. 9-12"},
            {
                "name": "Dansk Stalking Center",
                "email": "kontakt@example.dk",
                "professional_phone": "11 22 33 44",
                "professional_hours": "hverdage kl. 9-12",
            },
        ),
    ],
)
def test_fallback_gives_professionals_their_own_number_or_only_the_email(values, expected) -> None:
    assert fallback_contact(centre(**values)) == expected


# ---- errors ---------------------------------------------------------------------------


def test_unknown_page_is_a_danish_html_page(app) -> None:
    answer = served(app).request("GET", "/findes-ikke")
    assert answer.status == 404
    assert "text/html" in answer.headers["Content-Type"]
    assert "Siden findes ikke" in answer.text and "Traceback" not in answer.text
    assert answer.headers["Content-Security-Policy"] == PAGE_CSP


def test_api_errors_are_danish_json(app) -> None:
    answer = served(app).request("GET", "/fagchat/nope.json")
    assert answer.status == 404
    assert set(answer.json) == {"error", "message"}
    assert_security_headers(answer)


def test_method_not_allowed_is_json_with_allow() -> None:
    # Called directly: sanic-testing's client installs its own 405 handler.
    from sanic.exceptions import MethodNotSupported

    exception = MethodNotSupported("no", "GET", ["POST"])
    answer = handle_error(SimpleNamespace(path="/webhooks/fagchat/webhook"), exception)
    assert answer.status == 405
    assert json.loads(answer.body)["error"] == "method_not_allowed"
    assert answer.headers["Allow"] == "POST"


def test_unexpected_exception_is_a_500_without_details(caplog: pytest.LogCaptureFixture) -> None:
    answer = handle_error(SimpleNamespace(path="/"), ValueError(SECRET))
    assert answer.status == 500
    assert "ValueError" not in answer.body.decode() and "Hansen" not in answer.body.decode()
    assert "Hansen" not in caplog.text


def test_oversized_body_gets_413_and_is_not_forwarded(app, rasa: FakeRasa) -> None:
    answer = chat(app, raw=b'{"sender":"abc","message":"' + b"x" * 5000 + b'"}')
    assert answer.status == 413
    assert answer.json["error"] == "too_large"
    assert_security_headers(answer)
    assert rasa.requests == []


# ---- the proxy ------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["webhook", "feedback"])
def test_forwards_the_body_unchanged(app, rasa: FakeRasa, path: str) -> None:
    raw = json.dumps({"sender": "abc", "message": "Hvad er stalking? æøå"}).encode()
    answer = chat(app, raw=raw, path=path)
    assert answer.status == 200
    assert answer.json == [{"recipient_id": "a", "text": "Hej"}]
    assert answer.headers["Cache-Control"] == "no-store"
    assert rasa.requests == [(f"/webhooks/fagchat/{path}", raw)]


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1,2]", b"\x00\xff\xfe", b'{"sender": 5}'])
def test_garbage_is_forwarded_and_the_channels_4xx_passed_back(app, rasa: FakeRasa, raw: bytes) -> None:
    rasa.mode = "bad_request"
    answer = chat(app, raw=raw)
    assert answer.status == 400
    assert answer.json == {"error": "invalid_json", "message": "Nej"}


@pytest.mark.parametrize("mode", ["error", "html"])
def test_a_failing_rasa_is_reported_as_unavailable(app, rasa: FakeRasa, mode: str) -> None:
    rasa.mode = mode
    answer = chat(app)
    assert answer.status == 503
    assert answer.json["error"] == "bot_unavailable"
    assert "Traceback" not in answer.text


def test_rasa_down_gives_503_in_danish_without_user_text_in_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    app = make_app(free_port())  # nobody listens there
    answer = chat(app)
    assert answer.status == 503
    assert answer.json["error"] == "bot_unavailable"
    assert "ring 112" in answer.json["message"]
    assert_security_headers(answer)
    assert "proxy.unavailable" in caplog.text
    assert "Hansen" not in caplog.text and "010190" not in caplog.text


def test_slow_rasa_times_out_with_503(app, rasa: FakeRasa) -> None:
    rasa.mode = "slow"
    started = time.monotonic()
    answer = chat(app)
    assert answer.status == 503 and answer.json["error"] == "bot_unavailable"
    assert time.monotonic() - started < 2.4


# ---- CORS -----------------------------------------------------------------------------


def test_cors_allows_configured_origins_only(app, rasa: FakeRasa) -> None:
    good = {"Origin": "https://www.example.org"}
    answer = chat(app, headers=good)
    assert answer.status == 200
    assert answer.headers["Access-Control-Allow-Origin"] == "https://www.example.org"

    preflight = served(app).request(
        "OPTIONS", "/webhooks/fagchat/webhook", headers={**good, "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status == 204
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://www.example.org"

    bad = {"Origin": "https://evil.example"}
    preflight = served(app).request("OPTIONS", "/webhooks/fagchat/webhook", headers=bad)
    assert preflight.status == 403
    assert "Access-Control-Allow-Origin" not in preflight.headers
    rasa.requests.clear()
    answer = chat(app, headers=bad)
    assert answer.status == 403 and "Access-Control-Allow-Origin" not in answer.headers
    assert rasa.requests == [], "a foreign site's request never reaches Rasa"


def test_cors_on_config_and_same_origin_is_allowed(app) -> None:
    answer = served(app).request("GET", "/fagchat/config.json", headers={"Origin": "https://www.example.org"})
    assert answer.headers["Access-Control-Allow-Origin"] == "https://www.example.org"
    own = f"http://127.0.0.1:{served(app).port}"
    answer = chat(app, headers={"Origin": own})
    assert answer.status == 200


# ---- the real stack ---------------------------------------------------------------------


@pytest.mark.integration
def test_garbage_through_the_real_stack_never_gives_5xx(live_stack) -> None:
    url = f"{live_stack.url('web')}/webhooks/fagchat/webhook"
    messages = ["\u0000\u202e\u200b", "<script>alert(1)</script>", '/greet{"role": "politi"}', "x" * 5000, 7]
    bodies = ["", "null", "[]", "{}", "not json", "\x00\x01\x02", '{"sender": "abc"}', '{"sender": ["x"]}']
    bodies += [json.dumps({"sender": "abc", "message": m}) for m in messages]
    for body in bodies:
        status, answer = post(url, body, raw=True)
        assert status < 500, (body[:40], status, answer)
        assert "Traceback" not in str(answer)
    status, _ = post(url, "x" * 70000, raw=True)
    assert status == 413
    with pytest.raises(urllib.error.HTTPError) as problem:
        urllib.request.urlopen(url, timeout=10)  # GET
    assert problem.value.code == 405
    assert json.loads(problem.value.read())["error"] == "method_not_allowed"
