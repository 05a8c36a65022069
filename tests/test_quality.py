"""Held-out NLU accuracy of the trained model (the gate of the knowledge issue)."""

import pytest

from fagchat.quality import HELDOUT, Parser, heldout_accuracy, read_nlu_examples


@pytest.fixture(scope="module")
def parser() -> Parser:
    return Parser()


def test_heldout_accuracy_is_at_least_85_percent(parser):
    pairs = read_nlu_examples(HELDOUT)
    intents = {i for _, i in pairs}
    assert len(pairs) >= 150 and len(intents) >= 39
    accuracy, misses = heldout_accuracy(parser, pairs)
    print(f"\nheld-out top-1 accuracy: {accuracy:.3f} on {len(pairs)} questions")
    assert accuracy >= 0.85, misses


def test_heldout_questions_are_not_copied_from_training_data():
    from pathlib import Path

    train = {t.lower() for t, _ in read_nlu_examples(Path(__file__).parent.parent / "data" / "nlu.yml")}
    copied = [t for t, _ in read_nlu_examples(HELDOUT) if t.lower() in train]
    assert not copied, copied
