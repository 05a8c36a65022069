"""Realistic sample conversations, built from Rasa's own event classes.

Tests, the browser test and the staff benchmark use these so that the staff
app always reads the schema Rasa really writes: trackers are saved through the project's
`RedactingSQLTrackerStore`, exactly as the Rasa server saves them (redaction included).
Importing this module imports Rasa, so the app itself never does.
"""

import asyncio
import functools
import random
import warnings
from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence, Tuple

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from fagchat import vocabulary
from fagchat.staff.config import ROOT


@dataclass
class Turn:
    """One user message and the assistant's handling of it."""

    text: str
    intent: str
    confidence: float
    ranking: Sequence[Tuple[str, float]] = ()
    action: str = "action_answer"  # or utter_acute_danger, action_handover, action_did_you_mean, ...
    article: Optional[str] = None  # the article the answer shows
    reply: str = "…"
    feedback: Optional[str] = None  # "up" or "down" on the article
    role: Optional[str] = None  # the role slot the turn sets
    danger_rule: Optional[str] = None  # the danger layer's rule, when it acted (fagchat/nlu/danger.py)
    offered: Sequence[str] = ()  # after a 112 answer: the articles offered as buttons (actions/after_danger.py)


def _events(turns: Sequence[Turn], start: float) -> List[Event]:
    """The events Rasa stores for a new session with these turns."""
    t = start
    events: List[Event] = [
        ActionExecuted("action_session_start", timestamp=t),
        SessionStarted(timestamp=t),
        ActionExecuted("action_listen", timestamp=t),
    ]
    for turn in turns:
        t += 20
        ranking = [{"name": n, "confidence": c} for n, c in turn.ranking] or [
            {"name": turn.intent, "confidence": turn.confidence}
        ]
        intent = {"name": turn.intent, "confidence": turn.confidence}
        parse = {"intent": intent, "intent_ranking": ranking, "entities": [], "text": turn.text}
        if turn.danger_rule or turn.action == "utter_acute_danger":
            parse[vocabulary.DANGER_RULE_KEY] = turn.danger_rule or vocabulary.RULE_PATTERN
        events.append(UserUttered(turn.text, intent=intent, parse_data=parse, input_channel="fagchat", timestamp=t))
        events.append(ActionExecuted(turn.action, policy="RulePolicy", confidence=1.0, timestamp=t + 1))
        custom = (
            {"article": turn.article}
            if turn.article
            else ({"handover": True} if turn.action == "action_handover" else None)
        )
        buttons = (
            [{"title": n, "payload": f"/{n}"} for n, _ in turn.ranking[:3]]
            if turn.action == "action_did_you_mean"
            else None
        )
        events.append(BotUttered(turn.reply, data={"buttons": buttons, "custom": custom}, timestamp=t + 2))
        if turn.article:
            events.append(SlotSet("last_article", turn.article, timestamp=t + 2))
        if turn.role:
            events.append(SlotSet("role", turn.role, timestamp=t + 2))
        if turn.offered:
            events.append(ActionExecuted(vocabulary.ACTION_OFFER_AFTER_DANGER, policy="RulePolicy", timestamp=t + 2))
            offer = [{"title": n, "payload": f"/{n}"} for n in turn.offered]
            events.append(BotUttered("Er ingen i fare lige nu? …", data={"buttons": offer}, timestamp=t + 2))
        events.append(ActionExecuted("action_listen", timestamp=t + 3))
        if turn.feedback:
            events.append(SlotSet("feedback", {"value": turn.feedback, "article": turn.article}, timestamp=t + 9))
    return events


def tracker(sender: str, turns: Sequence[Turn], start: float, domain: Optional[Domain] = None) -> DialogueStateTracker:
    """A tracker holding one session of `turns`, starting at unix time `start`."""
    domain = domain or load_domain()
    return DialogueStateTracker.from_events(sender, _events(turns, start), slots=domain.slots)


@functools.lru_cache(maxsize=1)
def load_domain() -> Domain:
    """The project's domain (for its slots), read once per process: Rasa's schema check of
    domain.yml costs about 0.3 s, and trackers copy the slots they take from it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Rasa's note that slot auto-fill was removed in 3.0
        return Domain.load(str(ROOT / "domain.yml"))


def save(url: str, trackers: Iterable[DialogueStateTracker]) -> None:
    """Save trackers through the project's redacting tracker store at `url`."""
    from fagchat.stores.tracker_store import RedactingSQLTrackerStore

    store = RedactingSQLTrackerStore(domain=load_domain(), url=url)

    async def _save_all() -> None:
        for t in trackers:
            await store.save(t)

    asyncio.run(_save_all())
    store.engine.dispose()


ANSWERED = Turn(
    "hvad er stalking helt præcist?",
    "what_is_stalking",
    0.96,
    article="what_is_stalking",
    reply="Dansk Stalking Center forstår stalking som gentagne, uønskede forsøg på kontakt …",
    feedback="up",
)
LOW_THUMBS_DOWN = Turn(
    "hvordan søger man om et tilhold",
    "restraining_order",
    0.55,
    ranking=[("restraining_order", 0.55), ("report_to_police", 0.3)],
    article="restraining_order",
    reply="Et tilhold gives af politiet …",
    feedback="down",
)
FALLBACK = Turn(
    "kan I hjælpe med en parkeringsbøde?",
    "nlu_fallback",
    0.5,
    ranking=[("out_of_scope", 0.38), ("contact", 0.2)],
    action="action_default_fallback",
    reply="Det spørgsmål kan jeg desværre ikke svare på.",
)
DID_YOU_MEAN = Turn(
    "min klient får 40 sms'er om dagen fra sin eks",
    "nlu_fallback",
    0.5,
    ranking=[("conflict_vs_stalking", 0.41), ("documentation", 0.33), ("safety", 0.1)],
    action="action_did_you_mean",
    reply="Mente du en af disse?",
)
ACUTE = Turn(
    "han står uden for hendes dør lige nu med en kniv",
    "acute_danger",
    0.99,
    action="utter_acute_danger",
    reply="Er nogen i fare lige nu, så ring 112.",
)
# A routine question that got the 112 answer, then the article chosen from the offer.
ACUTE_OFFERED = Turn(
    "hvordan skriver jeg i logskemaet at han stod ved hendes dør i nat?",
    "acute_danger",
    1.0,
    action="utter_acute_danger",
    reply="Er nogen i fare lige nu, så ring 112.",
    offered=("documentation", "restraining_order"),
)
OFFER_CHOSEN = Turn("/documentation", "documentation", 1.0, article="documentation")
HANDOVER = Turn(
    "jeg vil gerne tale med en medarbejder",
    "human_handover",
    0.93,
    action="action_handover",
    reply="Du kan ringe til Dansk Stalking Center …",
)
ROLE = Turn(
    "jeg er sagsbehandler i kommunen",
    "inform_role",
    0.9,
    action="action_set_role",
    reply="Tak, jeg tilpasser svarene til kommunen.",
    role="kommune",
)
DOCUMENTATION = Turn(
    "hvordan dokumenterer man stalking bedst", "documentation", 0.88, article="documentation", reply="Brug en logbog …"
)
SAFETY = Turn(
    "hvad kan hun gøre for at føle sig mere sikker",
    "safety",
    0.81,
    article="safety",
    reply="En sikkerhedsplan …",
    feedback="up",
)
POLICE = Turn(
    "skal hun anmelde det til politiet?",
    "report_to_police",
    0.67,
    article="report_to_police",
    reply="Stalking kan anmeldes …",
    feedback="down",
)

SCENARIOS: List[List[Turn]] = [
    [ANSWERED, DOCUMENTATION],
    [ROLE, LOW_THUMBS_DOWN],
    [FALLBACK],
    [
        DID_YOU_MEAN,
        Turn(
            "/conflict_vs_stalking",
            "conflict_vs_stalking",
            1.0,
            article="conflict_vs_stalking",
            reply="Forskellen på en konflikt og stalking …",
        ),
    ],
    [ACUTE, HANDOVER],
    [SAFETY, POLICE],
    [ANSWERED],
    [HANDOVER],
]


def sample_trackers(count: int, end: float, days: int = 30, seed: int = 7) -> List[DialogueStateTracker]:
    """`count` conversations from the scenarios, spread over the `days` before `end`."""
    rng, domain = random.Random(seed), load_domain()
    out = []
    for i in range(count):
        start = end - rng.uniform(0, days * 86400)
        out.append(tracker(f"sample-{seed}-{i:05d}", rng.choice(SCENARIOS), start, domain))
    return out
