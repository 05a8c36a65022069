"""Retention: conversations idle for more than FAGCHAT_RETENTION_DAYS are deleted.

The purge reads Rasa's own `events` (not the staff summaries, which may lag), deletes
each stale conversation with everything derived from it (summaries, review decisions)
and logs how many it deleted, never what they held; each batch and its audit row
(`retention.purge`) are one transaction. Failed-login records go after a day (throttle.py),
audit rows of failed and refused logins (they hold client addresses) after the same
FAGCHAT_RETENTION_DAYS. The staff app runs it at start and once a day;
`python -m fagchat.staff.cli purge` runs it by hand. `clock` is injectable so tests can
freeze time.
"""

import logging
import time
from typing import Callable

from sqlalchemy.engine import Engine

from fagchat.staff import db, db_accounts, throttle

logger = logging.getLogger(__name__)
DAY = 24 * 3600
STEP = 500  # conversations per transaction


def purge(engine: Engine, days: int, clock: Callable[[], float] = time.time, actor: str = "system") -> int:
    """Delete every conversation whose latest event is more than `days` days old.

    Args:
        engine: The database Rasa writes to.
        days: The retention period; 0 or less turns the purge off.
        clock: Returns the current unix time.
        actor: Who the audit log names ("system" for the app, "cli" for the command).

    Returns:
        How many conversations were deleted.
    """
    if days <= 0:
        logger.info("retention.disabled days=%d", days)
        return 0
    now = clock()
    cutoff = now - days * DAY
    deleted = 0
    while True:
        with engine.begin() as conn:
            stale = db.stale_senders(conn, cutoff, STEP)
            if stale:
                count = db.delete_conversations(conn, stale)
                deleted += count
                detail = f"conversations={count} older_than_days={days}"
                db_accounts.add_audit(conn, now, actor, "retention.purge", detail=detail)
            # Expired logins, old failed-login records and their audit rows go the same way.
            db_accounts.purge_auth(conn, now, now - throttle.MEMORY, cutoff)
        if len(stale) < STEP:
            break
    logger.info("retention.purged conversations=%d older_than_days=%d", deleted, days)
    return deleted
