"""Fixtures for the browser tests: one Chromium per session, a fresh context per test."""

from typing import Callable, Iterator, List

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from fagchat.run.launcher import Stack
from tests.browser.widget_page import AXE, CHROMIUM, LAUNCH_ARGS
from tests.helpers import free_port


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright.

    Per module, not per session: Playwright's sync API keeps an event loop running in
    this thread while it is open, and sanic-testing (tests/test_web.py and others) cannot
    start its own loop then.
    """
    if not AXE.exists():
        pytest.fail("axe-core is missing: run `make browser-deps`.")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def web_url(live_stack: Stack) -> str:
    """The demo page of the real stack."""
    return live_stack.url("web") + "/"


@pytest.fixture
def new_context(browser: Browser) -> Iterator[Callable[..., BrowserContext]]:
    """Make browser contexts (desktop size, Danish) that are closed after the test."""
    contexts: List[BrowserContext] = []

    def make(**options) -> BrowserContext:
        options = {"viewport": {"width": 1280, "height": 800}, "locale": "da-DK", **options}
        context = browser.new_context(**options)
        context.set_default_timeout(20000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_context: Callable[..., BrowserContext]) -> Iterator[Page]:
    """A page under the demo page's real CSP that fails the test on console errors."""
    page = new_context().new_page()
    errors: List[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    # A 503 from the proxy is logged by Chromium as a failed resource; anything else
    # (a CSP violation, a script error) is a bug.
    real = [e for e in errors if "503" not in e and "Failed to load resource" not in e]
    assert real == [], real


@pytest.fixture
def offline_web(tmp_path) -> Iterator[str]:
    """A second web process whose Rasa port is closed: the bot cannot be reached."""
    env = {
        "FAGCHAT_WEB_PORT": str(free_port()),
        "FAGCHAT_RASA_PORT": str(free_port()),  # nobody listens there
        "FAGCHAT_VAR_DIR": str(tmp_path / "var"),
    }
    stack = Stack(env, services=("web",), log_dir=tmp_path / "log")
    try:
        stack.start(timeout=60, probe="healthz")  # never ready: its Rasa is missing on purpose
    except RuntimeError:
        stack.stop()
        raise
    yield stack.url("web") + "/"
    stack.stop()
