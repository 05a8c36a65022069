"""Staff app pages on conversations saved by the real tracker store: inbox, conversation,
dashboard, knowledge view, single-conversation delete."""

import html
import re
from urllib.parse import quote

import pytest

from fagchat import vocabulary
from fagchat.staff import schema
from tests import staff_sample as sample
from tests.test_staff_support import (
    DAY,
    NOW,
    Staff,
    rows,
    seed,
)

_ROW = re.compile(r'href="/conversation/\?id=([^"]+)"')


def listed(resp) -> list:
    """The conversation ids an inbox page lists, in order."""
    assert resp.status == 200, resp.text
    return _ROW.findall(resp.text)


def test_inbox_lists_newest_first(seeded_staff):
    assert listed(seeded_staff.get("/")) == [
        "c-pii",
        "c-answered",
        "c-role-down",
        "c-fallback",
        "c-didyoumean",
        "c-acute",
        "c-xss",
        "c-old",
    ]


@pytest.mark.parametrize(
    "query, expected",
    [
        ("fallback=1", ["c-fallback", "c-didyoumean", "c-xss"]),
        ("thumbs_down=1", ["c-role-down"]),
        ("handover=1", ["c-acute"]),
        ("acute=1", ["c-acute"]),
        ("below=0.6", ["c-role-down", "c-fallback", "c-didyoumean", "c-xss"]),
        ("below=0,9", ["c-pii", "c-answered", "c-role-down", "c-fallback", "c-didyoumean", "c-xss"]),
        ("topic=law_and_police", ["c-role-down"]),
        ("topic=documentation", ["c-pii", "c-answered"]),
        ("topic=conflict_vs_stalking", ["c-didyoumean"]),
        ("role=kommune", ["c-role-down"]),
        ("from=2025-11-20&to=2025-11-22", ["c-fallback", "c-didyoumean", "c-acute"]),
        ("to=2025-10-31", ["c-old"]),
        ("fallback=1&below=0.4", ["c-xss"]),
        ("acute=1&role=politi", []),
    ],
)
def test_inbox_filters(seeded_staff, query, expected):
    assert listed(seeded_staff.get("/?" + query)) == expected


@pytest.mark.parametrize("query", ["below=abc", "below=2", "topic=nope", "role=x", "page=x"])
def test_inbox_rejects_malformed_filters(seeded_staff, query):
    resp = seeded_staff.get("/?" + query)
    assert resp.status == 400 and "Det gik ikke" in resp.text


def test_inbox_reads_danish_dates(seeded_staff):
    for start, end in [("20.11.2025", "22.11.2025"), ("20-11-2025", "22/11/2025"), ("2025-11-20", " 22.11.2025 ")]:
        resp = seeded_staff.get(f"/?from={quote(start)}&to={quote(end)}")
        assert listed(resp) == ["c-fallback", "c-didyoumean", "c-acute"], (start, end)
        # Shown back as Danes write dates, in text fields with a pattern and a visible hint.
        assert 'name="from" value="20.11.2025"' in resp.text and 'name="to" value="22.11.2025"' in resp.text
    assert 'type="date"' not in resp.text and 'pattern="' in resp.text
    assert '<span class="hint" id="date-from-hint">dd.mm.åååå</span>' in resp.text


def test_inbox_explains_a_bad_date_in_danish(seeded_staff):
    for field, typed in [("from", "31.02.2025"), ("to", "25.11.25"), ("from", "i går"), ("to", "2025-13-01")]:
        resp = seeded_staff.get(f"/?{field}={quote(typed)}")
        assert resp.status == 400
        text = html.unescape(resp.text)
        assert f"„{typed}“ er ikke en dato. Skriv datoen som dd.mm.åååå, fx 25.11.2025." in text
        assert re.search(rf'id="date-{field}"[^>]*value="{re.escape(typed)}"[^>]*aria-invalid="true"', text)
        assert _ROW.findall(resp.text) == []  # no list under a filter that could not be read


def test_feedback_is_named_in_words_with_the_symbol_as_decoration(seeded_staff):
    knowledge = seeded_staff.get("/knowledge/").text
    headers = re.findall(r'<th scope="col">(.*?)</th>', knowledge)
    assert '<span class="sym" aria-hidden="true">👍</span> Hjalp' in headers
    assert '<span class="sym" aria-hidden="true">👎</span> Hjalp ikke' in headers
    assert '<span class="sym" aria-hidden="true">👎</span> Svaret hjalp ikke</label>' in seeded_staff.get("/").text
    for path in ("/", "/?thumbs_down=1", "/knowledge/", "/review/", "/conversation/?id=c-role-down", "/dashboard/"):
        text = seeded_staff.get(path).text
        visible = re.sub(r'<span class="sym" aria-hidden="true">[👍👎]</span>', "", text)
        assert "👍" not in visible and "👎" not in visible, path  # no symbol that carries meaning alone


def test_inbox_is_paginated(seeded_url, make_app):
    client = Staff(make_app(page_size=3))
    client.login()
    first, second, third = (listed(client.get(f"/?page={n}")) for n in (1, 2, 3))
    assert first == ["c-pii", "c-answered", "c-role-down"]
    assert second == ["c-fallback", "c-didyoumean", "c-acute"]
    assert third == ["c-xss", "c-old"]
    assert "8 samtaler · side 1 af 3" in client.get("/").text
    assert listed(client.get("/?page=99")) == third  # clamped to the last page


def test_inbox_shows_flags_topics_and_role(seeded_staff):
    text = seeded_staff.get("/?role=kommune").text
    assert "Lov og politi" in text and "Kommune" in text and 'aria-hidden="true">👎</span> Hjalp ikke: 1' in text
    assert 'low">0,55' in text  # below FAGCHAT_STAFF_LOW_CONFIDENCE


def test_conversation_shows_messages_readings_answers_and_feedback(seeded_staff, db_url):
    text = seeded_staff.get("/conversation/?id=c-role-down").text
    assert "hvordan søger man om et tilhold" in text
    assert "<code>restraining_order</code>" in text and "0,55" in text  # intent and confidence
    assert "<code>report_to_police</code> 0,30" in text  # the runner-up
    assert "Et tilhold gives af politiet" in text  # the bot's reply
    assert "artikel: <strong>Hvad er tilhold, opholdsforbud og bortvisning?</strong>" in text
    assert 'aria-hidden="true">👎</span> Hjalp ikke: „Hvad er tilhold' in text and "Rolle: Kommune" in text
    audit = [r for r in rows(db_url, schema.audit) if r.action == "conversation.view"]
    assert [(r.username, r.target) for r in audit] == [("anna", "c-role-down")]
    assert "tilhold" not in repr(audit)  # no content in the audit log


def test_conversation_marks_acute_danger_and_handover(seeded_staff):
    text = seeded_staff.get("/conversation/?id=c-acute").text
    assert "Svar om akut fare" in text and "Akut fare (regel)" in text and "Henvisning" in text


@pytest.mark.parametrize("rule", [vocabulary.RULE_MEANING_VETO, vocabulary.RULE_MODEL_VETO])
def test_a_danger_signal_weighed_as_a_routine_question_is_named_so(staff, db_url, rule):
    vetoed = sample.Turn(
        "han truede hende med kniv sidste år, hvornår skal vi underrette?",
        "duty_to_report",
        0.93,
        article="duty_to_report",
        danger_rule=rule,
    )
    seed(db_url, [("c-veto", [vetoed], NOW - DAY)])
    assert staff.login().status == 303
    text = staff.get("/conversation/?id=c-veto").text
    assert "Faresignal vejet som rutinespørgsmål" in text and "Akut fare (regel)" not in text


def test_an_article_chosen_after_the_112_answer_is_flagged_and_filtered(staff, db_url):
    typed = sample.Turn("tak, hvad skriver jeg så i loggen?", "documentation", 0.9, article="documentation")
    seed(
        db_url,
        [
            ("c-chosen", [sample.ACUTE_OFFERED, sample.OFFER_CHOSEN], NOW - DAY),
            ("c-typed", [sample.ACUTE_OFFERED, typed], NOW - 2 * DAY),  # typed, not a button of the offer
            ("c-plain", [sample.ACUTE, sample.OFFER_CHOSEN], NOW - 3 * DAY),  # a button, but nothing was offered
        ],
    )
    assert staff.login().status == 303
    assert listed(staff.get("/?acute=1")) == ["c-chosen", "c-typed", "c-plain"]
    inbox = staff.get("/?after_alarm=1")
    assert listed(inbox) == ["c-chosen"] and "Valgte emne efter 112" in inbox.text
    assert "Valgte emne efter 112" not in staff.get("/?acute=1&role=politi").text
    chosen = staff.get("/conversation/?id=c-chosen").text
    assert "mulig falsk alarm" in chosen and "Svar om akut fare" in chosen
    assert "mulig falsk alarm" not in staff.get("/conversation/?id=c-typed").text


def test_stored_text_is_redacted(seeded_staff):
    text = seeded_staff.get("/conversation/?id=c-pii").text
    assert "[CPR]" in text and "[TELEFON]" in text and "[EMAIL]" in text
    assert "010190" not in text and "20 30 40 50" not in text and "anna@example.dk" not in text


def test_user_text_is_escaped(seeded_staff):
    for page in ("/conversation/?id=c-xss", "/review/"):
        text = seeded_staff.get(page).text
        assert "<script>alert" not in text and "<img src=x" not in text and "<b>fed</b>" not in text
        assert "&lt;script&gt;alert(&#39;xss&#39;)&lt;/script&gt;" in text


def test_unknown_conversation_is_404(seeded_staff):
    assert seeded_staff.get("/conversation/?id=nope").status == 404


def test_delete_conversation(seeded_staff, db_url):
    assert seeded_staff.post("/conversation/delete", {"id": "c-fallback"}).status == 400  # not confirmed
    resp = seeded_staff.post("/conversation/delete", {"id": "c-fallback", "confirm": "yes"})
    assert resp.status == 303 and resp.headers["location"] == "/?deleted=1"
    assert not rows(db_url, schema.events, sender_id="c-fallback")
    assert not rows(db_url, schema.conversations, sender_id="c-fallback")
    assert not rows(db_url, schema.messages, sender_id="c-fallback")
    assert "c-fallback" not in listed(seeded_staff.get("/"))
    assert seeded_staff.get("/conversation/?id=c-fallback").status == 404
    deleted = [r for r in rows(db_url, schema.audit) if r.action == "conversation.delete"]
    assert [(r.username, r.target) for r in deleted] == [("anna", "c-fallback")]
    assert seeded_staff.post("/conversation/delete", {"id": "c-fallback", "confirm": "yes"}).status == 404


def test_dashboard_draws_accessible_svg_charts(seeded_staff):
    resp = seeded_staff.get("/dashboard/")
    assert resp.status == 200
    charts = re.findall(r'<svg class="chart".*?</svg>', resp.text, re.S)
    assert len(charts) == 5
    for chart in charts:
        assert 'role="img"' in chart and "<title id=" in chart and "<desc id=" in chart
    titles = re.findall(r"<title id=\"[a-z]+-t\">([^<]+)</title>", resp.text)
    assert titles == [
        "Samtaler og beskeder pr. dag",
        "Andel beskeder assistenten ikke forstod (fallback)",
        "De mest viste emner",
        "Bedømmelser pr. artikel: hjalp og hjalp ikke",
        "Henvisninger til en medarbejder og svar om akut fare pr. uge",
    ]
    assert "<polyline" in charts[0] and "<rect" in charts[2]
    assert "<table" not in resp.text  # pictures, not tables of numbers


def test_dashboard_periods(seeded_staff):
    assert "7 samtaler og" in seeded_staff.get("/dashboard/?days=30").text
    assert "8 samtaler og" in seeded_staff.get("/dashboard/?days=90").text
    assert seeded_staff.get("/dashboard/?days=12").status == 400


def test_dashboard_without_data(staff):
    assert staff.get("/dashboard/").text.count("Ingen data i perioden") >= 5


def test_knowledge_view_lists_every_article_with_counts(seeded_staff):
    text = seeded_staff.get("/knowledge/").text
    from fagchat.knowledge import KnowledgeBase

    for article in KnowledgeBase.load().articles.values():
        assert f"<code>{article.id}</code>" in text
    row = re.search(r"<code>restraining_order</code>.*?</tr>", text, re.S).group(0)
    assert re.findall(r'class="num">(\d+)<', row) == ["1", "0", "1"]  # shown, helped, did not help
    assert "Over 12 måneder gammel" not in text


def test_knowledge_view_flags_articles_not_reviewed_for_a_year(seeded_staff, clock):
    clock.now = NOW + 3 * 365 * DAY
    seeded_staff.login()  # the old login has expired meanwhile
    text = seeded_staff.get("/knowledge/").text
    from fagchat.knowledge import KnowledgeBase

    assert text.count("Over 12 måneder gammel") == len(KnowledgeBase.load().articles)
