"""The tracker store Rasa writes conversations to: SQL, with personal data redacted.

Named in `endpoints.yml`. The database comes from the `FAGCHAT_DB_URL` setting (an SQLite
file by default, PostgreSQL with the same code), and every event is redacted on its way
into the database: the redaction sits where Rasa writes, so no code path can store raw
CPR numbers, phone numbers or e-mail addresses (staff-review issue).
"""

import logging
from pathlib import Path
from typing import Any, Iterator, Optional

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, Event
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.engine.url import make_url

from fagchat import settings
from fagchat.redaction import redact_value

logger = logging.getLogger(__name__)


def redact_event(event: Event) -> Event:
    """Return a copy of `event` with personal data in its text fields redacted.

    Bot messages are left as they are: they are our own text (the centre's phone number
    would otherwise turn into [TELEFON]) and never quote the user.
    """
    if isinstance(event, BotUttered):
        return event
    data = event.as_dict()
    redacted = redact_value(data)
    return event if redacted == data else Event.from_parameters(redacted)


class RedactingSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore on `FAGCHAT_DB_URL` that redacts every event before it is stored."""

    def __init__(self, domain: Optional[Domain] = None, **kwargs: Any) -> None:
        """Connect to the configured database (an SQLite file's folder is created)."""
        # Rasa passes the endpoint's url/host/... keys too; the setting is the one source.
        url = make_url(kwargs.pop("url", None) or settings.get("FAGCHAT_DB_URL"))
        for key in ("host", "port", "db", "dialect", "username", "password", "login_db", "query"):
            kwargs.pop(key, None)
        if url.get_backend_name() == "sqlite" and url.database:
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        super().__init__(
            domain=domain,
            dialect=url.drivername,
            host=url.host,
            port=url.port,
            db=url.database or "",
            username=url.username,
            password=url.password,
            query=dict(url.query) or None,
            **kwargs,
        )
        logger.info("tracker_store.ready backend=%s", url.get_backend_name())

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator[Event]:
        """Yield the not yet stored events, redacted."""
        for event in super()._additional_events(session, tracker):
            yield redact_event(event)
