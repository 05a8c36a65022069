"""Accessibility: axe-core in every state, phone widths and 200 % zoom (issue 4)."""

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.widget_page import ask, axe_violations, latest_article, launcher, open_chat, screenshot, textbox

pytestmark = [pytest.mark.browser, pytest.mark.integration]

# Vague questions the NLU should be unsure about; the first that gets a did-you-mean wins.
VAGUE = ["hmm det der med papirerne", "noget med en sag", "hvad så med det", "kan du hjælpe med det der"]


def check(page: Page, state: str) -> None:
    violations = axe_violations(page)
    assert violations == [], f"axe, state '{state}':\n" + "\n".join(violations)


def test_axe_finds_no_wcag_21_aa_violations_in_any_state(new_context, web_url: str) -> None:
    # bypass_csp: axe is injected as a script the page's CSP would (rightly) refuse.
    page = new_context(bypass_csp=True, reduced_motion="reduce").new_page()
    page.goto(web_url)
    expect(launcher(page)).to_be_visible()
    check(page, "closed")

    open_chat(page)
    check(page, "open")

    ask(page, "Hvad er stalking?")
    answer = latest_article(page)  # the role question follows the answer
    check(page, "answered")
    answer.locator("details.fagchat-sources > summary").click()
    check(page, "answered, sources open")

    for text in VAGUE:
        ask(page, text)
        if page.get_by_role("button", name="Ingen af disse").count():
            break
    else:
        pytest.fail(f"no did-you-mean answer for any of {VAGUE}")
    screenshot(page, "desktop-did-you-mean")
    check(page, "did-you-mean")

    page.route("**/webhooks/fagchat/webhook", lambda route: route.abort("connectionrefused"))
    error = ask(page, "Hvad er stalking?")
    expect(error).to_contain_text("Fagchat kan ikke svare lige nu")
    # Professionals are sent to the centre's e-mail (no phone until the centre sets one).
    expect(error.get_by_role("link", name="kontakt@danskstalkingcenter.dk")).to_be_visible()
    check(page, "error")


def assert_usable(page: Page) -> None:
    """The panel's controls are on screen and nothing sticks out sideways."""
    width = page.viewport_size["width"]
    for control in (
        textbox(page),
        page.get_by_role("button", name="Send"),
        page.get_by_role("button", name="Luk chat"),
        page.get_by_role("button", name="Ny samtale"),
    ):
        expect(control).to_be_in_viewport()
        box = control.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5, control
    overflow = page.evaluate(
        "() => [...document.querySelectorAll('#fagchat-panel *')].filter(e => e.clientWidth > 1"
        " && e.scrollWidth > e.clientWidth + 1).map(e => e.className)"
    )
    assert overflow == [], overflow


@pytest.mark.parametrize("width, height", [(375, 700), (320, 640)])
def test_phone_width_full_screen_panel(new_context, web_url: str, width: int, height: int) -> None:
    context: BrowserContext = new_context(viewport={"width": width, "height": height}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(web_url)
    screenshot(page, f"phone-{width}-closed")
    open_chat(page)
    panel = page.get_by_role("dialog").bounding_box()
    assert panel == {"x": 0, "y": 0, "width": width, "height": height}, "full screen under 480 px"
    ask(page, "Hvad er stalking?")
    assert_usable(page)
    screenshot(page, f"phone-{width}-answered")
    page.get_by_role("button", name="Luk chat").click()
    expect(launcher(page)).to_be_focused()


def test_200_percent_zoom(new_context, web_url: str) -> None:
    # 200 % zoom of a 1280x720 window: the CSS viewport halves, the pixels double.
    page = new_context(viewport={"width": 640, "height": 360}, device_scale_factor=2).new_page()
    page.goto(web_url)
    open_chat(page)
    ask(page, "Hvad er stalking?")
    assert_usable(page)
    screenshot(page, "zoom-200-answered")
    # The answer scrolls inside the log, and the log is reachable by keyboard to do so.
    log = page.get_by_role("log")
    assert log.evaluate("e => e.scrollHeight > e.clientHeight")
    assert log.get_attribute("tabindex") == "0"
