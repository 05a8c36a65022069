"""A model's id must reach the operator's logs whole: the log redaction must never read it as a CPR
or phone number, at any time of day, whatever its random part is.
"""

import os
import time

from fagchat.staff.model_registry import MODEL_ID, Registry, new_model_id
from tests.helpers import logged

# Suffixes that put the most digits next to the time: all digits, digits then hex, hex first.
SUFFIXES = ("0000000", "3177c73", "9999999", "a0b1c2d", "012345")
DAY = 24 * 3600
MIDNIGHT = 1796083200.0  # 2026-12-01T00:00:00Z


def test_the_id_of_a_model_made_at_any_second_of_a_day_is_logged_whole():
    hidden = []
    for second in range(DAY):
        for suffix in SUFFIXES[second % 2 :: 2] if second % 7 else SUFFIXES:
            model_id = new_model_id("k" if second % 3 else "r", MIDNIGHT + second, suffix)
            if logged("model_server.sent model=%s", model_id) != f"model_server.sent model={model_id}":
                hidden.append(model_id)
    assert not hidden, hidden[:5]


def test_the_id_reads_as_the_utc_time_it_was_made():
    assert new_model_id("k", MIDNIGHT + 22 * 3600 + 10 * 60 + 12.317, "3177c73") == "k-20261201T221012Z-3177c73"


def test_new_ids_and_the_ids_of_registries_written_before_are_both_accepted():
    assert MODEL_ID.match("k-20261201T221012Z-3177c73")
    assert MODEL_ID.match("r-20261201T221012Z-0a1b2c")
    assert MODEL_ID.match("k-20261130-221012-3177c73")  # the form before 2026-12
    for bad in ("k-20261201T221012Z-../x", "x-20261201T221012Z-3177c73", "k-20261201T221012-3177c73", ""):
        assert not MODEL_ID.match(bad), bad


def test_a_repository_model_is_registered_under_an_id_of_the_new_form(tmp_path):
    model = tmp_path / "fagchat.tar.gz"
    model.write_bytes(b"a model")
    made = time.time() - 60  # older than the settling time
    os.utime(model, (made, made))
    entry = Registry(tmp_path / "registry").sync_repository(model, tmp_path / "nlu.yml", time.time())
    assert entry is not None and MODEL_ID.match(entry["id"]), entry
    assert entry["id"].startswith("r-" + time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(made)))
