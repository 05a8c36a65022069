"""Print how well redaction holds: leaks per kind on generated data, false positives on the corpus.

    python tests/redaction_report.py                # fagchat.stores.redaction, 5,000 items per kind
    python tests/redaction_report.py --module /tmp/old_redaction.py --show 5

`--module` measures another copy of redaction.py (e.g. the one before a change, taken with
`git show HEAD~1:fagchat/stores/redaction.py`). The generated messages come from
tests/redaction_formats.py, which is written from how people type, not from the patterns.
"""

import argparse
import importlib.util
import sys
from pathlib import Path
from typing import Callable, Dict, List, Tuple

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests import redaction_formats as formats  # noqa: E402

# The goals issue 12 set; tests/test_redaction.py asserts the same ones.
COUNT = 5000
MAX_FALSE_POSITIVE_RATE = 0.01


def load_redact(module_path: str = "") -> Callable[[str], str]:
    """`redact` from the project, or from the redaction module file at `module_path`."""
    if not module_path:
        from fagchat.stores.redaction import redact

        return redact
    spec = importlib.util.spec_from_file_location("redaction_under_test", module_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.redact


def measure(redact: Callable[[str], str], count: int = COUNT, seed: int = 12) -> Dict[str, Dict[str, List[Tuple]]]:
    """Per kind: the generated items that leaked and the corpus lines that changed."""
    wrong = formats.false_positives(redact)
    return {kind: {"leaks": formats.leaks(redact, kind, count, seed), "false": wrong[kind]} for kind in formats.KINDS}


def main(argv: List[str] = None) -> int:
    """Print the report; exit 1 when a goal is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", default="", help="path of a redaction.py to measure instead of the project's")
    parser.add_argument("--count", type=int, default=COUNT, help="generated items per kind")
    parser.add_argument("--seed", type=int, default=12, help="seed of the generators")
    parser.add_argument("--show", type=int, default=3, help="examples to print per kind and problem")
    args = parser.parse_args(argv)

    results = measure(load_redact(args.module), args.count, args.seed)
    lines = len(formats.false_positive_corpus())
    print(f"{'kind':6} {'leaks':>14} {'false positives':>18}")
    missed = False
    for kind, found in results.items():
        leak_rate, false_rate = len(found["leaks"]) / args.count, len(found["false"]) / lines
        print(
            f"{kind:6} {len(found['leaks']):5}/{args.count} {leak_rate:6.2%} "
            f"{len(found['false']):5}/{lines} {false_rate:6.2%}"
        )
        missed |= bool(found["leaks"]) or false_rate > MAX_FALSE_POSITIVE_RATE
    for kind, found in results.items():
        for problem, items in found.items():
            for text, out in items[: args.show]:
                print(
                    f"\n{kind} {'leak' if problem == 'leaks' else 'false positive'}:\n  in:  {text!r}\n  out: {out!r}"
                )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
