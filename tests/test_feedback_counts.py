"""The staff dashboard counts a 👍/👎 only where the channel would accept it (issue 12).

The chat channel stores a vote only for an article the conversation was shown
(fagchat/channel/feedback.py). Votes stored before that rule, or written by anything
else, must not reach the dashboard's counts either: the indexer applies the same rule.
"""

import json
from collections import namedtuple

from rasa.shared.core.events import SlotSet

from fagchat.channel.feedback import shown_articles
from fagchat.staff import indexer
from tests import staff_sample as sample

NOW = 1_790_000_000.0
Row = namedtuple("Row", "id sender_id type_name timestamp action_name data")
DAY = indexer.day_function(__import__("datetime").timezone.utc)


def summary(events):
    rows = []
    for i, event in enumerate(events, start=1):
        data = event.as_dict()
        rows.append(Row(i, "s", data["event"], data["timestamp"], data.get("name"), json.dumps(data)))
    return indexer.summarise("s", rows, DAY)


def test_votes_on_articles_the_conversation_was_not_shown_are_not_counted():
    events = sample._events([sample.ANSWERED], NOW)  # shows what_is_stalking and rates it 👍
    events += [
        SlotSet("feedback", {"value": "down", "article": "documentation"}, timestamp=NOW + 60),
        SlotSet("feedback", {"value": "down"}, timestamp=NOW + 61),
    ]
    conv, messages, marks = summary(events)
    assert (conv["thumbs_up"], conv["thumbs_down"]) == (1, 0)
    assert [(k["kind"], k["article"]) for k in marks if k["kind"] in ("up", "down")] == [("up", "what_is_stalking")]
    assert [m["thumbs_down"] for m in messages] == [0]


def test_a_conversation_of_only_a_vote_counts_nothing():
    conv, _, marks = summary([SlotSet("feedback", {"value": "up", "article": "what_is_stalking"}, timestamp=NOW)])
    assert (conv["thumbs_up"], conv["thumbs_down"]) == (0, 0) and marks == []


def test_the_channel_and_the_indexer_agree_on_what_was_shown():
    events = sample._events([sample.ANSWERED, sample.DOCUMENTATION], NOW)
    _, _, marks = summary(events)
    assert shown_articles(events) == {k["article"] for k in marks if k["kind"] == "shown"}
