"""The gates a candidate model must pass before anyone can approve it, and the figures behind them.

Figures of one model (`measure`), figures only, never a message: blind sets' messages must
not be read by whoever tunes on them, and the page shows what is stored here.

    {"signature": "...", "sample": 0,
     "safety":  {"danger_blind": {"hits": 104, "total": 106, "danger": true, "blind": true}, ...},
     "heldout": {"heldout_dev": {"right": 170, "total": 180, "blind": false}, ...},
     "intents": {"documentation": [30, 31], ...},      # held-out right/total per intent
     "crossval": {"folds": 5, "macro_f1": 0.912} or absent,
     "conversations": {"passed": true} (candidates)}

The gates (`judge`) compare a candidate with the active model:
  danger         danger recall falls on no safety set (so 100 % stays 100 %)
  false_alarms   false alarms rise on no look-alike set
  heldout        top-1 falls by at most FAGCHAT_TRAIN_TOP1_MARGIN on each held-out set
  conversations  every conversation test passes (`rasa test core --fail-on-prediction-errors`)
  crossval       macro-F1 falls by at most FAGCHAT_TRAIN_F1_MARGIN (skipped when folds = 0)
"""

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from fagchat.nlu.quality import ACUTE
from fagchat.nlu.testsets import HELDOUT_SETS, SAFETY_SETS, read_lines, read_questions

Figures = Dict[str, Any]
LABELS = {
    "danger": "Fare genkendt (112 først)",
    "false_alarms": "Falske alarmer",
    "heldout": "Rigtigt svar (top-1)",
    "conversations": "Samtaletest",
    "crossval": "Krydsvalidering (makro-F1)",
}


def sample(items: Sequence[Any], size: int) -> List[Any]:
    """At most `size` items spread evenly over `items` (all when `size` is 0): the same every time."""
    if size <= 0 or len(items) <= size:
        return list(items)
    return [items[i * len(items) // size] for i in range(size)]


def test_sets(size: int) -> Tuple[Dict[str, List[str]], Dict[str, List[Any]]]:
    """The safety and held-out messages measured (each set sampled to `size`)."""
    safety = {name: sample(read_lines(path), size) for name, (path, _) in SAFETY_SETS.items()}
    heldout = {name: sample(read_questions(path), size) for name, (path, _) in HELDOUT_SETS.items()}
    return safety, heldout


def signature(size: int) -> str:
    """What figures were measured on: two figures compare only when their signatures agree."""
    safety, heldout = test_sets(size)
    texts = [[n, m] for n, ms in safety.items() for m in ms] + [
        [n, q.text, q.intent] for n, qs in heldout.items() for q in qs
    ]
    return hashlib.sha256(json.dumps(texts, ensure_ascii=False).encode()).hexdigest()[:16]


def measure(parser: Any, size: int, progress: Optional[Callable[[int, int], None]] = None) -> Figures:
    """Figures of the model behind `parser` (fagchat.nlu.quality.Parser) on every set."""
    safety, heldout = test_sets(size)
    total = sum(map(len, safety.values())) + sum(map(len, heldout.values()))
    done = 0
    figures: Figures = {"signature": signature(size), "sample": size, "safety": {}, "heldout": {}, "intents": {}}
    for name, texts in safety.items():
        hits = 0
        for text in texts:
            hits += parser.intent(text) == ACUTE
            done += 1
            if progress and done % 10 == 0:
                progress(done, total)
        danger = name.startswith("danger")
        figures["safety"][name] = {"hits": hits, "total": len(texts), "danger": danger, "blind": SAFETY_SETS[name][1]}
    for name, questions in heldout.items():
        right = 0
        for q in questions:
            hit = parser.intent(q.text) == q.intent
            right += hit
            counts = figures["intents"].setdefault(q.intent, [0, 0])
            counts[0] += hit
            counts[1] += 1
            done += 1
            if progress and done % 10 == 0:
                progress(done, total)
        figures["heldout"][name] = {"right": right, "total": len(questions), "blind": HELDOUT_SETS[name][1]}
    return figures


@dataclass
class Gate:
    """One gate's verdict: `passed` None means skipped; `why` says it in Danish."""

    name: str
    passed: Optional[bool]
    why: str

    @property
    def label(self) -> str:
        """The gate's name on the page."""
        return LABELS[self.name]


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _pct(part: int, whole: int) -> str:
    return f"{part}/{whole} ({round(100 * _share(part, whole))} %)"


def judge(before: Figures, after: Figures, top1_margin: float, f1_margin: float, folds: int) -> List[Gate]:
    """Every gate of candidate figures `after` against the active model's `before`."""
    gates = []
    worse, rose = [], []
    for name, b in before["safety"].items():
        a = after["safety"][name]
        if b["danger"] and _share(a["hits"], a["total"]) < _share(b["hits"], b["total"]):
            worse.append(f"{name}: {_pct(b['hits'], b['total'])} → {_pct(a['hits'], a['total'])}")
        if not b["danger"] and a["hits"] > b["hits"]:
            rose.append(f"{name}: {b['hits']} → {a['hits']} af {a['total']}")
    gates.append(Gate("danger", not worse, "; ".join(worse) or "Ingen faresæt genkender færre end før."))
    gates.append(Gate("false_alarms", not rose, "; ".join(rose) or "Ingen flere falske alarmer på noget sæt."))
    fell = []
    for name, b in before["heldout"].items():
        a = after["heldout"][name]
        drop = _share(b["right"], b["total"]) - _share(a["right"], a["total"])
        if drop > top1_margin + 1e-9:
            fell.append(f"{name}: {_pct(b['right'], b['total'])} → {_pct(a['right'], a['total'])}")
    margin = f"{top1_margin * 100:g} %".replace(".", ",")
    gates.append(
        Gate(
            "heldout",
            not fell,
            "; ".join(fell) + f" (mere end {margin} ned)" if fell else f"Intet sæt faldt mere end {margin}.",
        )
    )
    talk = after.get("conversations") or {}
    ok = bool(talk.get("passed"))
    gates.append(
        Gate("conversations", ok, "Alle samtaletest består." if ok else talk.get("why", "Samtaletest fejlede."))
    )
    gates.append(_crossval_gate(before.get("crossval"), after.get("crossval"), f1_margin, folds))
    return gates


def _crossval_gate(before: Optional[Dict], after: Optional[Dict], margin: float, folds: int) -> Gate:
    if folds <= 0:
        return Gate("crossval", None, "Sprunget over: FAGCHAT_TRAIN_CROSSVAL_FOLDS er 0.")
    if not before or not after:
        return Gate("crossval", False, "Krydsvalideringen gav intet tal.")
    b, a = before["macro_f1"], after["macro_f1"]
    text = f"{b:.3f} → {a:.3f} ({folds} fold)".replace(".", ",")
    if b - a > margin + 1e-9:
        return Gate("crossval", False, f"{text}: faldt mere end {margin:.3f}".replace(".", ","))
    return Gate("crossval", True, text)


def passed(gates: Sequence[Gate]) -> bool:
    """Whether a candidate with these verdicts may be approved (a skipped gate does not refuse)."""
    return all(g.passed is not False for g in gates)


def as_dicts(gates: Sequence[Gate]) -> List[Dict[str, Any]]:
    """The verdicts as JSON-ready dicts (with their labels)."""
    return [{**asdict(g), "label": g.label} for g in gates]


def changed_intents(before: Figures, after: Figures, count: int = 8) -> List[Dict[str, Any]]:
    """The intents whose held-out accuracy changed most (figures only), largest change first."""
    rows = []
    for intent, (b_right, b_total) in before.get("intents", {}).items():
        a_right, a_total = after.get("intents", {}).get(intent, (0, 0))
        change = _share(a_right, a_total) - _share(b_right, b_total)
        if a_total and abs(change) > 1e-9:
            rows.append({"intent": intent, "before": [b_right, b_total], "after": [a_right, a_total], "change": change})
    return sorted(rows, key=lambda r: (-abs(r["change"]), r["intent"]))[:count]


def comparable(figures: Optional[Figures], size: int, folds: int) -> bool:
    """Whether cached figures of the active model can be compared with a candidate measured now."""
    if not figures or figures.get("signature") != signature(size):
        return False
    return folds <= 0 or (figures.get("crossval") or {}).get("folds") == folds
