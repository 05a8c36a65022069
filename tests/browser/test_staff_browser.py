"""The staff app in a real browser: charts render as SVG, stored XSS payloads stay inert.

Starts `python -m fagchat.staff` on a free port with a database of conversations saved by
the real tracker store, and drives Debian's chromium with Playwright. Screenshots of the
inbox and the dashboard go to $FAGCHAT_SCREENSHOTS (default: the test's tmp folder).
"""

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

from fagchat.staff import db_accounts
from fagchat.staff.auth import hash_password
from fagchat.staff.engine import connect
from tests import staff_sample as sample
from tests.helpers import free_port
from tests.test_staff_support import XSS

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parent.parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "browser-test-password"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The staff app on a free port over a seeded database; yields its base URL."""
    tmp = tmp_path_factory.mktemp("staff-browser")
    url = f"sqlite:///{tmp / 'fagchat.db'}"
    now = time.time()
    xss = sample.Turn(
        XSS,
        "nlu_fallback",
        0.3,
        ranking=[("out_of_scope", 0.3)],
        action="action_default_fallback",
        reply="Det kan jeg ikke svare på.",
    )
    trackers = sample.sample_trackers(120, now, days=28)
    trackers.append(sample.tracker("c-xss", [xss], now - 600))
    sample.save(url, trackers)
    engine = connect(url)
    with engine.begin() as conn:
        db_accounts.create_user(conn, "anna", hash_password(PASSWORD), now)
    engine.dispose()
    port = free_port()
    env = {**os.environ, "FAGCHAT_DB_URL": url, "FAGCHAT_STAFF_PORT": str(port), "PYTHONPATH": str(ROOT)}
    env["FAGCHAT_STAFF_SECURE_COOKIE"] = "0"  # plain HTTP on loopback
    log = open(tmp / "staff.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "fagchat.staff"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if urllib.request.urlopen(base + "/healthz", timeout=2).status == 200:
                    break
            except OSError:
                time.sleep(0.25)
        else:
            pytest.fail((tmp / "staff.log").read_text())
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
    assert XSS not in (tmp / "staff.log").read_text()  # no user text in the log


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's chromium, headless."""
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: run `make browser-deps` (make test does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield chromium
        chromium.close()


def signed_in(browser, base: str, **options):
    """A new page of a signed-in staff member."""
    page = browser.new_context(viewport={"width": 1280, "height": 900}, **options).new_page()
    page.goto(base + "/")
    assert page.url.startswith(base + "/login")
    page.fill("#username", "anna")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    return page


def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("FAGCHAT_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_dashboard_charts_render_as_svg(server, browser, tmp_path):
    page = signed_in(browser, server)
    page.screenshot(path=str(shots(tmp_path) / "staff-inbox.png"), full_page=True)
    page.click("text=Overblik")
    page.wait_for_selector("svg.chart")
    charts = page.eval_on_selector_all(
        "svg.chart",
        """svgs => svgs.map(s => ({
        role: s.getAttribute('role'),
        title: s.querySelector('title').textContent,
        desc: s.querySelector('desc').textContent,
        labelled: s.getAttribute('aria-labelledby').split(' ').every(id => document.getElementById(id)),
        width: s.getBoundingClientRect().width,
        height: s.getBoundingClientRect().height,
        marks: s.querySelectorAll('polyline, rect.bar').length,
    }))""",
    )
    assert len(charts) == 5
    for chart in charts:
        assert chart["role"] == "img" and chart["title"] and chart["desc"] and chart["labelled"]
        assert chart["width"] > 300 and chart["height"] > 100
        assert chart["marks"] > 0, chart["title"]  # data drawn, not "no data"
    # Colours come from the stylesheet (the CSP allows no inline styles): the first line is blue.
    stroke = page.eval_on_selector("svg.chart polyline.s1", "e => getComputedStyle(e).stroke")
    assert stroke == "rgb(31, 111, 178)"
    page.screenshot(path=str(shots(tmp_path) / "staff-dashboard.png"), full_page=True)


def test_stored_xss_stays_inert(server, browser, tmp_path):
    page = signed_in(browser, server)
    dialogs, errors = [], []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: errors.append(str(e)))
    for name, path in (("conversation", "/conversation/?id=c-xss"), ("review", "/review/?reason=fallback")):
        page.goto(server + path)
        page.wait_for_load_state("load")
        texts = page.eval_on_selector_all(".text", "els => els.map(e => e.textContent)")
        assert XSS in texts  # shown, as text
        assert page.eval_on_selector_all("main img, main script, .text b", "els => els.length") == 0
        page.screenshot(path=str(shots(tmp_path) / f"staff-xss-{name}.png"))
    assert dialogs == [] and errors == []


def test_review_groups_and_one_click_choices(server, browser, tmp_path):
    """Similar messages come as one card; a choice button decides the whole group."""
    page = signed_in(browser, server)
    deadline = time.monotonic() + 60
    while True:  # the background round groups the queue; poll against a deadline
        page.goto(server + "/review/")
        heading = page.inner_text("article.review h2")
        if "ligner hinanden" in heading or time.monotonic() > deadline:
            break
        page.wait_for_timeout(500)
    assert "beskeder, der ligner hinanden" in heading, heading
    count = int(heading.split()[0].replace(".", ""))
    card = page.locator("article.review").first
    choices = card.locator("button[name=quick]").all_inner_texts()
    assert any(c.endswith("%") for c in choices) and "Nyt emne mangler" in choices
    assert all(not c.startswith(("restraining_order", "out_of_scope")) for c in choices)  # titles, not names
    page.screenshot(path=str(shots(tmp_path) / "staff-review-groups.png"), full_page=True)
    card.locator("button[name=quick][value=new_topic]").click()
    page.wait_for_selector(".notice[role=status]")
    notice = page.inner_text(".notice[role=status]")
    assert f"Vurderingen er gemt for {count} beskeder" in notice and "Nyt emne mangler" in notice
    page.goto(server + "/new-topics/")
    assert page.inner_text("table.topics tbody tr td.num").split()[0] == str(count)
    page.screenshot(path=str(shots(tmp_path) / "staff-new-topics.png"), full_page=True)


def test_words_instead_of_emoji_and_danish_dates(server, browser):
    page = signed_in(browser, server)
    page.goto(server + "/knowledge/")
    headers = page.eval_on_selector_all("thead th", "ths => ths.map(t => t.innerText.trim())")
    assert "👍 Hjalp" in headers and "👎 Hjalp ikke" in headers
    hidden = page.eval_on_selector_all(".sym", "els => els.every(e => e.getAttribute('aria-hidden') === 'true')")
    assert hidden
    page.goto(server + "/")
    page.fill("#date-from", "i går")  # not a date: the browser stops it, with the Danish hint
    assert page.eval_on_selector("#date-from", "e => e.validity.patternMismatch && e.title.includes('dd.mm.åååå')")
    page.fill("#date-from", "31.02.2025")  # looks like a date, is none: the server says so
    page.click("fieldset button[type=submit]")
    page.wait_for_selector("[role=alert]")
    assert "„31.02.2025“ er ikke en dato" in page.inner_text("[role=alert]")
    assert page.get_attribute("#date-from", "aria-invalid") == "true"
    page.fill("#date-from", "01.01.2020")
    page.click("fieldset button[type=submit]")
    page.wait_for_selector("table.list")
    assert page.input_value("#date-from") == "01.01.2020"


def test_pages_pass_axe(server, browser):
    if not AXE.exists():
        pytest.fail("axe-core is not installed: run `make browser-deps` (make test does)")
    # axe is injected as a script, which the app's CSP rightly forbids: bypass it here only.
    page = signed_in(browser, server, bypass_csp=True)
    pages = ("/", "/dashboard/", "/review/", "/knowledge/", "/conversation/?id=c-xss", "/export/")
    # The grouped queue, decided messages, the new-topic list and a date the server refused.
    pages += ("/review/?status=done", "/new-topics/", "/?from=31.02.2025")
    for path in pages:
        page.goto(server + path)
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        serious = [
            (v["id"], v["help"], [n["target"] for n in v["nodes"]][:3])
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert serious == [], (path, serious)
