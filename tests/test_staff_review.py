"""Review queue → decision → NLU export → merge into a copy of data/nlu.yml, and back."""

import difflib
import re
import shutil
from pathlib import Path

from ruamel.yaml import YAML

from fagchat.staff import cli, nlu, schema
from fagchat.staff.config import StaffConfig
from tests.test_staff_support import (
    Staff,
    rows,
)

ROOT = Path(__file__).resolve().parent.parent
_ITEM = re.compile(r'<p class="text quote">(.*?)</p>.*?name="event_id" value="(\d+)"', re.S)


def queue(client: Staff, query: str = "") -> dict:
    """{message text: event id} of one queue page."""
    resp = client.get("/review/" + query)
    assert resp.status == 200, resp.text
    return {text: int(event_id) for text, event_id in _ITEM.findall(resp.text)}


def decide(client: Staff, event_id: int, decision: str, **fields) -> object:
    return client.post("/review/", {"event_id": str(event_id), "decision": decision, **fields})


def test_queue_holds_fallbacks_low_confidence_and_thumbs_down(seeded_staff):
    assert list(queue(seeded_staff)) == [
        "hvordan søger man om et tilhold",
        "kan I hjælpe med en parkeringsbøde?",
        "min klient får 40 sms&#39;er om dagen fra sin eks",
        "&lt;script&gt;alert(&#39;xss&#39;)&lt;/script&gt;&lt;img src=x onerror=&#34;alert(1)&#34;&gt; "
        "&#34;&#39;&gt;&lt;b&gt;fed&lt;/b&gt;",
    ]
    assert len(queue(seeded_staff, "?reason=fallback")) == 3
    assert len(queue(seeded_staff, "?reason=low")) == 4
    assert list(queue(seeded_staff, "?reason=down")) == ["hvordan søger man om et tilhold"]
    assert seeded_staff.get("/review/?reason=nope").status == 400


def test_queue_suggests_the_best_guess(seeded_staff):
    text = seeded_staff.get("/review/?reason=down").text
    assert '<option value="restraining_order" selected>' in text
    text = seeded_staff.get("/review/").text
    assert '<option value="conflict_vs_stalking" selected>' in text  # top of the ranking
    assert '<option value="out_of_scope" selected>' in text
    assert '<option value="new_topic">' in text and '<option value="greet">' in text


def test_decisions_are_validated(seeded_staff):
    event_id = next(iter(queue(seeded_staff).values()))
    assert decide(seeded_staff, event_id, "no_such_intent").status == 400
    assert decide(seeded_staff, event_id, "").status == 400
    assert decide(seeded_staff, 999999, "greet").status == 404
    assert seeded_staff.post("/review/", {"event_id": "x", "decision": "greet"}).status == 400
    assert decide(seeded_staff, event_id, "greet", example="   ").status == 400  # nothing to learn


def test_decision_is_stored_audited_and_leaves_the_queue(seeded_staff, db_url):
    items = queue(seeded_staff)
    event_id = items["hvordan søger man om et tilhold"]
    resp = decide(
        seeded_staff, event_id, "restraining_order", note="Kendt emne, lav sikkerhed", next="/review/?reason=down"
    )
    assert resp.status == 303 and resp.headers["location"] == f"/review/?reason=down&saved={event_id}&n=1"
    stored = rows(db_url, schema.reviews, event_id=event_id)[0]
    assert (stored.decision, stored.example, stored.note, stored.reviewer) == (
        "restraining_order",
        "hvordan søger man om et tilhold",
        "Kendt emne, lav sikkerhed",
        "anna",
    )
    assert "hvordan søger man om et tilhold" not in queue(seeded_staff)
    assert "hvordan søger man om et tilhold" in queue(seeded_staff, "?status=done")
    audit = [r for r in rows(db_url, schema.audit) if r.action == "review.decide"]
    assert [(r.target, r.detail) for r in audit] == [(str(event_id), "restraining_order")]
    # A second decision replaces the first.
    decide(seeded_staff, event_id, "report_to_police")
    assert [r.decision for r in rows(db_url, schema.reviews)] == ["report_to_police"]


def _review_everything(client: Staff) -> None:
    items = queue(client)

    def pick(start: str) -> int:
        return next(event_id for text, event_id in items.items() if text.startswith(start))

    assert decide(client, pick("hvordan søge"), "restraining_order").status == 303
    assert decide(client, pick("kan I hjælpe"), "out_of_scope").status == 303
    # The reviewer takes a name out; a phone number typed into the example is redacted again.
    assert (
        decide(
            client,
            pick("min klient f"),
            "conflict_vs_stalking",
            example="min klient får 40 sms'er om dagen fra sin eks, ring 20 30 40 50\n",
        ).status
        == 303
    )
    assert decide(client, pick("&lt;script&gt;"), "new_topic", note="Spørgsmål om <html>").status == 303
    # Already in data/nlu.yml under what_is_stalking: must not be added to another intent.
    answered = rows(client.app.ctx.config.db_url, schema.messages, sender_id="c-answered")[0].event_id
    assert decide(client, answered, "stalking_forms", example="definition af stalking").status == 303


def test_review_export_merge_cycle(seeded_staff, tmp_path):
    _review_everything(seeded_staff)
    resp = seeded_staff.get("/export/nlu.yml")
    assert resp.status == 200
    assert resp.headers["content-disposition"] == 'attachment; filename="fagchat-review-nlu.yml"'
    exported = tmp_path / "reviewed.yml"
    exported.write_text(resp.text, encoding="utf-8")
    doc = YAML(typ="safe").load(resp.text)
    blocks = {b["intent"]: nlu.parse_block(b["examples"]) for b in doc["nlu"]}
    assert blocks == {
        "conflict_vs_stalking": ["min klient får 40 sms'er om dagen fra sin eks, ring [TELEFON]"],
        "out_of_scope": ["kan I hjælpe med en parkeringsbøde?"],
        "restraining_order": ["hvordan søger man om et tilhold"],
        "stalking_forms": ["definition af stalking"],
    }
    assert "new_topic" not in resp.text and "script" not in resp.text
    overview = seeded_staff.get("/export/").text
    assert "Nyt emne mangler (1)" in overview and "&lt;script&gt;" in overview

    target = tmp_path / "nlu.yml"
    shutil.copy(ROOT / "data" / "nlu.yml", target)
    original = target.read_text(encoding="utf-8")
    config = StaffConfig.from_settings({"db_url": seeded_staff.app.ctx.config.db_url})
    assert cli.main(["merge-nlu", str(target), "--from", str(exported)], config) == 0
    merged = target.read_text(encoding="utf-8")
    diff = [line for line in difflib.ndiff(original.splitlines(), merged.splitlines()) if line[:1] in "+-"]
    assert sorted(diff) == [
        "+     - hvordan søger man om et tilhold",
        "+     - kan I hjælpe med en parkeringsbøde?",
        "+     - min klient får 40 sms'er om dagen fra sin eks, ring [TELEFON]",
    ]  # every comment, header and other line is kept as it was
    blocks = {b["intent"]: b["examples"] for b in YAML(typ="safe").load(merged)["nlu"] if "intent" in b}
    assert "- kan I hjælpe med en parkeringsbøde?\n" in blocks["out_of_scope"]
    assert "- hvordan søger man om et tilhold\n" in blocks["restraining_order"]
    assert "definition af stalking" not in blocks["stalking_forms"]  # the conflict was skipped

    # Merging again adds nothing, from the file or straight from the database.
    assert cli.main(["merge-nlu", str(target), "--from", str(exported)], config) == 0
    assert cli.main(["merge-nlu", str(target)], config) == 0
    assert target.read_text(encoding="utf-8") == merged


def test_merged_file_is_valid_rasa_training_data(seeded_staff, tmp_path):
    from rasa.shared.nlu.training_data.loading import load_data

    _review_everything(seeded_staff)
    target = tmp_path / "nlu.yml"
    shutil.copy(ROOT / "data" / "nlu.yml", target)
    config = StaffConfig.from_settings({"db_url": seeded_staff.app.ctx.config.db_url})
    cli.main(["merge-nlu", str(target)], config)
    data = load_data(str(target))
    texts = {(m.get("intent"), m.get("text")) for m in data.intent_examples}
    assert ("out_of_scope", "kan I hjælpe med en parkeringsbøde?") in texts
    assert ("conflict_vs_stalking", "min klient får 40 sms'er om dagen fra sin eks, ring [TELEFON]") in texts


def test_merge_adds_a_block_for_an_intent_without_one_and_skips_unknown_intents(tmp_path):
    target = tmp_path / "nlu.yml"
    target.write_text(
        'version: "3.1"\nnlu:\n# greetings\n- intent: greet\n  examples: |\n    - hej\n', encoding="utf-8"
    )
    report = nlu.merge(
        target,
        [("greet", "Hej!"), ("goodbye", "farvel"), ("made_up", "x"), ("greet", "goddag [CPR](cpr) 010190-1234")],
        ["greet", "goodbye"],
    )
    assert report.added == {"greet": 1, "goodbye": 1} and report.duplicates == 1
    assert report.unknown == ["made_up"] and report.new_blocks == ["goodbye"]
    text = target.read_text(encoding="utf-8")
    assert "# greetings" in text and "- goddag [CPR] (cpr) [CPR]\n" in text
    assert "- intent: goodbye\n  examples: |\n    - farvel\n" in text


def test_export_command_writes_the_same_yaml(seeded_staff, tmp_path):
    _review_everything(seeded_staff)
    out = tmp_path / "out.yml"
    config = StaffConfig.from_settings(
        {"db_url": seeded_staff.app.ctx.config.db_url, "clock": seeded_staff.app.ctx.config.clock}
    )
    assert cli.main(["export-nlu", "--out", str(out)], config) == 0
    assert out.read_text(encoding="utf-8") == seeded_staff.get("/export/nlu.yml").text
