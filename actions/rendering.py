"""Pure helpers that turn knowledge into chat messages; no Rasa objects here."""

from collections import Counter
from functools import lru_cache
from typing import Any, Dict, List, NamedTuple, Optional
from urllib.parse import urlparse

from fagchat import vocabulary as v
from fagchat.knowledge import Article, Contact, KnowledgeBase
from fagchat.sources import unique_urls

# Where each role works, to finish "… til dig, der arbejder …".
ROLE_WORKPLACES = {
    "politi": "i politiet",
    "kommune": "i en kommune",
    "sundhed": "i sundhedsvæsenet",
    "andet": "som rådgiver eller i et andet fag",
}
# Dialogue intents the did-you-mean buttons may offer besides the articles.
EXTRA_TITLES = {"check_stalking": "Er det stalking? (kort tjek)"}


@lru_cache(maxsize=1)
def knowledge_base() -> KnowledgeBase:
    """Load the knowledge base once per process; an invalid article raises here."""
    return KnowledgeBase.load()


def intent_payload(intent: str, entities: Optional[Dict[str, str]] = None) -> str:
    """Build the `/intent{...}` payload of a button."""
    if not entities:
        return f"/{intent}"
    pairs = ",".join(f'"{k}":"{v}"' for k, v in entities.items())
    return f"/{intent}{{{pairs}}}"


def source_label(url: str, limit: int = 48) -> str:
    """A readable label for a source URL: its site and page, e.g. politi.dk/alarm-112."""
    parts = urlparse(url)
    page = parts.path.rstrip("/").rsplit("/", 1)[-1]
    label = parts.netloc.removeprefix("www.") + (f"/{page}" if page else "")
    return label if len(label) <= limit else label[: limit - 1] + "…"


class ShownSource(NamedTuple):
    """A source as an answer shows it: the link, its full text and a short form."""

    url: str
    label: str
    short: str


def shown_sources(kb: KnowledgeBase, article: Article) -> List[ShownSource]:
    """Every page the article cites, each once, labelled from knowledge/sources.yml."""
    found = [(url, kb.sources.find(url)) for url in unique_urls(article.sources)]
    publishers = Counter(source.publisher for _, source in found if source)
    shown = []
    for url, source in found:
        if source is None:  # the loader rejects this for articles; kept for safety
            shown.append(ShownSource(url, source_label(url), source_label(url)))
        else:
            # The publisher alone is enough unless the answer cites it twice.
            short = source.publisher if publishers[source.publisher] == 1 else source.label
            shown.append(ShownSource(source.url, source.label, short))
    return shown


def source_line(sources: List[ShownSource]) -> str:
    """All sources on one line, for channels that show text only (the widget folds it away)."""
    heading = "Kilde" if len(sources) == 1 else f"Kilder ({len(sources)})"
    return f"_{heading}: " + ", ".join(f"[{s.short}]({s.url})" for s in sources) + "_"


def answer_message(kb: KnowledgeBase, article: Article, role: Optional[str]) -> Dict[str, Any]:
    """The answer for `role` as `utter_message` arguments: text with its sources, follow-up
    buttons, and the article id and sources for the widget (its "Kilder (n)" list)."""
    sources = shown_sources(kb, article)
    return {
        "text": f"{article.text_for(role)}\n\n{source_line(sources)}",
        "buttons": followup_buttons(kb, article),
        "json_message": {
            v.CUSTOM_ARTICLE: article.id,
            v.CUSTOM_SOURCES: [{"url": s.url, "label": s.label} for s in sources],
        },
    }


def followup_buttons(kb: KnowledgeBase, article: Article) -> List[Dict[str, str]]:
    """Buttons for the article's follow-up questions."""
    buttons = []
    for intent in article.followups:
        target = kb.for_intent(intent)
        if target is not None:
            buttons.append({"title": target.title, "payload": intent_payload(intent)})
    return buttons


def candidate_buttons(kb: KnowledgeBase, ranking: List[Dict], limit: int = 3) -> List[Dict[str, str]]:
    """Did-you-mean buttons: the best `limit` answerable intents of an NLU ranking."""
    buttons = []
    for entry in ranking:
        intent = entry.get("name")
        article = kb.for_intent(intent)
        title = article.title if article else EXTRA_TITLES.get(intent or "")
        if title and all(b["payload"] != intent_payload(intent) for b in buttons):
            buttons.append({"title": title, "payload": intent_payload(intent)})
        if len(buttons) == limit:
            break
    return buttons


def handover_buttons(kb: KnowledgeBase) -> List[Dict[str, str]]:
    """What a professional may want next after the contact details."""
    return [
        {"title": kb.for_intent(i).title, "payload": intent_payload(i)}
        for i in ("consultation", "victim_referral", "documentation")
        if kb.for_intent(i)
    ]


def handover_text(contact: Contact) -> str:
    """Contact details for a person at the centre and what to have ready."""
    # The counselling line is for victims and their relatives, not the professionals'
    # channel: it is named as something to pass on, and the professionals' own phone
    # appears once the centre has set it in knowledge/contact.yml.
    return contact.fill(
        "Som fagperson kan du få gratis faglig sparring hos {name}, både om stalking "
        "generelt og om en konkret sag.\n\n"
        "- Telefon for fagpersoner: {professional_phone}\n"
        "- Telefontid for fagpersoner: {professional_hours}\n"
        "- E-mail: {email}\n\n"
        "Hav gerne klar: din faglige rolle, et kort overblik over forløbet, hvad du "
        "allerede har gjort, og et logskema, hvis der er ført et. Beskriv sagen uden "
        "navne eller CPR-numre.\n\n"
        "Den udsatte og de pårørende kan selv ringe gratis og anonymt til centrets "
        "telefonrådgivning på {phone}.\n\n"
        "Er nogen i fare lige nu, så ring 112."
    )
