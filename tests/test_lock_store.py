"""The SQLite lock store: Rasa's ticket lock shared by several processes on one machine.

The embedded default runs two Rasa workers on SQLite, so the conversation lock must hold
across processes without Redis: tickets never issued twice, one holder at a time, turns
in ticket order, and a lock left by a crashed worker freed when its ticket expires.
"""

import asyncio
import logging
import multiprocessing
import time
from pathlib import Path
from typing import List

import pytest

from fagchat import settings
from fagchat.stores.lock_store import FagchatSQLiteLockStore, LockStoreUnavailable

FORK = multiprocessing.get_context("fork")


@pytest.fixture
def var_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """FAGCHAT_VAR_DIR in a fresh folder; forked children inherit the settings."""
    monkeypatch.setenv("FAGCHAT_VAR_DIR", str(tmp_path))
    settings.current.cache_clear()
    yield tmp_path
    monkeypatch.undo()
    settings.current.cache_clear()


def _run_in_processes(target, args_per_process: List[tuple]) -> None:
    processes = [FORK.Process(target=target, args=args) for args in args_per_process]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [p.exitcode for p in processes] == [0] * len(processes)


def _take_tickets(conversation: str, count: int, out: Path) -> None:
    store = FagchatSQLiteLockStore()
    out.write_text(" ".join(str(store.issue_ticket(conversation)) for _ in range(count)))


def test_tickets_are_never_issued_twice_across_processes(var_dir: Path):
    outs = [var_dir / f"tickets-{i}.txt" for i in range(3)]
    _run_in_processes(_take_tickets, [("c1", 100, out) for out in outs])
    tickets = [int(t) for out in outs for t in out.read_text().split()]
    assert len(tickets) == 300 and sorted(tickets) == list(range(300))


def _count_under_the_lock(conversation: str, turns: int, counter: Path, log: Path, name: str) -> None:
    store = FagchatSQLiteLockStore()

    async def main() -> None:
        for turn in range(turns):
            async with store.lock(conversation, wait_time_in_seconds=0.001):
                # A read-change-write that loses updates unless one process at a time runs it.
                value = int(counter.read_text() or 0)
                with log.open("a") as handle:
                    handle.write(f"{name}:{turn} enter\n")
                counter.write_text(str(value + 1))
                with log.open("a") as handle:
                    handle.write(f"{name}:{turn} exit\n")

    asyncio.run(main())


def test_one_holder_at_a_time_and_each_process_keeps_its_order(var_dir: Path):
    counter, log = var_dir / "counter", var_dir / "log"
    counter.write_text("0")
    names = ["a", "b", "c", "d"]
    _run_in_processes(_count_under_the_lock, [("c1", 25, counter, log, name) for name in names])
    assert counter.read_text() == "100"  # no update lost
    lines = log.read_text().split("\n")[:-1]
    # Every enter is followed directly by its own exit: nobody ran inside another's turn.
    assert all(a.replace("enter", "exit") == b for a, b in zip(lines[::2], lines[1::2]))
    for name in names:  # each process's turns in the order it asked for them
        own = [line for line in lines[::2] if line.startswith(f"{name}:")]
        assert own == [f"{name}:{turn} enter" for turn in range(25)]


def test_a_lock_left_by_a_crashed_worker_is_freed_when_its_ticket_expires(var_dir: Path):
    store = FagchatSQLiteLockStore()
    store.issue_ticket("c1", lock_lifetime=0.3)  # taken, never finished: the worker "died"
    assert store.get_lock("c1").is_locked(1)

    async def take() -> float:
        start = time.monotonic()
        async with store.lock("c1", wait_time_in_seconds=0.02):
            return time.monotonic() - start

    waited = asyncio.run(asyncio.wait_for(take(), timeout=30))
    assert 0.1 < waited < 30
    assert store.get_lock("c1") is None  # cleaned up after the turn


def test_an_unusable_lock_file_is_reported_not_hidden(var_dir: Path, caplog: pytest.LogCaptureFixture):
    (var_dir / "locks.db").mkdir()  # a folder where the file should be
    store = FagchatSQLiteLockStore()
    with caplog.at_level(logging.ERROR), pytest.raises(LockStoreUnavailable):
        store.issue_ticket("c1")
    assert "lock_store.unavailable backend=sqlite" in caplog.text
