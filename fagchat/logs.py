"""Logging for our own processes and the Rasa server: redacted, without user text at INFO."""

import logging
from typing import Iterator

from fagchat import settings
from fagchat.stores.redaction import RedactingFilter


def _every_logger() -> Iterator[logging.Logger]:
    yield logging.getLogger()
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger):  # not the placeholders of unused parents
            yield logger


def install_redaction() -> int:
    """Attach the redacting filter to every handler of every logger (once each).

    Not only the root logger's: Sanic's loggers, for one, do not propagate and have
    handlers of their own in the Rasa server (rasa.utils.common.update_sanic_log_level).
    A handler added later is not covered, so call this once logging is set up.

    Returns:
        How many handlers are guarded.
    """
    handlers = {id(h): h for logger in _every_logger() for h in logger.handlers}.values()
    for handler in handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
    return len(handlers)


def configure_logging() -> None:
    """Log to stderr at FAGCHAT_LOG_LEVEL, every line passed through redaction."""
    logging.basicConfig(
        level=settings.current().str("FAGCHAT_LOG_LEVEL"),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    install_redaction()
