"""After the 112 answer: the articles the question may have been about, as buttons."""

from typing import Any, Dict, List, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.base import KnowledgeAction
from actions.rendering import candidate_buttons, intent_payload
from fagchat import vocabulary
from fagchat.after_danger import offered_intents


class ActionOfferAfterDanger(KnowledgeAction):
    """Offer the likeliest articles after utter_acute_danger, or say nothing.

    The rule runs it after the 112 answer has been sent, so a slow or dead action server
    never delays or replaces that answer (fagchat/after_danger.py says why and how much).
    """

    def name(self) -> Text:
        """Name used in the domain."""
        return vocabulary.ACTION_OFFER_AFTER_DANGER

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        """Utter utter_after_danger with one or two article buttons, if any qualifies."""
        ranking = tracker.latest_message.get("intent_ranking") or []
        # Every intent the knowledge base can title, keyed by its button's payload.
        titled = {b["payload"]: b for b in candidate_buttons(self.kb, ranking, limit=len(ranking))}
        names = offered_intents(ranking, lambda name: intent_payload(name) in titled)
        if names:
            buttons = [titled[intent_payload(name)] for name in names]
            dispatcher.utter_message(response=vocabulary.UTTER_AFTER_DANGER, buttons=buttons)
        return []
