"""The patches of Rasa's internals fit the installed Rasa, and do what they promise."""

import asyncio
import importlib

import pytest
from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker

from fagchat import rasa_patches
from tests.helpers import TENSORFLOW_GROUP

pytestmark = pytest.mark.xdist_group(TENSORFLOW_GROUP)


@pytest.fixture(scope="module")
def rasa_action():
    """rasa.core.actions.action, imported here rather than at the top (tests/helpers.py: TENSORFLOW_GROUP)."""
    return importlib.import_module("rasa.core.actions.action")


@pytest.fixture
def patched():
    rasa_patches.install()
    yield
    rasa_patches.uninstall()


def test_rasa_is_the_version_the_patches_were_written_for():
    import rasa

    assert rasa.__version__.startswith("3.6."), rasa.__version__


def test_every_attribute_the_patches_rely_on_exists():
    assert rasa_patches.check() == []


def test_a_missing_attribute_is_reported(monkeypatch, rasa_action):
    monkeypatch.delattr(rasa_action.RemoteAction, "_validate_action_result")
    problems = rasa_patches.check()
    assert any("RemoteAction._validate_action_result is gone" in p for p in problems), problems
    with pytest.raises(RuntimeError, match="_validate_action_result"):
        rasa_patches.install()
    assert not rasa_patches.installed()


def test_a_wrong_rasa_version_is_reported(monkeypatch):
    import rasa

    monkeypatch.setattr(rasa, "__version__", "3.7.0")
    assert any("3.7.0" in p for p in rasa_patches.check())


def test_install_replaces_the_methods_once_and_uninstall_restores_them(rasa_action):
    original = rasa_action.RemoteAction._validate_action_result
    rasa_patches.install()
    try:
        assert rasa_action.RemoteAction._validate_action_result is not original
        patched = rasa_action.RemoteAction._validate_action_result
        rasa_patches.install()  # a second call changes nothing
        assert rasa_action.RemoteAction._validate_action_result is patched
    finally:
        rasa_patches.uninstall()
    assert rasa_action.RemoteAction._validate_action_result is original


def test_the_validator_accepts_good_and_rejects_bad_responses(patched, rasa_action):
    from jsonschema import ValidationError

    action = rasa_action.RemoteAction("action_x", None)
    assert action._validate_action_result({"events": [], "responses": []})
    with pytest.raises(ValidationError):
        action._validate_action_result({"events": "not a list"})


class Broken(InMemoryTrackerStore):
    async def retrieve(self, sender_id):
        raise RuntimeError("database down")


def test_other_tracker_stores_keep_rasas_fallback(patched):
    store = FailSafeTrackerStore(Broken(None))
    assert asyncio.run(store.retrieve("x")) is None  # Rasa's behaviour: logged, not raised


def test_our_tracker_store_errors_are_raised_not_swallowed(patched, tmp_path):
    from fagchat.stores.tracker_store import RedactingSQLTrackerStore

    class BrokenOurs(RedactingSQLTrackerStore):
        async def retrieve(self, sender_id):
            raise RuntimeError("database down")

        async def save(self, tracker):
            raise RuntimeError("database down")

    store = FailSafeTrackerStore(BrokenOurs(url=f"sqlite:///{tmp_path / 't.db'}"))
    with pytest.raises(RuntimeError, match="database down"):
        asyncio.run(store.retrieve("x"))
    with pytest.raises(RuntimeError, match="database down"):
        asyncio.run(store.save(DialogueStateTracker("x", [])))


def test_instance_attributes_exist_on_real_stores(tmp_path):
    from fagchat.stores.tracker_store import RedactingSQLTrackerStore

    store = RedactingSQLTrackerStore(url=f"sqlite:///{tmp_path / 't.db'}")
    for name in rasa_patches.INSTANCE_ATTRIBUTES[type(store).__mro__[1]]:
        assert hasattr(store, name), name
    assert hasattr(FailSafeTrackerStore(store), "_tracker_store")
