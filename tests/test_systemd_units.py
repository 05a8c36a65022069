"""The systemd units (deploy/systemd/, fagchat/run/systemd.py): valid for systemd, hardened, and
running exactly the launcher's command lines. Nothing here starts a unit or creates a user.

`systemd-analyze verify` needs no running systemd: it loads the files into a test-mode
manager of its own (`make systemd-deps` installs Debian's systemd package when missing).
"""

import os
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest
import yaml

from fagchat import settings
from fagchat.run import launcher
from fagchat.run import systemd as units
from fagchat.run.serve import PORT_SETTINGS

ROOT = settings.ROOT
PYTHON = Path(sys.executable)  # the venv's python: the units' ExecStart runs the same one
SERVICES = ("actions", "rasa", "web", "staff")


def analyze() -> str:
    """The systemd-analyze program; a clear failure when it is missing."""
    found = shutil.which("systemd-analyze")
    if not found:
        pytest.fail("systemd-analyze is missing: run `make systemd-deps` (Debian package systemd)")
    return found


@pytest.fixture
def rendered(tmp_path: Path) -> Dict[str, Path]:
    """The units for this checkout, rendered into tmp with an env file that changes a few settings."""
    env_file = tmp_path / "fagchat.env"
    env_file.write_text(
        f"FAGCHAT_VAR_DIR={tmp_path / 'var'}\nFAGCHAT_RASA_PORT=5123\nFAGCHAT_ACTIONS_PORT=5124\n"
        'FAGCHAT_ALLOWED_ORIGINS="https://chat.example.dk,https://www.example.dk"\n'
        f"FAGCHAT_MODEL={tmp_path / 'model.tar.gz'}\n"
    )
    (tmp_path / "model.tar.gz").write_bytes(b"not read: only its presence is checked")
    out = tmp_path / "units"
    assert units.main(["install", "--dest", str(out), "--env-file", str(env_file), "--python", str(PYTHON)]) == 0
    return {path.name: path for path in out.iterdir()}


def options(path: Path) -> Dict[str, List[str]]:
    """Every KEY=value of a unit file, each key's values in order."""
    found: Dict[str, List[str]] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key, []).append(value)
    return found


def test_every_unit_passes_systemd_analyze_verify(rendered):
    names = sorted(rendered) + ["fagchat-rasa@5006.service", "fagchat-actions@5056.service"]
    assert set(rendered) == {
        *(f"fagchat-{s}.service" for s in SERVICES),
        "fagchat-rasa@.service",
        "fagchat-actions@.service",
        "fagchat.target",
    }
    folder = next(iter(rendered.values())).parent
    result = subprocess.run(
        [analyze(), "verify", "--man=no", *(str(folder / n) for n in names)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "SYSTEMD_LOG_LEVEL": "notice"},
    )
    # Warnings (an unknown key, a bad value) do not change the exit status: any output fails.
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_the_hardening_is_in_every_service_and_scores_low(rendered):
    required = {
        "User": "fagchat",
        "ProtectSystem": "strict",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "NoNewPrivileges": "yes",
        "ProtectKernelTunables": "yes",
        "ProtectKernelModules": "yes",
        "ProtectKernelLogs": "yes",
        "ProtectControlGroups": "yes",
        "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
        "CapabilityBoundingSet": "",
        "LockPersonality": "yes",
        "MemoryDenyWriteExecute": "yes",
        "Restart": "on-failure",
        "RestartSec": "5s",
        "LimitNOFILE": "65536",
    }
    services = [p for name, p in rendered.items() if name.endswith(".service")]
    for path in services:
        found = options(path)
        assert {key: found.get(key, ["<missing>"])[-1] for key in required} == required, path.name
        assert "@system-service" in found["SystemCallFilter"], path.name
        assert found["ProtectHome"][-1] in ("yes", "read-only"), path.name
        assert found["ReadWritePaths"][-1].split()[0] == str(path.parent.parent / "var"), path.name
        assert found["MemoryMax"][-1].endswith("M") and found["TasksMax"][-1].isdigit(), path.name
        assert found["EnvironmentFile"] == [str(path.parent.parent / "fagchat.env")], path.name
    result = subprocess.run(
        [analyze(), "security", "--offline=true", "--threshold=20", *(p.name for p in services)],
        cwd=services[0].parent,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout[-3000:]  # exposure 2.0 or less ("OK"); today 1.4


def exec_line(unit: Path, key: str, port: str = "") -> List[str]:
    """One Exec… line of a unit as argv, with the instance name `port` for %i."""
    (value,) = options(unit)[key]
    return shlex.split(value.replace("%i", port))


def unit_env(rendered: Dict[str, Path]) -> Dict[str, str]:
    """The environment systemd gives the processes: the env file's values and PATH."""
    return {
        "PATH": os.environ["PATH"],
        **units.read_env_file(next(iter(rendered.values())).parent.parent / "fagchat.env"),
    }


@pytest.mark.parametrize(
    "unit, port",
    [(f"fagchat-{s}.service", "") for s in SERVICES]
    + [("fagchat-rasa@.service", "5006"), ("fagchat-actions@.service", "5056")],
)
def test_exec_start_runs_the_launchers_command(rendered, unit, port):
    name = unit.split("-")[1].split(".")[0].split("@")[0]
    env = unit_env(rendered)
    argv = exec_line(rendered[unit], "ExecStart", port)
    assert argv[:4] == [str(PYTHON), "-m", "fagchat.run.process", name]
    (cwd,) = options(rendered[unit])["WorkingDirectory"]
    printed = subprocess.run(argv + ["--print"], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
    assert printed.returncode == 0, printed.stderr
    expected_env = {**env, PORT_SETTINGS[name]: port} if port else env
    assert shlex.split(printed.stdout) == launcher.command(name, expected_env)


def test_exec_start_pre_writes_the_instances_endpoints_file(rendered):
    env = unit_env(rendered)
    pre = exec_line(rendered["fagchat-rasa@.service"], "ExecStartPre", "5006")
    done = subprocess.run(pre, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    written = Path(env["FAGCHAT_VAR_DIR"]) / "run" / "endpoints-5006.yml"
    assert yaml.safe_load(written.read_text())["action_endpoint"]["url"] == "http://127.0.0.1:5124/webhook"
    # The command Rasa then runs names that file.
    command = launcher.command("rasa", {**env, "FAGCHAT_RASA_PORT": "5006"})
    assert command[command.index("--endpoints") + 1] == str(written)
    # Without a model it stops at once, saying what to do, instead of Rasa failing a minute later.
    Path(env["FAGCHAT_MODEL"]).unlink()
    refused = subprocess.run(pre, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "make train" in refused.stderr


def test_rasa_waits_for_the_action_server_and_web_for_rasa(rendered):
    assert "fagchat-actions.service" in options(rendered["fagchat-rasa.service"])["After"][0].split()
    assert "fagchat-rasa.service" in options(rendered["fagchat-web.service"])["After"][0].split()
    wants = options(rendered["fagchat.target"])["Wants"][0].split()
    assert wants == [f"fagchat-{s}.service" for s in SERVICES]


def test_env_example_is_generated_from_the_settings():
    example = units.ENV_EXAMPLE.read_text()
    assert example == units.env_example(), "deploy/systemd/fagchat.env.example is out of date: run `make env-example`"
    # Uncommented, its lines give every setting its default.
    lines = [line[1:] for line in example.splitlines() if line.startswith("#FAGCHAT_")]
    assert units.parse_env("\n".join(lines)) == {s.name: s.default for s in settings.SETTINGS.values()}


def test_install_writes_files_only(tmp_path, monkeypatch, capsys):
    ran = []
    monkeypatch.setattr(units.subprocess, "run", lambda *a, **k: ran.append(a))
    out = tmp_path / "staged" / "etc" / "systemd" / "system"
    units.main(["install", "--dest", str(out), "--env-file", str(tmp_path / "missing.env")])
    assert ran == []  # no useradd, no chown, no systemctl: --setup auto sets up only /etc/systemd/system
    assert not (tmp_path / "missing.env").exists()
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o644 for p in out.iterdir())
    said = capsys.readouterr().out
    assert "systemctl daemon-reload" in said and "systemctl enable --now fagchat.target" in said


def test_set_up_machine_creates_the_user_and_a_private_env_file(tmp_path):
    ran: List[List[str]] = []
    layout = units.Layout(
        root=tmp_path, python=PYTHON, user="fagchat-no-such-user", env_file=tmp_path / "etc" / "f.env"
    )
    units.set_up_machine(layout, run=ran.append)
    assert ran[0][:3] == ["useradd", "--system", "--user-group"] and ran[0][-1] == "fagchat-no-such-user"
    assert ["chown", "root:fagchat-no-such-user", str(layout.env_file)] in ran
    assert stat.S_IMODE(layout.env_file.stat().st_mode) == 0o640
    assert layout.env_file.read_text() == units.env_example()
    layout.env_file.write_text("FAGCHAT_DB_URL=postgresql://fagchat:secret@db/fagchat\n")
    units.set_up_machine(layout, run=ran.append)
    assert "secret" in layout.env_file.read_text()  # an existing file is kept


def layout_with(**values: str) -> units.Layout:
    return units.Layout(
        root=Path("/opt/fagchat"), python=Path("/opt/fagchat/.venv/bin/python"), values=settings.read(values)
    )


def test_sizes_and_order_follow_the_settings():
    assert layout_with().memory_max("rasa") == "2560M"  # two workers by default
    assert layout_with(FAGCHAT_RASA_WORKERS="1").memory_max("rasa") == "1536M"
    assert layout_with().stores() == []
    scaled = layout_with(FAGCHAT_DB_URL="postgresql://f:pw@127.0.0.1:5432/f", FAGCHAT_LOCK_STORE="redis")
    assert scaled.stores() == ["postgresql.service", "redis-server.service"]
    remote = layout_with(
        FAGCHAT_DB_URL="postgresql://f:pw@db.internal/f",
        FAGCHAT_LOCK_STORE="redis",
        FAGCHAT_REDIS_URL="redis://cache.internal:6379/0",
    )
    assert remote.stores() == []
    assert "After=network-online.target fagchat-actions.service postgresql.service redis-server.service" in (
        units.render_service(scaled, "rasa")
    )
    assert layout_with().protect_home() == "yes"
    assert units.Layout(root=Path("/home/anna/fagchat"), python=PYTHON).protect_home() == "read-only"


def test_the_target_can_run_several_rasa_instances():
    layout = layout_with()
    layout.services, layout.rasa_ports = ("actions", "rasa"), (5005, 5006)
    target = units.render(layout)["fagchat.target"]
    assert "Wants=fagchat-actions.service fagchat-rasa@5005.service fagchat-rasa@5006.service\n" in target
