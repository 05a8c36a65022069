"""Local PostgreSQL and Redis servers for scale-out mode: install, start, stop.

    python -m fagchat.run.services up      # install if missing, init, start; print the settings
    python -m fagchat.run.services down    # stop both
    python -m fagchat.run.services status

The servers are Debian's packages (`postgresql`, `redis-server`, installed with apt-get
when missing), started on loopback only, on the ports of `FAGCHAT_DB_URL` (when it is a
postgresql:// URL on this machine) and `FAGCHAT_REDIS_URL`, with their data under
`FAGCHAT_VAR_DIR/services/`. `make run-scaled` and the scale-out tests use them; in
production both are ordinary managed servers and only the two URLs change.

PostgreSQL refuses to run as root: as root its commands run as the `postgres` user.
Redis keeps no data on disk here: it holds only conversation locks, which expire.
"""

import argparse
import glob
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Optional
from urllib.parse import urlparse

from fagchat import settings

ROOT = settings.ROOT
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def _apt_install(*packages: str) -> None:
    """Install Debian packages (root only; otherwise say what to run)."""
    if os.geteuid() != 0:
        raise SystemExit(f"Missing {', '.join(packages)}: run `sudo apt-get install -y {' '.join(packages)}`.")
    print(f"Installing {' '.join(packages)} (apt-get) ...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "-qq", *packages], check=True, env=env, stdout=subprocess.DEVNULL)


def pg_bin() -> Path:
    """The folder of PostgreSQL's server programs, installing the package if needed."""

    def find() -> Optional[Path]:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
        return Path(found[-1]).parent if found else None

    path = find()
    if path is None:
        _apt_install("postgresql")
        path = find()
    if path is None:
        raise SystemExit("PostgreSQL's initdb not found after installing the postgresql package.")
    return path


def redis_bin() -> str:
    """The redis-server program, installing the package if needed."""
    if not shutil.which("redis-server"):
        _apt_install("redis-server")
    return shutil.which("redis-server") or "/usr/bin/redis-server"


def _as_postgres(cmd: List[str]) -> List[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


class Postgres:
    """One PostgreSQL server on 127.0.0.1:`port` with its cluster in `data_dir`."""

    def __init__(self, data_dir: Path, port: int, user: str = "fagchat", database: str = "fagchat") -> None:
        """Describe the server; nothing runs until `start()`."""
        self.dir, self.port, self.user, self.database = Path(data_dir), port, user, database
        self.data, self.log = self.dir / "data", self.dir / "postgres.log"

    @property
    def url(self) -> str:
        """The SQLAlchemy URL for FAGCHAT_DB_URL (trust auth on loopback: no password)."""
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{self.database}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            _as_postgres([str(pg_bin() / args[0]), *args[1:]]),
            check=check,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def init(self) -> None:
        """Create the cluster once (a second call does nothing)."""
        if (self.data / "PG_VERSION").exists():
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        self.data.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            shutil.chown(self.data, "postgres", "postgres")
        self.data.chmod(0o700)
        self._run(
            "initdb", "-D", str(self.data), "-U", self.user, "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"
        )

    def running(self) -> bool:
        """Whether the server is up."""
        return self.data.exists() and self._run("pg_ctl", "-D", str(self.data), "status", check=False).returncode == 0

    def start(self) -> "Postgres":
        """Initialise if needed, start, and create the database; return self."""
        self.init()
        if not self.running():
            if os.geteuid() == 0:
                self.log.touch()
                shutil.chown(self.log, "postgres", "postgres")
            options = (
                f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data} "
                "-c max_connections=400 -c shared_buffers=128MB"
            )
            result = self._run(
                "pg_ctl",
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
                check=False,
            )
            if result.returncode != 0:
                raise RuntimeError(f"PostgreSQL did not start:\n{result.stdout}\n{self._log_tail()}")
        self._create_database()
        return self

    def _create_database(self) -> None:
        import psycopg2

        for _ in range(50):
            try:
                conn = psycopg2.connect(host="127.0.0.1", port=self.port, user=self.user, dbname="postgres")
                break
            except psycopg2.OperationalError:
                time.sleep(0.2)
        else:
            raise RuntimeError(f"PostgreSQL on port {self.port} does not accept connections")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.database,))
            if not cur.fetchone():
                cur.execute(f'CREATE DATABASE "{self.database}"')
        conn.close()

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (`mode` as pg_ctl: smart, fast, immediate)."""
        if self.running():
            self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def _log_tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-20:]) if self.log.exists() else ""


class Redis:
    """One Redis server on 127.0.0.1:`port`, without persistence (locks only)."""

    def __init__(self, data_dir: Path, port: int) -> None:
        """Describe the server; nothing runs until `start()`."""
        self.dir, self.port = Path(data_dir), port
        self.pidfile, self.log = self.dir / "redis.pid", self.dir / "redis.log"

    @property
    def url(self) -> str:
        """The URL for FAGCHAT_REDIS_URL."""
        return f"redis://127.0.0.1:{self.port}/0"

    def pid(self) -> Optional[int]:
        """The server's process id, if it runs."""
        try:
            pid = int(self.pidfile.read_text().strip())
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError):
            return None

    def start(self) -> "Redis":
        """Start the server unless it runs; return self once it answers."""
        self.dir.mkdir(parents=True, exist_ok=True)
        if self.pid() is None:
            subprocess.run(
                [
                    redis_bin(),
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--protected-mode",
                    "yes",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--daemonize",
                    "yes",
                    "--dir",
                    str(self.dir),
                    "--pidfile",
                    str(self.pidfile),
                    "--logfile",
                    str(self.log),
                ],
                check=True,
            )
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=1)
        for _ in range(100):
            try:
                client.ping()
                return self
            except redis.exceptions.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError(f"Redis on port {self.port} did not start; see {self.log}")

    def stop(self) -> None:
        """Stop the server and wait until it is gone."""
        pid = self.pid()
        if pid is None:
            return
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except OSError:
                return
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)


def from_settings() -> "tuple[Optional[Postgres], Redis]":
    """The servers the current settings name (PostgreSQL only for a local postgresql:// URL)."""
    base = ROOT / settings.current().str("FAGCHAT_VAR_DIR") / "services"
    db = urlparse(settings.current().str("FAGCHAT_DB_URL"))
    postgres = None
    if db.scheme.startswith("postgresql") and db.hostname in LOCAL_HOSTS:
        postgres = Postgres(
            base / "postgres", db.port or 5432, db.username or "fagchat", db.path.lstrip("/") or "fagchat"
        )
    redis_url = urlparse(settings.current().str("FAGCHAT_REDIS_URL"))
    if redis_url.hostname not in LOCAL_HOSTS:
        raise SystemExit("FAGCHAT_REDIS_URL is not on this machine: nothing to start.")
    return postgres, Redis(base / "redis", redis_url.port or 6379)


def main(argv: Optional[List[str]] = None) -> int:
    """Command line: up, down or status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["up", "down", "status"])
    args = parser.parse_args(argv)
    postgres, redis_server = from_settings()
    if args.action == "up":
        if postgres is not None:
            postgres.start()
            print(f"PostgreSQL running: FAGCHAT_DB_URL={postgres.url}  (data {postgres.data})")
        else:
            print("FAGCHAT_DB_URL is not a local postgresql:// URL: no PostgreSQL started.")
        redis_server.start()
        print(f"Redis running:      FAGCHAT_REDIS_URL={redis_server.url}")
    elif args.action == "down":
        if postgres is not None:
            postgres.stop()
        redis_server.stop()
        print("PostgreSQL and Redis stopped.")
    else:
        pg_state = "running" if postgres is not None and postgres.running() else "stopped"
        print(f"postgres: {pg_state}\nredis: {'running' if redis_server.pid() else 'stopped'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
