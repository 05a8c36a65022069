"""Reviewed messages as Rasa NLU training data: the export file and the merge into nlu.yml.

The export is ordinary Rasa NLU YAML, one block per intent. The merge reads `data/nlu.yml`
with ruamel.yaml in round-trip mode, so topic headers, comments and the order of blocks
survive untouched; each new example goes to the end of its intent's block, and a block is
added at the end for an intent the file has no block for. Examples are redacted again on
the way in. An example already present (compared without case, spacing, entity markup
or end punctuation) is skipped; one present under another intent is skipped and reported
as a conflict, because training on both would teach the model a contradiction.
"New topic needed" decisions are never merged: they ask for content, not training data.
"""

import datetime as dt
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Tuple

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import LiteralScalarString

from fagchat.stores.redaction import redact
from fagchat.vocabulary import NEW_TOPIC

_ENTITY = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")
_SPACE = re.compile(r"\s+")
_EDGE = " \t.,;:!?¿¡\"'«»"


def _yaml() -> YAML:
    yaml = YAML()  # round-trip: comments and layout are kept
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=2, offset=0)
    return yaml


def key(text: str) -> str:
    """What two examples must share to count as the same one."""
    plain = _ENTITY.sub(r"\1", text)
    return _SPACE.sub(" ", plain).strip(_EDGE).casefold()


def safe_example(text: str) -> str:
    """One redacted line that Rasa reads as plain text (no entity markup, no newlines)."""
    line = _SPACE.sub(" ", redact(text)).strip()
    # "[TELEFON](x)" would read as an entity annotation: keep the brackets apart.
    return line.replace("](", "] (").replace("]{", "] {").replace("][", "] [")


def parse_block(examples: str) -> List[str]:
    """The example texts of one `examples: |` block."""
    return [line.strip()[2:].strip() for line in str(examples).splitlines() if line.strip().startswith("- ")]


def export_yaml(decisions: Iterable[Tuple[str, str]], today: dt.date) -> str:
    """Rasa NLU YAML for (intent, example) pairs; new-topic decisions are left out."""
    grouped: Dict[str, List[str]] = {}
    seen = set()
    for intent, example in decisions:
        line = safe_example(example)
        if intent == NEW_TOPIC or not line or (intent, key(line)) in seen:
            continue
        seen.add((intent, key(line)))
        grouped.setdefault(intent, []).append(line)
    blocks = CommentedSeq()
    for intent in sorted(grouped):
        block = CommentedMap(intent=intent)
        block["examples"] = LiteralScalarString("".join(f"- {e}\n" for e in grouped[intent]))
        blocks.append(block)
    doc = CommentedMap(version="3.1")
    doc["nlu"] = blocks
    out = io.StringIO()
    out.write(
        f"# Messages reviewed in the Fagchat staff app, exported {today.isoformat()}.\n"
        "# Merge into the training data with:\n"
        "#   python -m fagchat.staff.cli merge-nlu data/nlu.yml --from THIS_FILE\n"
    )
    _yaml().dump(doc, out)
    return out.getvalue()


def read_export(path: Path) -> List[Tuple[str, str]]:
    """The (intent, example) pairs of an exported (or any NLU) YAML file."""
    doc = _yaml().load(Path(path).read_text(encoding="utf-8")) or {}
    pairs = []
    for block in doc.get("nlu") or []:
        if isinstance(block, dict) and "intent" in block:
            pairs += [(str(block["intent"]), e) for e in parse_block(block.get("examples", ""))]
    return pairs


@dataclass
class MergeReport:
    """What a merge did."""

    added: Dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    conflicts: List[Tuple[str, str, str]] = field(default_factory=list)  # (example, in, wanted)
    unknown: List[str] = field(default_factory=list)  # intents not in the domain
    new_blocks: List[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Examples added."""
        return sum(self.added.values())


def merge(path: Path, pairs: Iterable[Tuple[str, str]], known_intents: Iterable[str]) -> MergeReport:
    """Merge (intent, example) pairs into the NLU file at `path`, in place.

    Args:
        path: The NLU YAML file (e.g. data/nlu.yml).
        pairs: (intent, example) pairs, e.g. from `read_export` or the review decisions.
        known_intents: The domain's intents; pairs for any other intent are skipped.

    Returns:
        A report of what was added and what was skipped.
    """
    yaml, path = _yaml(), Path(path)
    doc = yaml.load(path.read_text(encoding="utf-8"))
    blocks = doc.setdefault("nlu", CommentedSeq())
    by_intent = {b["intent"]: b for b in blocks if isinstance(b, dict) and "intent" in b}
    owner = {key(e): intent for intent, b in by_intent.items() for e in parse_block(b.get("examples", ""))}
    known, report = set(known_intents), MergeReport()
    new: Dict[str, List[str]] = {}
    for intent, example in pairs:
        line = safe_example(example)
        if intent == NEW_TOPIC or not line:
            continue
        if intent not in known:
            if intent not in report.unknown:
                report.unknown.append(intent)
            continue
        k = key(line)
        if k in owner:
            if owner[k] == intent:
                report.duplicates += 1
            else:
                report.conflicts.append((line, owner[k], intent))
            continue
        owner[k] = intent
        new.setdefault(intent, []).append(line)
    for intent, lines in new.items():
        block = by_intent.get(intent)
        if block is None:
            block = CommentedMap(intent=intent)
            block["examples"] = LiteralScalarString("")
            blocks.append(block)
            report.new_blocks.append(intent)
        old = str(block.get("examples") or "")
        old = old if not old or old.endswith("\n") else old + "\n"
        block["examples"] = LiteralScalarString(old + "".join(f"- {line}\n" for line in lines))
        report.added[intent] = len(lines)
    if report.total:
        out = io.StringIO()
        yaml.dump(doc, out)
        path.write_text(out.getvalue(), encoding="utf-8")
    return report
