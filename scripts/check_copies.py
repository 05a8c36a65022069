"""Developer tool: find answer text that repeats the reference texts word for word.

    python scripts/check_copies.py [path/to/shared/reference]

Every answer must be written in our own words (../shared/reference/README.md). This
compares the articles (knowledge/*.md: the common text and each role variant) and the
response texts in domain.yml with the facts sheet and the centre's page for
professionals, by the word 6-grams they share after lower-casing and stripping
punctuation and links. Each hit is listed with the file, the shared words and the
sentence they stand in; the exit code is 1 when there is a hit, 2 when the reference
folder is missing.

It reads ../shared, which a user's clone does not have, so it is not part of `make test`
(`make check-copies` runs it).
"""

import re
import sys
from pathlib import Path
from typing import Iterator, List, NamedTuple, Set, Tuple

import yaml

ROOT = Path(__file__).resolve().parent.parent
REFERENCES = ("facts.md", "dsc-fagpersoner-side.txt")
N = 6
# Names we must repeat as they are (titles of publications and laws), not sentences we copied.
NAMES = ("Når der er tale om stalking", "Lov om tilhold, opholdsforbud og bortvisning")
_WORD = re.compile(r"\w+")
_LINK = re.compile(r"\]\(https?://[^)]*\)|https?://\S+")
_FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.S)
_SENTENCE_END = re.compile(r"[.!?:;]\s|\n")
_ROLE_MARKER = re.compile(r"^<!--\s*rolle:\s*([a-z]+)\s*-->\s*$", re.M)


class Hit(NamedTuple):
    """A passage of at least N words that also stands in a reference text."""

    file: str
    shared: str
    sentence: str


def _blank_links(text: str) -> str:
    """Replace link targets with spaces so that offsets stay right and URLs never match."""
    return _LINK.sub(
        lambda m: "]" + " " * (len(m.group()) - 1) if m.group().startswith("]") else " " * len(m.group()), text
    )


def words(text: str) -> List[Tuple[str, int, int]]:
    """The lower-cased words of `text` with their start and end offsets.

    A run of numbers (a phone number, a time like 8.30–11.00) counts as one word: such
    facts must be given exactly as they are, and are not prose we could have copied.
    """
    found: List[Tuple[str, int, int]] = []
    for m in _WORD.finditer(_blank_links(text)):
        word = m.group().lower()
        if word.isdigit() and found and found[-1][0] == "#":
            found[-1] = ("#", found[-1][1], m.end())
        else:
            found.append(("#" if word.isdigit() else word, m.start(), m.end()))
    return found


def ngrams(text: str) -> Set[Tuple[str, ...]]:
    """Every word N-gram of `text`."""
    tokens = [w for w, _, _ in words(text)]
    return {tuple(tokens[i : i + N]) for i in range(len(tokens) - N + 1)}


def sentence_at(text: str, start: int, end: int) -> str:
    """The sentence (or list line) around the characters start..end, on one line."""
    begin = 0
    for match in _SENTENCE_END.finditer(text, 0, start):
        begin = match.end()
    after = _SENTENCE_END.search(text, end)
    stop = after.start() + 1 if after else len(text)
    return " ".join(text[begin:stop].split())


def _mask_names(text: str) -> str:
    """Turn each of NAMES into one word no reference has, keeping the offsets."""
    for name in NAMES:
        text = re.sub(re.escape(name), lambda m: "x" * len(m.group()), text, flags=re.I)
    return text


def hits(name: str, text: str, reference: Set[Tuple[str, ...]]) -> Iterator[Hit]:
    """Each maximal run of shared N-grams in `text`, as one hit."""
    tokens = words(_mask_names(text))
    shared = [tuple(w for w, _, _ in tokens[i : i + N]) in reference for i in range(len(tokens) - N + 1)]
    i = 0
    while i < len(shared):
        if not shared[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(shared) and shared[j + 1]:
            j += 1
        first, last = tokens[i], tokens[j + N - 1]
        passage = " ".join(text[first[1] : last[2]].split())
        yield Hit(name, passage, sentence_at(text, first[1], last[2]))
        i = j + 1


def answer_texts(root: Path) -> Iterator[Tuple[str, str]]:
    """(label, text) of every article body and every domain response text."""
    for path in sorted((root / "knowledge").glob("*.md")):
        body = _FRONT_MATTER.sub("", path.read_text(encoding="utf-8"), count=1)
        parts = _ROLE_MARKER.split(body)
        yield f"knowledge/{path.name}", parts[0]
        for role, variant in zip(parts[1::2], parts[2::2]):
            yield f"knowledge/{path.name} (rolle: {role})", variant
    domain = yaml.safe_load((root / "domain.yml").read_text(encoding="utf-8"))
    for name, variants in (domain.get("responses") or {}).items():
        for variant in variants:
            if variant.get("text"):
                yield f"domain.yml:{name}", variant["text"]


def main() -> int:
    """Print every shared passage; exit 1 when there is one."""
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "reference"
    missing = [name for name in REFERENCES if not (folder / name).exists()]
    if missing:
        print(
            f"No reference texts in {folder} ({', '.join(missing)}); give the folder as the argument.", file=sys.stderr
        )
        return 2
    reference: Set[Tuple[str, ...]] = set()
    for name in REFERENCES:
        reference |= ngrams((folder / name).read_text(encoding="utf-8"))
    found = [hit for label, text in answer_texts(ROOT) for hit in hits(label, text, reference)]
    for hit in found:
        print(f"{hit.file}\n  shared:   {hit.shared}\n  sentence: {hit.sentence}")
    print(f"{len(found)} passage(s) of {N}+ words shared with the reference texts.")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
