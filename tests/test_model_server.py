"""The model server: the approved model for Rasa, by Rasa's own protocol (ETag / If-None-Match).

Unit level: the staff app's /model/current.tar.gz (seeding, 304, refusal, no login), the
registry's activation and rollback, a new repository model superseding, the launcher's
`models:` section, and the Rasa patch that loads FAGCHAT_MODEL when the server is down.
The whole loop on real processes is in tests/test_staff_training.py.
"""

import asyncio
import hashlib
import os
import time
from pathlib import Path

import pytest
import yaml

from fagchat import model_files, rasa_patches, settings
from fagchat.run import launcher
from fagchat.staff import schema
from fagchat.staff.model_registry import Registry
from tests.helpers import TENSORFLOW_GROUP, free_port
from tests.test_staff_support import (
    Staff,
    rows,
)

# TensorFlow: two tests run Rasa's model pull, which imports rasa.core.agent
# (tests/helpers.py: TENSORFLOW_GROUP).
pytestmark = pytest.mark.xdist_group(TENSORFLOW_GROUP)

PATH = "/model/current.tar.gz"


def fake_model(path: Path, content: bytes, age: float = 60) -> Path:
    """A file standing in for a model (the server never opens it), old enough to be settled."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    then = time.time() - age
    os.utime(path, (then, then))
    return path


@pytest.fixture
def repo(tmp_path):
    """A repository model and training data of the test's own."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "nlu.yml").write_text('version: "3.1"\nnlu: []\n', encoding="utf-8")
    return {"model_file": fake_model(tmp_path / "models" / "fagchat.tar.gz", b"model one"), "data_dir": data}


@pytest.fixture
def server_app(make_app, repo, tmp_path):
    def build(**overrides):
        return make_app(var_dir=tmp_path / "var", model_server=True, **repo, **overrides)

    return build


def test_the_repository_model_seeds_the_server_and_rasa_gets_it_with_its_hash(server_app, repo):
    client = Staff(server_app())  # no login: Rasa has none
    resp = client.get(PATH)
    assert resp.status == 200, resp.text
    digest = hashlib.sha256(b"model one").hexdigest()
    assert resp.body == b"model one"
    assert resp.headers["etag"] == f'"{digest}"'
    assert resp.headers["filename"].startswith("r-") and resp.headers["filename"].endswith(".tar.gz")


def test_an_unchanged_model_is_a_304_in_every_spelling_rasa_may_send(server_app):
    client = Staff(server_app())
    tag = client.get(PATH).headers["etag"]
    for sent in (tag, tag.strip('"'), "W/" + tag, f'"other", {tag}'):
        resp = client.get(PATH, headers={"If-None-Match": sent})
        assert resp.status == 304 and resp.body == b"", sent
        assert resp.headers["etag"] == tag
    assert client.get(PATH, headers={"If-None-Match": '"something-else"'}).status == 200


def test_addresses_not_allowed_are_refused(server_app):
    resp = Staff(server_app(model_server_allow=("10.9.9.0/24",))).get(PATH)
    assert resp.status == 403 and b"model one" not in resp.body


def test_a_malformed_allow_list_stops_the_start(server_app):
    with pytest.raises(BaseException, match="FAGCHAT_MODEL_SERVER_ALLOW"):
        Staff(server_app(model_server_allow=("not-an-address",))).get(PATH)


def test_no_model_anywhere_is_a_404_rasa_reads_as_keep_what_you_have(make_app, tmp_path):
    missing = {"model_file": tmp_path / "none.tar.gz", "data_dir": tmp_path}
    assert Staff(make_app(var_dir=tmp_path / "var", **missing)).get(PATH).status == 404


def test_activation_and_rollback_change_what_rasa_gets(server_app, tmp_path):
    app = server_app()
    client = Staff(app)
    first = client.get(PATH).headers["etag"]
    models = Registry(tmp_path / "var" / "models")
    seed = models.active()
    candidate = fake_model(tmp_path / "cand.tar.gz", b"model two")
    models.add("k-20251125-100000-123abcd", candidate, None, 1.0, trained_by="anna")
    models.activate("k-20251125-100000-123abcd", "anna", 2.0)
    second = client.get(PATH, headers={"If-None-Match": first})
    assert second.status == 200 and second.body == b"model two" and second.headers["etag"] != first
    assert models.rollback_target()["id"] == seed["id"]
    models.activate(seed["id"], "anna", 3.0, action="rollback")
    back = client.get(PATH, headers={"If-None-Match": second.headers["etag"]})
    assert back.status == 200 and back.headers["etag"] == first
    assert [e["action"] for e in models.read()["history"]] == ["repository", "activate", "rollback"]


def test_a_new_repository_model_supersedes_a_staff_model_and_is_audited(server_app, repo, tmp_path, db_url):
    app = server_app()
    client = Staff(app)
    client.get(PATH)
    models = Registry(tmp_path / "var" / "models")
    models.add("k-20251125-100000-123abcd", fake_model(tmp_path / "c.tar.gz", b"staff"), None, 1.0)
    models.activate("k-20251125-100000-123abcd", "anna", 2.0)
    fake_model(repo["model_file"], b"model retrained by make train")  # `make train` ran
    resp = client.get(PATH)
    assert resp.body == b"model retrained by make train"
    assert models.active()["source"] == "repository"
    assert [r.action for r in rows(db_url, schema.audit) if r.action == "model.repository"] == ["model.repository"] * 2
    # A model still being written (younger than a few seconds) is left for the next pull.
    fake_model(repo["model_file"], b"half written", age=0)
    assert client.get(PATH).body == b"model retrained by make train"


def test_the_launcher_writes_rasas_models_section_only_when_asked(tmp_path):
    env = {"FAGCHAT_VAR_DIR": str(tmp_path), "FAGCHAT_RASA_PORT": str(free_port()), "FAGCHAT_STAFF_PORT": "8123"}
    plain = yaml.safe_load(launcher.write_endpoints(env).read_text())
    assert "models" not in plain
    on = yaml.safe_load(
        launcher.write_endpoints(
            {**env, "FAGCHAT_MODEL_SERVER_URL": "staff", "FAGCHAT_MODEL_PULL_SECONDS": "7"}
        ).read_text()
    )
    assert on["models"] == {"url": "http://127.0.0.1:8123/model/current.tar.gz", "wait_time_between_pulls": 7}
    other = {**env, "FAGCHAT_MODEL_SERVER_URL": "http://10.0.0.5:8081/model/current.tar.gz"}
    assert (
        yaml.safe_load(launcher.write_endpoints(other).read_text())["models"]["url"]
        == other["FAGCHAT_MODEL_SERVER_URL"]
    )
    with pytest.raises(SystemExit, match="FAGCHAT_MODEL_SERVER_URL"):
        launcher.write_endpoints({**env, "FAGCHAT_MODEL_SERVER_URL": "ftp://x"})
    assert settings.SETTINGS["FAGCHAT_MODEL_SERVER_URL"].default == ""  # off unless set


class FakeAgent:
    """What Rasa's pull touches of the agent: is_ready, fingerprint, load_model."""

    def __init__(self, ready: bool = False) -> None:
        self.loaded, self.ready, self.fingerprint = [], ready, "random"

    def is_ready(self) -> bool:
        return self.ready

    def load_model(self, path: str, fingerprint: str) -> None:
        self.loaded.append((path, fingerprint))
        self.ready, self.fingerprint = True, fingerprint


def test_rasa_loads_fagchat_model_when_the_model_server_does_not_answer(tmp_path, monkeypatch):
    from rasa.utils.endpoints import EndpointConfig

    model = fake_model(tmp_path / "fagchat.tar.gz", b"the repository model")
    monkeypatch.setattr(rasa_patches, "local_model", lambda: model)
    down = EndpointConfig(url=f"http://127.0.0.1:{free_port()}/model/current.tar.gz")
    rasa_patches.install()
    try:
        import rasa.core.agent as rasa_agent

        # Rasa's own pull (the unreachable server) runs first; then the patch.
        agent = FakeAgent()
        asyncio.run(rasa_agent._update_model_from_server(down, agent))
        assert agent.loaded == [(str(model), model_files.etag(model_files.fingerprint(model)))]
        # An agent that has a model keeps it when a later pull fails.
        busy = FakeAgent(ready=True)
        asyncio.run(rasa_agent._update_model_from_server(down, busy))
        assert busy.loaded == []
    finally:
        rasa_patches.uninstall()


def test_without_the_patch_rasa_would_run_without_a_model(tmp_path):
    import rasa.core.agent as rasa_agent
    from rasa.utils.endpoints import EndpointConfig

    assert not rasa_patches.installed()
    agent = FakeAgent()
    down = EndpointConfig(url=f"http://127.0.0.1:{free_port()}/model/current.tar.gz")
    asyncio.run(rasa_agent._update_model_from_server(down, agent))
    assert agent.loaded == [] and not agent.is_ready()  # what patch 6 is for
