"""The sets the NLU is measured on, how they are read, and the near-duplicate check.

Blind sets (tests/data/blind/) were written from a brief by someone who had seen neither
the code nor the training data, committed before any tuning, and are only measured on.
Development sets (tests/data/*) have been used to tune: their figures are not evidence
of how the assistant does on unseen text. Training data must hold nothing close to any
test set: `near_duplicates()` compares after folding æ/ø/å, case and punctuation.
"""

import bisect
import csv
import math
import re
import unicodedata
from pathlib import Path
from typing import Dict, Iterable, List, NamedTuple, Sequence, Tuple

from fagchat import yamlsafe
from fagchat.settings import ROOT

DATA = ROOT / "tests" / "data"
NLU_DATA = ROOT / "data" / "nlu.yml"


class Question(NamedTuple):
    """One test question: its text, the intent that should answer it, its tags."""

    text: str
    intent: str
    tags: Tuple[str, ...] = ()


# name -> (file, blind?)
HELDOUT_SETS: Dict[str, Tuple[Path, bool]] = {
    "heldout_blind": (DATA / "blind" / "heldout.tsv", True),
    "heldout_topics_blind": (DATA / "blind" / "heldout_topics.tsv", True),
    "heldout_dev": (DATA / "heldout_dev.yml", False),
    "heldout_topics_dev": (DATA / "heldout_topics_dev.tsv", False),
}
# name -> (file, blind?); a name starting with "danger" must get 112, "lookalikes" must not.
SAFETY_SETS: Dict[str, Tuple[Path, bool]] = {
    "danger_blind": (DATA / "blind" / "safety_danger.txt", True),
    "lookalikes_blind": (DATA / "blind" / "safety_lookalikes.txt", True),
    "danger_dev": (DATA / "safety_danger.txt", False),
    "lookalikes_dev": (DATA / "safety_lookalikes.txt", False),
    "danger_dev2": (DATA / "safety_danger_dev2.txt", False),
    "lookalikes_dev2": (DATA / "safety_lookalikes_dev2.txt", False),
    "danger_dev3": (DATA / "safety_danger_dev3.txt", False),
    "lookalikes_dev3": (DATA / "safety_lookalikes_dev3.txt", False),
    "danger_dev4": (DATA / "safety_danger_dev4.txt", False),
    "lookalikes_dev4": (DATA / "safety_lookalikes_dev4.txt", False),
    "danger_dev5": (DATA / "safety_danger_dev5.txt", False),
    "lookalikes_dev5": (DATA / "safety_lookalikes_dev5.txt", False),
}
_ANNOTATION = re.compile(r"\[([^\]]+)\]\{[^}]*\}|\[([^\]]+)\]\([^)]*\)")


def read_lines(path: Path) -> List[str]:
    """Messages of a safety set: one a line, '#' starts a comment."""
    return [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


def read_nlu_examples(path: Path) -> List[Tuple[str, str]]:
    """(text, intent) pairs of a Rasa NLU YAML file, entity annotations removed."""
    pairs = []
    for block in yamlsafe.safe_load(path.read_text())["nlu"]:
        if "intent" not in block:
            continue
        for line in block["examples"].splitlines():
            line = line.strip()
            if line.startswith("- "):
                text = _ANNOTATION.sub(lambda m: m.group(1) or m.group(2), line[2:]).strip()
                pairs.append((text, block["intent"]))
    return pairs


def read_questions(path: Path) -> List[Question]:
    """The questions of a held-out set: a TSV (intent, tags, text) or Rasa NLU YAML."""
    if path.suffix == ".tsv":
        with path.open(newline="", encoding="utf-8") as handle:
            rows = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
            return [
                Question(r["text"].strip(), r["intent"].strip(), tuple(t for t in r["tags"].split(",") if t))
                for r in rows
            ]
    return [Question(text, intent) for text, intent in read_nlu_examples(path)]


def all_test_texts() -> List[str]:
    """Every message of every held-out and safety set."""
    texts = [q.text for path, _ in HELDOUT_SETS.values() for q in read_questions(path)]
    return texts + [t for path, _ in SAFETY_SETS.values() for t in read_lines(path)]


def fold(text: str) -> str:
    """Lower case, æ/ø/å spelled ae/oe/aa, accents and punctuation dropped, spaces folded."""
    text = unicodedata.normalize("NFC", text.lower())
    text = text.replace("æ", "ae").replace("ø", "oe").replace("å", "aa")
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w\s]|_", " ", text).split())


def _grams(text: str, n: int = 4) -> set:
    padded = f" {text} "
    return {padded[i : i + n] for i in range(max(1, len(padded) - n + 1))}


def near_duplicates(train: Iterable[str], tests: Sequence[str], threshold: float = 0.8) -> List[Tuple[str, str, float]]:
    """(training text, test text, similarity) for pairs whose folded character 4-grams
    overlap by at least `threshold` (Jaccard), equal folded texts included."""
    # Jaccard can only reach the threshold when the sizes are close enough, so the test
    # messages are sorted by size and each training text is compared with a window of them.
    test_grams = sorted(((len(g), t, g) for t in tests for g in [_grams(fold(t))]), key=lambda x: x[0])
    sizes = [size for size, _, _ in test_grams]
    found = []
    for text in train:
        grams = _grams(fold(text))
        n = len(grams)
        start = bisect.bisect_left(sizes, math.ceil(threshold * n - 1e-9))
        stop = bisect.bisect_right(sizes, math.floor(n / threshold + 1e-9))
        for size, test, other in test_grams[start:stop]:
            shared = len(grams & other)
            score = shared / (n + size - shared)
            if score >= threshold:
                found.append((text, test, round(score, 3)))
    return found
