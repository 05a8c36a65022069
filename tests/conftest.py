"""Fixtures shared by the test suite."""

import gc
from pathlib import Path
from typing import Iterator

import pytest
from rasa_sdk.executor import CollectingDispatcher

from fagchat.run.launcher import Stack, model_path
from tests.helpers import free_port
from tests.served import close_all
from tests.test_staff_support import (  # noqa: F401 - the staff app's fixtures, for every module
    clock,
    db_url,
    fast_hashing,
    hasher,
    make_app,
    postgres_url,
    seeded_staff,
    seeded_template,
    seeded_url,
    staff,
    staff_tables_template,
)

ROOT = Path(__file__).resolve().parent.parent


def pytest_sessionfinish() -> None:
    """Spare pytest's last check for unraisable exceptions its five full collections.

    It runs gc.collect() five times at exit, over every object the run loaded (Rasa,
    scikit-learn, hundreds of apps): about 4 s per xdist worker, after the last test.
    Freezing moves what is alive now out of the collector's reach, so those collections
    only look at what is created after this point; every test's own check still runs.
    """
    gc.freeze()


@pytest.fixture(autouse=True)
def _stop_served_apps() -> Iterator[None]:
    """Stop the app servers a test started (tests/served.py), before its fixtures go."""
    yield
    close_all()


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    """A dispatcher that collects what an action utters."""
    return CollectingDispatcher()


@pytest.fixture(scope="session")
def domain() -> dict:
    """The project's domain as the action server receives it."""
    import yaml

    return yaml.safe_load((ROOT / "domain.yml").read_text())


def stack_env(tmp: Path) -> dict:
    """Settings for a stack on free ports with its own database under `tmp`."""
    return {
        "FAGCHAT_RASA_PORT": str(free_port()),
        "FAGCHAT_ACTIONS_PORT": str(free_port()),
        "FAGCHAT_WEB_PORT": str(free_port()),
        "FAGCHAT_STAFF_PORT": str(free_port()),
        # Each stack serves its own metrics (FAGCHAT_VAR_DIR/metrics), never another's.
        "FAGCHAT_METRICS_PORT": str(free_port()),
        "FAGCHAT_DB_URL": f"sqlite:///{tmp / 'fagchat.db'}",
        "FAGCHAT_VAR_DIR": str(tmp / "var"),
        "FAGCHAT_ALLOWED_ORIGINS": "http://localhost",
        # The fuzz test alone sends thousands of chat requests from one address: high enough
        # never to answer 429 here (the limit has its own tests, tests/test_rate_limit.py).
        "FAGCHAT_CHAT_RATE_PER_MINUTE": "1000000",
        "FAGCHAT_CHAT_RATE_BURST": "1000000",
        "FAGCHAT_STAFF_SECURE_COOKIE": "0",  # plain HTTP on loopback: clients drop Secure cookies
    }


@pytest.fixture(scope="session")
def live_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The real action server, Rasa server and web process on free ports.

    Session-scoped because Rasa takes about half a minute to load the model. Tests
    use a fresh random sender id each, so they do not share conversations.
    """
    if not model_path().exists():
        pytest.fail("No trained model: run `make train` first (make test does).")
    tmp = tmp_path_factory.mktemp("stack")
    stack = Stack(stack_env(tmp), services=("actions", "rasa", "web"), log_dir=tmp / "log")
    try:
        stack.start()
    except RuntimeError:
        stack.stop()
        raise
    yield stack
    stack.stop()
