"""Logging for our own processes and the Rasa server: redacted, without user text at INFO.

FAGCHAT_LOG_FORMAT=json makes every process write one JSON object per line (time, level,
logger, process, pid, message; exception when there is one) for a log collector, instead
of plain text. Either way each line has passed the redacting filter first.
"""

import json
import logging
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Optional

from fagchat import settings
from fagchat.stores.redaction import RedactingFilter

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
FORMATS = ("text", "json")
_service = [Path(sys.argv[0]).stem or "python"]  # the process's name in JSON lines


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line: newlines inside the message are escaped."""

    def __init__(self, service: str) -> None:
        """Name the process (rasa, actions, web, staff, launcher) in every line."""
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        """The record as JSON; its traceback is the one the redacting filter left."""
        line = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "process": self.service,
            "pid": record.process,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        return json.dumps(line, ensure_ascii=False)


def log_format() -> str:
    """FAGCHAT_LOG_FORMAT, checked: text or json."""
    value = settings.current().str("FAGCHAT_LOG_FORMAT").strip().lower()
    if value not in FORMATS:
        raise SystemExit(f"Setting FAGCHAT_LOG_FORMAT must be one of {', '.join(FORMATS)}, got {value!r}")
    return value


def _every_logger() -> Iterator[logging.Logger]:
    yield logging.getLogger()
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger):  # not the placeholders of unused parents
            yield logger


def install_redaction(service: Optional[str] = None) -> int:
    """Attach the redacting filter (and the JSON format, if set) to every handler of every logger.

    Not only the root logger's: Sanic's loggers, for one, do not propagate and have
    handlers of their own in the Rasa server (rasa.utils.common.update_sanic_log_level).
    A handler added later is not covered, so call this once logging is set up.

    Args:
        service: The process's name in JSON lines (default: the last one given).

    Returns:
        How many handlers are guarded.
    """
    if service:
        _service[0] = service
    json_lines = log_format() == "json"
    handlers = {id(h): h for logger in _every_logger() for h in logger.handlers}.values()
    for handler in handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
        if json_lines and not isinstance(handler.formatter, JsonFormatter):
            handler.setFormatter(JsonFormatter(_service[0]))
    return len(handlers)


def configure_logging(service: Optional[str] = None) -> None:
    """Log to stderr at FAGCHAT_LOG_LEVEL in FAGCHAT_LOG_FORMAT, every line passed through redaction."""
    logging.basicConfig(level=settings.current().str("FAGCHAT_LOG_LEVEL"), format=TEXT_FORMAT)
    install_redaction(service)
