"""Measured NLU quality: cross-validation, held-out accuracy, and the safety figures.

    python -m fagchat.quality crossval [--folds 5] [--out DIR] [--min-f1 0.85] [--config config.yml]
    python -m fagchat.quality heldout  [--min-accuracy 0.85]
    python -m fagchat.quality safety

Each command prints a short report, writes it as Markdown under `--out`, and exits 1 when
its gate fails, so `make test` fails below the issue's thresholds.
"""

import argparse
import asyncio
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import yaml

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "fagchat.tar.gz"
HELDOUT = ROOT / "tests" / "data" / "heldout_nlu.yml"
SAFETY_SETS = {
    "danger": ROOT / "tests" / "data" / "safety_danger.txt",
    "lookalikes": ROOT / "tests" / "data" / "safety_lookalikes.txt",
    "danger_blind": ROOT / "tests" / "data" / "safety_danger_blind.txt",
    "lookalikes_blind": ROOT / "tests" / "data" / "safety_lookalikes_blind.txt",
}
ACUTE = "acute_danger"


def read_lines(path: Path) -> List[str]:
    """Messages of a safety set: one a line, '#' starts a comment."""
    return [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


def read_nlu_examples(path: Path) -> List[Tuple[str, str]]:
    """(text, intent) pairs of a Rasa NLU YAML file, entity annotations removed."""
    import re

    pairs = []
    for block in yaml.safe_load(path.read_text())["nlu"]:
        if "intent" not in block:
            continue
        for line in block["examples"].splitlines():
            line = line.strip()
            if line.startswith("- "):
                text = re.sub(r"\[([^\]]+)\]\{[^}]*\}", r"\1", line[2:]).strip()
                pairs.append((text, block["intent"]))
    return pairs


def crossval_report(out: Path) -> Tuple[float, str]:
    """Summarise Rasa's cross-validation output in `out`: macro-F1 and the weak spots."""
    report = json.loads((out / "intent_report.json").read_text())
    macro = report["macro avg"]["f1-score"]
    per_intent = {k: v for k, v in report.items() if isinstance(v, dict) and "support" in v and k not in ("macro avg", "weighted avg", "micro avg")}
    worst = sorted(per_intent.items(), key=lambda kv: kv[1]["f1-score"])[:5]
    errors = json.loads((out / "intent_errors.json").read_text()) if (out / "intent_errors.json").exists() else []
    pairs = Counter((e["intent"], e["intent_prediction"]["name"]) for e in errors)
    lines = [f"# NLU cross-validation\n", f"Macro-F1: **{macro:.3f}** over {len(per_intent)} intents\n", "## Worst 5 intents\n"]
    lines += [f"- {name}: F1 {v['f1-score']:.3f} (support {v['support']})" for name, v in worst]
    lines += ["", "## Most frequent confusions (true → predicted: count)\n"]
    lines += [f"- {t} → {p}: {n}" for (t, p), n in pairs.most_common(8)]
    return macro, "\n".join(lines) + "\n"


def run_crossval(folds: int, out: Path, config: Path) -> int:
    """Run Rasa's k-fold NLU cross-validation; return its exit code."""
    out.mkdir(parents=True, exist_ok=True)
    rasa = str(Path(sys.executable).parent / "rasa")
    cmd = [rasa, "test", "nlu", "--nlu", "data/nlu.yml", "--config", str(config),
           "--cross-validation", "--folds", str(folds), "--out", str(out), "--no-plot"]
    return subprocess.call(cmd, cwd=ROOT)


class Parser:
    """The trained model's NLU (with the safety layer), loaded once."""

    def __init__(self, model: Path = MODEL) -> None:
        """Load the model (about 15 s)."""
        from rasa.core.agent import Agent

        self.agent = Agent.load(str(model))
        self.loop = asyncio.new_event_loop()

    def intent(self, text: str) -> str:
        """The intent the assistant acts on for `text`."""
        parsed = self.loop.run_until_complete(self.agent.parse_message(text))
        return parsed["intent"]["name"]

    def intents(self, texts: Sequence[str]) -> List[str]:
        """The intent for each text."""
        return [self.intent(t) for t in texts]


def heldout_accuracy(parser: Parser, pairs: Sequence[Tuple[str, str]]) -> Tuple[float, List[Tuple[str, str, str]]]:
    """Top-1 accuracy over (text, intent) pairs, and the misses."""
    predicted = parser.intents([t for t, _ in pairs])
    misses = [(t, want, got) for (t, want), got in zip(pairs, predicted) if got != want]
    return 1 - len(misses) / len(pairs), misses


def safety_figures(parser: Parser) -> Dict[str, Tuple[int, int, List[str]]]:
    """For each safety set: (messages routed to acute_danger, total, the exceptions)."""
    figures = {}
    for name, path in SAFETY_SETS.items():
        if not path.exists():
            continue
        texts = read_lines(path)
        intents = parser.intents(texts)
        hits = [t for t, i in zip(texts, intents) if i == ACUTE]
        odd = [t for t, i in zip(texts, intents) if (i == ACUTE) != name.startswith("danger")]
        figures[name] = (len(hits), len(texts), odd)
    return figures


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command-line entry point."""
    args = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    args.add_argument("command", choices=["crossval", "heldout", "safety"])
    args.add_argument("--folds", type=int, default=5)
    args.add_argument("--out", type=Path, default=ROOT / "var" / "results")
    args.add_argument("--config", type=Path, default=ROOT / "config.yml")
    args.add_argument("--min-f1", type=float, default=0.85)
    args.add_argument("--min-accuracy", type=float, default=0.85)
    opts = args.parse_args(argv)
    opts.out.mkdir(parents=True, exist_ok=True)
    if opts.command == "crossval":
        if run_crossval(opts.folds, opts.out, opts.config) != 0:
            return 1
        macro, text = crossval_report(opts.out)
        (opts.out / "crossval.md").write_text(text)
        print(text)
        return 0 if macro >= opts.min_f1 else 1
    parser = Parser()
    if opts.command == "heldout":
        accuracy, misses = heldout_accuracy(parser, read_nlu_examples(HELDOUT))
        text = f"# Held-out NLU test\n\nTop-1 accuracy: **{accuracy:.3f}**\n\n## Misses\n\n"
        text += "\n".join(f"- {t!r}: {want} → {got}" for t, want, got in misses) + "\n"
        (opts.out / "heldout.md").write_text(text)
        print(text)
        return 0 if accuracy >= opts.min_accuracy else 1
    figures = safety_figures(parser)
    text = "# Safety layer\n\n"
    for name, (hits, total, odd) in figures.items():
        text += f"- {name}: {hits}/{total} routed to acute_danger ({hits / total:.1%})\n"
        text += "".join(f"    - not as expected: {t}\n" for t in odd)
    (opts.out / "safety.md").write_text(text)
    print(text)
    danger = figures.get("danger")
    return 0 if danger and danger[0] == danger[1] else 1


if __name__ == "__main__":
    sys.exit(main())
