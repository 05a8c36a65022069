"""Handing a case over to a person at the centre."""

from typing import Any, Dict, List, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.base import KnowledgeAction
from actions.rendering import handover_buttons, handover_text
from fagchat import vocabulary


class ActionHandover(KnowledgeAction):
    """Give the centre's contact details and what to have ready; asks for no personal data."""

    def name(self) -> Text:
        """Name used in the domain."""
        return vocabulary.ACTION_HANDOVER

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        """Utter the contact details."""
        # Buttons keep the text in one message: Rasa's collecting channel splits a text
        # without buttons at every blank line.
        dispatcher.utter_message(
            text=handover_text(self.kb.contact),
            buttons=handover_buttons(self.kb),
            json_message={"handover": True},
        )
        return []
