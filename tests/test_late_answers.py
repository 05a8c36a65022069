"""Late answers: kept for the user's next message, whichever Rasa worker it reaches.

The default runs two Rasa workers, so a slow turn's answer kept in one worker's memory
would be lost half of the time. Each shared backend is checked across processes: what one
worker keeps, another takes, in order, once.
"""

import logging
import multiprocessing
import time
from pathlib import Path
from typing import Callable, List

import pytest

from fagchat.stores.late_answers import LateAnswers, MemoryLateAnswers, RedisLateAnswers, SQLiteLateAnswers

FORK = multiprocessing.get_context("fork")


def msg(text: str) -> dict:
    return {"recipient_id": "s" * 22, "text": text}


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    from fagchat.run.services import Redis
    from tests.helpers import free_port

    folder = tmp_path_factory.mktemp("redis")
    folder.chmod(0o755)
    server = Redis(folder / "redis", free_port()).start()
    yield server.url
    server.stop()


REDIS = pytest.param("redis", marks=pytest.mark.integration)  # starts a real Redis server


@pytest.fixture(params=["memory", "sqlite", REDIS])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[..., object]:
    """A factory of one backend: each call is a new object (a worker) on the same store."""
    if request.param == "memory":
        shared = MemoryLateAnswers()
        return lambda ttl=600.0: shared if ttl == 600.0 else MemoryLateAnswers(ttl)
    if request.param == "sqlite":
        return lambda ttl=600.0: SQLiteLateAnswers(tmp_path / "locks.db", ttl)
    url = request.getfixturevalue("redis_url")
    return lambda ttl=600.0: RedisLateAnswers(url, ttl)


def test_answers_come_out_in_order_and_only_once(make_store):
    keeper, taker = make_store(), make_store()
    keeper.put("conv-a", [msg("first"), msg("first, second part")])
    keeper.put("conv-a", [msg("second")])
    keeper.put("conv-b", [msg("other conversation")])
    assert [m["text"] for m in taker.take("conv-a")] == ["first", "first, second part", "second"]
    assert taker.take("conv-a") == []
    assert [m["text"] for m in keeper.take("conv-b")] == ["other conversation"]


def test_an_answer_nobody_came_back_for_expires(make_store, monkeypatch):
    store = make_store(ttl=60.0)
    store.put("conv-a", [msg("too late")])
    store.put("conv-b", [msg("in time")])
    later = 61.0  # the clock moves on past the expiry
    import fagchat.stores.late_answers as module

    class Clock:
        @staticmethod
        def time() -> float:
            return time.time() + later

        @staticmethod
        def monotonic() -> float:
            return time.monotonic() + later

    monkeypatch.setattr(module, "time", Clock)
    assert store.take("conv-a") == []
    later = 0.0
    assert [m["text"] for m in store.take("conv-b")] == ["in time"]


def _store(kind: str, where: str):
    return SQLiteLateAnswers(Path(where)) if kind == "sqlite" else RedisLateAnswers(where)


def _put_many(kind: str, where: str, sender: str, count: int) -> None:
    store = _store(kind, where)
    for i in range(count):
        store.put(sender, [msg(str(i))])


def _take_until_stopped(kind: str, where: str, sender: str, stop, queue) -> None:
    store = _store(kind, where)
    seen: List[str] = []
    while not stop.is_set():
        seen += [m["text"] for m in store.take(sender)]
    seen += [m["text"] for m in store.take(sender)]  # what came after the last look
    queue.put(seen)


@pytest.mark.parametrize("kind", ["sqlite", REDIS])
def test_workers_in_other_processes_never_deliver_an_answer_twice(kind, tmp_path, request):
    where = str(tmp_path / "locks.db") if kind == "sqlite" else request.getfixturevalue("redis_url")
    sender, stop, queue = f"conv-{kind}-race", FORK.Event(), FORK.Queue()
    _store(kind, where).take(sender)  # the table exists before the processes race for it
    writer = FORK.Process(target=_put_many, args=(kind, where, sender, 300))
    readers = [FORK.Process(target=_take_until_stopped, args=(kind, where, sender, stop, queue)) for _ in range(2)]
    for process in [*readers, writer]:
        process.start()
    writer.join(timeout=60)
    assert writer.exitcode == 0
    stop.set()
    shares = [queue.get(timeout=60) for _ in readers]
    for reader in readers:
        reader.join(timeout=30)
    taken = shares[0] + shares[1]
    assert sorted(taken, key=int) == [str(i) for i in range(300)]  # every answer, none twice
    for share in shares:  # and each worker's share in the order it was kept
        assert share == sorted(share, key=int)


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_a_store_that_fails_loses_the_late_answer_but_never_raises(kind, tmp_path, caplog):
    from tests.helpers import free_port

    (tmp_path / "locks.db").mkdir()  # a folder where the file should be: SQLite cannot open it
    backend = (
        SQLiteLateAnswers(tmp_path / "locks.db")
        if kind == "sqlite"
        else RedisLateAnswers(f"redis://127.0.0.1:{free_port()}/0")
    )
    late = LateAnswers(backend, kind)
    with caplog.at_level(logging.ERROR, logger="fagchat.stores.late_answers"):
        assert late.put("conv-a", [msg("the answer text")]) is False
        assert late.take("conv-a") == []
    assert f"late_answers.unavailable backend={kind}" in caplog.text
    assert "the answer text" not in caplog.text
