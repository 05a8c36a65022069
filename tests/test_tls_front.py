"""The nginx TLS front (deploy/nginx/fagchat.conf) in front of the real processes.

Debian's nginx runs from a temporary prefix on free ports with a throw-away CA, in front of
a web process and a staff app that trust 127.0.0.1 as their proxy (Rasa and the action
server are the shared `live_stack`'s). Clients connect from other loopback addresses
(127.0.0.2, …) so that the address nginx saw differs from nginx's own. `make proxy-deps`
(a prerequisite of `make test`) installs nginx.
"""

import http.client
import json
import re
import secrets
import socket
import ssl
import subprocess
from typing import Iterator, Optional
from urllib.parse import urlencode

import pytest

from fagchat import settings
from fagchat.run import nginx_conf
from fagchat.run.launcher import Stack
from fagchat.staff.app import CSP as STAFF_CSP
from fagchat.text import conversation_ref
from fagchat.web.app import PAGE_CSP
from tests.helpers import free_port, wait_until
from tests.tls_front_support import (
    PUBLIC,
    STAFF,
    Front,
    Nginx,
    call,
    certificates,
    create_staff_user,
    debian_main_conf,
    nginx_main_conf,
    post_json,
    tls_context,
)

NOT_FOUND = b"Siden findes ikke.\n"  # nginx's own 404 (deploy/nginx/fagchat.conf)
BURST = 3  # chat requests per client address before 429 (the web process under test)


@pytest.fixture(scope="module")
def front(live_stack, tmp_path_factory) -> Iterator[Front]:
    """nginx with the rendered configuration, in front of a web process and a staff app."""
    if Nginx.binary() is None:
        pytest.fail("nginx is not installed: run `make proxy-deps` (make test does)")
    tmp = tmp_path_factory.mktemp("tls-front")
    env = {
        **live_stack.env,
        "FAGCHAT_WEB_PORT": str(free_port()),
        "FAGCHAT_STAFF_PORT": str(free_port()),
        "FAGCHAT_WEB_TRUSTED_PROXIES": "127.0.0.1",
        "FAGCHAT_STAFF_TRUSTED_PROXIES": "127.0.0.1",
        "FAGCHAT_STAFF_SECURE_COOKIE": "1",
        "FAGCHAT_CHAT_RATE_BURST": str(BURST),
        "FAGCHAT_CHAT_RATE_PER_MINUTE": "0.01",  # no refill while the test runs
    }
    stack = Stack(env, services=("web", "staff"), log_dir=tmp / "log")
    https, http_port = free_port(), free_port()
    config = nginx_conf.Front(
        PUBLIC,
        STAFF,
        cert_dir=str(certificates(tmp / "certs", [PUBLIC, STAFF])),
        https_port=https,
        http_port=http_port,
        listen=("127.0.0.1",),
        staff_allow=("127.0.0.2", "127.0.0.3"),
        log_dir=str(tmp / "log"),
    )
    (tmp / "fagchat.conf").write_text(nginx_conf.render(config, settings.read(stack.env)))
    nginx = Nginx(tmp, nginx_main_conf(tmp, tmp / "fagchat.conf"))
    try:
        stack.start(timeout=120)
        nginx.start(https)
        yield Front(https, http_port, tmp / "certs" / "ca.pem", stack, tmp / "log")
    finally:
        nginx.stop()
        stack.stop()


@pytest.mark.integration
def test_a_chat_message_is_answered_over_https(front):
    sender = secrets.token_hex(16)
    origin = f"https://{PUBLIC}:{front.https}"  # the widget on the demo page: same origin
    answer = post_json(
        front,
        "/webhooks/fagchat/webhook",
        {"sender": sender, "message": "Hvad er stalking?"},
        "127.0.0.2",
        Origin=origin,
    )
    assert answer.status == 200, answer
    messages = json.loads(answer.body)
    assert messages and all(m.get("recipient_id") == sender for m in messages), messages
    assert any(m.get("text") for m in messages)
    assert answer.one("Strict-Transport-Security") == nginx_conf.HSTS
    assert answer.one("X-Content-Type-Options") == "nosniff"
    assert answer.one("Access-Control-Allow-Origin") == origin
    page = call(front, PUBLIC, "GET", "/")
    assert page.status == 200 and b"fagchat.js" in page.body
    # nginx adds no second policy: the web process's own stands, and frames stay refused.
    assert page.one("Content-Security-Policy") == PAGE_CSP
    assert page.one("X-Frame-Options") == "DENY"
    assert call(front, PUBLIC, "GET", "/fagchat.js").status == 200


@pytest.mark.integration
def test_the_web_process_counts_the_address_nginx_saw(front):
    def vote(source: str, **headers: str) -> int:
        body = {"sender": secrets.token_hex(16), "value": "up", "article": "hvad-er-stalking"}
        return post_json(front, "/webhooks/fagchat/feedback", body, source, **headers).status

    assert [vote("127.0.0.4") for _ in range(BURST)].count(429) == 0
    # A forged header changes nothing: nginx replaces it with the address it saw.
    assert vote("127.0.0.4", **{"X-Forwarded-For": "198.51.100.7"}) == 429
    assert vote("127.0.0.5") != 429  # behind nginx, yet a bucket of its own
    line = f"proxy.rate_limited route=feedback client={conversation_ref('127.0.0.4')}"
    wait_until(lambda: line in (front.log / "web.log").read_text(), 10, "the rate-limit line naming 127.0.0.4")


@pytest.mark.integration
def test_staff_login_over_https_with_secure_cookies_and_the_real_address(front):
    from fagchat.staff import schema
    from tests.test_staff_support import rows

    name, password = f"tls-{secrets.token_hex(4)}", secrets.token_urlsafe(16)
    create_staff_user(front.stack.env, name, password)
    form = call(front, STAFF, "GET", "/login")
    assert form.status == 200 and form.one("Content-Security-Policy") == STAFF_CSP
    assert form.one("Strict-Transport-Security") == nginx_conf.HSTS
    login_cookie = form.headers.get_all("Set-Cookie")[0]
    assert "; secure" in login_cookie.lower()
    token = login_cookie.split(";")[0].split("=", 1)[1]
    body = urlencode({"login_token": token, "username": name, "password": password}).encode()
    form_type, cookie = "application/x-www-form-urlencoded", login_cookie.split(";")[0]
    # A forged X-Forwarded-For: nginx replaces it with the address it saw.
    headers = {"Content-Type": form_type, "Cookie": cookie, "X-Forwarded-For": "203.0.113.9"}
    answer = call(front, STAFF, "POST", "/login", body, headers)
    assert answer.status == 303, answer.body[:300]
    session = next(c for c in answer.headers.get_all("Set-Cookie") if c.startswith("fagchat_staff="))
    assert "; secure" in session.lower() and "httponly" in session.lower()
    home = call(front, STAFF, "GET", "/", headers={"Cookie": session.split(";")[0]})
    assert home.status == 200 and home.one("Content-Security-Policy") == STAFF_CSP
    logins = rows(front.stack.env["FAGCHAT_DB_URL"], schema.audit, action="login", username=name)
    assert [row.ip for row in logins] == ["127.0.0.2"]


@pytest.mark.integration
def test_plain_http_redirects_to_https(front):
    for host in (PUBLIC, STAFF):
        answer = call(front, host, "GET", "/login?next=/x", tls=False)
        assert answer.status == 301
        assert answer.headers["Location"] == f"https://{host}:{front.https}/login?next=/x"
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        call(front, "elsewhere.test", "GET", "/", tls=False)


@pytest.mark.integration
def test_each_host_serves_only_its_own_app(front):
    refused = call(front, PUBLIC, "GET", "/login")
    assert (refused.status, refused.body) == (404, NOT_FOUND)
    assert call(front, PUBLIC, "GET", "/static/staff.css").body == NOT_FOUND
    for path in ("/healthz", "/readyz"):  # for monitors on the machine, not the internet
        assert call(front, PUBLIC, "GET", path).body == NOT_FOUND
    for path in ("/healthz", "/readyz", "/model/current.tar.gz"):  # the model is Rasa's alone
        assert call(front, STAFF, "GET", path, source="127.0.0.3").body == NOT_FOUND
    chat = call(
        front, STAFF, "POST", "/webhooks/fagchat/webhook", b'{"sender": "x", "message": "hej"}', source="127.0.0.3"
    )
    assert chat.status in (303, 403, 404) and not chat.body.startswith(b"[")
    widget = call(front, STAFF, "GET", "/fagchat.js", source="127.0.0.3")
    assert widget.status != 200 and b"fagchat" not in widget.body.lower()
    # Only the allowed addresses reach the staff host; the refusal carries its headers too.
    outsider = call(front, STAFF, "GET", "/login", source="127.0.0.9")
    assert outsider.status == 403 and outsider.one("Content-Security-Policy") == STAFF_CSP


@pytest.mark.integration
@pytest.mark.parametrize(
    "method, path",
    [
        ("POST", "/webhooks/rest/webhook"),  # Rasa's stock channel
        ("GET", "/conversations/abc/tracker"),  # Rasa's HTTP API
        ("POST", "/model/parse"),
        ("GET", "/webhooks/fagchat/"),  # the chat channel's own root
        ("POST", "/webhook"),  # the action server
        ("GET", "/health"),
        ("GET", "/actions"),
    ],
)
def test_rasa_and_the_action_server_are_not_behind_the_proxy(front, method, path):
    answer = call(front, PUBLIC, method, path, b"{}" if method == "POST" else None, source="127.0.0.6")
    assert (answer.status, answer.body) == (404, NOT_FOUND)
    assert answer.one("Strict-Transport-Security") == nginx_conf.HSTS


@pytest.mark.integration
def test_bodies_are_limited_as_in_the_processes(front):
    limit = settings.read(front.stack.env).int("FAGCHAT_MAX_BODY_BYTES")
    vote = json.dumps({"sender": secrets.token_hex(16), "value": "up", "article": "x"}).encode()
    headers = {"Content-Type": "application/json"}
    at_limit = call(front, PUBLIC, "POST", "/webhooks/fagchat/feedback", vote.ljust(limit), headers, "127.0.0.7")
    over = call(front, PUBLIC, "POST", "/webhooks/fagchat/feedback", vote.ljust(limit + 1), headers, "127.0.0.7")
    assert at_limit.status not in (413, 429) and at_limit.status < 500, at_limit
    assert over.status == 413


@pytest.mark.integration
def test_only_tls_1_2_and_newer_for_our_names_only(front):
    def handshake(name: Optional[str], context: ssl.SSLContext) -> str:
        with socket.create_connection(("127.0.0.1", front.https), timeout=10) as sock:
            with context.wrap_socket(sock, server_hostname=name) as tls:
                return tls.version()

    assert handshake(PUBLIC, tls_context(front.ca)) in ("TLSv1.2", "TLSv1.3")
    modern = tls_context(front.ca)
    modern.maximum_version = ssl.TLSVersion.TLSv1_2
    assert handshake(STAFF, modern) == "TLSv1.2"
    old = tls_context(front.ca)
    old.set_ciphers("DEFAULT:@SECLEVEL=0")  # this client would accept anything old
    old.minimum_version, old.maximum_version = ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1
    with pytest.raises(ssl.SSLError):
        handshake(PUBLIC, old)
    blind = tls_context(front.ca)
    blind.check_hostname = False
    for name in ("other.fagchat.test", None):  # a name that is not ours, and no SNI at all
        with pytest.raises(ssl.SSLError):
            handshake(name, blind)


@pytest.mark.integration
def test_the_default_rendering_passes_nginx_t_inside_debians_nginx_conf(tmp_path):
    """What operators install: IPv4 and IPv6, Let's Encrypt's challenge, Debian's http block."""
    certs = certificates(tmp_path / "certs", [PUBLIC, STAFF])
    front = nginx_conf.Front(PUBLIC, STAFF, str(certs), acme_webroot="/var/www/letsencrypt", log_dir=str(tmp_path))
    (tmp_path / "fagchat").write_text(nginx_conf.render(front, settings.read({})))
    conf = debian_main_conf(tmp_path, tmp_path / "fagchat")
    checked = subprocess.run([Nginx.binary() or "nginx", "-t", "-c", str(conf), "-e", str(tmp_path / "error.log")],
                             capture_output=True, text=True, timeout=60)  # fmt: skip
    assert checked.returncode == 0, checked.stderr


def test_nginx_waits_longer_than_the_web_process():
    for timeout, holding in (("20", "4"), ("45", "4"), ("3", "30")):
        values = settings.read({"FAGCHAT_PROXY_TIMEOUT": timeout, "FAGCHAT_HOLDING_SECONDS": holding})
        text = nginx_conf.render(nginx_conf.Front(PUBLIC, STAFF), values)
        waits = {int(line.split()[1].rstrip("s;")) for line in text.splitlines() if "proxy_read_timeout" in line}
        assert min(waits) > max(float(timeout), float(holding)), waits


def test_the_rendered_file_follows_the_settings():
    values = settings.read({"FAGCHAT_WEB_PORT": "9001", "FAGCHAT_STAFF_PORT": "9002", "FAGCHAT_MAX_BODY_BYTES": "4096"})
    text = nginx_conf.render(nginx_conf.Front(PUBLIC, STAFF), values)
    assert "server 127.0.0.1:9001;" in text and "server 127.0.0.1:9002;" in text
    assert text.count("client_max_body_size 4096;") == 2
    assert not re.search(r"@[A-Z_]+@", "\n".join(x for x in text.splitlines() if not x.lstrip().startswith("#")))
    assert text.count("ssl_protocols TLSv1.2 TLSv1.3;") == 3  # every HTTPS server, overriding Debian's
    assert ":5005" not in text and ":5055" not in text  # no way to Rasa or the action server


@pytest.mark.parametrize(
    "public, staff, message",
    [
        ("chat.example.dk", "chat.example.dk", "must differ"),
        ("chat.example.dk; include /etc/passwd", "staff.example.dk", "not a host name"),
        ("chat.example.dk", "Staff Example", "not a host name"),
    ],
)
def test_unsafe_names_are_refused(public, staff, message):
    with pytest.raises(SystemExit, match=message):
        nginx_conf.render(nginx_conf.Front(public, staff), settings.read({}))


def test_settings_that_defeat_the_proxy_are_warned_about():
    plain = settings.read({"FAGCHAT_STAFF_SECURE_COOKIE": "0"})
    found = " ".join(nginx_conf.warnings(plain))
    assert "FAGCHAT_WEB_TRUSTED_PROXIES=127.0.0.1" in found and "FAGCHAT_STAFF_TRUSTED_PROXIES" in found
    assert "FAGCHAT_STAFF_SECURE_COOKIE=1" in found
    behind = settings.read({"FAGCHAT_WEB_TRUSTED_PROXIES": "127.0.0.1", "FAGCHAT_STAFF_TRUSTED_PROXIES": "127.0.0.0/8"})
    assert nginx_conf.warnings(behind) == []
