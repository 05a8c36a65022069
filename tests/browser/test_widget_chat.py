"""The widget in a real browser against the real stack: a conversation, keyboard use,
history across reloads, the "/"-guard and an unreachable bot (issue 4, "Tests")."""

import json
import re
import sqlite3

import pytest
from playwright.sync_api import Page, expect

from actions.rendering import answer_message, knowledge_base
from tests.browser.widget_page import (
    BOT,
    ask,
    axe_violations,
    bot_count,
    latest_article,
    launcher,
    open_chat,
    screenshot,
    stored_state,
    textbox,
    wait_reply,
)

pytestmark = [pytest.mark.browser, pytest.mark.integration]

QUESTION = "Hvad er stalking?"
FOLLOW_UP = "Hvilke former for stalking findes der?"


def test_question_answer_button_and_history_after_reload(page: Page, web_url: str) -> None:
    page.goto(web_url)
    expect(launcher(page)).to_be_visible()
    # Nothing is stored before the user opens the chat, and never in localStorage/cookies.
    assert page.evaluate("() => sessionStorage.length + localStorage.length") == 0

    open_chat(page)
    log = page.get_by_role("log")
    expect(log).to_contain_text("Skriv ikke navne, CPR-numre eller adresser")
    expect(log).to_contain_text("ring 112")

    ask(page, QUESTION)
    answer = latest_article(page)  # the answer; a question about the user's role follows it
    expect(answer).to_contain_text("Ensidighed")
    expect(answer.locator("li strong").first).to_be_visible()  # "- **bold**" became a list
    # The sources: folded into "Kilder (n)", the text line gone, links opening a new tab.
    sources = answer.locator("details.fagchat-sources")
    expect(sources.locator("summary")).to_have_text(re.compile(r"^Kilder? \(\d+\)$"))
    expect(answer.locator("em a")).to_have_count(0)
    sources.locator("summary").click()
    source = sources.get_by_role("link").first
    expect(source).to_have_attribute("rel", "noopener noreferrer")
    expect(source).to_have_attribute("href", re.compile("^https://"))
    follow_up = page.get_by_role("button", name=FOLLOW_UP)
    expect(follow_up).to_be_visible()
    screenshot(page, "desktop-answered")

    # 👍 on an answer with an article is sent to Rasa and shown as pressed.
    with page.expect_response(re.compile("/webhooks/fagchat/feedback$")) as feedback:
        answer.get_by_role("button", name="Svaret hjalp", exact=True).click()
    assert feedback.value.status == 200 and feedback.value.json() == {"ok": True}
    expect(answer.get_by_role("button", name="Svaret hjalp", exact=True)).to_have_attribute("aria-pressed", "true")
    expect(answer.get_by_role("button", name="Svaret hjalp ikke")).to_have_attribute("aria-pressed", "false")

    before = bot_count(page)
    follow_up.click()
    expect(page.locator(".fagchat-user-text").last).to_have_text(FOLLOW_UP)
    second = wait_reply(page, before)
    expect(second).to_contain_text(re.compile("stalking", re.I))
    expect(page.get_by_role("button", name=FOLLOW_UP)).to_have_count(0)  # old replies go
    expect(textbox(page)).to_be_focused()

    state = stored_state(page)
    assert re.fullmatch(r"[0-9a-f]{32}", state["sender"]), "128 random bits as hex"
    assert page.evaluate("() => localStorage.length") == 0
    assert page.context.cookies() == []

    page.reload()
    log = page.get_by_role("log")
    expect(log).to_contain_text(QUESTION)
    expect(log).to_contain_text("Ensidighed")
    expect(page.locator(".fagchat-msg--user")).to_have_count(2)
    expect(page.locator(".fagchat-msg--user").last).to_contain_text(FOLLOW_UP)
    expect(page.get_by_role("button", name="Svaret hjalp", exact=True).first).to_have_attribute("aria-pressed", "true")
    assert stored_state(page)["sender"] == state["sender"]

    # "Ny samtale": a new random sender and an empty log.
    page.get_by_role("button", name="Ny samtale").click()
    expect(page.locator(".fagchat-msg--user")).to_have_count(0)
    assert stored_state(page)["sender"] != state["sender"]
    expect(textbox(page)).to_be_focused()


def test_keyboard_only_conversation(page: Page, web_url: str) -> None:
    page.goto(web_url)
    keyboard = page.keyboard
    for _ in range(40):  # Tab through the page to the launcher
        keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.classList.contains('fagchat-launcher')"):
            break
    else:
        pytest.fail("the launcher cannot be reached with Tab")
    keyboard.press("Enter")
    expect(textbox(page)).to_be_focused()

    before = bot_count(page)
    keyboard.type(QUESTION)
    keyboard.press("Enter")
    wait_reply(page, before)
    expect(textbox(page)).to_be_focused()

    # Shift+Tab from the input reaches the last quick reply; Enter sends it.
    keyboard.press("Shift+Tab")
    focused = page.evaluate("() => document.activeElement.className")
    assert "fagchat-reply" in focused, focused
    before = bot_count(page)
    keyboard.press("Enter")
    wait_reply(page, before)
    expect(textbox(page)).to_be_focused()

    # No trap: Tab leaves the panel (send button, then the launcher outside the dialog).
    keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.className") == "fagchat-send"
    keyboard.press("Tab")
    expect(launcher(page)).to_be_focused()

    # Escape closes and gives focus back to the launcher.
    keyboard.press("Shift+Tab")
    keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(launcher(page)).to_be_focused()
    expect(launcher(page)).to_have_attribute("aria-expanded", "false")


def test_slash_command_typed_as_text_goes_through_nlu(page: Page, web_url: str, live_stack) -> None:
    page.goto(web_url)
    open_chat(page)
    answer = ask(page, "/greet")
    expect(page.locator(".fagchat-user-text").last).to_have_text("/greet")
    expect(answer).not_to_contain_text("Hej, jeg er Fagchat")  # the greeting's answer

    sender = stored_state(page)["sender"]
    database = live_stack.env["FAGCHAT_DB_URL"].split("sqlite:///", 1)[1]
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT data FROM events WHERE sender_id = ? AND type_name = 'user'", (sender,)).fetchall()
    assert rows, "the message was stored"
    event = json.loads(rows[-1][0])
    ranking = event["parse_data"]["intent_ranking"]
    # A command would have been parsed as exactly one intent with confidence 1.
    assert len(ranking) > 1, ranking


def test_unreachable_bot_shows_contact_details_and_retry(page: Page, offline_web: str) -> None:
    page.goto(offline_web)
    open_chat(page)
    error = ask(page, QUESTION)
    expect(error).to_contain_text("Fagchat kan ikke svare lige nu")
    expect(error.get_by_role("link", name="kontakt@danskstalkingcenter.dk")).to_have_attribute(
        "href", "mailto:kontakt@danskstalkingcenter.dk"
    )
    # The counselling line is for victims; professionals get no number until the centre sets theirs.
    expect(error.locator('a[href^="tel:"]')).to_have_count(0)
    expect(error).not_to_contain_text("25 17 73 74")
    expect(error).to_contain_text("ring 112")
    screenshot(page, "desktop-error")

    # "Prøv igen" sends the same message again, without a second bubble.
    with page.expect_request(re.compile("/webhooks/fagchat/webhook$")) as retry:
        error.get_by_role("button", name="Prøv igen").click()
    assert json.loads(retry.value.post_data)["message"] == QUESTION
    wait_reply(page, 0)
    expect(page.locator(".fagchat-error")).to_have_count(1)
    expect(page.locator(".fagchat-msg--user")).to_have_count(1)

    # Once the centre sets the professionals' number, it is shown with its hours; the
    # counselling line is never used as that number, even from a server that still sends it.
    contact = {
        "name": "Dansk Stalking Center",
        "phone": "25 17 73 74",
        "email": "kontakt@danskstalkingcenter.dk",
        "professional_phone": "11 22 33 44",
        "professional_hours": "hverdage kl. 9-12",
    }
    page.route("**/fagchat/config.json", lambda route: route.fulfill(json={"contact": contact}))
    page.reload()
    error = ask(page, QUESTION)
    expect(error.get_by_role("link", name="11 22 33 44")).to_have_attribute("href", "tel:11223344")
    expect(error.locator("li").first).to_have_text("Telefon: 11 22 33 44 (hverdage kl. 9-12)")
    expect(error).not_to_contain_text("25 17 73 74")


def test_slow_bot_times_out_with_a_clear_message(page: Page, web_url: str) -> None:
    # data-timeout="2000" on the demo page, and a webhook that never answers.
    def demo_page(route) -> None:
        original = route.fetch()
        body = original.text().replace("defer data-title", 'defer data-timeout="2000" data-title')
        route.fulfill(response=original, body=body)

    page.route(web_url, demo_page)
    page.route("**/webhooks/fagchat/webhook", lambda route: None)  # left hanging
    page.goto(web_url)
    open_chat(page)
    error = ask(page, QUESTION)
    expect(error).to_contain_text("det tog for lang tid")
    expect(error.get_by_role("button", name="Prøv igen")).to_be_visible()
    expect(error.get_by_role("link", name="kontakt@danskstalkingcenter.dk")).to_be_visible()


def test_every_source_behind_a_kilder_disclosure(new_context, offline_web: str) -> None:
    # The widget alone: the webhook is answered in the browser with what the action server
    # sends for an article, so this needs no Rasa (fagchat/channel merges `custom` in).
    kb = knowledge_base()
    message = answer_message(kb, kb.articles["what_is_stalking"], None)
    reply = [{"recipient_id": "x", "text": message["text"], "buttons": message["buttons"]}]
    reply[0]["custom"] = message["json_message"]
    sources = message["json_message"]["sources"]
    page = new_context(bypass_csp=True, reduced_motion="reduce").new_page()  # bypass_csp: for axe
    page.route("**/webhooks/fagchat/webhook", lambda route: route.fulfill(json=reply))
    page.goto(offline_web)
    open_chat(page)
    answer = ask(page, QUESTION)

    toggle = answer.locator("details.fagchat-sources > summary")
    expect(toggle).to_have_text(f"Kilder ({len(sources)})")
    expect(answer.locator("em a")).to_have_count(0)  # the text channel's line is folded away
    links = answer.locator(".fagchat-sources-list a")
    expect(links.first).to_be_hidden()

    # Keyboard: Tab reaches the toggle, which shows focus; Enter opens it, Space closes it.
    answer.get_by_role("button", name="Svaret hjalp", exact=True).focus()
    page.keyboard.press("Shift+Tab")
    expect(toggle).to_be_focused()
    assert page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle") == "solid"
    page.keyboard.press("Enter")
    expect(answer.locator("details.fagchat-sources")).to_have_attribute("open", "")
    expect(links).to_have_count(len(sources))
    for index, source in enumerate(sources):
        link = links.nth(index)
        expect(link).to_be_visible()
        expect(link).to_have_attribute("href", source["url"])
        expect(link).to_contain_text(source["label"])
        expect(link).to_have_attribute("target", "_blank")
    violations = axe_violations(page)
    assert violations == [], "\n".join(violations)
    screenshot(page, "desktop-sources-open")
    page.keyboard.press("Space")
    expect(links.first).to_be_hidden()

    # After a reload the answer keeps its sources (they are stored with the message).
    page.reload()
    expect(page.locator(BOT).last.locator("details.fagchat-sources > summary")).to_have_text(f"Kilder ({len(sources)})")
