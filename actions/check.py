"""The guided check "Er det stalking?": the form's questions live in the domain, the
explanation here. It never gives a verdict about a real person: the wording is always
"ud fra det, du beskriver"."""

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.rendering import intent_payload
from fagchat import vocabulary

CHECK_SLOTS = ("check_one_sided", "check_repeated", "check_unwanted", "check_frightening")
SOURCES = (
    "_Kilder: [danskstalkingcenter.dk](https://www.danskstalkingcenter.dk/hvad-er-stalking/), "
    "[danskstalkingcenter.dk/lovgivning](https://danskstalkingcenter.dk/lovgivning/), "
    "[politi.dk](https://politi.dk/anmeld-kriminalitet/stalking-psykisk-vold-og-vold-i-naere-relationer/anmeld-stalking)_"
)
NEXT_STEPS = (
    "**Næste skridt:** Bed den udsatte føre et logskema, så mønsteret bliver synligt. "
    "Stalking anmeldes til politiet på 114, og er nogen i akut fare, så ring 112. "
    "Du kan også få gratis sparring om sagen hos Dansk Stalking Center."
)


def assessment(answers: Dict[str, Optional[bool]]) -> str:
    """Explain, in plain Danish, what the four answers point to."""
    if answers["check_one_sided"] is False:
        return (
            "Ud fra det, du beskriver, går kontakten og beskyldningerne begge veje. Det ligner "
            "mere en konflikt end stalking, for stalking er ensidig. Se stadig på mønsteret over "
            "tid: hvem tager kontakt, og hvem prøver at trække sig?"
        )
    if answers["check_unwanted"] is False:
        return (
            "Ud fra det, du beskriver, ønsker den udsatte selv kontakten. Så er der ikke tale "
            "om stalking, for stalking er kontakt, som den anden ikke vil have, og som bliver ved."
        )
    if answers["check_repeated"] is False:
        return (
            "Ud fra det, du beskriver, er der tale om en enkelt episode. Det er ikke stalking i "
            "sig selv, for stalking er et mønster af gentagne hændelser. Episoden kan stadig være "
            "ubehagelig eller strafbar på anden vis, og det er godt at notere den, hvis der sker mere."
        )
    if answers["check_frightening"] is False:
        # § 242 asks whether the conduct is *suitable* to violate someone's peace (an
        # objective test), not whether this person is afraid: never read as "not punishable".
        return (
            "Ud fra det, du beskriver, er kontakten ensidig, gentaget og uønsket, men den "
            "udsatte oplever den ikke som skræmmende. Det udelukker ikke stalking efter "
            "straffelovens § 242. Loven spørger, om adfærden er egnet til at krænke den udsattes "
            "fred, fx fordi den skaber utryghed eller forstyrrer, og ikke om netop denne person "
            "er bange. Om der rejses sag, afgøres ud fra en samlet vurdering af forløbet."
        )
    return (
        "Ud fra det, du beskriver, har situationen de kendetegn, der beskriver stalking: "
        "kontakten er ensidig, gentaget over tid og uønsket, og den udsatte oplever den som "
        "grænseoverskridende eller skræmmende. Det er ikke en afgørelse om en konkret person, "
        "men det er en god grund til at handle nu."
    )


class ActionStalkingCheckResult(Action):
    """Explain the guided check's outcome with next steps, then clear its answers."""

    def name(self) -> Text:
        """Name used in the domain."""
        return vocabulary.ACTION_CHECK_RESULT

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        """Utter the assessment."""
        answers = {slot: tracker.get_slot(slot) for slot in CHECK_SLOTS}
        dispatcher.utter_message(
            text=f"{assessment(answers)}\n\n{NEXT_STEPS}\n\n{SOURCES}",
            buttons=[
                {"title": "Hvordan bruges et logskema?", "payload": intent_payload("documentation")},
                {"title": "Konflikt eller stalking?", "payload": intent_payload("conflict_vs_stalking")},
                {"title": "Få sparring om sagen", "payload": intent_payload("consultation")},
            ],
            json_message={vocabulary.CUSTOM_ARTICLE: vocabulary.CHECK_ARTICLE},
        )
        return [SlotSet(slot, None) for slot in CHECK_SLOTS]
