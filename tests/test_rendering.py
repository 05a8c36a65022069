"""How an answer names its sources: every page once, labelled from knowledge/sources.yml,
as a text line for text-only channels and as data for the widget's "Kilder (n)"."""

import re
from dataclasses import replace
from pathlib import Path

import pytest

from actions.rendering import answer_message, knowledge_base, shown_sources
from fagchat import vocabulary as v
from fagchat.knowledge import KnowledgeBase
from fagchat.sources import source_key, unique_urls

ROOT = Path(__file__).resolve().parent.parent
# Seven citations of five pages: the logskema page and 112 twice, spelled differently.
CITED = (
    "https://danskstalkingcenter.dk/logskema/",
    "http://www.danskstalkingcenter.dk/logskema",
    "https://politi.dk/kontakt-politiet/alarm-112",
    "https://www.retsinformation.dk/Forms/R0710.aspx?id=186000",
    "https://anklagemyndigheden.dk/da/anmeldelse-ofre",
    "https://danskstalkingcenter.dk/fagperson/",
    "https://politi.dk/kontakt-politiet/alarm-112/",
)
PAGES = 5


def widget_source_line() -> "re.Pattern[str]":
    """The pattern the widget uses to fold the text line away (widget/fagchat.js)."""
    script = (ROOT / "widget" / "fagchat.js").read_text()
    return re.compile(re.search(r"var SOURCE_LINE = /(.+)/;", script).group(1))


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return knowledge_base()


@pytest.mark.parametrize(
    "one, other",
    [
        ("http://www.example.dk/side/", "https://example.dk/side"),
        ("https://EXAMPLE.dk/side", "https://www.example.dk/side/"),
        ("https://example.dk/", "http://example.dk"),
        ("https://example.dk/a?id=1", "http://www.example.dk/a/?id=1"),
    ],
)
def test_the_same_page_spelled_differently_has_one_key(one, other):
    assert source_key(one) == source_key(other)


@pytest.mark.parametrize(
    "one, other",
    [
        ("https://example.dk/a", "https://example.dk/a/b"),
        ("https://example.dk/a?id=1", "https://example.dk/a?id=2"),
        ("https://www2.example.dk/a", "https://example.dk/a"),
        ("https://example.dk/a", "https://example.com/a"),
    ],
)
def test_different_pages_keep_different_keys(one, other):
    assert source_key(one) != source_key(other)


def test_unique_urls_keep_the_first_spelling_in_order():
    assert unique_urls(CITED) == [CITED[0], CITED[2], CITED[3], CITED[4], CITED[5]]


def test_an_answer_shows_every_source_once(kb):
    article = replace(kb.articles["what_is_stalking"], sources=CITED)
    message = answer_message(kb, article, None)
    text, data = message["text"], message["json_message"][v.CUSTOM_SOURCES]
    assert len(data) == PAGES and f"_Kilder ({PAGES}): " in text
    for url in unique_urls(CITED):
        source = kb.sources.find(url)
        assert {"url": source.url, "label": source.label} in data
        assert text.count(f"]({source.url})") == 1, url
    assert message["json_message"][v.CUSTOM_ARTICLE] == article.id


def test_link_text_names_the_publisher_and_the_title_where_needed(kb):
    shown = shown_sources(kb, replace(kb.articles["what_is_stalking"], sources=CITED))
    police = kb.sources.find("https://politi.dk/kontakt-politiet/alarm-112")
    logskema = kb.sources.find("https://danskstalkingcenter.dk/logskema/")
    by_url = {s.url: s for s in shown}
    assert by_url[police.url].label == f"{police.publisher} – {police.title}"
    assert by_url[police.url].short == police.publisher  # cited once: the publisher is enough
    assert by_url[logskema.url].short == logskema.label  # the centre twice: say which page


def test_one_source_is_named_in_the_singular(kb):
    article = replace(kb.articles["what_is_stalking"], sources=("https://politi.dk/kontakt-politiet/alarm-112",))
    text = answer_message(kb, article, None)["text"]
    assert text.endswith("\n\n_Kilde: [Rigspolitiet/politi.dk](https://politi.dk/kontakt-politiet/alarm-112)_")


def test_every_article_shows_all_its_pages_and_the_widget_can_fold_the_line(kb):
    pattern = widget_source_line()
    for article in kb.articles.values():
        for role in (None, *article.variants):
            message = answer_message(kb, article, role)
            data = message["json_message"][v.CUSTOM_SOURCES]
            assert len(data) == len({source_key(u) for u in article.sources}), article.id
            assert all(s["label"] and s["url"].startswith(("https://", "http://")) for s in data)
            # What the widget keeps after folding the line away is exactly the answer.
            assert pattern.sub("", message["text"]) == article.text_for(role), article.id


def test_a_page_missing_from_the_list_still_gets_a_readable_label(kb):
    bare = KnowledgeBase(kb.articles.values(), kb.contact)  # no source list
    (shown,) = shown_sources(bare, replace(kb.articles["what_is_stalking"], sources=("https://example.dk/side/",)))
    assert shown.label == shown.short == "example.dk/side"
