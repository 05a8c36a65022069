"""The knowledge base: loader validation, content rules, and agreement with the domain."""

import re
import shutil
from pathlib import Path

import pytest
import yaml

from fagchat.knowledge import CONTACT_FIELDS, TOPICS, Contact, KnowledgeBase, KnowledgeError

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load()


def copy_kb(tmp_path: Path) -> Path:
    """A writable copy of knowledge/ to break on purpose."""
    target = tmp_path / "knowledge"
    shutil.copytree(ROOT / "knowledge", target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))


# --- the loader ----------------------------------------------------------------------


def test_every_topic_has_an_article(kb):
    assert {a.topic for a in kb.articles.values()} == set(TOPICS)


@pytest.mark.parametrize(
    "old, new, field",
    [
        ("topic: what_is_stalking", "topic: stalking_in_general", "topic"),
        ("reviewed: 2026-11-25", "reviewed: i går", "reviewed"),
        ("id: what_is_stalking", "id: what_is", "id"),
        ("title: ", "titel: ", "title"),
        ("followups: [", "followups: [no_such_intent, ", "followups"),
    ],
)
def test_a_broken_article_stops_loading_naming_file_and_field(tmp_path, old, new, field):
    folder = copy_kb(tmp_path)
    edit(folder / "what_is_stalking.md", old, new)
    with pytest.raises(KnowledgeError) as error:
        KnowledgeBase.load(folder)
    assert error.value.path.name == "what_is_stalking.md"
    assert error.value.field == field
    assert "what_is_stalking.md" in str(error.value) and field in str(error.value)


def test_missing_front_matter_is_reported(tmp_path):
    folder = copy_kb(tmp_path)
    (folder / "broken.md").write_text("Bare tekst uden front matter.\n")
    with pytest.raises(KnowledgeError, match=r"broken.md: field '\(front matter\)'"):
        KnowledgeBase.load(folder)


def test_unknown_role_variant_is_reported(tmp_path):
    folder = copy_kb(tmp_path)
    path = folder / "what_is_stalking.md"
    path.write_text(path.read_text() + "\n<!-- rolle: brandvaesen -->\nTekst.\n")
    with pytest.raises(KnowledgeError, match="unknown role 'brandvaesen'"):
        KnowledgeBase.load(folder)


def test_an_intent_answered_twice_is_reported(tmp_path):
    folder = copy_kb(tmp_path)
    edit(folder / "stalking_forms.md", "intents: [stalking_forms]", "intents: [stalking_forms, materials]")
    with pytest.raises(KnowledgeError, match="'materials' is also in"):
        KnowledgeBase.load(folder)


def test_contact_file_with_missing_field_is_reported(tmp_path):
    folder = copy_kb(tmp_path)
    edit(folder / "contact.yml", "email: kontakt@danskstalkingcenter.dk", "mail: x")
    with pytest.raises(KnowledgeError, match="contact.yml: field 'email'"):
        KnowledgeBase.load(folder)


def test_empty_contact_values_are_left_out_not_guessed(kb):
    text = kb.for_intent("contact").body
    assert kb.contact.phone in text and kb.contact.email in text
    assert "{" not in text
    if not kb.contact.opening_hours:
        assert "Åbningstider" not in text
    if not kb.contact.professional_phone:
        assert "Telefon for fagpersoner" not in text


def contact_with(**values: str) -> Contact:
    return Contact(**{name: values.get(name, "") for name in CONTACT_FIELDS})


@pytest.mark.parametrize(
    "phone, shown, hidden",
    [("", "Skriv til os.", "Ring på"), ("11 22 33 44", "Ring på 11 22 33 44.", "Skriv til os.")],
)
def test_a_line_marked_unset_stands_in_until_the_centre_sets_the_value(phone, shown, hidden):
    text = (
        "Sparring:\n- Telefon: {professional_phone}\nSkriv til os. {!professional_phone}\nRing på {professional_phone}."
    )
    filled = contact_with(professional_phone=phone).fill(text)
    assert shown in filled.splitlines() and hidden not in filled and "{" not in filled
    assert ("- Telefon: 11 22 33 44" in filled) == bool(phone)


@pytest.mark.parametrize("intent", ["consultation", "contact"])
def test_professionals_get_the_centres_address_not_the_counselling_line(kb, intent):
    # The counselling line is for victims, their children and relatives (facts sheet, section 2).
    text = kb.for_intent(intent).body
    next_step = text.rsplit("\n\n", 1)[-1]
    assert kb.contact.email in text, "what is known is shown, not held back behind another answer"
    assert "under kontakt" not in text and "telefonrådgivning" not in next_step.lower()
    assert kb.contact.phone not in next_step


@pytest.mark.parametrize("intent", ["consultation", "contact"])
def test_the_professionals_phone_is_shown_once_the_centre_sets_it(tmp_path, intent):
    folder = copy_kb(tmp_path)
    edit(folder / "contact.yml", 'professional_phone: ""', 'professional_phone: "11 22 33 44"')
    edit(folder / "contact.yml", 'professional_hours: ""', 'professional_hours: "hverdage kl. 9-12"')
    text = KnowledgeBase.load(folder).for_intent(intent).body
    assert "11 22 33 44" in text.rsplit("\n\n", 1)[-1] and "hverdage kl. 9-12" in text
    assert "Skriv en mail" not in text


def test_role_variant_replaces_the_common_answer(kb):
    article = kb.for_intent("duty_to_report")
    assert "kommune" in article.variants
    assert article.text_for("kommune") == article.variants["kommune"]
    assert (
        article.text_for(None) == article.body == article.text_for("andet" if "andet" not in article.variants else None)
    )


def test_an_unchanged_folder_is_read_once_and_an_edited_article_again(tmp_path):
    folder = copy_kb(tmp_path)
    first = KnowledgeBase.load_unchanged(folder)
    assert KnowledgeBase.load_unchanged(folder) is first
    article = folder / "what_is_stalking.md"
    edit(article, "title:", "title: Rettet -")
    again = KnowledgeBase.load_unchanged(folder)
    assert again is not first and again.articles["what_is_stalking"].title.startswith("Rettet -")
    edit(article, "title:", "title")  # a broken article is refused, not served from the cache
    with pytest.raises(KnowledgeError):
        KnowledgeBase.load_unchanged(folder)


# --- the content rules -------------------------------------------------------------------


def words(text: str) -> int:
    return len(re.findall(r"\w+", re.sub(r"\(https?://[^)]+\)", "", text)))


@pytest.mark.parametrize("article_id", sorted(KnowledgeBase.load().articles))
def test_answers_are_short_and_end_with_a_next_step(kb, article_id):
    article = kb.articles[article_id]
    for text in [article.body, *article.variants.values()]:
        assert words(text) <= 160, f"{article_id}: {words(text)} words"
        last = text.rsplit("\n\n", 1)[-1]
        assert last.startswith("**Næste skridt:** "), f"{article_id} must end with its next step"


def answer_texts(kb: KnowledgeBase):
    """Every text a user reads: each article's common answer and variants, each domain response."""
    domain = yaml.safe_load((ROOT / "domain.yml").read_text())
    for article in kb.articles.values():
        yield article.id, article.body
        yield from ((f"{article.id} ({role})", text) for role, text in article.variants.items())
    for name, variants in domain["responses"].items():
        yield from ((name, v["text"]) for v in variants if v.get("text"))


def test_next_steps_have_one_format_and_words_one_spelling(kb):
    for name, text in answer_texts(kb):
        for paragraph in text.split("\n\n"):
            if "næste skridt" in paragraph.lower():
                assert paragraph.startswith("**Næste skridt:** "), name
        assert "mønstret" not in text, f"{name}: write 'mønsteret'"


@pytest.mark.parametrize(
    "article_id, role",
    [
        ("restraining_order", "politi"),
        ("stalking_law", "politi"),
        ("perpetrator_help", "politi"),
        ("what_is_stalking", "sundhed"),
        ("children_affected", "sundhed"),
        ("safety", "sundhed"),
    ],
)
def test_roles_get_their_own_answer_where_the_advice_differs(kb, article_id, role):
    article = kb.articles[article_id]
    assert role in article.variants and article.variants[role] != article.body


def test_the_municipal_and_health_answers_on_reporting_differ_in_substance(kb):
    # A caseworker's municipality receives the report; a health professional sends it.
    variants = kb.for_intent("duty_to_report").variants
    sentences = {role: set(re.split(r"(?<=[.!?:])\s+|\n", variants[role])) for role in ("kommune", "sundhed")}
    shared = sentences["kommune"] & sentences["sundhed"] - {""}
    assert len(shared) <= 2, shared
    assert "tavshedspligt" in variants["sundhed"] and "adressebeskyttelse" in variants["kommune"]


# --- the source list (knowledge/sources.yml) ------------------------------------------------

ALARM_112 = """- url: https://politi.dk/kontakt-politiet/alarm-112
  title: "Alarm 112"
  publisher: "Rigspolitiet/politi.dk"
  checked: 2026-11-29
"""


def cite(folder: Path, url: str, article: str = "what_is_stalking") -> None:
    """Add `url` to an article's sources in a copy of knowledge/."""
    edit(folder / f"{article}.md", "sources:\n", f"sources:\n  - {url}\n")


def test_every_cited_source_is_a_usable_entry_of_the_source_list(kb):
    for article in kb.articles.values():
        for url in article.sources:
            source = kb.sources.find(url)
            assert source is not None and source.usable, f"{article.id}: {url}"


def test_the_unreliable_dictionary_is_marked_not_to_be_used(kb):
    # facts.md: it says a judge issues a tilhold, against the tilholdslov (police decide).
    source = kb.sources.find("https://www.definebusinessterms.com/da/polititilhold/")
    assert source is not None and not source.usable and "KONFLIKT" in source.note


def test_an_article_citing_an_unknown_url_stops_loading(tmp_path):
    folder = copy_kb(tmp_path)
    cite(folder, "https://example.dk/ukendt-side")
    with pytest.raises(KnowledgeError) as error:
        KnowledgeBase.load(folder)
    assert (error.value.path.name, error.value.field) == ("what_is_stalking.md", "sources")
    assert "https://example.dk/ukendt-side is not in sources.yml" in str(error.value)


def test_an_article_citing_a_source_marked_unusable_stops_loading(tmp_path):
    folder = copy_kb(tmp_path)
    cite(folder, "http://definebusinessterms.com/da/polititilhold")  # another spelling of it
    with pytest.raises(KnowledgeError, match=r"what_is_stalking.md: field 'sources': .*usable: false"):
        KnowledgeBase.load(folder)


def test_sources_are_matched_with_or_without_www_https_and_trailing_slash(tmp_path):
    folder = copy_kb(tmp_path)
    cite(folder, "http://www.politi.dk/kontakt-politiet/alarm-112/")
    source = KnowledgeBase.load(folder).sources.find("http://www.politi.dk/kontakt-politiet/alarm-112/")
    assert source.url == "https://politi.dk/kontakt-politiet/alarm-112"


@pytest.mark.parametrize(
    "entry, field",
    [
        (ALARM_112.replace('  title: "Alarm 112"\n', ""), "title"),
        (ALARM_112.replace('  publisher: "Rigspolitiet/politi.dk"\n', ""), "publisher"),
        (ALARM_112.replace("checked: 2026-11-29", "checked: snart"), "checked"),
        (ALARM_112.replace("https://politi.dk", "ftp://politi.dk"), "url"),
        (ALARM_112.replace('"Alarm 112"', '"Alarm [112]"'), "title"),
        (ALARM_112 + "  kilde: politiet\n", "kilde"),
        (ALARM_112 + "  usable: false\n", "note"),
        (ALARM_112 + ALARM_112.replace("https://politi.dk", "http://www.politi.dk").replace("112\n", "112/\n"), "url"),
    ],
)
def test_a_broken_source_list_stops_loading_naming_the_field(tmp_path, entry, field):
    folder = copy_kb(tmp_path)
    edit(folder / "sources.yml", ALARM_112, entry)
    with pytest.raises(KnowledgeError) as error:
        KnowledgeBase.load(folder)
    assert (error.value.path.name, error.value.field) == ("sources.yml", field)
    assert "alarm-112" in str(error.value)


def test_a_missing_source_list_stops_loading(tmp_path):
    folder = copy_kb(tmp_path)
    (folder / "sources.yml").unlink()
    with pytest.raises(KnowledgeError, match=r"sources.yml: field '\(file\)': cannot be read"):
        KnowledgeBase.load(folder)


def test_no_article_states_the_disputed_hotline_number_as_fact(kb):
    # [KONFLIKT]/[TJEK] numbers from facts.md must not appear as plain facts.
    for article in kb.articles.values():
        for text in [article.body, *article.variants.values()]:
            assert "70 20 30 82" not in text and "35 30 17 17" not in text and "60 56 73 74" not in text


# --- agreement with the domain and the NLU data --------------------------------------------


def test_domain_knowledge_intents_and_articles_match(kb):
    domain = yaml.safe_load((ROOT / "domain.yml").read_text())
    contract = (ROOT / "docs" / "content-contract.md").read_text().split("## Dialogue intents")[0]
    knowledge_intents = set(re.findall(r"^\| ([a-z_]+) \| [a-z_]+ \|", contract, re.M)) - {"intent"}
    assert knowledge_intents == set(kb.intents)
    assert set(kb.intents) <= set(domain["intents"])


def test_every_article_intent_has_training_examples(kb):
    nlu = yaml.safe_load((ROOT / "data" / "nlu.yml").read_text())["nlu"]
    counts = {b["intent"]: b["examples"].count("\n- ") + 1 for b in nlu if "intent" in b}
    for intent in kb.intents:
        assert counts.get(intent, 0) >= 25, intent


def test_contact_fallback_response_matches_contact_file(kb):
    domain = yaml.safe_load((ROOT / "domain.yml").read_text())
    text = domain["responses"]["utter_service_unavailable"][0]["text"]
    assert kb.contact.phone in text and kb.contact.email in text
    assert "112" in text
