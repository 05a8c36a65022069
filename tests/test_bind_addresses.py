"""Only the web process may face the internet (issue 12).

Publishing the web page (FAGCHAT_PUBLIC_HOST=0.0.0.0) must leave Rasa, the action server
and the staff app on loopback. Checked on what each entry point would bind and on the
launcher's command line, without binding any public interface.
"""

import pytest

from fagchat import settings
from fagchat.run import action_server, launcher, serve

PUBLISHED = {"FAGCHAT_PUBLIC_HOST": "0.0.0.0"}


class FakeApp:
    """Records the address `run` is called with instead of serving."""

    def __init__(self) -> None:
        self.bound = None

    def run(self, host, port, **_options) -> None:
        self.bound = (host, port)

    def register_listener(self, *_args) -> None:
        """Start-up hooks (metrics) never run: nothing is served."""

    def add_route(self, *_args, **_options) -> None:
        """Routes (health) are not served either."""


@pytest.fixture
def environment(monkeypatch):
    """Set this process's environment for the entry points (they read settings.current())."""

    def use(values):
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        settings.current.cache_clear()

    yield use
    monkeypatch.undo()
    settings.current.cache_clear()


def bound_by_entry_point(service: str, monkeypatch) -> tuple:
    app = FakeApp()
    if service == "actions":
        monkeypatch.setattr(action_server, "create_app", lambda _package: app)
        action_server.main()
    else:
        serve.serve(app, f"FAGCHAT_{service.upper()}_PORT")
    return app.bound


def test_publishing_the_web_page_publishes_nothing_else(environment, monkeypatch):
    environment(PUBLISHED)
    assert bound_by_entry_point("web", monkeypatch) == ("0.0.0.0", 8080)
    assert bound_by_entry_point("staff", monkeypatch) == ("127.0.0.1", 8081)
    assert bound_by_entry_point("actions", monkeypatch) == ("127.0.0.1", 5055)


def test_the_rasa_command_binds_loopback_when_the_web_page_is_published(tmp_path):
    env = {**PUBLISHED, "FAGCHAT_VAR_DIR": str(tmp_path)}
    command = launcher.command("rasa", env)
    assert command[command.index("--interface") + 1] == "127.0.0.1"
    # The launcher reaches the published web process on loopback, not on 0.0.0.0.
    assert launcher.health_url("web", env).startswith("http://127.0.0.1:8080/")


def test_internal_processes_leave_loopback_only_when_configured(environment, monkeypatch, tmp_path):
    """Scale-out on several machines sets FAGCHAT_HOST; the web process keeps its own."""
    environment({"FAGCHAT_HOST": "10.0.0.7"})
    assert bound_by_entry_point("staff", monkeypatch) == ("10.0.0.7", 8081)
    assert bound_by_entry_point("web", monkeypatch) == ("127.0.0.1", 8080)
    command = launcher.command("rasa", {"FAGCHAT_HOST": "10.0.0.7", "FAGCHAT_VAR_DIR": str(tmp_path)})
    assert command[command.index("--interface") + 1] == "10.0.0.7"


@pytest.mark.parametrize(
    "service, host",
    [("web", "FAGCHAT_PUBLIC_HOST"), ("rasa", "FAGCHAT_HOST"), ("actions", "FAGCHAT_HOST"), ("staff", "FAGCHAT_HOST")],
)
def test_every_process_has_its_host_setting(service, host):
    assert serve.HOST_SETTINGS[service] == host
