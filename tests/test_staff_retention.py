"""Retention: the purge with a frozen clock, at start, daily, by command; logged without content."""

import asyncio
import logging
import time

from sanic import response

from fagchat.staff import cli, retention, schema
from fagchat.staff.config import StaffConfig
from fagchat.staff.engine import connect
from tests.test_staff_support import (
    DAY,
    NOW,
    Clock,
    Staff,
    rows,
    seed,
)

SENDERS = {"c-pii", "c-answered", "c-role-down", "c-fallback", "c-didyoumean", "c-acute", "c-xss", "c-old"}


def senders(url: str) -> set:
    return {r.sender_id for r in rows(url, schema.events)}


def test_purge_deletes_only_conversations_idle_longer_than_the_period(seeded_url, caplog):
    engine = connect(seeded_url)
    caplog.set_level(logging.DEBUG)
    assert retention.purge(engine, 90, Clock(NOW)) == 0
    assert retention.purge(engine, 30, Clock(NOW)) == 1
    assert senders(seeded_url) == SENDERS - {"c-old"}
    # c-xss ended six days (and a minute) ago: still there at 6 days, gone at 5.
    assert retention.purge(engine, 6, Clock(NOW)) == 0
    assert retention.purge(engine, 5, Clock(NOW)) == 1
    assert senders(seeded_url) == SENDERS - {"c-old", "c-xss"}
    log = caplog.text
    assert "retention.purged conversations=1 older_than_days=30" in log
    for content in ("stalking", "tilhold", "script", "c-old", "c-xss"):
        assert content not in log


def test_purge_removes_everything_derived_from_a_conversation(seeded_staff, seeded_url, clock):
    seeded_staff.get("/")  # index
    message = rows(seeded_url, schema.messages, sender_id="c-old")[0]
    seeded_staff.post("/review/", {"event_id": str(message.event_id), "decision": "what_is_stalking"})
    assert rows(seeded_url, schema.reviews, sender_id="c-old")
    retention.purge(connect(seeded_url), 30, clock)
    for table in schema.PER_CONVERSATION + (schema.events,):
        assert not rows(seeded_url, table, sender_id="c-old"), table.name
    assert "c-old" not in seeded_staff.get("/").text


def test_app_start_runs_the_purge(seeded_url, make_app):
    Staff(make_app(retention_days=30)).get("/healthz")
    assert senders(seeded_url) == SENDERS - {"c-old"}


def test_app_purges_again_every_day(seeded_url, make_app, clock):
    app = make_app(purge_every=0.2, index_every=0.05)

    @app.get("/wait")
    async def wait(request):
        clock.now += 100 * DAY  # a hundred days pass while the app runs
        deadline = time.monotonic() + 10
        while senders(seeded_url) and time.monotonic() < deadline:  # until the next purge ran
            await asyncio.sleep(0.05)
        return response.text("done")

    client = Staff(app)
    client.login()
    assert senders(seeded_url) == SENDERS  # the purge at start found nothing old
    assert client.get("/wait").status == 200
    assert senders(seeded_url) == set()


def test_purge_can_be_turned_off(seeded_url):
    assert retention.purge(connect(seeded_url), 0, Clock(NOW + 1000 * DAY)) == 0
    assert senders(seeded_url) == SENDERS


def test_purge_command(seeded_url, capsys):
    config = StaffConfig.from_settings({"db_url": seeded_url, "clock": Clock(NOW), "retention_days": 30})
    assert cli.main(["purge"], config) == 0
    assert "Deleted 1 conversation(s)" in capsys.readouterr().out


def test_new_events_are_indexed_after_the_newest_conversation_was_deleted(seeded_staff, seeded_url):
    from tests import staff_sample as sample

    seeded_staff.get("/")
    newest = max(rows(seeded_url, schema.events), key=lambda r: r.id)
    seeded_staff.post("/conversation/delete", {"id": newest.sender_id, "confirm": "yes"})
    # SQLite hands the freed ids out again: the new conversation must still be indexed.
    seed(seeded_url, [("c-new", [sample.FALLBACK], NOW - 60)])
    if seeded_url.startswith("sqlite"):
        assert min(r.id for r in rows(seeded_url, schema.events, sender_id="c-new")) <= newest.id
    assert 'id=c-new"' in seeded_staff.get("/").text
