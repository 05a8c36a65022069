"""Helpers for driving the chat widget in Chromium: open, ask, wait, run axe."""

import re
from pathlib import Path
from typing import Any, Dict, List

from playwright.sync_api import Locator, Page, expect

HERE = Path(__file__).resolve().parent
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
# Debian's chromium, headless and quiet: Playwright's own browser download is not
# possible here (issue 4), and nothing may reach the network.
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BOT = ".fagchat-msg--bot, .fagchat-error"
SCREENSHOTS = Path("/tmp/fagchat-screenshots")


def launcher(page: Page) -> Locator:
    """The launcher button: its accessible name contains "chat" (issue 4)."""
    named = page.get_by_role("button", name=re.compile("chat", re.I))
    return named.and_(page.locator("[aria-controls='fagchat-panel']"))


def textbox(page: Page) -> Locator:
    """The labelled message input."""
    return page.get_by_role("textbox", name="Dit spørgsmål")


def open_chat(page: Page) -> None:
    """Click the launcher and wait until the input has focus."""
    launcher(page).click()
    expect(textbox(page)).to_be_focused()
    # Let the opening animation end, so positions and colours are final.
    page.locator("#fagchat-panel").evaluate("e => Promise.all(e.getAnimations().map(a => a.finished))")


def bot_count(page: Page) -> int:
    """How many bot messages (answers and error boxes) the log shows."""
    return page.locator(BOT).count()


def wait_reply(page: Page, before: int, timeout: float = 30000) -> Locator:
    """Wait until the bot answered after `before` messages; return the newest one."""
    page.wait_for_function(
        "([sel, n]) => document.querySelectorAll(sel).length > n && !document.querySelector('.fagchat-typing')",
        arg=[BOT, before],
        timeout=timeout,
    )
    return page.locator(BOT).last


def latest_article(page: Page) -> Locator:
    """The newest bot message that carries an article's sources (an answer may be
    followed by a question of its own, such as which profession the user has)."""
    return page.locator(BOT).filter(has=page.locator("details.fagchat-sources")).last


def ask(page: Page, text: str) -> Locator:
    """Type `text`, press Enter and return the bot's (last) answer."""
    before = bot_count(page)
    box = textbox(page)
    box.fill(text)
    box.press("Enter")
    return wait_reply(page, before)


def stored_state(page: Page) -> Dict[str, Any]:
    """The conversation the widget keeps in sessionStorage."""
    return page.evaluate("() => JSON.parse(sessionStorage.getItem('fagchat') || 'null')")


def axe_violations(page: Page) -> List[str]:
    """Run axe-core (WCAG 2.1 A/AA rules only) and describe each violation on one line."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))  # needs a context with bypass_csp=True
    violations = page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
            return result.violations.map(v => `${v.id} (${v.impact}): ${v.help} -> ` +
                v.nodes.map(n => n.target.join(' ') + ' ' + (n.failureSummary || '')).join(' | '));
        }""",
        WCAG_TAGS,
    )
    return violations


def screenshot(page: Page, name: str) -> None:
    """Save a screenshot for a person to look at (not compared automatically)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
