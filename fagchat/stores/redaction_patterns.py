"""What counts as a CPR number, a phone number or an e-mail address, and what never does.

The patterns read text that `fagchat.stores.folding.fold()` has already folded: digits
are ASCII, every dash is "-", every space is " ". They lean towards redacting (a missed
CPR number is a data leak, a wrongly redacted number only costs a little context), but
the numbers people write every day without meaning anybody (public helplines, CVR and
case numbers, dates, year spans, amounts) are kept out by the checks in `is_phone`.

Speed: redaction runs on every message and log line. Each number pattern begins with a
plain character class, which lets the regex engine skip in C to the next place a number
could start; "not preceded by a digit" is therefore checked just after that first
character (``(?<![0-9].)``) instead of before it, and a look-ahead for enough digits and
separators ends most attempts (times, years, §§) before the spellings are tried.
"""

import re
from typing import List, Match, Tuple

CPR_TAG = "[CPR]"
PHONE_TAG = "[TELEFON]"
EMAIL_TAG = "[EMAIL]"

# The public lines the assistant itself gives out (knowledge/, domain.yml and the facts
# sheet they come from). They belong to organisations, not to people, and redacting them
# would hide from the centre's staff which number a user was given or asked about. Digits
# only, without +45. The short numbers never look like a phone number; they are listed so
# that tests/test_redaction.py checks that each of them is kept.
PUBLIC_NUMBERS = frozenset(
    {
        "112",  # alarm
        "114",  # politiet, when it is not urgent
        "1888",  # Lev Uden Vold, national violence hotline
        "116006",  # Offerrådgivningen
        "116111",  # BørneTelefonen
        "25177374",  # Dansk Stalking Center, telefonrådgivningen (knowledge/contact.yml)
        "60567374",  # Dansk Stalking Center, questions about personal data (privacy policy)
        "70203082",  # Lev Uden Vold's older hotline number, still on some municipal pages
        "35301717",  # Dialog mod Vold
        "76818098",  # Vejle Kommunes Stalking Rådgivning
    }
)
PUBLIC_ADDRESSES = frozenset({"kontakt@danskstalkingcenter.dk"})

# --- E-mail, also with the "@" spelled out to fool harvesters ("anna [at] x.dk").
_LOCAL = r"[\w\u0300-\u036f.+%'-]"  # \w plus combining accents (an "å" typed as a + ring)
_AT = r"(?: ?@ ?| ?[\[({<] ?(?:at|snabel-?a) ?[\])}>] ?)"
_DOT = r"(?:\.| ?[\[({<] ?(?:dot|punktum) ?[\])}>] ?)"
EMAIL_RE = re.compile(
    rf"(?<![\w.+%'-]){_LOCAL}+{_AT}(?:[\w\u0300-\u036f][\w\u0300-\u036f-]*{_DOT})+[^\W\d_]{{2,}}",
    re.IGNORECASE,
)
# Where an address may be: the full pattern is only tried from the word before these.
_EMAIL_SIGN = re.compile(r"[@\[({<]")
_SPELLED_AT = re.compile(r"[\[({<] ?(?:at|snabel)", re.IGNORECASE)

# --- CPR: DDMMYY then 4 digits. Only the date is checked: numbers issued since 2007 may
# fail the modulus-11 check. The date may be split like a date (01.01.90-1234); then a
# separator before the serial is required, so that "24.12.2023" stays a date.
_DAY = r"[0-3](?<![0-9].)(?=[0-9 ./-]{9})(?:(?<=0)[1-9]|(?<=[12])[0-9]|(?<=3)[01])"
_MONTH = r"(?:0[1-9]|1[0-2])"
_CPR_JOIN = r"(?: {0,2}[-/.] {0,2}| {1,2})"
CPR_RE = re.compile(
    rf"{_DAY}(?:{_MONTH}[0-9]{{2}}{_CPR_JOIN}?"
    + "".join(rf"|{re.escape(sep)}{_MONTH}{re.escape(sep)}[0-9]{{2}}{_CPR_JOIN}" for sep in " .-/")
    + r")[0-9]{4}(?![0-9])"
)

# --- Phone: 8 digits in the groupings Danes write, one separator per number (which keeps
# "14.30-15.00", a time span, from reading as 14 30 15 00), optionally after +45/0045.
# Subscriber numbers start with 2-9; the three commonest spellings also take a 1 (leaning
# towards redacting), the rarer groupings do not, since with a 1 they are mostly amounts.
# The dot is left out of the three-group spellings: "22.334.455" is how Danes write money.
_SPELLINGS = [
    ("1-9", (8,), [""]),
    ("1-9", (4, 4), [" ", "  "]),
    ("2-9", (4, 4), ["-", "/", ".", " - ", " / "]),
    ("1-9", (2, 2, 2, 2), [" ", "  ", "-", "."]),
    ("2-9", (2, 3, 3), [" ", "-"]),
    ("2-9", (3, 3, 2), [" ", "-"]),
    ("2-9", (2, 2, 4), [" ", "-"]),
    ("2-9", (4, 2, 2), [" ", "-"]),
]


def _after_first_digit(sizes: Tuple[int, ...], sep: str) -> str:
    """The regex for a spelling once its first digit has been read."""
    return f"[0-9]{{{sizes[0] - 1}}}" + "".join(f"{re.escape(sep)}[0-9]{{{size}}}" for size in sizes[1:])


_BODY = "|".join(f"[{first}]{_after_first_digit(sizes, sep)}" for first, sizes, seps in _SPELLINGS for sep in seps)
_BODY_AFTER_FIRST = "|".join(
    f"(?<=[{first}]){_after_first_digit(sizes, sep)}" for first, sizes, seps in _SPELLINGS for sep in seps
)
# Only the + or 00 form is taken as a country code: a bare "45 " is too often a count.
# The first character ("(", "+" or "0") has been read when the group starts.
_COUNTRY = r"(?P<country>(?<=\() ?(?:\+|00) ?45 ?\)|(?<=\+) ?45|(?<=0)045)(?: ?[.-] ?| {1,2})?"
# No phone number is followed by a currency, a percent sign or "mio.".
_AMOUNT_AFTER = r"(?!(?:[.,][0-9]+)? ?(?:kr\b|kroner|dkk\b|euro\b|€|,-|%|pct\b|procent|mio\b|mia\b))"
PHONE_RE = re.compile(
    rf"[(+0-9](?<![0-9].)(?=[0-9 ./()+-]{{7}})(?:{_COUNTRY}(?:{_BODY})|{_BODY_AFTER_FIRST})(?![0-9]){_AMOUNT_AFTER}",
    re.IGNORECASE,
)

# A label right before the number that says it is money, or a company, case or account number.
_NOT_PHONE_LABEL = re.compile(
    r"(?:\b(?:kr\.?|dkk) |\b(?:cvr|sag|sags|journal|ref|(?:se|p|j|konto|reg|faktura|ordre|ean)(?=[ .:-]{0,2}n))"
    r"(?:[ .:-]{0,2}(?:nr|nummer|numre)\b)?[ .:-]{0,3}(?:er |på )?)$",
    re.IGNORECASE,
)
# A word that says the number is a phone number even when it also looks like a date.
_PHONE_WORD = re.compile(r"\b(?:tlf|telefon|mobil|mob|ring|sms|opkald)", re.IGNORECASE)
_LOOK_BEHIND = 25  # characters before a number searched for those words
_DIGITS = re.compile(r"[0-9]+")
_DIGIT = re.compile(r"[0-9]")


def _is_year(group: str) -> bool:
    return len(group) == 4 and group[:2] in ("19", "20")


def _is_date(day: str, month: str, year: str) -> bool:
    return _is_year(year) and 1 <= int(month) <= 12 and 1 <= int(day) <= 31


def _looks_like_date_or_years(groups: List[str]) -> bool:
    """True for 20240112, 12012024, 2024-01-12, 12 01 2024 and year spans like 2019-2020."""
    if len(groups) == 1:
        run = groups[0]
        return _is_date(run[6:], run[4:6], run[:4]) or _is_date(run[:2], run[2:4], run[4:])
    if len(groups) == 2:
        return _is_year(groups[0]) and _is_year(groups[1])
    if len(groups) == 3 and len(groups[0]) == 4:
        return _is_date(groups[2], groups[1], groups[0])
    return len(groups) == 3 and len(groups[2]) == 4 and _is_date(groups[0], groups[1], groups[2])


def is_phone(match: Match, text: str) -> bool:
    """Whether a PHONE_RE hit in `text` is a private number rather than a public or other one."""
    has_country = match.group("country") is not None
    body = text[match.end("country") : match.end()] if has_country else match.group()
    groups = _DIGITS.findall(body)
    if "".join(groups) in PUBLIC_NUMBERS:
        return False
    if has_country:
        return True
    # Only the same line counts: a word in a heading or URL above says nothing about it.
    before = text[max(0, match.start() - _LOOK_BEHIND) : match.start()].rpartition("\n")[2]
    if _NOT_PHONE_LABEL.search(before):
        return False
    return not _looks_like_date_or_years(groups) or _PHONE_WORD.search(before) is not None


def mask(text: str, spans: List[Tuple[int, int, str]]) -> str:
    """`text` with each span blanked out, so that a later pattern cannot match inside it."""
    pieces, last = [], 0
    for start, end, _ in spans:  # in order and apart, as finditer gives them
        pieces += (text[last:start], "\x00" * (end - start))
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def _is_local_char(char: str) -> bool:
    return char.isalnum() or char in "_.+%'-" or "\u0300" <= char <= "\u036f"


def _emails(text: str) -> List[Tuple[int, int, str]]:
    """Every private e-mail address, trying the pattern only from the word before an "@"."""
    spans: List[Tuple[int, int, str]] = []
    done = 0
    for sign in _EMAIL_SIGN.finditer(text):
        at = sign.start()
        if at < done or (text[at] != "@" and not _SPELLED_AT.match(text, at)):
            continue
        start = at - 1 if at > done and text[at - 1] == " " else at
        while start > done and _is_local_char(text[start - 1]):
            start -= 1
        match = EMAIL_RE.match(text, start)
        if match is None:
            continue
        done = match.end()
        if re.sub(r"\s", "", match.group().lower()) not in PUBLIC_ADDRESSES:
            spans.append((match.start(), match.end(), EMAIL_TAG))
    return spans


def find(text: str) -> List[Tuple[int, int, str]]:
    """Every piece of personal data in folded `text` as (start, end, tag), in order.

    E-mail runs first because a local part may hold digits ("anna0101901234@x.dk") that
    the CPR pattern would otherwise split. CPR runs before phone so that a 10-digit CPR
    number is never cut into a phone number plus two stray digits.
    """
    spans = _emails(text) if "@" in text or _SPELLED_AT.search(text) else []
    if spans:
        text = mask(text, spans)
    # Most chat messages hold no digits at all; skip both number scans for them.
    if _DIGIT.search(text) is None:
        return spans
    found = [(m.start(), m.end(), CPR_TAG) for m in CPR_RE.finditer(text)]
    if found:
        spans += found
        text = mask(text, found)
    spans += [(m.start(), m.end(), PHONE_TAG) for m in PHONE_RE.finditer(text) if is_phone(m, text)]
    return sorted(spans)
