"""Fold look-alike characters to plain ones before redaction matches, keeping offsets.

People type (or paste) personal data with characters that look right but are not the
ASCII ones a pattern expects: no-break and thin spaces from phones and word processors,
en and em dashes and minus signs, full-width digits from Asian keyboards, zero-width
spaces from web pages. `fold()` maps each of them to its plain form (NFKC, every dash to
"-", every space to " ", invisible format characters to nothing) so that one set of
patterns sees them all, and tells the caller where each folded character came from, so
that redaction replaces the characters of the *original* text.
"""

import functools
import re
import unicodedata
from typing import List, Optional, Tuple

# Characters that fold to themselves, so they are never looked up: ASCII, the Latin letters
# (æ, ø, å, é, ü …; not the long s, which NFKC makes an "s") and the punctuation
# Danish text is full of (§, «», °, curly quotes, …, €). Skipping them keeps ordinary
# text on the fast path (no copy, no offset table).
_MAY_FOLD = re.compile(
    r"[^\x00-\x7f\u00a1-\u00a7\u00a9\u00ab\u00ac\u00ae\u00b0\u00b1\u00b6\u00b7\u00bb\u00bf"
    r"\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u017e\u0180-\u024f\u2018-\u201f\u2022\u2026\u20ac]"
)
_MINUS_SIGNS = "\u2212\u2043\u02d7"  # minus sign, hyphen bullet, modifier minus: dashes that are not in Pd


@functools.lru_cache(maxsize=4096)
def fold_char(char: str) -> str:
    """The plain form of one character ("" for an invisible one)."""
    category = unicodedata.category(char)
    if category == "Pd" or char in _MINUS_SIGNS:
        return "-"
    if category == "Zs":
        return " "
    if category == "Cf":
        # Zero-width space and joiners, soft hyphen, bidi marks: invisible, so they may sit
        # inside a number without the writer (or the reader) seeing them.
        return ""
    if category == "Nd":
        # NFKC folds full-width digits but not Arabic-Indic, Devanagari … digits.
        return str(unicodedata.decimal(char))
    folded = unicodedata.normalize("NFKC", char)
    # A ligature or an ellipsis ("…" -> "...") would only cost offset bookkeeping; a
    # folded form matters only when it brings a digit or an address sign with it.
    if len(folded) == 1 or any(c.isdigit() or c in "@+" for c in folded):
        return folded
    return char


def fold(text: str) -> Tuple[str, Optional[List[int]]]:
    """Fold `text` and say where each folded character came from.

    Args:
        text: Any text.

    Returns:
        ``(folded, origin)``. When every character folded to exactly one character,
        offsets agree and `origin` is None. Otherwise ``origin[i]`` is the index in
        `text` of the character that produced ``folded[i]``, with ``len(text)``
        appended so that an end offset can be looked up too.
    """
    if text.isascii() or _MAY_FOLD.search(text) is None:
        return text, None
    pieces: List[str] = []
    changed: List[Tuple[int, str]] = []
    last = 0
    for match in _MAY_FOLD.finditer(text):
        index = match.start()
        folded = fold_char(text[index])
        if folded != text[index]:
            pieces += (text[last:index], folded)
            changed.append((index, folded))
            last = index + 1
    if not changed:
        return text, None
    pieces.append(text[last:])
    result = "".join(pieces)
    if all(len(folded) == 1 for _, folded in changed):
        return result, None
    origin: List[int] = []
    last = 0
    for index, folded in changed:
        origin.extend(range(last, index))
        origin.extend([index] * len(folded))
        last = index + 1
    origin.extend(range(last, len(text) + 1))
    return result, origin


def original_span(origin: Optional[List[int]], start: int, end: int) -> Tuple[int, int]:
    """The span of the original text that produced ``folded[start:end]`` (end > start)."""
    if origin is None:
        return start, end
    return origin[start], origin[end - 1] + 1
