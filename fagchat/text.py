"""User text as every process handles it: cleaned of invisible characters, referred to by hash.

The chat channel cleans each message before Rasa sees it, the staff app cleans an example
before a reviewer accepts it, and every process's log lines name a conversation by the
same short reference instead of its id.
"""

import hashlib
import unicodedata

# Control and format characters (NUL, bidi overrides, zero-width) carry no meaning in a
# question and can hide text from reviewers; newlines and tabs become spaces.
_DROP_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


def clean_text(text: str) -> str:
    """Drop control and invisible characters and fold whitespace (NFC-normalised)."""
    text = unicodedata.normalize("NFC", text)
    kept = (" " if c in "\n\r\t" else c for c in text)
    text = "".join(c for c in kept if unicodedata.category(c) not in _DROP_CATEGORIES)
    return " ".join(text.split())


# Letters only: as ten hex digits, about 1 reference in 50 held a run of digits that the log
# redaction took for a phone or CPR number ("conversation=3e[TELEFON]"), and the operator
# could no longer follow that conversation through the logs.
_REF_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def conversation_ref(sender_id: str) -> str:
    """A short, stable reference to a conversation for log lines (not the id itself)."""
    digest = hashlib.sha256(sender_id.encode()).digest()
    return "".join(_REF_LETTERS[byte % len(_REF_LETTERS)] for byte in digest[:10])
