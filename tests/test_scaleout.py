"""Scale-out mode against real PostgreSQL and Redis: several Rasa workers, one conversation.

The stack (tests/scaleout_support.py): PostgreSQL and Redis started by `fagchat.run.services`
(installed when missing), an action server with two workers, Rasa "a" with two Sanic
workers on one port and Rasa "b" on another, both on the same database and lock store.
"""

import threading
import time
import uuid
from typing import Dict, List

import pytest

from fagchat import settings
from tests.helpers import post, say, texts
from tests.scaleout_support import scaled_stack, whole_turns

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def scaled():
    return scaled_stack()


def sender() -> str:
    return uuid.uuid4().hex


def test_two_rasa_servers_serve_one_conversation_alternately(scaled):
    me = sender()
    turns = [
        ("a", "Hej"),
        ("b", "Hvad er stalking?"),
        ("a", "hvordan dokumenterer man stalking"),
        ("b", "hvad siger loven om stalking"),
        ("a", "hvor kan offeret få hjælp"),
        ("b", "tak for hjælpen"),
    ]
    for server, text in turns:
        answer = say(scaled.url(server), me, text)
        assert answer and answer[0].get("text"), (server, text, answer)
    # Every message stored once, in the order sent, whichever server took it.
    assert scaled.user_texts(me) == [text for _, text in turns]
    events = scaled.events(me)
    assert [e["event"] for e in events].count("session_started") == 1
    assert whole_turns(events)


def test_a_button_offered_by_one_server_works_on_the_other(scaled):
    me = sender()
    greeting = say(scaled.url("a"), me, "hej")
    payload = greeting[0]["buttons"][0]["payload"]
    answer = say(scaled.url("b"), me, payload)
    clicked = [e for e in scaled.events(me) if e["event"] == "user"][-1]
    assert clicked["text"] == payload and clicked["parse_data"]["intent"]["confidence"] == 1.0
    assert answer[0]["custom"]["article"] == payload.lstrip("/")


def send_at_once(urls: List[str], me: str, texts_: List[str], gap: float) -> Dict[int, list]:
    """Send each text from its own thread, `gap` seconds apart, without waiting for answers."""
    answers: Dict[int, list] = {}

    def send(i: int) -> None:
        answers[i] = post(f"{urls[i % len(urls)]}/webhooks/fagchat/webhook", {"sender": me, "message": texts_[i]})

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(texts_))]
    for thread in threads:
        thread.start()
        time.sleep(gap)
    for thread in threads:
        thread.join(timeout=180)
    return answers


def test_ten_messages_at_once_across_workers_are_all_processed_in_order(scaled):
    """A burst on one conversation, alternating between the two servers.

    Across two servers "in order" means in the order the lock store issued their tickets:
    each server's own messages keep the order it received them, every message is stored
    exactly once, and no message is processed inside another's turn.
    """
    me = sender()
    messages = [f"hvad er stalking, spørgsmål {i}" for i in range(10)]
    answers = send_at_once([scaled.url("a"), scaled.url("b")], me, messages, gap=0.02)
    assert sorted(answers) == list(range(10))
    for i, (status, answer) in answers.items():
        assert status == 200 and answer and answer[0]["text"], (i, status, answer)
    stored = scaled.user_texts(me)
    assert sorted(stored) == sorted(messages), stored
    for server in (0, 1):  # each server's messages in the order it received them
        own = messages[server::2]
        assert [m for m in stored if m in own] == own, stored
    assert whole_turns(scaled.events(me))
    assert "Falling back" not in scaled.log("a") + scaled.log("b")


def test_many_conversations_on_the_multi_worker_port(scaled):
    results: Dict[str, List[str]] = {}

    def conversation(me: str) -> None:
        results[me] = [texts(say(scaled.url("a"), me, text)) for text in ("Hej", "Hvad er stalking?", "farvel")]

    senders = [sender() for _ in range(12)]
    threads = [threading.Thread(target=conversation, args=(me,)) for me in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert sorted(results) == sorted(senders)
    for me in senders:
        assert all(results[me]), results[me]
        assert scaled.user_texts(me) == ["Hej", "Hvad er stalking?", "farvel"]
    # Both Sanic workers of "a" loaded the model and served (two "Rasa server is up" lines).
    assert scaled.log("a").count("Rasa server is up and running") >= 2


def _take_tickets(conversation: str, count: int, queue) -> None:
    from fagchat.stores.lock_store import FagchatRedisLockStore

    store = FagchatRedisLockStore()
    queue.put([store.issue_ticket(conversation) for _ in range(count)])


def test_the_redis_lock_store_never_issues_a_ticket_twice(tmp_path, monkeypatch):
    """Two processes taking tickets for one conversation at once (Rasa's own store can't)."""
    import multiprocessing

    import fagchat.stores.lock_store  # noqa: F401 - imported once here, not in each child
    from fagchat.run.services import Redis
    from tests.helpers import free_port

    tmp_path.chmod(0o755)
    redis_server = Redis(tmp_path / "redis", free_port()).start()
    try:
        monkeypatch.setenv("FAGCHAT_REDIS_URL", redis_server.url)
        settings.current.cache_clear()  # settings are read once per process; the children fork from here
        queue = multiprocessing.get_context("fork").Queue()
        workers = [
            multiprocessing.get_context("fork").Process(target=_take_tickets, args=("c1", 300, queue)) for _ in range(3)
        ]
        for worker in workers:
            worker.start()
        tickets = [t for _ in workers for t in queue.get(timeout=60)]
        for worker in workers:
            worker.join(timeout=30)
        assert len(tickets) == 900 and len(set(tickets)) == 900
    finally:
        redis_server.stop()
        monkeypatch.undo()
        settings.current.cache_clear()


def test_several_rasa_workers_need_a_lock_store_shared_across_processes():
    from fagchat.run.launcher import rasa_workers

    assert rasa_workers({}) == 2  # the default: two workers on the SQLite lock store
    assert rasa_workers({"FAGCHAT_RASA_WORKERS": "1", "FAGCHAT_LOCK_STORE": "memory"}) == 1
    with pytest.raises(SystemExit, match="FAGCHAT_LOCK_STORE=sqlite or redis"):
        rasa_workers({"FAGCHAT_RASA_WORKERS": "2", "FAGCHAT_LOCK_STORE": "memory"})
    with pytest.raises(SystemExit, match="must be one of memory, sqlite, redis"):
        rasa_workers({"FAGCHAT_RASA_WORKERS": "2", "FAGCHAT_LOCK_STORE": "file"})
    assert rasa_workers({"FAGCHAT_RASA_WORKERS": "2", "FAGCHAT_LOCK_STORE": "redis"}) == 2


def test_the_endpoints_file_names_our_lock_stores_and_no_password(tmp_path):
    import yaml

    from fagchat.run.launcher import write_endpoints

    env = {"FAGCHAT_VAR_DIR": str(tmp_path), "FAGCHAT_RASA_PORT": "1"}
    embedded = yaml.safe_load(write_endpoints(env).read_text())
    assert embedded["lock_store"]["type"] == "fagchat.stores.lock_store.FagchatSQLiteLockStore"
    single = yaml.safe_load(write_endpoints({**env, "FAGCHAT_LOCK_STORE": "memory"}).read_text())
    assert single["lock_store"]["type"] == "fagchat.stores.lock_store.FagchatInMemoryLockStore"
    scaled = yaml.safe_load(
        write_endpoints(
            {
                **env,
                "FAGCHAT_LOCK_STORE": "redis",
                "FAGCHAT_REDIS_URL": "redis://:s3cret@127.0.0.1:1/0",
            }
        ).read_text()
    )
    assert scaled["lock_store"] == {"type": "fagchat.stores.lock_store.FagchatRedisLockStore"}
    assert "s3cret" not in (tmp_path / "run" / "endpoints-1.yml").read_text()
