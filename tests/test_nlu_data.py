"""The NLU training data: enough varied examples per intent, no duplicates, no personal data."""

import re
from collections import Counter
from pathlib import Path

import yaml

from fagchat.nlu.testsets import read_nlu_examples
from fagchat.stores.redaction import redact

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = read_nlu_examples(ROOT / "data" / "nlu.yml")


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def test_every_domain_intent_has_at_least_25_examples():
    domain = yaml.safe_load((ROOT / "domain.yml").read_text())
    counts = Counter(intent for _, intent in EXAMPLES)
    thin = {i: counts[i] for i in domain["intents"] if counts[i] < 25}
    assert not thin, thin


def test_no_example_is_repeated_within_or_across_intents():
    seen = Counter(normalise(text) for text, _ in EXAMPLES)
    repeated = [t for t, n in seen.items() if n > 1]
    assert not repeated, repeated


def test_examples_hold_no_personal_data():
    leaking = [t for t, _ in EXAMPLES if redact(t) != t]
    assert not leaking, leaking
