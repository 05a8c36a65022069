"""Measured NLU quality: cross-validation, held-out routing, and the safety figures.

    python -m fagchat.nlu.quality crossval [--folds 5] [--min-f1 0.90]
    python -m fagchat.nlu.quality heldout  [--model M] [--min-top1 0.90] [--min-top3 0.97]
    python -m fagchat.nlu.quality safety   [--model M] [--max-false-alarms 0.02]

Each command prints a short report, writes it as Markdown under `--out`, and exits 1 when
a gate fails, so `make test` fails below the understanding issue's thresholds. The gates
apply to every set: blind and development alike (fagchat/nlu/testsets.py).
"""

import argparse
import asyncio
import json
import logging
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

from fagchat import settings, vocabulary
from fagchat.after_danger import offered_intents
from fagchat.nlu.testsets import HELDOUT_SETS, SAFETY_SETS, Question, read_lines, read_questions

ROOT = settings.ROOT
ACUTE = vocabulary.ACUTE_DANGER


class Parsed(NamedTuple):
    """What the NLU made of one message: the intent acted on, the ranking behind it, and
    the articles offered after a 112 answer (fagchat/after_danger.py)."""

    intent: str
    ranking: Tuple[str, ...]
    offered: Tuple[str, ...] = ()


class Parser:
    """The trained model's NLU (with the safety layer), loaded once."""

    def __init__(self, model: Optional[Path] = None) -> None:
        """Load the model (about 15 s); default: the model the Rasa server loads."""
        from rasa.core.agent import Agent
        from rasa.utils.log_utils import configure_structlog

        from actions.rendering import EXTRA_TITLES, knowledge_base

        # Unconfigured, Rasa's structlog prints every parsed message with its text at debug:
        # a blind set's messages must never be shown, in a report, a test or a script.
        configure_structlog(logging.WARNING)
        self.agent = Agent.load(str(model or settings.current().model_path))
        self.loop = asyncio.new_event_loop()
        # What the action after the 112 answer can show a button for.
        self.titled = frozenset(knowledge_base().intents) | frozenset(EXTRA_TITLES)

    def parse(self, text: str) -> Parsed:
        """The intent the assistant acts on for `text`, and the classifier's ranking."""
        data = self.loop.run_until_complete(self.agent.parse_message(text))
        full = data.get("intent_ranking") or []
        ranking = tuple(r["name"] for r in full if r["name"] != vocabulary.NLU_FALLBACK)
        intent = data["intent"]["name"]
        offered = tuple(offered_intents(full, self.titled.__contains__)) if intent == ACUTE else ()
        return Parsed(intent, ranking, offered)

    def intent(self, text: str) -> str:
        """The intent the assistant acts on for `text`."""
        return self.parse(text).intent

    def intents(self, texts: Sequence[str]) -> List[str]:
        """The intent for each text."""
        return [self.intent(t) for t in texts]


class Routing(NamedTuple):
    """Held-out figures: top-1 (the right answer at once), top-3 (among did-you-mean's),
    and one tap: top-3, or among the articles offered after a 112 answer."""

    top1: float
    top3: float
    total: int
    by_tag: Dict[str, Tuple[int, int]]
    misses: List[Tuple[str, str, str]]
    false_112: int = 0  # routine questions answered with 112
    offered_after: int = 0  # of those, how many had their article offered after the 112 answer
    one_tap: float = 0.0


def routing(parser: Parser, questions: Sequence[Question]) -> Routing:
    """How often the assistant routes a question to the intent that answers it."""
    right = top3 = false_112 = offered_after = 0
    by_tag: Dict[str, List[int]] = defaultdict(lambda: [0, 0])
    misses = []
    for q in questions:
        parsed = parser.parse(q.text)
        hit = parsed.intent == q.intent
        right += hit
        # Did-you-mean offers the three likeliest. A 112 answer's offer after it (at most
        # two articles) counts in one tap, not in top-3, so top-3 keeps its meaning.
        top3 += hit or (parsed.intent != ACUTE and q.intent in parsed.ranking[:3])
        if parsed.intent == ACUTE and q.intent != ACUTE:
            false_112 += 1
            offered_after += q.intent in parsed.offered
        for tag in q.tags or ("all",):
            by_tag[tag][0] += hit
            by_tag[tag][1] += 1
        if not hit:
            misses.append((q.text, q.intent, parsed.intent))
    n = len(questions)
    tags = {t: (a, b) for t, (a, b) in by_tag.items()}
    return Routing(right / n, top3 / n, n, tags, misses, false_112, offered_after, (top3 + offered_after) / n)


def heldout_accuracy(parser: Parser, pairs: Sequence[Tuple[str, str]]) -> Tuple[float, List[Tuple[str, str, str]]]:
    """Top-1 accuracy over (text, intent) pairs, and the misses."""
    result = routing(parser, [Question(t, i) for t, i in pairs])
    return result.top1, result.misses


def safety_figures(parser: Parser) -> Dict[str, Tuple[int, int, List[str], int]]:
    """For each safety set: (messages routed to acute_danger, total, the exceptions, and
    how many of the 112 answers offered an article after them)."""
    figures = {}
    for name, (path, _blind) in SAFETY_SETS.items():
        texts = read_lines(path)
        parsed = [parser.parse(t) for t in texts]
        hits = [t for t, p in zip(texts, parsed) if p.intent == ACUTE]
        odd = [t for t, p in zip(texts, parsed) if (p.intent == ACUTE) != name.startswith("danger")]
        offers = sum(1 for p in parsed if p.intent == ACUTE and p.offered)
        figures[name] = (len(hits), len(texts), odd, offers)
    return figures


def crossval_report(out: Path) -> Tuple[float, str]:
    """Summarise Rasa's cross-validation output in `out`: macro-F1 and the weak spots."""
    report = json.loads((out / "intent_report.json").read_text())
    macro = report["macro avg"]["f1-score"]
    skip = ("macro avg", "weighted avg", "micro avg")
    per_intent = {k: v for k, v in report.items() if isinstance(v, dict) and "support" in v and k not in skip}
    worst = sorted(per_intent.items(), key=lambda kv: kv[1]["f1-score"])[:5]
    errors = json.loads((out / "intent_errors.json").read_text()) if (out / "intent_errors.json").exists() else []
    pairs = Counter((e["intent"], e["intent_prediction"]["name"]) for e in errors)
    lines = [
        "# NLU cross-validation\n",
        f"Macro-F1: **{macro:.3f}** over {len(per_intent)} intents\n",
        "## Worst 5 intents\n",
    ]
    lines += [f"- {name}: F1 {v['f1-score']:.3f} (support {v['support']})" for name, v in worst]
    lines += ["", "## Most frequent confusions (true → predicted: count)\n"]
    lines += [f"- {t} → {p}: {n}" for (t, p), n in pairs.most_common(8)]
    return macro, "\n".join(lines) + "\n"


def run_crossval(folds: int, out: Path, config: Path, nlu: Path = ROOT / "data" / "nlu.yml") -> int:
    """Cross-validate the pipeline `config` on seeded folds of `nlu`; return the exit code.

    The folds are trained and predicted in a process of their own (fagchat.nlu.crossval),
    which writes Rasa's report files to `out` for `crossval_report`.
    """
    out.mkdir(parents=True, exist_ok=True)
    args = ["--nlu", str(nlu), "--config", str(config), "--folds", str(folds), "--out", str(out)]
    return subprocess.call([sys.executable, "-m", "fagchat.nlu.crossval", *args], cwd=ROOT)


def heldout_report(parser: Parser, min_top1: float, min_top3: float) -> Tuple[bool, str]:
    """Markdown for every held-out set, and whether all pass the gates."""
    ok, text = (
        True,
        "# Held-out routing\n\n| set | questions | top-1 | top-3 | false 112 (article offered after it) "
        "| one tap | by tag (top-1) |\n|---|---|---|---|---|---|---|\n",
    )
    details = ""
    for name, (path, blind) in HELDOUT_SETS.items():
        result = routing(parser, read_questions(path))
        ok &= result.top1 >= min_top1 and result.top3 >= min_top3
        tags = ", ".join(f"{t} {a}/{b}" for t, (a, b) in sorted(result.by_tag.items()))
        kind = " (blind)" if blind else " (development)"
        alarms = f"{result.false_112} ({result.offered_after})"
        figures = f"{result.top1:.3f} | {result.top3:.3f} | {alarms} | {result.one_tap:.3f}"
        text += f"| {name}{kind} | {result.total} | {figures} | {tags} |\n"
        if blind:
            # Counts only: reading a blind set's misses is the first step to tuning on it.
            wrong = Counter(got for _text, _want, got in result.misses)
            details += f"\n## Misses in {name} (blind: counts by predicted intent)\n\n"
            details += "".join(f"- {got}: {n}\n" for got, n in wrong.most_common())
        else:
            details += f"\n## Misses in {name}\n\n"
            details += "".join(f"- {want} → {got}: {t!r}\n" for t, want, got in result.misses)
    return ok, text + f"\nGates: top-1 ≥ {min_top1}, top-3 ≥ {min_top3} on every set.\n" + details


def safety_report(parser: Parser, max_false_alarms: float) -> Tuple[bool, str]:
    """Markdown for every safety set, and whether recall is 100 % and false alarms within the gate."""
    ok = True
    text = "# Safety layer\n\n| set | 112 first | rate | gate | an article offered after it |\n|---|---|---|---|---|\n"
    details = ""
    for name, (hits, total, odd, offers) in safety_figures(parser).items():
        blind = SAFETY_SETS[name][1]
        danger = name.startswith("danger")
        rate = hits / total
        passed = hits == total if danger else rate <= max_false_alarms
        ok &= passed
        gate = "recall 100 %" if danger else f"false alarms ≤ {max_false_alarms:.0%}"
        text += f"| {name} | {hits}/{total} | {rate:.1%} | {gate}: {'pass' if passed else 'FAIL'} | {offers} |\n"
        if not blind:  # a blind set's exceptions are not shown: they must not be tuned on
            details += "".join(f"- {name}, not as expected: {t}\n" for t in odd)
    return ok, text + ("\n" + details if details else "")


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command-line entry point."""
    args = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    args.add_argument("command", choices=["crossval", "heldout", "safety"])
    args.add_argument("--folds", type=int, default=5)
    args.add_argument("--out", type=Path, default=ROOT / "var" / "results")
    args.add_argument("--config", type=Path, default=ROOT / "config.yml")
    args.add_argument("--model", type=Path, default=None)
    args.add_argument("--min-f1", type=float, default=0.90)  # the gate; 0.903 measured (46 intents)
    args.add_argument("--min-top1", type=float, default=0.90)
    args.add_argument("--min-top3", type=float, default=0.97)
    args.add_argument("--max-false-alarms", type=float, default=0.02)
    opts = args.parse_args(argv)
    opts.out.mkdir(parents=True, exist_ok=True)
    if opts.command == "crossval":
        if run_crossval(opts.folds, opts.out, opts.config) != 0:
            return 1
        macro, text = crossval_report(opts.out)
        ok = macro >= opts.min_f1
    elif opts.command == "heldout":
        ok, text = heldout_report(Parser(opts.model), opts.min_top1, opts.min_top3)
    else:
        ok, text = safety_report(Parser(opts.model), opts.max_false_alarms)
    (opts.out / f"{opts.command}.md").write_text(text)
    print(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
