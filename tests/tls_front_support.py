"""Helpers for tests/test_tls_front.py (no tests here): a throw-away CA, Debian's nginx from
a temporary prefix, and an HTTPS client that sends SNI for a name without DNS.
"""

import grp
import http.client
import json
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Dict, NamedTuple, Optional, Sequence

from fagchat.run.launcher import ROOT, Stack
from tests.helpers import wait_until

PUBLIC, STAFF = "chat.fagchat.test", "staff.fagchat.test"


class Answer(NamedTuple):
    """Status, headers and body of one answer through nginx."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def one(self, name: str) -> str:
        """The header's only value (fails when nginx and the app both sent it)."""
        values = self.headers.get_all(name) or []
        assert len(values) == 1, (name, values)
        return values[0]


class _Connection(http.client.HTTPSConnection):
    """HTTPS to 127.0.0.1 with `host` as SNI and Host header (no DNS or /etc/hosts needed)."""

    def connect(self) -> None:
        sock = socket.create_connection(("127.0.0.1", self.port), self.timeout, self.source_address)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def tls_context(ca: Path) -> ssl.SSLContext:
    """A client that trusts only the throw-away CA."""
    return ssl.create_default_context(cafile=str(ca))


def create_staff_user(env: Dict[str, str], name: str, password: str) -> None:
    """Create a staff account the way operators do: the staff CLI, password on stdin."""
    created = subprocess.run(
        [sys.executable, "-m", "fagchat.staff.cli", "create-user", name, "--password-stdin"],
        input=password + "\n",
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr


class Front(NamedTuple):
    """nginx's ports, the CA that signed its certificates, the processes behind it."""

    https: int
    http: int
    ca: Path
    stack: Stack
    log: Path


def call(
    front: Front,
    host: str,
    method: str,
    path: str,
    body: Optional[bytes] = None,
    headers: Optional[Dict[str, str]] = None,
    source: str = "127.0.0.2",
    tls: bool = True,
) -> Answer:
    """One request through the front from address `source`: HTTPS to `host`, verified
    against the throw-away CA, or plain HTTP."""
    if tls:
        context = tls_context(front.ca)
        conn = _Connection(host, front.https, context=context, timeout=60, source_address=(source, 0))
    else:
        conn = http.client.HTTPConnection("127.0.0.1", front.http, timeout=60, source_address=(source, 0))
        headers = {"Host": f"{host}:{front.http}", **(headers or {})}
    try:
        conn.request(method, path, body=body, headers=headers or {})
        answer = conn.getresponse()
        return Answer(answer.status, answer.headers, answer.read())
    finally:
        conn.close()


def post_json(front: Front, path: str, payload: dict, source: str, **headers: str) -> Answer:
    """POST JSON to the public host."""
    headers = {"Content-Type": "application/json", **headers}
    return call(front, PUBLIC, "POST", path, json.dumps(payload).encode(), headers, source)


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def certificates(directory: Path, names: Sequence[str]) -> Path:
    """A CA (directory/ca.pem) and, per name, NAME/fullchain.pem and NAME/privkey.pem
    as certbot lays them out; returns `directory`."""
    directory.mkdir(parents=True)
    ca_key, ca = directory / "ca.key", directory / "ca.pem"
    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    _openssl("req", "-x509", *key, "-keyout", str(ca_key), "-out", str(ca), "-days", "2",
             "-subj", "/CN=Fagchat throw-away test CA",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")  # fmt: skip
    for name in names:
        folder = directory / name
        folder.mkdir()
        (folder / "ext.cnf").write_text(
            f"subjectAltName=DNS:{name}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
            "keyUsage=critical,digitalSignature\nauthorityKeyIdentifier=keyid\n"
        )
        _openssl(
            "req", *key, "-keyout", str(folder / "privkey.pem"), "-out", str(folder / "req.csr"), "-subj", f"/CN={name}"
        )
        _openssl("x509", "-req", "-in", str(folder / "req.csr"), "-CA", str(ca), "-CAkey", str(ca_key),
                 "-CAcreateserial", "-days", "2", "-extfile", str(folder / "ext.cnf"),
                 "-out", str(folder / "fullchain.pem"))  # fmt: skip
    return directory


def nginx_main_conf(prefix: Path, site: Path) -> Path:
    """An nginx.conf in `prefix` whose http block is as permissive as Debian's (every TLS
    version, any cipher), so that only the included Fagchat file can refuse old TLS."""
    temp = prefix / "temp"
    temp.mkdir()
    user = ""
    if os.geteuid() == 0:  # nginx drops a root master's workers to `user`: keep them ours
        user = f"user {pwd.getpwuid(os.geteuid()).pw_name} {grp.getgrgid(os.getegid()).gr_name};"
    temps = "\n".join(
        f"    {kind}_temp_path {temp / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = prefix / "nginx.conf"
    conf.write_text(
        f"""{user}
worker_processes 1;
daemon off;
pid {prefix / "nginx.pid"};
error_log {prefix / "log" / "nginx-error.log"} notice;
events {{ worker_connections 256; }}
http {{
    # As in Debian's /etc/nginx/nginx.conf, and weaker still (@SECLEVEL=0).
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers on;
    ssl_ciphers DEFAULT:@SECLEVEL=0;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {prefix / "log" / "nginx-access.log"};
{temps}
    include {site};
}}
"""
    )
    return conf


def debian_main_conf(prefix: Path, site: Path) -> Path:
    """Debian's own /etc/nginx/nginx.conf with `site` as its only site and its logs and pid
    file in `prefix` (for `nginx -t`)."""
    text = Path("/etc/nginx/nginx.conf").read_text()
    assert "include /etc/nginx/sites-enabled/*;" in text, "Debian's nginx.conf changed"
    text = text.replace("include /etc/nginx/sites-enabled/*;", f"include {site};")
    text = text.replace("/var/log/nginx/", f"{prefix}/").replace("/run/nginx.pid", f"{prefix}/nginx.pid")
    conf = prefix / "debian-nginx.conf"
    conf.write_text(text)
    return conf


class Nginx:
    """Debian's nginx in the foreground with its own prefix, pid file and logs."""

    def __init__(self, prefix: Path, conf: Path) -> None:
        """Prepare; `start()` runs it."""
        self.prefix, self.conf = prefix, conf
        self.error_log = prefix / "log" / "nginx-error.log"
        self.proc: Optional[subprocess.Popen] = None

    @staticmethod
    def binary() -> Optional[str]:
        """nginx's path, or None when it is not installed (`make proxy-deps`)."""
        found = shutil.which("nginx") or "/usr/sbin/nginx"
        return found if os.access(found, os.X_OK) else None

    def start(self, port: int, timeout: float = 30) -> None:
        """Start nginx and wait until it accepts connections on `port`."""
        with open(self.prefix / "log" / "nginx.out", "wb") as out:
            self.proc = subprocess.Popen(
                [self.binary() or "nginx", "-p", str(self.prefix), "-c", str(self.conf), "-e", str(self.error_log)],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

        def listening() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"nginx exited: {self.error_log.read_text(errors='replace')}")
            with socket.socket() as sock:
                return sock.connect_ex(("127.0.0.1", port)) == 0

        wait_until(listening, timeout, "nginx listening")

    def stop(self) -> None:
        """Stop gracefully (SIGQUIT), or kill the process group after 15 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGQUIT)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
