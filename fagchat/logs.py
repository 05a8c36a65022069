"""Logging for our own processes: redacted, without user text at INFO."""

import logging

from fagchat import settings
from fagchat.stores.redaction import RedactingFilter


def install_redaction(logger: logging.Logger = logging.getLogger()) -> None:
    """Attach the redacting filter to every handler of `logger` (once each)."""
    for handler in logger.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


def configure_logging() -> None:
    """Log to stderr at FAGCHAT_LOG_LEVEL, every line passed through redaction."""
    logging.basicConfig(
        level=settings.current().str("FAGCHAT_LOG_LEVEL"),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    install_redaction()
