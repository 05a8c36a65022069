"""Redaction of personal data before anything is stored or logged.

Professionals describe real victims to the assistant, so every user text must pass
through `redact()` (or `redact_value()` for slots and events) before it reaches the
tracker store, an export or a log line. `RedactingFilter` does the same for the
standard `logging` module.

Three kinds of data are replaced by a tag:

* Danish CPR numbers (``DDMMYY-SSSS`` and the other ways people write them, e.g.
  ``01.01.90-1234``, ``01 01 90 1234``, ``010190/1234``) -> ``[CPR]``.
* Danish 8-digit phone numbers in the usual groupings (``2233 4455``, ``22 33 44 55``,
  ``22 334 455``, ``2233-4455`` …), with an optional ``+45``, ``0045`` or ``(+45)``
  prefix -> ``[TELEFON]``.
* E-mail addresses, also with the "@" spelled out (``anna [at] example.dk``) -> ``[EMAIL]``.

The text is first folded (`fagchat.stores.folding`): full-width digits, no-break and
thin spaces, en and em dashes and other look-alikes become plain characters, so one set
of patterns (`fagchat.stores.redaction_patterns`) catches them all, while the tags
replace the characters of the original text. Public numbers (helplines, the centre's own
line), CVR and case numbers, dates and amounts are kept; see the patterns module.
"""

import logging
from typing import Any

from fagchat.stores.folding import fold, original_span
from fagchat.stores.redaction_patterns import CPR_TAG, EMAIL_TAG, PHONE_TAG, find

__all__ = [
    "CPR_TAG",
    "EMAIL_TAG",
    "PHONE_TAG",
    "REDACTION_FAILED",
    "RedactingFilter",
    "redact",
    "redact_value",
]

REDACTION_FAILED = "[redaction failed]"

# Used only to render tracebacks that no formatter has rendered yet (see the filter).
_TRACEBACK_FORMATTER = logging.Formatter()


def redact(text: str) -> str:
    """Replace CPR numbers, phone numbers and e-mail addresses in `text` by tags.

    Args:
        text: Any text a user or the system produced.

    Returns:
        The text with each hit replaced by ``[EMAIL]``, ``[CPR]`` or ``[TELEFON]``;
        the same object when there was nothing to replace.
    """
    if not text:
        return text
    folded, origin = fold(text)
    spans = find(folded)
    if not spans:
        return text
    pieces, last = [], 0
    for start, end, tag in spans:
        start, end = original_span(origin, start, end)
        pieces += (text[last:start], tag)
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


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
