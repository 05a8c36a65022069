"""Hostile text stays text: typed by the user, or coming back in the bot's answer.

The contexts here bypass the demo page's CSP on purpose, so the widget's own rendering
(DOM nodes and textContent only) is what keeps these payloads inert, not the CSP.
"""

import json
from typing import List

import pytest
from playwright.sync_api import Page, Route, expect

from tests.browser.widget_page import ask, open_chat

pytestmark = [pytest.mark.browser, pytest.mark.integration]

# Each payload sets window.__xss if it ever runs.
PAYLOADS = [
    "<script>window.__xss = 1</script>",
    '<img src=x onerror="window.__xss = 2">',
    "<svg onload=window.__xss=3></svg>",
    '"><iframe srcdoc="<script>parent.__xss = 4</script>"></iframe>',
    "[klik her](javascript:window.__xss=5)",
    "**<b onmouseover=window.__xss=6>fed</b>**",
    "_<a href='javascript:window.__xss=7'>kursiv</a>_",
    '<a href="javascript:window.__xss=8">link</a>',
    "[data](data:text/html,<script>window.__xss=9</script>)",
    "{{constructor.constructor('window.__xss=10')()}}",
]


@pytest.fixture
def hostile_page(new_context, web_url: str) -> Page:
    """A page without CSP protection that records any dialog."""
    page = new_context(bypass_csp=True).new_page()
    page.dialogs: List[str] = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.goto(web_url)
    open_chat(page)
    return page


def assert_inert(page: Page) -> None:
    """Nothing ran, and no element or link came out of the payloads."""
    page.locator(".fagchat-msg--user").last.hover()  # would fire an onmouseover
    assert page.evaluate("() => window.__xss") is None
    assert page.dialogs == []
    root = page.locator("#fagchat-root")
    expect(root.locator("script, img, iframe, b, [onerror], [onload], [onmouseover]")).to_have_count(0)
    hrefs = root.locator("a").evaluate_all("links => links.map(a => a.protocol)")
    assert set(hrefs) <= {"https:", "mailto:", "tel:"}, hrefs


def test_typed_payloads_are_shown_literally(hostile_page: Page) -> None:
    for payload in PAYLOADS:
        ask(hostile_page, payload)
        expect(hostile_page.locator(".fagchat-user-text").last).to_have_text(payload)
    assert_inert(hostile_page)


def test_payloads_echoed_by_the_bot_stay_inert(hostile_page: Page) -> None:
    # The bot never echoes user text, so this answer is stubbed: it stands for any bot
    # text that could one day contain it (an article edit, a redacted quote).
    echo = "\n".join(PAYLOADS) + "\n\n- [ok](https://example.org/) [tlf](tel:112)"

    def answer(route: Route) -> None:
        body = [{"recipient_id": "x", "text": echo, "buttons": [{"title": PAYLOADS[1], "payload": "/greet"}]}]
        route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

    hostile_page.route("**/webhooks/fagchat/webhook", answer)
    reply = ask(hostile_page, "ekko")
    for payload in PAYLOADS[:4]:
        expect(reply).to_contain_text(payload)
    expect(reply).to_contain_text("klik her")  # the javascript: link became plain text
    expect(hostile_page.get_by_role("button", name=PAYLOADS[1])).to_be_visible()
    expect(reply.get_by_role("link", name="ok")).to_have_attribute("href", "https://example.org/")
    assert_inert(hostile_page)
