"""Actions that answer from the knowledge base, and the role that tailors the answers."""

import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import KnowledgeAction
from actions.rendering import (
    ROLE_WORKPLACES,
    answer_message,
)
from fagchat import vocabulary as v

logger = logging.getLogger(__name__)


class ActionAnswer(KnowledgeAction):
    """Utter the article for the recognised intent, with its sources and follow-ups.

    Where the article has role variants and the user's role is not known yet, the
    assistant asks once for it (skippable); the answer comes first either way.
    """

    def name(self) -> Text:
        """Name used in the domain."""
        return v.ACTION_ANSWER

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        """Answer the latest intent."""
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        article = self.kb.for_intent(intent)
        if article is None:
            logger.warning("answer.no_article intent=%s", intent)
            dispatcher.utter_message(response="utter_default")
            return []
        role: Optional[str] = tracker.get_slot(v.SLOT_ROLE)
        dispatcher.utter_message(**answer_message(self.kb, article, role))
        events: List[Dict[Text, Any]] = [SlotSet(v.SLOT_LAST_ARTICLE, article.id)]
        # Ask once, and never in the middle of the guided check.
        if article.variants and not role and not tracker.get_slot(v.SLOT_ROLE_ASKED) and not tracker.active_loop_name:
            dispatcher.utter_message(response="utter_ask_role")
            events.append(SlotSet(v.SLOT_ROLE_ASKED, True))
        return events


class ActionSetRole(KnowledgeAction):
    """Confirm the user's role; re-answer the last article if it has a variant for it."""

    def name(self) -> Text:
        """Name used in the domain."""
        return v.ACTION_SET_ROLE

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        """Store the role from the message's entity and tailor the last answer."""
        role = next(tracker.get_latest_entity_values(v.SLOT_ROLE), None)
        if role not in ROLE_WORKPLACES:
            # No role we know in the message: ask with buttons rather than guess.
            dispatcher.utter_message(response="utter_ask_role")
            return [SlotSet(v.SLOT_ROLE, tracker.get_slot(v.SLOT_ROLE))]
        # The slot holds an article id, not an intent: look it up in the article map.
        article = self.kb.articles.get(tracker.get_slot(v.SLOT_LAST_ARTICLE) or "")
        if article is not None and role in article.variants:
            dispatcher.utter_message(text=f"Her er svaret til dig, der arbejder {ROLE_WORKPLACES[role]}:")
            dispatcher.utter_message(**answer_message(self.kb, article, role))
        else:
            dispatcher.utter_message(response="utter_role_noted", role_workplace=ROLE_WORKPLACES[role])
        return [SlotSet(v.SLOT_ROLE, role), SlotSet(v.SLOT_ROLE_ASKED, True)]
