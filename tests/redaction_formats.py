"""Personal data the way people type it, to test redaction from the outside.

The generators below are built from how Danes write CPR numbers, phone numbers and e-mail
addresses in messages (separators, spacing, grouping, look-alike Unicode characters,
country codes and labels, a Danish sentence around them), not from the redaction patterns:
a generator that mirrors the patterns can only confirm them. So this module must never
import `fagchat.stores.redaction`; the report and the tests hand it a `redact` function.

Each generated `Item` carries the digit groups (or address parts) that must not survive;
`leaked` decides, on the redacted text, whether any did.
"""

import datetime
import random
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Tuple

KINDS = ("cpr", "phone", "email")
FALSE_POSITIVES = Path(__file__).parent / "data" / "redaction_false_positives.txt"

# Neutral Danish context: no digits, no "@", no labels that say "this is (not) a number"
# (tlf, cpr, kr, sag …). "at" is in it because it is the commonest Danish word that could
# be mistaken for an address marker.
WORDS = (
    "offeret har oplyst at hun bliver forfulgt af sin tidligere kæreste som ringer hver dag "
    "og står uden for døren borgeren er bange for sin sikkerhed vi har talt med politiet og "
    "skriver at udøveren sender beskeder om natten hendes søster bor i nærheden han følger "
    "efter hende på vej til arbejde rådgiver krisecenter logskema tilhold anmeldelse "
    "Ødegård Åse Ærø jeg vil gerne høre om det er stalking"
).split()
TRAILS = ["", ".", ",", ")", "]", '"', "!", "?", ";", ":", " -", ">", " …"]

CPR_LEADS = [
    "", "cpr ", "cpr: ", "CPR-nr. ", "cpr.nr.", "CPR nr.: ", "personnummer ", "personnr. ",
    "født ", "(", "hendes cpr er ", "CPR-nummer: ", "cpr-nr:", "hans personnummer er ",
]  # fmt: skip
PHONE_LEADS = [
    "", "tlf. ", "tlf.: ", "Tlf:", "telefon ", "mobil: ", "mobil ", "mob. ", "ring på ",
    "ring til ham på ", "nummer: ", "hans nr. er ", "sms fra ", "(", '"', "hun ringer fra ",
]  # fmt: skip
EMAIL_LEADS = ["", "mail: ", "e-mail ", "skriv til ", "hans mail er ", "(", "<", "mailto:", "hun skriver fra "]

# Look-alikes that phones, word processors and web pages put in place of the plain ones.
SPACES = ["\u00a0", "\u2009", "\u202f", "\u2007", "\u3000"]  # no-break, thin, narrow nbsp, figure, ideographic
DASHES = ["\u2010", "\u2011", "\u2012", "\u2013", "\u2014", "\u2212", "\ufe63", "\uff0d"]  # hyphens, en/em, minus
FULL_WIDTH = str.maketrans("0123456789+", "０１２３４５６７８９＋")

# How people group and separate the digits (one separator per number, as typed).
CPR_DATE_SEPARATORS = ["", "", "", ".", " ", "-", "/"]
CPR_CONNECTORS = ["-", "-", " ", "", "/", " - ", " / ", "  "]
PHONE_SPELLINGS = [
    ((8,), [""]),
    ((4, 4), [" ", "-", "/", ".", "  "]),
    ((2, 2, 2, 2), [" ", "-", ".", "  "]),
    ((2, 3, 3), [" ", "-"]),
    ((3, 3, 2), [" ", "-"]),
    ((2, 2, 4), [" ", "-"]),
    ((4, 2, 2), [" ", "-"]),
]
PHONE_PREFIXES = ["", "", "", "+45 ", "+45", "0045 ", "0045", "(+45) ", "+45-", "+ 45 ", "(0045) "]

# E-mail parts: none of them is a context word, so finding one in the output is a leak.
NAMES = ["anna", "jens", "mette", "søren", "kirsten", "lars", "ida", "mohammed", "fatima", "birgitte", "ølund"]
SURNAMES = ["hansen", "nielsen", "jensen", "pedersen", "andersen", "christensen", "larsen", "sørensen"]
DOMAINS = ["gmail", "hotmail", "outlook", "live", "yahoo", "example", "firma", "post", "aarhus", "ærøskøbing"]
SUBDOMAINS = ["", "", "", "webpost.", "sager.", "intra."]
TLDS = ["dk", "dk", "dk", "com", "net", "org", "eu", "se", "info", "DK"]
AT_SIGNS = ["@"] * 6 + [" @ ", "@ ", " [at] ", "[at]", " (at) ", "(at)", " {at} ", "\uff20", " (snabel-a) "]
DOTS = ["."] * 12 + [" [dot] ", "(dot)", " (punktum) "]

_CONTEXT = {word.lower() for text in WORDS + CPR_LEADS + PHONE_LEADS + EMAIL_LEADS for word in re.findall(r"\w+", text)}
assert not {*NAMES, *SURNAMES, *DOMAINS, *(label.strip(".") for label in SUBDOMAINS)} & _CONTEXT


@dataclass(frozen=True)
class Item:
    """One generated message holding one piece of personal data."""

    kind: str
    text: str
    secrets: Tuple[str, ...]  # digit groups or address parts, folded to plain ASCII and lower case


def fold(text: str) -> str:
    """NFKC and lower case: how the leak check reads text (full-width digits count as digits)."""
    return unicodedata.normalize("NFKC", text).lower()


def leaked(item: Item, redacted: str) -> bool:
    """True if any digit group (or address part) of `item` is still in `redacted`."""
    out = fold(redacted)
    if item.kind == "email":
        return any(re.search(rf"(?<!\w){re.escape(part)}(?!\w)", out) for part in item.secrets)
    runs = re.findall(r"\d+", out)
    return any(group in run for group in item.secrets for run in runs)


def _unicode_variant(rng: random.Random, text: str) -> str:
    """Sometimes swap digits, spaces and dashes for their Unicode look-alikes."""
    if rng.random() < 0.15:
        text = text.translate(FULL_WIDTH)
    if rng.random() < 0.25:
        text = text.replace(" ", rng.choice(SPACES))
    if rng.random() < 0.25:
        text = text.replace("-", rng.choice(DASHES))
    return text


def _sentence(rng: random.Random, lead: str, piece: str) -> str:
    """Put `piece` after `lead` between 0-8 Danish words on each side, with a trailing mark."""
    before = " ".join(rng.choices(WORDS, k=rng.randint(0, 8)))
    after = " ".join(rng.choices(WORDS, k=rng.randint(0, 8)))
    text = (before + " " if before else "") + lead + piece + rng.choice(TRAILS)
    return text + (" " + after if after else "")


def cpr_item(rng: random.Random) -> Item:
    """A CPR number with a real date and any serial, spelled as people write it."""
    born = datetime.date(1920, 1, 1) + datetime.timedelta(days=rng.randint(0, 38_000))
    date = (born.strftime("%d"), born.strftime("%m"), born.strftime("%y"))
    serial = "%04d" % rng.randint(0, 9999)
    date_sep = rng.choice(CPR_DATE_SEPARATORS)
    connector = rng.choice(CPR_CONNECTORS if date_sep == "" else [c for c in CPR_CONNECTORS if c])
    piece = _unicode_variant(rng, date_sep.join(date) + connector + serial)
    groups = (date + (serial,)) if date_sep else ("".join(date), serial)
    return Item("cpr", _sentence(rng, rng.choice(CPR_LEADS), piece), groups)


def phone_item(rng: random.Random) -> Item:
    """A Danish 8-digit number (first digit 2-9) in a common grouping, maybe with +45."""
    digits = str(rng.randint(2, 9)) + "".join(rng.choice("0123456789") for _ in range(7))
    sizes, separators = rng.choice(PHONE_SPELLINGS)
    groups, start = [], 0
    for size in sizes:
        groups.append(digits[start : start + size])
        start += size
    body = rng.choice(separators).join(groups)
    piece = _unicode_variant(rng, rng.choice(PHONE_PREFIXES) + body)
    return Item("phone", _sentence(rng, rng.choice(PHONE_LEADS), piece), tuple(groups))


def email_item(rng: random.Random) -> Item:
    """An address with Danish letters, capitals, digits and the spelled-out @ people use."""
    parts = [rng.choice(NAMES)] + rng.sample(SURNAMES, rng.randint(0, 2))
    local = rng.choice([".", "_", "-", ""]).join(parts)
    if rng.random() < 0.3:
        local += str(rng.randint(1, 99))
    domain = rng.choice(SUBDOMAINS) + rng.choice(DOMAINS)
    if rng.random() < 0.2:
        local, domain = local.title(), domain.upper()
    dot = rng.choice(DOTS)
    address = local + rng.choice(AT_SIGNS) + domain.replace(".", dot) + dot + rng.choice(TLDS)
    secrets = tuple(part for part in re.split(r"[._-]", fold(local + "." + domain)) if len(part) >= 2)
    return Item("email", _sentence(rng, rng.choice(EMAIL_LEADS), address), secrets)


GENERATORS: Dict[str, Callable[[random.Random], Item]] = {"cpr": cpr_item, "phone": phone_item, "email": email_item}


def generate(kind: str, count: int, seed: int = 12) -> Iterator[Item]:
    """`count` reproducible items of `kind` (the same ones for the same seed)."""
    rng = random.Random(f"{kind}-{seed}")
    for _ in range(count):
        yield GENERATORS[kind](rng)


def leaks(redact: Callable[[str], str], kind: str, count: int, seed: int = 12) -> List[Tuple[str, str]]:
    """(input, output) for every generated item of `kind` that `redact` let through."""
    found = []
    for item in generate(kind, count, seed):
        out = redact(item.text)
        if leaked(item, out):
            found.append((item.text, out))
    return found


def false_positive_corpus() -> List[str]:
    """The lines of ordinary Danish text with numbers that must come back unchanged."""
    lines = FALSE_POSITIVES.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


TAG = re.compile(r"\[(CPR|TELEFON|EMAIL)\]")
TAG_KINDS = {"CPR": "cpr", "TELEFON": "phone", "EMAIL": "email"}


def false_positives(redact: Callable[[str], str]) -> Dict[str, List[Tuple[str, str]]]:
    """Per kind, the corpus lines `redact` changed (a line may count for several kinds)."""
    found: Dict[str, List[Tuple[str, str]]] = {kind: [] for kind in KINDS}
    for line in false_positive_corpus():
        out = redact(line)
        if out != line:
            kinds = {TAG_KINDS[tag] for tag in TAG.findall(out)} or set(KINDS)
            for kind in sorted(kinds):
                found[kind].append((line, out))
    return found
