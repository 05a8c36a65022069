"""What happens when the assistant is unsure: did-you-mean, then a person."""

from typing import Any, Dict, List, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.base import KnowledgeAction
from actions.rendering import candidate_buttons, handover_buttons, handover_text, intent_payload
from fagchat import vocabulary

FALLBACK_INTENT = vocabulary.NLU_FALLBACK


def consecutive_fallbacks(tracker: Tracker) -> int:
    """Count the user's latest messages in a row that fell below the threshold."""
    count = 0
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            if (event.get("parse_data") or {}).get("intent", {}).get("name") != FALLBACK_INTENT:
                break
            count += 1
    return count


class ActionDidYouMean(KnowledgeAction):
    """Offer the three likeliest topics as buttons, plus "Ingen af disse".

    The second fallback in a row offers a person straight away instead of asking again.
    """

    def name(self) -> Text:
        """Name used in the domain."""
        return vocabulary.ACTION_DID_YOU_MEAN

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        """Ask which topic was meant, or hand over after two misses."""
        if consecutive_fallbacks(tracker) >= 2:
            dispatcher.utter_message(response="utter_still_unsure")
            dispatcher.utter_message(
                text=handover_text(self.kb.contact),
                buttons=handover_buttons(self.kb),
                json_message={"handover": True},
            )
            return []
        ranking = tracker.latest_message.get("intent_ranking") or []
        buttons = candidate_buttons(self.kb, ranking)
        if not buttons:
            dispatcher.utter_message(response="utter_default")
            return []
        buttons.append({"title": "Ingen af disse", "payload": intent_payload(vocabulary.NONE_OF_THESE)})
        dispatcher.utter_message(response="utter_did_you_mean", buttons=buttons)
        return []
