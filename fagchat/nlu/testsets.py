"""The sets the NLU is measured on, how they are read, and the near-duplicate check.

Blind sets (tests/data/blind/) were written from a brief by someone who had seen neither
the code nor the training data, committed before any tuning, and are only measured on.
Development sets (tests/data/*) have been used to tune: their figures are not evidence
of how the assistant does on unseen text. Training data must hold nothing close to any
test set: `near_duplicates()` compares after folding æ/ø/å, case and punctuation.
"""

import csv
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
    "heldout_dev6": (DATA / "heldout_dev6.tsv", False),
    "heldout_dev8": (DATA / "heldout_dev8.tsv", False),
    "heldout_dev9": (DATA / "heldout_dev9.tsv", False),
    "heldout_dev10": (DATA / "heldout_dev10.tsv", False),
    "heldout_dev11": (DATA / "heldout_dev11.tsv", False),
    "heldout_dev12": (DATA / "heldout_dev12.tsv", False),
    "heldout_dev13": (DATA / "heldout_dev13.tsv", False),
}
# name -> (file, blind?); a name starting with "danger" must get 112, "lookalikes" must not.
SAFETY_SETS: Dict[str, Tuple[Path, bool]] = {
    "danger_blind": (DATA / "blind" / "safety_danger.txt", True),
    "lookalikes_blind": (DATA / "blind" / "safety_lookalikes.txt", True),
    "danger_dev12": (DATA / "safety_danger_dev12.txt", False),
    "lookalikes_dev12": (DATA / "safety_lookalikes_dev12.txt", False),
    "danger_dev13": (DATA / "safety_danger_dev13.txt", False),
    "lookalikes_dev13": (DATA / "safety_lookalikes_dev13.txt", False),
    "danger_dev14": (DATA / "safety_danger_dev14.txt", False),
    "lookalikes_dev14": (DATA / "safety_lookalikes_dev14.txt", False),
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
    import numpy as np
    from scipy import sparse

    train = list(train)
    vocabulary: Dict[str, int] = {}

    def incidence(texts: Sequence[str]) -> "sparse.csr_matrix":
        # One row per text, a 1 in the column of each of its 4-grams.
        rows = [[vocabulary.setdefault(g, len(vocabulary)) for g in _grams(fold(t))] for t in texts]
        indptr = np.cumsum([0] + [len(r) for r in rows])
        columns = np.fromiter((c for r in rows for c in r), dtype=np.int32, count=int(indptr[-1]))
        return sparse.csr_matrix((np.ones(len(columns), dtype=np.int32), columns, indptr), shape=(len(texts), 0))

    a, b = incidence(train), incidence(tests)
    a.resize((a.shape[0], len(vocabulary)))
    b.resize((b.shape[0], len(vocabulary)))
    # All pairs at once: the shared 4-grams of every training and test text are one sparse
    # product (about 100 times faster than comparing sets pair by pair).
    shared = (a @ b.T).toarray()
    union = np.asarray(a.sum(axis=1)) + np.asarray(b.sum(axis=1)).T - shared
    score = shared / np.maximum(union, 1)
    found = np.argwhere(score >= threshold - 1e-9)
    return [(train[i], tests[j], round(float(score[i, j]), 3)) for i, j in found]
