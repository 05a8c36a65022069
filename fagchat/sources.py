"""The project's own list of sources (`knowledge/sources.yml`) and how URLs are compared.

Every URL an article cites must be an entry of the list; the list was checked against the
centre's facts sheet, which lives outside the repository. The same web page is often cited
as `http://www.…/page/` in one place and `https://…/page` in another, so URLs are compared
by `source_key`, which drops the scheme, a leading `www.` and a trailing slash.
"""

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional
from urllib.parse import urlsplit

import yaml

from fagchat import yamlsafe
from fagchat.knowledge_error import KnowledgeError

SOURCES_FILE = "sources.yml"
REQUIRED = ("url", "title", "publisher", "checked")
OPTIONAL = ("note", "usable")
# Title and publisher become Markdown link text: brackets or a newline would break the link.
_LINK_BREAKERS = ("[", "]", "\n")


def source_key(url: str) -> str:
    """The page a URL names, for comparing: no scheme, no `www.`, no trailing slash."""
    parts = urlsplit(url.strip())
    host = parts.netloc.lower().removeprefix("www.")
    path = parts.path.rstrip("/")
    return host + path + (f"?{parts.query}" if parts.query else "")


def unique_urls(urls: Iterable[str]) -> List[str]:
    """The URLs in order, each page once (the first spelling of it wins)."""
    seen, kept = set(), []
    for url in urls:
        key = source_key(url)
        if key not in seen:
            seen.add(key)
            kept.append(url)
    return kept


@dataclass(frozen=True)
class Source:
    """One cited web page, as the source list describes it."""

    url: str
    title: str
    publisher: str
    checked: dt.date
    note: str = ""
    usable: bool = True

    @property
    def label(self) -> str:
        """Link text that says who published the page and what it is."""
        return f"{self.publisher} – {self.title}"


class SourceList:
    """The entries of sources.yml, found by any spelling of their URL."""

    def __init__(self, sources: Iterable[Source] = ()) -> None:
        """Index the entries by `source_key`."""
        self._by_key: Dict[str, Source] = {source_key(s.url): s for s in sources}

    def __len__(self) -> int:
        """How many pages the list holds."""
        return len(self._by_key)

    def find(self, url: str) -> Optional[Source]:
        """The entry for `url`, however it is spelled, if there is one."""
        return self._by_key.get(source_key(url))

    def check_cited(self, path: Path, urls: Iterable[str]) -> None:
        """Raise if an article at `path` cites a page that is missing or marked unusable."""
        for url in urls:
            source = self.find(url)
            if source is None:
                raise KnowledgeError(path, "sources", f"{url} is not in {SOURCES_FILE}")
            if not source.usable:
                raise KnowledgeError(
                    path, "sources", f"{url} is marked usable: false in {SOURCES_FILE} ({source.note})"
                )


def load_sources(path: Path) -> SourceList:
    """Read and validate the source list; a broken entry raises `KnowledgeError`."""
    try:
        data = yamlsafe.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise KnowledgeError(path, "(file)", f"cannot be read: {error}") from None
    if not isinstance(data, list) or not data:
        raise KnowledgeError(path, "(file)", "must be a non-empty list of entries")
    sources: List[Source] = []
    seen: Dict[str, int] = {}
    for number, entry in enumerate(data, start=1):
        source = _entry(path, number, entry)
        key = source_key(source.url)
        if key in seen:
            raise KnowledgeError(path, "url", f"entry {number}: {source.url} is the same page as entry {seen[key]}")
        seen[key] = number
        sources.append(source)
    return SourceList(sources)


def _entry(path: Path, number: int, entry: object) -> Source:
    if not isinstance(entry, dict):
        raise KnowledgeError(path, "(entry)", f"entry {number} must be a mapping")
    where = f"entry {number} ({entry.get('url', 'no url')})"
    for name in REQUIRED:
        if entry.get(name) in (None, ""):
            raise KnowledgeError(path, name, f"{where}: is required")
    unknown = sorted(set(entry) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise KnowledgeError(path, unknown[0], f"{where}: is not a known field")
    url = entry["url"]
    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        raise KnowledgeError(path, "url", f"{where}: must be an http(s) URL")
    for name in ("title", "publisher"):
        text = entry[name]
        if not isinstance(text, str) or not text.strip() or any(c in text for c in _LINK_BREAKERS):
            raise KnowledgeError(path, name, f"{where}: must be one line of text without [ or ]")
    if not isinstance(entry["checked"], dt.date):
        raise KnowledgeError(path, "checked", f"{where}: must be an ISO date (YYYY-MM-DD)")
    note, usable = entry.get("note", ""), entry.get("usable", True)
    if not isinstance(note, str):
        raise KnowledgeError(path, "note", f"{where}: must be text")
    if not isinstance(usable, bool):
        raise KnowledgeError(path, "usable", f"{where}: must be true or false")
    if not usable and not note.strip():
        raise KnowledgeError(path, "note", f"{where}: say why the source must not be used")
    return Source(
        url.strip(), entry["title"].strip(), entry["publisher"].strip(), entry["checked"], note.strip(), usable
    )
