"""Rasa's endpoints file for a set of settings: action server, lock store, model server.

The launcher and the systemd units (fagchat/run/process.py) write it before Rasa starts,
so ports, the lock store and the model server stay settings.
"""

from pathlib import Path
from typing import Dict

import yaml

from fagchat import settings, yamlsafe
from fagchat.run.serve import local_url

ROOT = settings.ROOT


def _env_get(env: Dict[str, str], name: str) -> str:
    return settings.read(env).str(name)


def endpoints_path(env: Dict[str, str]) -> Path:
    """Where Rasa's endpoints file for the settings in `env` is (one per Rasa port)."""
    return ROOT / _env_get(env, "FAGCHAT_VAR_DIR") / "run" / f"endpoints-{_env_get(env, 'FAGCHAT_RASA_PORT')}.yml"


def write_endpoints(env: Dict[str, str]) -> Path:
    """Write Rasa's endpoints file for the settings in `env`; return its path."""
    config = yamlsafe.safe_load((ROOT / "endpoints.yml").read_text())
    config["action_endpoint"] = {"url": local_url("actions", settings.read(env)) + "/webhook"}
    # Our Redis store reads FAGCHAT_REDIS_URL itself, so no password is written to disk;
    # Rasa's own RedisLockStore is not safe across processes (fagchat/stores/lock_store.py).
    config["lock_store"] = {"type": LOCK_STORES[lock_store(env)]}
    models = model_server_url(env)
    if models:  # Rasa pulls the approved model from the staff app (fagchat/staff/model_server.py)
        pull = settings.read(env).int("FAGCHAT_MODEL_PULL_SECONDS")
        config["models"] = {"url": models, "wait_time_between_pulls": pull}
    path = endpoints_path(env)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def model_server_url(env: Dict[str, str]) -> str:
    """FAGCHAT_MODEL_SERVER_URL, with `staff` meaning this machine's staff app; '' when off."""
    value = _env_get(env, "FAGCHAT_MODEL_SERVER_URL").strip()
    if value == "staff":
        return local_url("staff", settings.read(env)) + "/model/current.tar.gz"
    if value and not value.startswith(("http://", "https://")):
        raise SystemExit(f"Setting FAGCHAT_MODEL_SERVER_URL must be 'staff' or an http(s) URL, got {value!r}")
    return value


LOCK_STORES = {
    "memory": "fagchat.stores.lock_store.FagchatInMemoryLockStore",
    "sqlite": "fagchat.stores.lock_store.FagchatSQLiteLockStore",
    "redis": "fagchat.stores.lock_store.FagchatRedisLockStore",
}


def lock_store(env: Dict[str, str]) -> str:
    """FAGCHAT_LOCK_STORE, checked: one of LOCK_STORES."""
    value = _env_get(env, "FAGCHAT_LOCK_STORE")
    if value not in LOCK_STORES:
        raise SystemExit(f"Setting FAGCHAT_LOCK_STORE must be one of {', '.join(LOCK_STORES)}, got {value!r}")
    return value


def rasa_workers(env: Dict[str, str]) -> int:
    """Rasa's worker count (SANIC_WORKERS); more than one needs a lock store shared across processes.

    Rasa itself would quietly fall back to one worker with the in-memory lock store;
    a setting that cannot take effect stops the start instead.
    """
    value = _env_get(env, "FAGCHAT_RASA_WORKERS")
    if not value.isdigit() or int(value) < 1:
        raise SystemExit(f"Setting FAGCHAT_RASA_WORKERS must be a whole number >= 1, got {value!r}")
    if int(value) > 1 and lock_store(env) == "memory":
        raise SystemExit("FAGCHAT_RASA_WORKERS > 1 needs FAGCHAT_LOCK_STORE=sqlite or redis (docs/operations.md)")
    return int(value)
