"""The SQLite tracker store is shared by two Rasa workers and the staff app."""

import sqlite3
from pathlib import Path

import pytest

from fagchat import settings
from fagchat.stores.tracker_store import RedactingSQLTrackerStore


def test_the_sqlite_file_is_in_wal_mode_and_writers_wait_for_each_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("FAGCHAT_DB_URL", f"sqlite:///{tmp_path}/fagchat.db")
    settings.current.cache_clear()
    try:
        store = RedactingSQLTrackerStore()
        # WAL: readers (the staff app, the other worker) never wait for a writer.
        assert sqlite3.connect(tmp_path / "fagchat.db").execute("PRAGMA journal_mode").fetchone() == ("wal",)
        with store.engine.connect() as connection:  # each new connection waits for a busy file
            assert connection.exec_driver_sql("PRAGMA busy_timeout").fetchone() == (5000,)
    finally:
        settings.current.cache_clear()
