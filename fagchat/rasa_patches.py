"""Every place where Fagchat changes Rasa 3.6's own behaviour, fenced in one module.

Rasa offers no hook for these, so each reaches into a private attribute. They are written
for Rasa 3.6 and checked against it: `check()` lists what is missing (a wrong Rasa version,
a renamed attribute) and tests/test_rasa_patches.py fails on any of it, so an upgrade
breaks a test, not a conversation.

Installed explicitly, once per Rasa worker, by the chat channel's `before_server_start`
listener (`install()` and `harden_server_app()`); nothing here acts on import.

Patches of Rasa's classes (`install()`):
1. `RemoteAction._validate_action_result`: Rasa validates every action-server response
   with `jsonschema.validate()`, which first checks the *schema itself* against the
   meta-schema on every call: 38 % of the Rasa process's CPU under load (py-spy, 50
   conversations, benchmarks/results.md). The schema is a constant: checked once here.
2. `FailSafeTrackerStore.on_tracker_store_error` and `on_tracker_store_retrieve_error`:
   on a database error Rasa logs and goes
   on with an in-memory store, so the conversation silently restarts, vanishes at the
   next restart and never reaches the staff app. For our store it re-raises instead; the
   chat channel tells the user the message was not stored (tests/test_faults.py).

6. `rasa.core.agent._update_model_from_server` (only with a model server, FAGCHAT_MODEL_SERVER_URL):
   when Rasa starts and the model server (the staff app) does not answer, Rasa runs
   without any model until a later pull succeeds, and every message gets an error. After
   a pull that leaves the agent without a model, FAGCHAT_MODEL is loaded from disk with
   its ETag as fingerprint (fagchat/model_files.py), so the server's next answer is 304
   when it approves the same model and a new model when it approves another.

The Rasa server's Sanic app (`harden_server_app(app)`):
3. `REQUEST_MAX_SIZE` (Sanic's default is 100 MB) and the app's error handler: the chat
   channel is all this server serves, so Sanic's error pages (which quote the URL and
   show tracebacks in debug mode) become the channel's Danish JSON.

Subclasses that rely on private attributes (no patch; their names are checked here):
4. `RedactingSQLTrackerStore` rebuilds `engine` and `sessionmaker` for PostgreSQL
   (connect timeout, liveness check) — `rebuild_engine()` below.
5. `FagchatRedisLockStore` overrides `issue_ticket`, `update_lock`, `finish_serving`,
   `cleanup`, `get_lock` and `lock` of `RedisLockStore`, and sets `red` and
   `key_prefix` itself (fagchat/stores/lock_store.py).
"""

import functools
import importlib
import logging
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import rasa
import sqlalchemy as sa
from jsonschema import exceptions, validators
from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore
from rasa.core.tracker_store import FailSafeTrackerStore, SQLTrackerStore, create_engine_kwargs
from rasa.shared.constants import DOCS_BASE_URL

from fagchat import model_files, settings

logger = logging.getLogger(__name__)

RASA_VERSION = "3.6."
# Attributes of Rasa that the patches and subclasses rely on, by class. RemoteAction and
# rasa.core.agent are imported only where a patch is checked or installed (`_lazy()`):
# they pull in TensorFlow (5 s), which the stores, the channel's helpers and their tests
# otherwise never need; a Rasa worker has imported both long before `install()` runs.
RELIES_ON: Dict[type, List[str]] = {
    FailSafeTrackerStore: ["on_tracker_store_error", "on_tracker_store_retrieve_error", "_tracker_store"],
    SQLTrackerStore: ["session_scope", "_additional_events", "engine", "sessionmaker"],
    RedisLockStore: [
        "issue_ticket",
        "update_lock",
        "finish_serving",
        "cleanup",
        "get_lock",
        "lock",
        "create_lock",
        "red",
        "key_prefix",
    ],
    InMemoryLockStore: ["lock"],
    LockStore: ["lock", "is_someone_waiting"],
}
# Instance attributes (set in __init__, so not on the class): checked by the tests on
# real instances.
INSTANCE_ATTRIBUTES = {
    FailSafeTrackerStore: ["_tracker_store"],
    SQLTrackerStore: ["engine", "sessionmaker"],
    RedisLockStore: ["red", "key_prefix"],
}

# Module functions the patches rely on (patch 6), by module name.
RELIES_ON_FUNCTIONS = {
    "rasa.core.agent": ["_update_model_from_server", "load_from_server", "_run_model_pulling_worker"]
}
REMOTE_ACTION_RELIES_ON = ["_validate_action_result", "action_response_format_spec"]

_originals: Dict[str, Callable[..., Any]] = {}


def _lazy() -> Tuple[Any, type]:
    """rasa.core.agent and RemoteAction, imported on first use (see RELIES_ON)."""
    import rasa.core.agent as rasa_agent
    from rasa.core.actions.action import RemoteAction

    return rasa_agent, RemoteAction


def check() -> List[str]:
    """What in this Rasa does not fit the patches: an empty list when all is well."""
    problems = []
    if not rasa.__version__.startswith(RASA_VERSION):
        problems.append(f"Rasa {rasa.__version__} is installed; these patches are for {RASA_VERSION}x")
    _, remote_action = _lazy()
    for cls, names in [(remote_action, REMOTE_ACTION_RELIES_ON), *RELIES_ON.items()]:
        for name in names:
            if name in INSTANCE_ATTRIBUTES.get(cls, []):
                continue
            if not hasattr(cls, name):
                problems.append(f"{cls.__module__}.{cls.__name__}.{name} is gone")
    for module_name, names in RELIES_ON_FUNCTIONS.items():
        module = importlib.import_module(module_name)
        problems += [f"{module_name}.{name} is gone" for name in names if not hasattr(module, name)]
    return problems


def install() -> None:
    """Apply the patches of Rasa's code (1, 2, 6) to this process; a second call does nothing."""
    if _originals:
        return
    problems = check()
    if problems:
        # Refuse to start half-patched: every patch keeps a promise to the user.
        raise RuntimeError("Rasa does not fit fagchat/rasa_patches.py: " + "; ".join(problems))
    rasa_agent, RemoteAction = _lazy()
    _originals["validate"] = RemoteAction._validate_action_result
    _originals["on_error"] = FailSafeTrackerStore.on_tracker_store_error
    _originals["on_retrieve_error"] = FailSafeTrackerStore.on_tracker_store_retrieve_error
    _originals["update_model"] = rasa_agent._update_model_from_server
    rasa_agent._update_model_from_server = _update_model_from_server
    RemoteAction._validate_action_result = _validate_action_result
    FailSafeTrackerStore.on_tracker_store_error = _on_tracker_store_error
    FailSafeTrackerStore.on_tracker_store_retrieve_error = _on_tracker_store_retrieve_error
    logger.debug("rasa_patches.installed")


def installed() -> bool:
    """Whether `install()` has run in this process."""
    return bool(_originals)


def uninstall() -> None:
    """Put Rasa's own methods back (tests)."""
    if _originals:
        rasa_agent, RemoteAction = _lazy()
        RemoteAction._validate_action_result = _originals.pop("validate")
        FailSafeTrackerStore.on_tracker_store_error = _originals.pop("on_error")
        FailSafeTrackerStore.on_tracker_store_retrieve_error = _originals.pop("on_retrieve_error")
        rasa_agent._update_model_from_server = _originals.pop("update_model")


def harden_server_app(app: Any, max_body_bytes: int, error_handler: Callable[..., Any]) -> None:
    """Patch 3: the Rasa server's body limit and error pages (called per worker at start)."""
    app.config.REQUEST_MAX_SIZE = max_body_bytes
    app.error_handler.add(Exception, error_handler)


def rebuild_engine(store: SQLTrackerStore, connect_timeout: int) -> None:
    """Subclass use 4: replace Rasa's PostgreSQL engine by one that fails fast.

    Rasa's engine has neither a connect timeout (an unreachable host hangs the chat
    request) nor a liveness check (the first message after a database restart fails).
    """
    engine_url = store.engine.url
    store.engine.dispose()
    options = create_engine_kwargs(engine_url)
    options.setdefault("connect_args", {})["connect_timeout"] = connect_timeout
    store.engine = sa.create_engine(engine_url, pool_pre_ping=True, **options)
    store.sessionmaker = sa.orm.session.sessionmaker(bind=store.engine)


# -- 1: the action-response validator, built once -------------------------------------


@functools.lru_cache(maxsize=1)
def _action_response_validator() -> Any:
    schema = _lazy()[1].action_response_format_spec()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)  # once, as jsonschema.validate() does on every call
    return cls(schema)


def _validate_action_result(self: Any, result: Dict[str, Any]) -> bool:
    """`RemoteAction._validate_action_result` with the validator built once."""
    error = exceptions.best_match(_action_response_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        f". Failed to validate Action server response from API, "
        f"make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


# -- 2: no silent fallback to memory for our tracker store -----------------------------


def _ours(store: FailSafeTrackerStore) -> bool:
    from fagchat.stores.tracker_store import RedactingSQLTrackerStore

    return isinstance(store._tracker_store, RedactingSQLTrackerStore)


def _on_tracker_store_error(self: FailSafeTrackerStore, error: Exception) -> None:
    """Re-raise errors of our store (saving); any other store keeps Rasa's behaviour."""
    if _ours(self):
        raise error
    _originals["on_error"](self, error)


def _on_tracker_store_retrieve_error(self: FailSafeTrackerStore, error: Exception) -> None:
    """Re-raise errors of our store (reading); any other store keeps Rasa's behaviour."""
    if _ours(self):
        raise error
    _originals["on_retrieve_error"](self, error)


# -- 6: the model on disk when the model server does not answer ------------------------


def local_model() -> Path:
    """The model Rasa was started with (FAGCHAT_MODEL, the launcher's `--model`)."""
    return settings.current().model_path


async def _update_model_from_server(model_server: Any, agent: Any) -> None:
    """Rasa's pull; then, if the agent still has no model, FAGCHAT_MODEL from disk."""
    await _originals["update_model"](model_server, agent)
    if agent.is_ready():
        return
    path = local_model()
    if not path.exists():
        logger.error("model_server.no_model url_reachable=no local_model=missing")
        return
    fingerprint = model_files.etag(model_files.fingerprint(path))
    logger.warning("model_server.unreachable loading=FAGCHAT_MODEL hash=%s", fingerprint.strip('"')[:12])
    agent.load_model(str(path), fingerprint)
