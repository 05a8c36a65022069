"""Tests of fagchat.stores.redaction: generated CPR, phone and e-mail hits, a false-positive
budget on realistic non-personal numbers, nested values and the logging filter."""

import io
import logging
import statistics
import sys
import time
from collections import namedtuple
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# `pytest tests/...` (unlike `python -m pytest`) does not put the project root on the
# path, and this file must run without a conftest.
_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from fagchat.stores import redaction  # noqa: E402
from fagchat.stores.redaction import (  # noqa: E402
    CPR_TAG,
    EMAIL_TAG,
    PHONE_TAG,
    REDACTION_FAILED,
    RedactingFilter,
    redact,
    redact_value,
)

# Reproducible in CI: the same 1,000 examples every run and no example database.
PROPERTY = settings(
    max_examples=1000,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# ---------------------------------------------------------------------------
# Strategies: Danish sentence context around one piece of personal data.
# ---------------------------------------------------------------------------

# No digits, no "@" and no currency words: the context must not change what is found.
WORDS = (
    "offeret har oplyst at hun bliver forfulgt af sin tidligere kæreste som ringer "
    "hver dag og står uden for døren borgeren er bange for sin sikkerhed vi har talt "
    "med politiet og kommunen skriver at udøveren sender beskeder om natten hendes "
    "søster bor i nærheden han følger efter hende på vej til arbejde Jens Ødegård "
    "Åse Ærø sagsbehandler rådgiver krisecenter logskema tilhold anmeldelse"
).split()
CPR_LEADS = [
    "",
    "cpr: ",
    "CPR-nr. ",
    "cpr.nr.",
    "cpr-nr.: ",
    "personnr. ",
    "(",
    "[",
    '"',
    "født ",
    "CPR ",
    "hendes cpr er ",
]
PHONE_LEADS = ["", "tlf. ", "tlf.: ", "Tlf:", "mobil ", "ring på ", "nummer: ", "(", "sms fra ", '"', "hans nr. er "]
EMAIL_LEADS = ["", "mail: ", "e-mail ", "(", "<", "skriv til ", "mailto:", '"', "hans mail er "]
TRAILS = ["", ".", ",", ")", "]", '"', "!", "?", ";", ":", " -", ">"]


@st.composite
def in_sentence(draw, pii, leads):
    """Return (prefix, pii, suffix): a piece of PII between Danish words."""
    before = draw(st.lists(st.sampled_from(WORDS), max_size=8))
    after = draw(st.lists(st.sampled_from(WORDS), max_size=8))
    prefix = " ".join(before) + (" " if before else "") + draw(st.sampled_from(leads))
    suffix = draw(st.sampled_from(TRAILS)) + ("" if not after else " " + " ".join(after))
    return prefix, draw(pii), suffix


def mod11_ok(digits):
    """True if the 10 CPR digits pass the (pre-2007) modulus-11 check."""
    return sum(int(d) * w for d, w in zip(digits, (4, 3, 2, 7, 6, 5, 4, 3, 2, 1))) % 11 == 0


@st.composite
def cpr_numbers(draw):
    """A CPR number with a real date, valid or invalid mod-11, in any accepted format."""
    date = "%02d%02d%02d" % (draw(st.integers(1, 31)), draw(st.integers(1, 12)), draw(st.integers(0, 99)))
    serial = "%03d" % draw(st.integers(0, 999))
    want_valid = draw(st.booleans())
    # Pick the check digit that makes mod-11 hold (or fail) when one exists.
    fits = [d for d in "0123456789" if mod11_ok(date + serial + d) == want_valid]
    digits = date + serial + draw(st.sampled_from(fits or list("0123456789")))
    sep = draw(st.sampled_from(["", "-", " ", "\u2013", " - ", "\u00a0"]))
    return digits[:6] + sep + digits[6:]


@st.composite
def phone_numbers(draw):
    """A Danish 8-digit number in a common spelling, with or without country code."""
    # Real subscriber numbers start with 2-9; 1 is accepted too, so it is generated.
    d = str(draw(st.integers(10_000_000, 99_999_999)))
    body = draw(
        st.sampled_from(
            [
                d,
                d[:4] + " " + d[4:],
                *(sep.join((d[0:2], d[2:4], d[4:6], d[6:8])) for sep in " -."),
            ]
        )
    )
    prefix = draw(st.sampled_from(["", "+45", "+45 ", "0045", "0045 ", "(+45)", "(+45) ", "+45-", "(0045) "]))
    return prefix + body


LOCAL_CHARS = "abcdefghijklmnopqrstuvwxyzæøåABCDEFGHIJKLMNOPQRSTUVWXYZÆØÅ0123456789_-"
LABEL_CHARS = "abcdefghijklmnopqrstuvwxyzæøå0123456789"


@st.composite
def emails(draw):
    """An address with dots, plus-tags, Danish letters, capitals and subdomains."""
    atom = st.text(LOCAL_CHARS, min_size=1, max_size=10)
    local = ".".join(draw(st.lists(atom, min_size=1, max_size=3)))
    if draw(st.booleans()):
        local += "+" + draw(st.text(LOCAL_CHARS, min_size=1, max_size=6))
    labels = draw(st.lists(st.text(LABEL_CHARS, min_size=1, max_size=10), min_size=1, max_size=3))
    tld = draw(st.sampled_from(["dk", "com", "org", "net", "eu", "se", "DK", "info"]))
    domain = ".".join(labels + [tld])
    return local + "@" + (domain.upper() if draw(st.booleans()) else domain)


def assert_redacted(prefix, pii, suffix, tag):
    """The PII is gone, its tag is there and the context is untouched."""
    out = redact(prefix + pii + suffix)
    assert pii not in out
    assert tag in out
    assert out == prefix + tag + suffix


@PROPERTY
@given(in_sentence(cpr_numbers(), CPR_LEADS))
def test_generated_cpr_numbers_are_redacted(case):
    prefix, cpr, suffix = case
    assert_redacted(prefix, cpr, suffix, CPR_TAG)
    # Implied by the exact match above; kept so a failure names the leaked digits.
    assert "".join(c for c in cpr if c.isdigit()) not in redact(prefix + cpr + suffix)


@PROPERTY
@given(in_sentence(phone_numbers(), PHONE_LEADS))
def test_generated_phone_numbers_are_redacted(case):
    assert_redacted(*case, PHONE_TAG)


@PROPERTY
@given(in_sentence(emails(), EMAIL_LEADS))
def test_generated_emails_are_redacted(case):
    assert_redacted(*case, EMAIL_TAG)


# ---------------------------------------------------------------------------
# Fixed examples: the formats named in the requirements.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("cpr: 010190-1234", "cpr: [CPR]"),
        ("CPR-nr. 311299 4321.", "CPR-nr. [CPR]."),
        ("(0101901234)", "([CPR])"),
        ("cpr.nr.1508654321, født i Aarhus", "cpr.nr.[CPR], født i Aarhus"),
        ("ring 12345678", "ring [TELEFON]"),
        ("tlf. 12 34 56 78", "tlf. [TELEFON]"),
        ("tlf. 1234 5678", "tlf. [TELEFON]"),
        ("12-34-56-78 og 12.34.56.78", "[TELEFON] og [TELEFON]"),
        ("+45 12345678, +4512345678", "[TELEFON], [TELEFON]"),
        ("0045 25 17 73 74 eller (+45) 2517 7374", "[TELEFON] eller [TELEFON]"),
        ("12345678/87654321", "[TELEFON]/[TELEFON]"),
        ("Ring til Dirk 12345678 i aften", "Ring til Dirk [TELEFON] i aften"),
        ("Skriv til Anna.Ærø+stalking@mail.kommune.DK.", "Skriv til [EMAIL]."),
        ("<jens0101901234@gmail.com>", "<[EMAIL]>"),
    ],
)
def test_known_formats(text, expected):
    assert redact(text) == expected


def test_mixed_message_keeps_the_harmless_numbers():
    text = (
        "Hun (cpr 010190-1234) bor på Emdrupvej 28A, 2100 København Ø og bliver "
        "ringet op fra +45 22 33 44 55 hver dag kl. 14.30; han skriver fra "
        "x.y@firma.dk. Vi ringede 114 og henviste til § 242."
    )
    assert redact(text) == (
        "Hun (cpr [CPR]) bor på Emdrupvej 28A, 2100 København Ø og bliver "
        "ringet op fra [TELEFON] hver dag kl. 14.30; han skriver fra "
        "[EMAIL]. Vi ringede 114 og henviste til § 242."
    )


def test_text_without_pii_is_returned_as_is():
    assert redact("") == ""
    assert redact("Ingen tal her.") == "Ingen tal her."


# ---------------------------------------------------------------------------
# False positives: realistic numbers that are not personal data.
# ---------------------------------------------------------------------------

MUST_KEEP = [
    "112",
    "114",
    "1888",
    "116 006",
    "116 111",
    "116006",
    "116111",
    "2100 København",
    "kl. 14.30",
    "24.12.2023",
    "24-12-2023",
    "1. januar 2022",
    "28 mio. kr.",
    "1.500 kr",
    "12.345,50 kr",
    "§ 242",
    "J.nr. 4100-80130-00456-23",
    "J.nr. 0100-12345-00123-22",
    "123456789012",
]

NON_PII = [
    # Dates and times.
    "24.12.2023",
    "24-12-2023",
    "1. januar 2022",
    "den 3. marts 2021",
    "24/12-2023",
    "2023-12-24",
    "24.12.23",
    "d. 5/11",
    "fra 1.1.2020 til 31.12.2020",
    "uge 42",
    "14.-16. juni 2024",
    "31.12.1999",
    "01-02-2003",
    "kl. 14.30",
    "kl. 8-16",
    "kl. 08.00-16.00",
    "14:30",
    "mellem kl. 9.00 og 15.30",
    "kl. 23.45 i går",
    "kl. 10-12 og 13-15",
    "kl. 14.30-15.00",
    "natten til den 12.",
    # Amounts.
    "28 mio. kr.",
    "1.500 kr",
    "12.345,50 kr",
    "2.500.000 kr.",
    "kr. 450,-",
    "DKK 12.000",
    "350 kroner",
    "1,2 mia. kr.",
    "25000000 kr",
    "kr. 25000000",
    "bøde på 10.000 kr.",
    "12 345 678 kr.",
    "3.456.789,00 kr",
    # Postcodes and addresses.
    "2100 København Ø",
    "8000 Aarhus C",
    "5000 Odense C",
    "9000 Aalborg",
    "1050 København K",
    "6700 Esbjerg",
    "Emdrupvej 28A, 4. sal, 2100 København Ø",
    "postnr. 7100 Vejle",
    "Nørregade 12, 2. th., 1165 København K",
    "3400 Hillerød",
    # Case and journal numbers.
    "J.nr. 4100-80130-00456-23",
    "journalnr. 0100-12345-00123-22",
    "sagsnr. 2023-004512",
    "sag nr. 21/12345",
    "KLE 27.24.00-G01-12-23",
    "j.nr. 23/04567-7",
    "BS 12-345/2023",
    "ref. ABC-2023-117",
    "sagsnummer 2022-1234567",
    "Sag 1234/2023",
    "politikreds 0100",
    "anmeldelse nr. 4100-76543-00012-24",
    # Law.
    "§ 242",
    "straffelovens § 266",
    "§ 242, stk. 2",
    "servicelovens § 154",
    "§ 2, nr. 3",
    "lov nr. 1152 af 1. oktober 2012",
    "retsplejelovens § 781, stk. 1",
    # Helplines.
    "112",
    "114",
    "1888",
    "116 006",
    "116 111",
    "116006",
    "116111",
    "ring 112 ved akut fare",
    "politiet på 114",
    "Offerrådgivningen 116 006",
    "Børnetelefonen 116 111",
    "Lev Uden Volds hotline 1888",
    # Years.
    "i 2019",
    "siden 2007",
    "2012-2023",
    "1990'erne",
    "i 2021 og 2022",
    "fra 2019 til 2023",
    "år 2000",
    "2018/19",
    # Percentages.
    "12 %",
    "45%",
    "12,5 %",
    "0,8 procent",
    "75 pct.",
    "hver 4. kvinde",
    # Counts and other numbers.
    "3 børn",
    "17 sms'er",
    "over 200 opkald",
    "42 beskeder på én dag",
    "1.200 henvendelser",
    "ca. 35.000 danskere",
    "version 3.6.21",
    "Rasa 3.6",
    "side 12-14",
    "stk. 3",
    "2 gange om ugen",
    "i 6 måneder",
    "5 km væk",
    "12 af 34 sager",
    "1 ud af 10",
    "00:45",
    "123456789012",
]
FRAMES = ["{}", "Det skete {}.", "Hun nævnte {} i samtalen, og vi noterede det."]


@pytest.mark.parametrize("text", MUST_KEEP)
def test_named_exceptions_are_never_redacted(text):
    assert redact(text) == text


def test_false_positive_rate_on_realistic_numbers(capsys):
    samples = [frame.format(s) for s in NON_PII for frame in FRAMES]
    changed = [s for s in samples if redact(s) != s]
    rate = len(changed) / len(samples)
    with capsys.disabled():
        print(f"\nredaction false positives: {len(changed)}/{len(samples)} = {rate:.2%}")
    assert len(samples) >= 200
    assert rate <= 0.02, changed


# ---------------------------------------------------------------------------
# redact_value on slot-like structures.
# ---------------------------------------------------------------------------

Contact = namedtuple("Contact", "name phone")


def test_redact_value_nested_slots():
    slots = {
        "victim": {"cpr": "010190-1234", "phones": ["12 34 56 78", ("+4587654321", 3)]},
        "notes": "mail: anna@example.dk",
        "12345678": "nøglen er kode, ikke brugertekst",
        "count": 3,
        "flag": None,
        "ratio": 0.5,
        "raw": b"12345678",
        "contact": Contact("Åse", "87654321"),
    }
    assert redact_value(slots) == {
        "victim": {"cpr": CPR_TAG, "phones": [PHONE_TAG, (PHONE_TAG, 3)]},
        "notes": "mail: " + EMAIL_TAG,
        "12345678": "nøglen er kode, ikke brugertekst",
        "count": 3,
        "flag": None,
        "ratio": 0.5,
        "raw": b"12345678",
        "contact": Contact("Åse", PHONE_TAG),
    }
    assert slots["victim"]["cpr"] == "010190-1234", "the input must not be mutated"


@pytest.mark.parametrize("value", [None, 42, 3.5, True, b"0101901234", object])
def test_redact_value_leaves_other_types(value):
    assert redact_value(value) is value


# ---------------------------------------------------------------------------
# RedactingFilter on a real logger.
# ---------------------------------------------------------------------------


def capture_logger(name):
    """A logger whose only handler writes, through the filter, into a StringIO."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger(f"test_redaction.{name}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, stream


@pytest.mark.parametrize(
    "msg, args, raw, tag",
    [
        ("bruger skrev cpr 010190-1234", (), "010190-1234", CPR_TAG),
        ("slot %s = %r", ("phone", "12 34 56 78"), "12 34 56 78", PHONE_TAG),
        ("tekst: %(text)s", ({"text": "skriv til a.b@c.dk"},), "a.b@c.dk", EMAIL_TAG),
        ("nummer %d", (12345678,), "12345678", PHONE_TAG),
        ("cpr %s-%s", ("010190", "1234"), "1234", CPR_TAG),
        ({"slot": "cpr", "value": "0101901234"}, (), "0101901234", CPR_TAG),
    ],
)
def test_filter_redacts_messages_and_args(msg, args, raw, tag):
    logger, stream = capture_logger("args")
    logger.info(msg, *args)
    out = stream.getvalue()
    assert raw not in out and tag in out, out


def test_filter_redacts_tracebacks():
    logger, stream = capture_logger("exc")
    try:
        raise ValueError("ugyldigt nummer 87654321 fra anna@example.dk")
    except ValueError:
        logger.exception("kunne ikke gemme")
    out = stream.getvalue()
    assert "87654321" not in out and "anna@example.dk" not in out
    assert "Traceback" in out and PHONE_TAG in out and EMAIL_TAG in out


def test_filter_fails_closed(monkeypatch):
    def broken(text):
        raise RuntimeError("boom")

    monkeypatch.setattr(redaction, "redact", broken)
    logger, stream = capture_logger("broken")
    logger.warning("cpr 010190-1234")
    out = stream.getvalue()
    assert "010190-1234" not in out and REDACTION_FAILED in out


def test_filter_keeps_a_malformed_call_out_of_stderr(capsys):
    # logging would report the bad format as "Logging error" with the raw arguments.
    logger, stream = capture_logger("malformed")
    logger.info("cpr %d", "010190-1234")
    assert REDACTION_FAILED in stream.getvalue()
    assert "010190-1234" not in capsys.readouterr().err


def test_filter_always_passes_the_record():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "tlf %s", ("12345678",), None)
    assert RedactingFilter().filter(record) is True
    assert record.getMessage() == "tlf " + PHONE_TAG


# ---------------------------------------------------------------------------
# Speed: the redactor runs on every message and every log line.
# ---------------------------------------------------------------------------


def test_redact_is_fast_on_a_long_message():
    chunk = (
        "Hun ringede fra 12 34 56 78 kl. 14.30 den 24.12.2023, cpr 010190-1234, mail "
        "anna.ærø@kommune.dk, sag J.nr. 4100-80130-00456-23, § 242, 2100 Kbh. "
    )
    text = (chunk * 10)[:1000]
    timings = []
    for _ in range(200):
        start = time.perf_counter()
        redact(text)
        timings.append(time.perf_counter() - start)
    assert statistics.median(timings) < 0.001
