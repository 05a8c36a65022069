"""👍/👎 from the widget: stored on the conversation, under the conversation's lock.

Only for a conversation that exists and an article the bot showed in it: otherwise
anyone could vote on any article, and a made-up sender id would create a conversation
that holds nothing but a vote (issue 12). A refused vote stores nothing.
"""

from enum import Enum
from typing import Any, Dict, Iterable, Set

from rasa.shared.core.events import BotUttered, SlotSet

from fagchat.vocabulary import CUSTOM_ARTICLE, SLOT_FEEDBACK, SLOT_LAST_ARTICLE


class Verdict(str, Enum):
    """What became of a vote; the value is the reason in the log line and the error code."""

    STORED = "stored"
    UNKNOWN_CONVERSATION = "unknown_conversation"
    ARTICLE_NOT_SHOWN = "article_not_shown"


def shown_articles(events: Iterable[Any]) -> Set[str]:
    """The articles the bot answered with: its messages' custom data and the last_article slot."""
    shown: Set[str] = set()
    for event in events:
        if isinstance(event, BotUttered):
            custom = (event.data or {}).get("custom")
            if isinstance(custom, dict) and isinstance(custom.get(CUSTOM_ARTICLE), str):
                shown.add(custom[CUSTOM_ARTICLE])
        elif isinstance(event, SlotSet) and event.key == SLOT_LAST_ARTICLE and isinstance(event.value, str):
            shown.add(event.value)
    return shown


async def store_feedback(agent: Any, sender: str, value: str, article: str) -> Verdict:
    """Append the vote to the conversation as the `feedback` slot (the staff app counts it).

    Raises the stores' own errors (TrackerStoreUnavailable, LockStoreUnavailable).
    """
    async with agent.lock_store.lock(sender):
        tracker = await agent.tracker_store.retrieve(sender)
        if tracker is None:
            return Verdict.UNKNOWN_CONVERSATION
        if article not in shown_articles(tracker.events):
            # The widget keeps the chat history: the answer may be from an earlier session,
            # which `retrieve` leaves out. Only then is the whole conversation read.
            full = await agent.tracker_store.retrieve_full_tracker(sender)
            if full is None or article not in shown_articles(full.events):
                return Verdict.ARTICLE_NOT_SHOWN
        data: Dict[str, str] = {"value": value, CUSTOM_ARTICLE: article}
        # The session's tracker, never the full one: the store appends what it has not
        # seen, counted from the latest session's start.
        tracker.update(SlotSet(SLOT_FEEDBACK, data))
        await agent.tracker_store.save(tracker)
        return Verdict.STORED
