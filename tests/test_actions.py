"""Custom actions, run on small trackers; assert on events and on what was uttered."""

import asyncio
import copy
from dataclasses import replace

import pytest
from rasa_sdk.events import SlotSet

from actions.after_danger import ActionOfferAfterDanger
from actions.answers import ActionAnswer, ActionSetRole
from actions.check import CHECK_SLOTS, ActionStalkingCheckResult, assessment
from actions.fallback import ActionDidYouMean
from actions.handover import ActionHandover
from tests.helpers import make_tracker


def run(action, dispatcher, tracker, domain):
    return asyncio.run(action.run(dispatcher, tracker, domain))


def fallback_event(text="hmm"):
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": "nlu_fallback", "confidence": 0.5}}}


def test_answer_utters_article_with_source_followups_and_article_id(dispatcher, domain):
    events = run(ActionAnswer(), dispatcher, make_tracker("stalking_forms"), domain)
    answer = dispatcher.messages[0]
    assert "stalking" in answer["text"].lower()
    assert "Kilde" in answer["text"] and "https://" in answer["text"]
    assert 2 <= len(answer["buttons"]) <= 3
    assert all(b["payload"].startswith("/") for b in answer["buttons"])
    assert answer["custom"]["article"] == "stalking_forms"
    assert [s["url"] for s in answer["custom"]["sources"]] and "Kilde" in answer["text"]
    assert SlotSet("last_article", "stalking_forms") in events
    assert len(dispatcher.messages) == 1  # no role variants here: no role question


def test_answer_asks_for_the_role_once_when_the_article_has_variants(dispatcher, domain):
    events = run(ActionAnswer(), dispatcher, make_tracker("duty_to_report"), domain)
    assert dispatcher.messages[-1]["response"] == "utter_ask_role"
    assert SlotSet("role_asked", True) in events
    again = make_tracker("duty_to_report", slots={"role_asked": True})
    dispatcher.messages.clear()
    run(ActionAnswer(), dispatcher, again, domain)
    assert all(m.get("response") != "utter_ask_role" for m in dispatcher.messages)


def test_answer_uses_the_role_variant(dispatcher, domain):
    action = ActionAnswer()
    article = action.kb.for_intent("duty_to_report")
    run(action, dispatcher, make_tracker("duty_to_report", slots={"role": "kommune"}), domain)
    assert dispatcher.messages[0]["text"].startswith(article.variants["kommune"][:60])


def test_unknown_intent_gets_the_default_response(dispatcher, domain):
    assert run(ActionAnswer(), dispatcher, make_tracker("greet"), domain) == []
    assert dispatcher.messages[0]["response"] == "utter_default"


def test_set_role_reanswers_the_last_article_in_the_role_variant(dispatcher, domain):
    tracker = make_tracker(
        "inform_role",
        slots={"last_article": "duty_to_report"},
        entities=[{"entity": "role", "value": "sundhed"}],
    )
    events = run(ActionSetRole(), dispatcher, tracker, domain)
    assert SlotSet("role", "sundhed") in events
    article = ActionSetRole().kb.for_intent("duty_to_report")
    assert dispatcher.messages[0]["text"] == "Her er svaret til dig, der arbejder i sundhedsvæsenet:"
    assert any(m.get("text", "").startswith(article.variants["sundhed"][:60]) for m in dispatcher.messages)


def test_set_role_without_a_variant_confirms(dispatcher, domain):
    tracker = make_tracker(
        "inform_role", slots={"last_article": "what_is_stalking"}, entities=[{"entity": "role", "value": "politi"}]
    )
    run(ActionSetRole(), dispatcher, tracker, domain)
    assert dispatcher.messages[0]["response"] == "utter_role_noted"
    # The domain text reads "… til dig, der arbejder {role_workplace}."
    assert dispatcher.messages[0]["role_workplace"] == "i politiet"
    assert "der arbejder {role_workplace}." in domain["responses"]["utter_role_noted"][0]["text"]


def test_handover_gives_contact_details_and_what_to_have_ready(dispatcher, domain):
    action = ActionHandover()
    run(action, dispatcher, make_tracker("human_handover"), domain)
    text = dispatcher.messages[0]["text"]
    assert action.kb.contact.email in text
    assert "logskema" in text and "CPR" in text and "112" in text
    # The counselling line is named only as the victims' own line, never as the professional's.
    (line,) = [p for p in text.split("\n\n") if action.kb.contact.phone in p]
    assert "udsatte" in line and "pårørende" in line
    if not action.kb.contact.professional_phone:
        assert "Telefon for fagpersoner" not in text and "Telefontid" not in text


def test_handover_shows_the_professionals_phone_once_it_is_set(dispatcher, domain):
    action = ActionHandover()
    action.kb = copy.copy(action.kb)  # the process's shared knowledge base stays as it is
    action.kb.contact = replace(action.kb.contact, professional_phone="11 22 33 44", professional_hours="kl. 9-12")
    run(action, dispatcher, make_tracker("human_handover"), domain)
    text = dispatcher.messages[0]["text"]
    assert "- Telefon for fagpersoner: 11 22 33 44" in text and "- Telefontid for fagpersoner: kl. 9-12" in text


RANKING = [
    {"name": "nlu_fallback", "confidence": 0.5},
    {"name": "documentation", "confidence": 0.3},
    {"name": "greet", "confidence": 0.2},
    {"name": "safety_app", "confidence": 0.2},
    {"name": "check_stalking", "confidence": 0.1},
    {"name": "victim_advice", "confidence": 0.05},
]


def test_did_you_mean_offers_three_topics_and_none_of_these(dispatcher, domain):
    tracker = make_tracker("nlu_fallback", ranking=RANKING)
    run(ActionDidYouMean(), dispatcher, tracker, domain)
    message = dispatcher.messages[0]
    assert message["response"] == "utter_did_you_mean"
    payloads = [b["payload"] for b in message["buttons"]]
    assert payloads == ["/documentation", "/safety_app", "/check_stalking", "/none_of_these"]


def test_second_fallback_in_a_row_hands_over_without_asking(dispatcher, domain):
    tracker = make_tracker("nlu_fallback", ranking=RANKING, events=[fallback_event()])
    run(ActionDidYouMean(), dispatcher, tracker, domain)
    assert dispatcher.messages[0]["response"] == "utter_still_unsure"
    assert ActionDidYouMean().kb.contact.phone in dispatcher.messages[1]["text"]


@pytest.mark.parametrize(
    "ranking, offered",
    [
        # A routine question the patterns answered with 112: its article, one tap away.
        (
            [
                {"name": "acute_danger", "confidence": 1.0},
                {"name": "children_affected", "confidence": 0.6},
                {"name": "nlu_fallback", "confidence": 0.4},
                {"name": "check_stalking", "confidence": 0.25},
                {"name": "documentation", "confidence": 0.21},
            ],
            ["/children_affected", "/check_stalking"],
        ),
        # A real emergency: the classifier saw nothing else with weight, nothing is offered.
        ([{"name": "acute_danger", "confidence": 1.0}, {"name": "safety", "confidence": 0.19}], []),
        # Only intents with something to show: no button for a greeting.
        ([{"name": "acute_danger", "confidence": 1.0}, {"name": "greet", "confidence": 0.5}], []),
    ],
)
def test_after_the_112_answer_the_likely_articles_are_offered_or_nothing(dispatcher, domain, ranking, offered):
    tracker = make_tracker("acute_danger", ranking=ranking)
    assert run(ActionOfferAfterDanger(), dispatcher, tracker, domain) == []
    if offered:
        (message,) = dispatcher.messages
        assert message["response"] == "utter_after_danger"
        assert [b["payload"] for b in message["buttons"]] == offered
        assert all(b["title"] for b in message["buttons"])
    else:
        assert dispatcher.messages == []


@pytest.mark.parametrize(
    "answers, expected",
    [
        ((True, True, True, True), "har situationen de kendetegn"),
        ((False, True, True, True), "ligner\nmere en konflikt"),
        ((True, False, True, True), "enkelt episode"),
        ((True, True, False, True), "ønsker den udsatte selv kontakten"),
        ((True, True, True, False), "Det udelukker ikke stalking"),
    ],
)
def test_guided_check_explains_without_a_verdict(answers, expected):
    text = assessment(dict(zip(CHECK_SLOTS, answers)))
    assert text.startswith("Ud fra det, du beskriver")
    assert expected.replace("\n", " ") in text.replace("\n", " ")
    # Not in the facts sheet: harassment "turning into" stalking.
    assert "blive til stalking" not in text


def test_guided_check_not_frightening_points_to_the_objective_test_of_section_242():
    # § 242 asks whether the conduct is suitable to violate someone's peace, not whether
    # this person is afraid: a police reader must not take the result as "not punishable".
    text = " ".join(assessment(dict(zip(CHECK_SLOTS, (True, True, True, False)))).split())
    assert "§ 242" in text and "egnet til at krænke" in text and "samlet vurdering" in text
    assert "chikane" not in text.lower()


def test_guided_check_result_gives_next_steps_and_clears_answers(dispatcher, domain):
    slots = dict(zip(CHECK_SLOTS, (True, True, True, True)))
    events = run(ActionStalkingCheckResult(), dispatcher, make_tracker(slots=slots), domain)
    text = dispatcher.messages[0]["text"]
    assert "logskema" in text and "114" in text and "Dansk Stalking Center" in text
    assert "ring 112" in text and "ringer I" not in text  # du-form, like every answer
    assert events == [SlotSet(s, None) for s in CHECK_SLOTS]


def test_set_role_without_a_recognised_role_asks_again_and_keeps_the_old_one(dispatcher, domain):
    tracker = make_tracker("inform_role", slots={"role": "kommune", "last_article": "duty_to_report"})
    events = run(ActionSetRole(), dispatcher, tracker, domain)
    assert dispatcher.messages[0]["response"] == "utter_ask_role"
    assert events == [SlotSet("role", "kommune")]


def test_no_role_question_during_the_guided_check(dispatcher, domain):
    tracker = make_tracker("duty_to_report")
    tracker.active_loop = {"name": "stalking_check_form"}
    run(ActionAnswer(), dispatcher, tracker, domain)
    assert all(m.get("response") != "utter_ask_role" for m in dispatcher.messages)


def test_source_labels_name_site_and_page():
    from actions.rendering import source_label

    assert (
        source_label("https://www.danskstalkingcenter.dk/hvad-er-stalking/")
        == "danskstalkingcenter.dk/hvad-er-stalking"
    )
    assert source_label("https://politi.dk/") == "politi.dk"
    assert len(source_label("https://example.dk/" + "x" * 80)) == 48
