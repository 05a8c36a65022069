"""Rate limits per client address on the public chat routes (issue 12).

The token bucket itself with a fake clock, the client address behind trusted proxies,
and the web process answering 429 in Danish with Retry-After.
"""

import logging

import pytest

from fagchat import httpkit
from fagchat.web.app import create_app
from fagchat.web.ratelimit import RateLimiter, client_key
from tests.helpers import free_port
from tests.served import served


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# ---- the token bucket -------------------------------------------------------------------


def test_a_burst_is_allowed_then_one_request_per_interval():
    clock = Clock()
    limiter = RateLimiter(per_minute=6, burst=3, clock=clock)  # one token every 10 s
    assert [limiter.take("a") for _ in range(3)] == [0, 0, 0]
    assert limiter.take("a") == pytest.approx(10)
    clock.now += 4
    assert limiter.take("a") == pytest.approx(6)  # a refused request costs nothing
    clock.now += 6
    assert limiter.take("a") == 0 and limiter.take("a") == pytest.approx(10)


def test_the_bucket_refills_to_the_burst_and_no_further():
    clock = Clock()
    limiter = RateLimiter(per_minute=60, burst=2, clock=clock)
    limiter.take("a"), limiter.take("a")
    clock.now += 3600
    assert [limiter.take("a") for _ in range(3)][:2] == [0, 0] and limiter.take("a") > 0


def test_each_client_has_its_own_bucket():
    limiter = RateLimiter(per_minute=1, burst=1, clock=Clock())
    assert limiter.take("a") == 0 and limiter.take("a") > 0
    assert limiter.take("b") == 0


def test_memory_stays_bounded_by_forgetting_the_least_recent_clients():
    clock = Clock()
    limiter = RateLimiter(per_minute=1, burst=1, clock=clock, max_clients=100)
    for i in range(1000):
        limiter.take(f"client-{i}")
    assert len(limiter) <= 100
    assert limiter.take("client-999") > 0  # the most recent are kept


def test_first_refusal_is_reported_once_until_the_client_is_served_again():
    clock = Clock()
    limiter = RateLimiter(per_minute=60, burst=1, clock=clock)
    limiter.take("a")
    limiter.take("a")
    assert limiter.newly_limited("a") is True and limiter.newly_limited("a") is False
    clock.now += 1
    assert limiter.take("a") == 0
    limiter.take("a")
    assert limiter.newly_limited("a") is True


@pytest.mark.parametrize(
    "address, key",
    [
        ("203.0.113.7", "203.0.113.7"),
        # An IPv6 user gets a whole /64; counting each address would let them pick new ones.
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::9", "2001:db8:1:2::/64"),
        ("not an address", "not an address"),
    ],
)
def test_client_keys(address, key):
    assert client_key(address) == key


# ---- the client address behind a proxy ----------------------------------------------------


PROXIES = httpkit.proxy_networks(("10.0.0.5", "10.1.0.0/16"), "FAGCHAT_WEB_TRUSTED_PROXIES")


@pytest.mark.parametrize(
    "peer, forwarded, proxies, client",
    [
        ("198.51.100.4", None, PROXIES, "198.51.100.4"),
        # Anyone can write the header: it is read only when the peer is a trusted proxy.
        ("198.51.100.4", "203.0.113.9", PROXIES, "198.51.100.4"),
        ("10.0.0.5", "203.0.113.9", (), "10.0.0.5"),
        ("10.0.0.5", "203.0.113.9", PROXIES, "203.0.113.9"),
        # Read from the right: the client's own entries further left are ignored.
        ("10.0.0.5", "1.2.3.4, 203.0.113.9, 10.1.2.3", PROXIES, "203.0.113.9"),
        ("10.0.0.5", "10.1.9.9", PROXIES, "10.1.9.9"),
        ("10.0.0.5", "garbage, 10.1.2.3", PROXIES, "10.1.2.3"),
        ("10.0.0.5", " ", PROXIES, "10.0.0.5"),
    ],
)
def test_client_address(peer, forwarded, proxies, client):
    assert httpkit.client_address(peer, forwarded, proxies) == client


def test_a_malformed_proxy_setting_stops_the_process_naming_it():
    with pytest.raises(SystemExit, match="FAGCHAT_WEB_TRUSTED_PROXIES"):
        httpkit.proxy_networks(("10.0.0.300",), "FAGCHAT_WEB_TRUSTED_PROXIES")


# ---- the web process ------------------------------------------------------------------------


def web(**overrides: str):
    """The web app in front of a Rasa that is not there (allowed requests get 503)."""
    config = {"FAGCHAT_RASA_PORT": str(free_port()), "FAGCHAT_PROXY_TIMEOUT": "2"}
    config.update({"FAGCHAT_CHAT_RATE_PER_MINUTE": "1", "FAGCHAT_CHAT_RATE_BURST": "2", **overrides})
    return create_app(config)


def chat(app, route: str = "webhook", headers=None):
    body = {"sender": "a" * 32, "message": "hej", "value": "up", "article": "x"}
    answer = served(app).request("POST", f"/webhooks/fagchat/{route}", json=body, headers=headers or {})
    return answer


def test_the_chat_routes_answer_429_in_danish_with_retry_after(caplog):
    app = web()
    with caplog.at_level(logging.INFO, logger="fagchat.web"):
        allowed = [chat(app).status, chat(app, "feedback").status]
        refused = chat(app)
        again = chat(app, "feedback")
    assert 429 not in allowed
    assert refused.status == 429 and again.status == 429
    assert refused.json["error"] == "too_many_requests" and "Vent" in refused.json["message"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["Cache-Control"] == "no-store"
    limited = [r.getMessage() for r in caplog.records if "rate_limited" in r.getMessage()]
    assert len(limited) == 1 and "127.0.0.1" not in limited[0]


def test_other_pages_are_not_limited():
    app = web(FAGCHAT_CHAT_RATE_BURST="1")
    chat(app), chat(app)
    page = served(app).request("GET", "/healthz")
    assert page.status == 200


def test_behind_a_trusted_proxy_each_client_has_its_own_limit():
    app = web(FAGCHAT_WEB_TRUSTED_PROXIES="127.0.0.1", FAGCHAT_CHAT_RATE_BURST="1")
    first = {"X-Forwarded-For": "203.0.113.1"}
    assert chat(app, headers=first).status != 429
    assert chat(app, headers=first).status == 429
    assert chat(app, headers={"X-Forwarded-For": "203.0.113.2"}).status != 429


def test_without_trusted_proxies_the_header_changes_nothing():
    app = web(FAGCHAT_CHAT_RATE_BURST="1")
    assert chat(app, headers={"X-Forwarded-For": "203.0.113.1"}).status != 429
    assert chat(app, headers={"X-Forwarded-For": "203.0.113.2"}).status == 429


def test_zero_turns_the_limit_off():
    app = web(FAGCHAT_CHAT_RATE_PER_MINUTE="0", FAGCHAT_CHAT_RATE_BURST="1")
    assert all(chat(app).status != 429 for _ in range(5))
