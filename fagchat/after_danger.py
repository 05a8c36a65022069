"""What the assistant offers after the 112 answer: the article the question may have been about.

The 112 answer always comes first and stands on its own (a domain response, no action
server). But the danger layer also answers 112 to some routine questions that only sound
alarming ("en far står uden for skolen og vil tale med sin datter ..."), and a professional
who gets 112 instead of an answer loses trust. So after the 112 answer the action server
offers, as buttons, the articles the classifier itself found likely, one tap away; when
the classifier saw nothing else with some weight (a real emergency, mostly) nothing is
offered.

The bar was set on the development sets' first contact (the danger layer before the dev8
round, replayed over the classifier's outputs): at 0.2, 5 of the 7 routine held-out
questions answered with 112 had their own article offered, and 12 of 14 look-alikes got
an offer; 64 of 720 danger messages got one too, mostly the article the story asked about
("skal det i logskemaet?"). The measurement (`python -m fagchat.nlu.quality heldout`)
and the action share this function, so the figures are those of the chat.
"""

from typing import Any, Callable, Dict, Iterable, List

from fagchat import vocabulary

OFFER_BAR = 0.2  # the classifier's own probability for an intent, before the danger layer
OFFER_LIMIT = 2  # the 112 answer stays the main message: few buttons after it


def offered_intents(ranking: Iterable[Dict[str, Any]], titled: Callable[[str], bool]) -> List[str]:
    """The intents to offer after the 112 answer, best first: at most OFFER_LIMIT, each
    with at least OFFER_BAR in the classifier's ranking and a title to show (`titled`)."""
    offered: List[str] = []
    for entry in ranking:
        name = entry.get("name") or ""
        if name in (vocabulary.ACUTE_DANGER, vocabulary.NLU_FALLBACK) or name in offered:
            continue
        if float(entry.get("confidence") or 0.0) >= OFFER_BAR and titled(name):
            offered.append(name)
        if len(offered) == OFFER_LIMIT:
            break
    return offered
