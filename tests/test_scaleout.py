"""Scale-out mode against real PostgreSQL and Redis: several Rasa workers, one conversation.

The stack (tests/scaleout_support.py): PostgreSQL and Redis started by `fagchat.run.services`
(installed when missing), an action server with two workers, Rasa "a" with two Sanic
workers on one port and Rasa "b" on another, both on the same database and lock store.
"""

import os
import threading
import uuid
from typing import Any, Dict, List, Tuple

import pytest

from fagchat import settings
from tests.helpers import post, say, texts, wait_until
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


def lock_store_of(env: Dict[str, str]) -> Any:
    """A lock store on the same Redis server or SQLite file as a stack with settings `env`."""
    from fagchat.stores.lock_store import FagchatRedisLockStore, FagchatSQLiteLockStore

    kind = settings.read(env).str("FAGCHAT_LOCK_STORE")
    assert kind in ("redis", "sqlite"), f"the test cannot reach a {kind} lock store"
    saved = {name: os.environ.get(name) for name in ("FAGCHAT_REDIS_URL", "FAGCHAT_VAR_DIR")}
    try:  # the stores read this process's settings once, when made
        os.environ.update({name: settings.read(env).str(name) for name in saved})
        settings.current.cache_clear()
        return FagchatRedisLockStore() if kind == "redis" else FagchatSQLiteLockStore()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        settings.current.cache_clear()


def send_queued(urls: List[str], me: str, texts_: List[str], store: Any) -> Dict[int, Tuple[int, Any]]:
    """Queue every text on one conversation at once, in a known order, then let them run.

    The test holds the conversation's lock itself while it sends, each text from its own
    thread, and sends the next only once the lock store shows the previous one waiting
    with its ticket. So all of them wait at once, and the order the servers took them in
    is the order sent, without relying on timing; then the lock is let go.
    """
    answers: Dict[int, Tuple[int, Any]] = {}

    def send(i: int) -> None:
        answers[i] = post(f"{urls[i % len(urls)]}/webhooks/fagchat/webhook", {"sender": me, "message": texts_[i]})

    def waiting() -> int:
        lock = store.get_lock(me)
        return len(lock.tickets) - 1 if lock else 0  # besides the test's own ticket

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(texts_))]
    ticket = store.issue_ticket(me, lock_lifetime=300)  # outlives the queueing by far
    try:
        for i, thread in enumerate(threads):
            thread.start()
            wait_until(lambda queued=i + 1: waiting() >= queued, 60, f"message {i} waiting for the lock")
    finally:
        store.cleanup(me, ticket)
    for thread in threads:
        thread.join(timeout=300)
    return answers


def test_ten_messages_at_once_across_workers_are_all_processed_in_order(scaled):
    """A burst on one conversation, alternating between the two servers.

    All ten wait for the conversation's lock at once; each is stored exactly once, in the
    order the lock store issued their tickets (the order sent), and no message is processed
    inside another's turn.
    """
    me = sender()
    messages = [f"hvad er stalking, spørgsmål {i}" for i in range(10)]
    answers = send_queued([scaled.url("a"), scaled.url("b")], me, messages, lock_store_of(scaled.rasa["a"].env))
    assert sorted(answers) == list(range(10))
    for i, (status, answer) in answers.items():
        assert status == 200 and answer and answer[0]["text"], (i, status, answer)
    assert scaled.user_texts(me) == messages
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
