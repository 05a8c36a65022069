"""The real action server and Rasa server on free ports, talked to over HTTP."""

import json
import sqlite3
import uuid
from pathlib import Path

import pytest

from tests.helpers import post, say, texts

pytestmark = pytest.mark.integration
ANY = "a" * 22  # the shortest sender id the channel accepts
ACUTE_START = "**Er nogen i fare lige nu, så ring 112.**"


def sender() -> str:
    return uuid.uuid4().hex


def db_path(stack) -> Path:
    return Path(stack.env["FAGCHAT_DB_URL"].removeprefix("sqlite:///"))


def user_events(stack, sender_id):
    with sqlite3.connect(db_path(stack)) as db:
        rows = db.execute(
            "SELECT data FROM events WHERE sender_id = ? AND type_name = 'user' ORDER BY id", (sender_id,)
        ).fetchall()
    return [json.loads(r[0]) for r in rows]


def test_a_danish_conversation_from_greeting_to_goodbye(live_stack):
    rasa, me = live_stack.url("rasa"), sender()
    greeting = texts(say(rasa, me, "Hej"))
    assert "Fagchat" in greeting and "CPR" in greeting and "112" in greeting

    answer = say(rasa, me, "Hvad er stalking?")
    assert "stalking" in answer[0]["text"].lower() and "Kilde" in answer[0]["text"]
    assert answer[0]["custom"]["article"] == "what_is_stalking"
    assert all(source["url"].startswith("http") and source["label"] for source in answer[0]["custom"]["sources"])
    assert answer[0]["buttons"]

    handover = texts(say(rasa, me, "jeg har en konkret sag og vil gerne tale med en rådgiver hos jer"))
    assert "25 17 73 74" in handover and "kontakt@danskstalkingcenter.dk" in handover

    danger = say(rasa, me, "han står uden for hendes dør med en kniv lige nu")
    assert danger[0]["text"].startswith(ACUTE_START)

    assert "Tak for nu" in texts(say(rasa, me, "farvel"))


def test_112_comes_first_and_then_the_article_the_question_may_have_been_about(live_stack):
    rasa, me = live_stack.url("rasa"), sender()
    # From heldout_dev6: the patterns answer 112, the classifier is all but sure of children_affected.
    question = (
        "laerer i 4 kl. en pige siger at hendes far staar udenfor skolen og vil tale med hende selvom mor "
        "siger nej. hvordan paavirker det barnet at vaere midt i det"
    )
    answer = say(rasa, me, question)
    assert answer[0]["text"].startswith(ACUTE_START)
    offer = answer[-1]
    assert offer["text"].startswith("Er ingen i fare lige nu?")
    assert "/children_affected" in [b["payload"] for b in offer["buttons"]]
    article = say(rasa, me, "/children_affected")
    assert article[0]["custom"]["article"] == "children_affected"


def test_acute_danger_is_answered_while_the_action_server_is_down(live_stack):
    rasa, me = live_stack.url("rasa"), sender()
    live_stack.stop_service("actions")
    try:
        danger = say(rasa, me, "min klient ringer og siger at han truer med at slå hende ihjel")
        assert danger[0]["text"].startswith(ACUTE_START)
        # The offer after it needs the action server: it is left out, nothing else is said.
        assert not any("Er ingen i fare" in m.get("text", "") for m in danger)
        # A knowledge answer needs the action server: the user gets the contact details instead.
        fallback = texts(say(rasa, me, "Hvad er stalking?"))
        assert "25 17 73 74" in fallback and "112" in fallback
    finally:
        live_stack.start_service("actions")
        live_stack.wait_ready(["actions"])
    assert "Kilde" in texts(say(rasa, me, "Hvad er stalking?"))


@pytest.mark.parametrize(
    "body, raw, statuses",
    [
        ({"sender": ANY, "message": ""}, False, {200}),
        ({"sender": ANY, "message": "   \n\t "}, False, {200}),
        ({"sender": ANY, "message": "x" * 10_000}, False, {400, 413}),
        ({"sender": ANY, "message": "Hvad er stalking? 😟 æøå ÆØÅ"}, False, {200}),
        ("{not json", True, {400}),
        ('["sender", "message"]', True, {400}),
        ({"message": "hej"}, False, {400}),
        ({"sender": 5, "message": "hej"}, False, {400}),
        ({"sender": ANY, "message": ["hej"]}, False, {400}),
        ({"sender": "../../etc", "message": "hej"}, False, {400}),
        ({"sender": ANY, "message": "hej\x00\u202e\u200b"}, False, {200}),
        ("x" * 70_000, True, {413}),
    ],
)
def test_bad_input_gets_a_clear_answer_never_a_5xx(live_stack, body, raw, statuses):
    status, answer = post(f"{live_stack.url('rasa')}/webhooks/fagchat/webhook", body, raw=raw)
    assert status in statuses, (status, answer)
    if status == 200:
        assert answer and answer[0]["text"]
    else:
        assert answer["error"] and answer["message"] and "Traceback" not in json.dumps(answer)
    assert "Kilde" in texts(say(live_stack.url("rasa"), sender(), "Hvad er stalking?"))


def test_typed_commands_are_text_but_offered_buttons_work(live_stack):
    rasa, me = live_stack.url("rasa"), sender()
    say(rasa, me, '/acute_danger{"x": "y"}')
    typed = user_events(live_stack, me)[-1]
    assert len(typed["parse_data"]["intent_ranking"]) > 1, "typed text must go through NLU"
    greeting = say(rasa, me, "hej")
    payload = greeting[0]["buttons"][0]["payload"]
    answer = say(rasa, me, payload)
    clicked = user_events(live_stack, me)[-1]
    assert clicked["text"] == payload and clicked["parse_data"]["intent"]["confidence"] == 1.0
    assert answer[0]["custom"]["article"] == payload.lstrip("/")


def test_feedback_is_stored_with_the_conversation(live_stack):
    rasa, me = live_stack.url("rasa"), sender()
    say(rasa, me, "Hvad er stalking?")
    status, _ = post(
        f"{rasa}/webhooks/fagchat/feedback", {"sender": me, "value": "down", "article": "what_is_stalking"}
    )
    assert status == 200
    with sqlite3.connect(db_path(live_stack)) as db:
        rows = db.execute("SELECT data FROM events WHERE sender_id = ? AND type_name = 'slot'", (me,)).fetchall()
    values = [json.loads(r[0]) for r in rows]
    assert {"event": "slot", "name": "feedback"}.items() <= values[-1].items()
    assert values[-1]["value"] == {"value": "down", "article": "what_is_stalking"}
    status, answer = post(f"{rasa}/webhooks/fagchat/feedback", {"sender": me, "value": "maybe"})
    assert status == 400 and answer["message"]


def slot_rows(stack, sender_id):
    with sqlite3.connect(db_path(stack)) as db:
        return db.execute("SELECT data FROM events WHERE sender_id = ? AND type_name = 'slot'", (sender_id,)).fetchall()


def test_forged_feedback_is_refused_and_stores_nothing(live_stack):
    rasa, me, stranger = live_stack.url("rasa"), sender(), sender()
    url = f"{rasa}/webhooks/fagchat/feedback"
    # A conversation nobody had: no vote, and no conversation made up around it.
    status, answer = post(url, {"sender": stranger, "value": "up", "article": "what_is_stalking"})
    assert status == 404 and answer["error"] == "unknown_conversation" and answer["message"]
    with sqlite3.connect(db_path(live_stack)) as db:
        assert db.execute("SELECT COUNT(*) FROM events WHERE sender_id = ?", (stranger,)).fetchone()[0] == 0
    # A real conversation, but an article it was never shown.
    say(rasa, me, "Hvad er stalking?")
    before = slot_rows(live_stack, me)
    status, answer = post(url, {"sender": me, "value": "down", "article": "documentation"})
    assert status == 422 and answer["error"] == "article_not_shown"
    assert slot_rows(live_stack, me) == before
    # A short, guessable id is refused before anything is looked up.
    status, answer = post(url, {"sender": "s1", "value": "up", "article": "what_is_stalking"})
    assert status == 400 and answer["error"] == "invalid_sender"
    log = (live_stack.log_dir / "rasa.log").read_text(errors="replace")
    assert "feedback.refused" in log and "reason=unknown_conversation" in log and stranger not in log


PERSONAL = ["010190-1234", "0101901234", "+45 22 33 44 55", "22334455", "anna.hansen@example.dk"]


def test_personal_data_never_reaches_the_database_or_the_logs(live_stack):
    rasa, me = live_stack.url("rasa"), sender()
    for value in PERSONAL:
        say(rasa, me, f"borgeren har cpr og kontakt {value}, hvad gør jeg?")
    say(rasa, me, "hun hedder og har nummer 22334455 og mail anna.hansen@example.dk, hvem kan hjælpe hende")
    stored = db_path(live_stack).read_bytes().decode("utf-8", errors="replace")
    logs = "".join(p.read_text(errors="replace") for p in live_stack.log_dir.glob("*.log"))
    for value in PERSONAL:
        assert value not in stored and value not in logs, value
    assert "[CPR]" in stored and "[TELEFON]" in stored and "[EMAIL]" in stored
