"""👍/👎 from the widget: stored on the conversation, under the conversation's lock."""

from typing import Any, Dict, Optional

from rasa.shared.core.events import SlotSet

from fagchat.vocabulary import CUSTOM_ARTICLE, SLOT_FEEDBACK


async def store_feedback(agent: Any, sender: str, value: str, article: Optional[str]) -> None:
    """Append the feedback to the conversation as the `feedback` slot (the staff app counts it)."""
    data: Dict[str, Optional[str]] = {"value": value, CUSTOM_ARTICLE: article}
    async with agent.lock_store.lock(sender):
        tracker = await agent.tracker_store.get_or_create_tracker(sender)
        tracker.update(SlotSet(SLOT_FEEDBACK, data))
        await agent.tracker_store.save(tracker)
