"""The knowledge base: articles in `knowledge/*.md`, contact details in `contact.yml` and
the list of pages the articles may cite in `sources.yml` (`fagchat/sources.py`).

Loaded once per process (the action server builds it in an action's `__init__`), validated
against a schema, and indexed by intent. An invalid article stops start-up with a
`KnowledgeError` naming the file and the field, so a broken edit never reaches a user.
"""

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

import yaml

from fagchat import yamlsafe
from fagchat.knowledge_error import KnowledgeError
from fagchat.sources import SOURCES_FILE, SourceList, load_sources

TOPICS = (
    "what_is_stalking",
    "stalking_forms",
    "conflict_vs_stalking",
    "documentation",
    "safety",
    "acute_danger",
    "risk_tools",
    "law_and_police",
    "victim_referral",
    "perpetrator_help",
    "children_and_relatives",
    "consultation",
    "courses_and_materials",
    "contact",
    "about_dsc",
)
ROLES = ("politi", "kommune", "sundhed", "andet")
REQUIRED = ("id", "topic", "intents", "title", "sources", "reviewed", "followups")
# `phone` is the counselling line for victims, their children and relatives; the
# professionals' own channel is `professional_phone` / `professional_hours`.
CONTACT_FIELDS = (
    "name",
    "phone",
    "phone_label",
    "email",
    "address",
    "opening_hours",
    "professional_phone",
    "professional_hours",
)

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "knowledge"
_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n(.*)\Z", re.S)
_ROLE_MARKER = re.compile(r"^<!--\s*rolle:\s*([a-z]+)\s*-->\s*$", re.M)
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# `{phone}` is a value; `{!phone}` marks a line to show only while `phone` is empty.
_PLACEHOLDER = re.compile(r"\{(!?)(" + "|".join(CONTACT_FIELDS) + r")\}")


@dataclass(frozen=True)
class Contact:
    """The centre's contact details; an empty value is one the centre has not set."""

    name: str
    phone: str
    phone_label: str
    email: str
    address: str
    opening_hours: str
    professional_phone: str
    professional_hours: str

    def fill(self, text: str) -> str:
        """Fill `{phone}`-style placeholders; drop each line whose value is empty.

        A line marked `{!phone}` is the wording to use until the centre sets `phone`:
        it is kept while the value is empty and dropped once it is set.
        """
        lines = []
        for line in text.split("\n"):
            marks = _PLACEHOLDER.findall(line)
            # Say nothing rather than show an empty or guessed value.
            if any(bool(getattr(self, name)) == bool(unset) for unset, name in marks):
                continue
            filled = _PLACEHOLDER.sub(lambda m: "" if m.group(1) else getattr(self, m.group(2)), line)
            lines.append(filled.rstrip() if marks else filled)
        return "\n".join(lines)


@dataclass(frozen=True)
class Article:
    """One answer: its metadata, the common text and any role variants."""

    id: str
    topic: str
    intents: Tuple[str, ...]
    title: str
    sources: Tuple[str, ...]
    reviewed: dt.date
    followups: Tuple[str, ...]
    body: str
    variants: Dict[str, str] = field(default_factory=dict)

    def text_for(self, role: Optional[str]) -> str:
        """Return the role's variant where there is one, else the common answer."""
        return self.variants.get(role or "", self.body)


_UNCHANGED: Dict[Path, Tuple[tuple, "KnowledgeBase"]] = {}  # see KnowledgeBase.load_unchanged


class KnowledgeBase:
    """All articles, indexed by id and by the intent they answer."""

    def __init__(self, articles: Iterable[Article], contact: Contact, sources: Optional[SourceList] = None) -> None:
        """Index the articles; an intent answered twice is an error."""
        self.contact = contact
        self.sources = sources if sources is not None else SourceList()
        self.articles: Dict[str, Article] = {}
        self._by_intent: Dict[str, Article] = {}
        for article in articles:
            self.articles[article.id] = article
            for intent in article.intents:
                if intent in self._by_intent:
                    other = self._by_intent[intent].id
                    raise KnowledgeError(Path(f"{article.id}.md"), "intents", f"'{intent}' is also in {other}")
                self._by_intent[intent] = article

    @classmethod
    def load(cls, folder: Path = DEFAULT_DIR) -> "KnowledgeBase":
        """Read and validate every article, the contact file and the source list in `folder`."""
        folder = Path(folder)
        contact = _load_contact(folder / "contact.yml")
        sources = load_sources(folder / SOURCES_FILE)
        paths = sorted(folder.glob("*.md"))
        if not paths:
            raise KnowledgeError(folder / "*.md", "articles", "no articles found")
        kb = cls((_load_article(p, contact) for p in paths), contact, sources)
        for article in kb.articles.values():
            sources.check_cited(folder / f"{article.id}.md", article.sources)
            for intent in article.followups:
                if intent not in kb._by_intent:
                    raise KnowledgeError(Path(f"{article.id}.md"), "followups", f"no article answers '{intent}'")
        return kb

    @classmethod
    def load_unchanged(cls, folder: Path = DEFAULT_DIR) -> "KnowledgeBase":
        """`load`, but once per process while the folder's files stay the same.

        Keyed by each file's name, size and modification time (a stat, not a read): a
        staff app built again in the same process (the tests build hundreds) reuses the
        validated knowledge base, and an edited article is read again.
        """
        folder = Path(folder).resolve()
        signature = tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.iterdir()))
        cached = _UNCHANGED.get(folder)
        if cached is None or cached[0] != signature:
            cached = _UNCHANGED[folder] = (signature, cls.load(folder))
        return cached[1]

    @property
    def intents(self) -> List[str]:
        """Every intent some article answers."""
        return sorted(self._by_intent)

    def for_intent(self, intent: Optional[str]) -> Optional[Article]:
        """Return the article that answers `intent`, if any."""
        return self._by_intent.get(intent or "")


def _load_contact(path: Path) -> Contact:
    try:
        data = yamlsafe.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise KnowledgeError(path, "(file)", f"cannot be read: {error}") from None
    if not isinstance(data, dict):
        raise KnowledgeError(path, "(file)", "must be a mapping")
    for name in CONTACT_FIELDS:
        if not isinstance(data.get(name, None), str):
            raise KnowledgeError(path, name, 'missing or not text (use "" when unknown)')
    return Contact(**{k: data[k].strip() for k in CONTACT_FIELDS})


def _load_article(path: Path, contact: Contact) -> Article:
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as error:
        raise KnowledgeError(path, "(file)", f"cannot be read: {error}") from None
    match = _FRONT_MATTER.match(raw.replace("\r\n", "\n"))
    if not match:
        raise KnowledgeError(path, "(front matter)", "file must start with a --- block")
    try:
        meta = yamlsafe.safe_load(match.group(1))
    except yaml.YAMLError as error:
        raise KnowledgeError(path, "(front matter)", f"invalid YAML: {error}") from None
    if not isinstance(meta, dict):
        raise KnowledgeError(path, "(front matter)", "must be a mapping")
    for name in REQUIRED:
        if meta.get(name) in (None, "", []):
            raise KnowledgeError(path, name, "is required")
    unknown = set(meta) - set(REQUIRED)
    if unknown:
        raise KnowledgeError(path, sorted(unknown)[0], "is not a known field")
    _check(path, "id", meta["id"] == path.stem, "must equal the file name")
    _check(path, "topic", meta["topic"] in TOPICS, f"must be one of {', '.join(TOPICS)}")
    for name in ("intents", "followups", "sources"):
        value = meta[name]
        _check(path, name, isinstance(value, list) and all(isinstance(v, str) for v in value), "must be a list of text")
    _check(path, "intents", all(_NAME.match(i) for i in meta["intents"]), "must be snake_case")
    _check(path, "followups", 2 <= len(meta["followups"]) <= 3, "must name 2 or 3 intents")
    _check(path, "followups", not set(meta["followups"]) & set(meta["intents"]), "must not name the article itself")
    _check(path, "sources", all(s.startswith(("https://", "http://")) for s in meta["sources"]), "must be URLs")
    _check(
        path,
        "title",
        isinstance(meta["title"], str) and len(meta["title"]) <= 80,
        "must be text of at most 80 characters",
    )
    _check(path, "reviewed", isinstance(meta["reviewed"], dt.date), "must be an ISO date (YYYY-MM-DD)")
    body, variants = _split_variants(path, contact.fill(match.group(2)))
    return Article(
        id=meta["id"],
        topic=meta["topic"],
        intents=tuple(meta["intents"]),
        title=meta["title"].strip(),
        sources=tuple(meta["sources"]),
        reviewed=meta["reviewed"],
        followups=tuple(meta["followups"]),
        body=body,
        variants=variants,
    )


def _split_variants(path: Path, text: str) -> Tuple[str, Dict[str, str]]:
    """Split the body at `<!-- rolle: X -->` markers into the common text and variants."""
    parts = _ROLE_MARKER.split(text)
    body = parts[0].strip()
    _check(path, "(body)", bool(body), "the common answer is empty")
    variants = {}
    for role, variant in zip(parts[1::2], parts[2::2]):
        _check(path, "(body)", role in ROLES, f"unknown role '{role}', use one of {', '.join(ROLES)}")
        _check(path, "(body)", bool(variant.strip()), f"the variant for '{role}' is empty")
        variants[role] = variant.strip()
    return body, variants


def _check(path: Path, field_name: str, ok: bool, problem: str) -> None:
    if not ok:
        raise KnowledgeError(path, field_name, problem)
