"""Redaction of personal data before anything is stored or logged.

Professionals describe real victims to the assistant, so every user text must pass
through `redact()` (or `redact_value()` for slots and events) before it reaches the
tracker store, an export or a log line. `RedactingFilter` does the same for the
standard `logging` module.

Three kinds of data are replaced by a tag:

* Danish CPR numbers (``DDMMYY-SSSS``, ``DDMMYY SSSS``, ``DDMMYYSSSS``) -> ``[CPR]``.
  The modulus-11 check is deliberately not required: numbers issued since 2007 may
  fail it. Only the date part must be plausible (day 01-31, month 01-12).
* Danish 8-digit phone numbers in the usual spellings, with an optional ``+45``,
  ``0045`` or ``(+45)`` prefix -> ``[TELEFON]``.
* E-mail addresses -> ``[EMAIL]``.

The patterns lean towards redacting: a missed CPR number is a data leak, while a
wrongly redacted number only costs a little context. The known exceptions (helplines,
postcodes, dates, times, amounts, case numbers) are kept out by digit-run boundaries
and the exact group shapes below rather than by lists of allowed numbers.
"""

import logging
import re
from typing import Any

__all__ = [
    "CPR_TAG",
    "EMAIL_TAG",
    "PHONE_TAG",
    "REDACTION_FAILED",
    "RedactingFilter",
    "redact",
    "redact_value",
]

CPR_TAG = "[CPR]"
PHONE_TAG = "[TELEFON]"
EMAIL_TAG = "[EMAIL]"
REDACTION_FAILED = "[redaction failed]"

# Plain and no-break space: phones and word processors insert U+00A0 on their own.
_SPACE = "[ \u00a0]"

# Starting only where no local-part character precedes keeps the scan linear on long
# words, and \w admits æ, ø, å (and capitals) in the local part and in the domain.
_EMAIL_RE = re.compile(
    r"(?<![\w.+%'-])[\w.+%'-]+@(?:[\w-]+\.)+[^\W\d_]{2,}",
)

# The date part alone decides: 10 digits are far too many for a false hit to be likely
# once day and month must be real, and the serial cannot be checked (no mod-11 since
# 2007). (?<!\d) and (?!\d) reject slices of longer runs such as account numbers.
_CPR_RE = re.compile(
    r"(?<!\d)"
    r"(?:0[1-9]|[12]\d|3[01])(?:0[1-9]|1[0-2])\d\d"
    rf"(?:{_SPACE}?[-\u2010-\u2013]{_SPACE}?|{_SPACE})?"
    r"\d{4}"
    r"(?!\d)"
)

# Only the + or 00 form is taken as a country code: a bare "45 " is too often a count.
_PHONE_PREFIX = rf"(?:\({_SPACE}?(?:\+|00)45{_SPACE}?\)|(?:\+|00)45)[ \u00a0.-]?"
# Exactly 8 digits in one of the shapes Danes write. Pairs must share one separator,
# which is what keeps "14.30-15.00" (a time span) from reading as 14 30 15 00; four
# plus four is only accepted with a space because "1990-2000" is a span of years.
# Danish subscriber numbers never start with 0.
_PHONE_BODY = (
    r"(?:[1-9]\d{7}"
    rf"|[1-9]\d{{3}}{_SPACE}\d{{4}}"
    r"|[1-9]\d(?P<sep>[ \u00a0.-])\d\d(?P=sep)\d\d(?P=sep)\d\d)"
)
# An 8-digit amount ("25000000 kr", "kr. 12345678", "12345678,50 kr") is money, not a
# phone; no phone number is ever followed by a currency or a percent sign.
_AMOUNT_BEFORE = r"(?<!\bkr\.\s)(?<!\bkr\s)(?<!\bdkk\s)"
_AMOUNT_AFTER = r"(?!(?:[.,]\d+)?\s?(?:kr\b|kroner|dkk\b|euro\b|€|,-|%|pct\b|procent|mio\b|mia\b))"
_PHONE_RE = re.compile(
    rf"(?<!\d){_AMOUNT_BEFORE}(?:{_PHONE_PREFIX})?{_PHONE_BODY}(?!\d){_AMOUNT_AFTER}",
    re.IGNORECASE,
)

_DIGIT_RE = re.compile(r"\d")

# Used only to render tracebacks that no formatter has rendered yet (see the filter).
_TRACEBACK_FORMATTER = logging.Formatter()


def redact(text: str) -> str:
    """Replace CPR numbers, phone numbers and e-mail addresses in `text` by tags.

    E-mail runs first because a local part may hold digits ("anna0101901234@x.dk")
    that the CPR pattern would otherwise split, leaving the rest of the address in
    clear text. CPR runs before phone so that a 10-digit CPR number is never cut into
    a phone number plus two stray digits.

    Args:
        text: Any text a user or the system produced.

    Returns:
        The text with each hit replaced by ``[EMAIL]``, ``[CPR]`` or ``[TELEFON]``;
        the same object when there was nothing to replace.
    """
    if not text:
        return text
    if "@" in text:
        text = _EMAIL_RE.sub(EMAIL_TAG, text)
    # Most chat messages hold no digits at all; skip both number scans for them.
    if _DIGIT_RE.search(text) is None:
        return text
    text = _CPR_RE.sub(CPR_TAG, text)
    return _PHONE_RE.sub(PHONE_TAG, text)


def redact_value(value: Any) -> Any:
    """Redact every string inside a slot value, event or other JSON-like structure.

    Dicts, lists and tuples are rebuilt with their strings redacted; dict keys are kept
    as they are because they are names chosen by the code (slot names, event fields),
    not user text. Everything else (numbers, None, bytes, objects) comes back unchanged.

    Args:
        value: A string, or a dict, list or tuple nesting them, or any other value.

    Returns:
        A redacted copy of containers and strings; other values as given.
    """
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redact_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [redact_value(item) for item in value]
    if isinstance(value, tuple):
        items = [redact_value(item) for item in value]
        # A namedtuple takes its fields as arguments, a plain tuple one iterable.
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    return value


class RedactingFilter(logging.Filter):
    """Logging filter that redacts each record in place and always lets it through.

    Attach it to every handler (``handler.addFilter(RedactingFilter())``): handler
    filters also see records propagated from child loggers, which logger filters do
    not. Besides the message and its arguments it redacts a traceback and a stack
    trace, since exception texts often quote the offending input.

    The filter never raises. If redaction itself fails, the message is replaced by
    ``[redaction failed]`` and the arguments and traceback are dropped, so a bug here
    costs a log line but never leaks one. The same holds for a message whose arguments
    do not fit its format string, which logging would otherwise print in clear text
    to stderr as a "Logging error".
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact `record` in place.

        Args:
            record: The record about to be emitted.

        Returns:
            Always True: the filter redacts, it never suppresses.
        """
        try:
            _redact_record(record)
        except Exception:  # noqa: BLE001 - any failure must end in a safe record
            record.msg = REDACTION_FAILED
            record.args = None
            record.exc_info = None
            record.exc_text = None
            record.stack_info = None
        return True


def _redact_record(record: logging.LogRecord) -> None:
    """Redact message, arguments, traceback and stack info of `record` in place."""
    msg = record.msg
    if isinstance(msg, str):
        record.msg = redact(msg)
    elif isinstance(msg, (dict, list, tuple)):
        record.msg = redact_value(msg)
    elif msg is not None:
        # getMessage() would call str() on it anyway; doing it here lets us redact it.
        record.msg = redact(str(msg))

    if isinstance(record.args, (tuple, dict)):
        record.args = redact_value(record.args)
    if record.args:
        # Non-string arguments (an int phone number, an object whose str() quotes
        # user input) and numbers split over several arguments survive the step
        # above, so check the text as it will be printed and freeze it if needed.
        rendered = record.getMessage()
        safe = redact(rendered)
        if safe != rendered:
            record.msg, record.args = safe, None

    # A formatter caches the rendered traceback in exc_text and reuses it, so filling
    # it here (redacted) is what keeps the clear text out of every later handler.
    if record.exc_info and not record.exc_text:
        record.exc_text = _TRACEBACK_FORMATTER.formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
