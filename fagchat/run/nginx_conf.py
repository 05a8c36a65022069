"""Render the nginx TLS front (deploy/nginx/fagchat.conf) for this machine's settings.

    python -m fagchat.run.nginx_conf --public-name chat.example.dk \\
        --staff-name fagchat-staff.example.dk > /etc/nginx/sites-available/fagchat

Host names, certificates and what nginx listens on are options; the upstream ports, the
body limit, the timeouts and the security headers come from Fagchat's own settings and
modules, so the proxy always matches the processes behind it. A Python renderer rather
than `envsubst`: nginx's own `$variables` would clash with a shell template, and the
values are computed (timeouts longer than the web process's, headers from httpkit).
Problems with the settings behind a proxy (trusted proxies, Secure cookies) are printed
as warnings on stderr.
"""

import argparse
import ipaddress
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

from fagchat import httpkit, settings
from fagchat.run.serve import local_address

TEMPLATE = settings.ROOT / "deploy" / "nginx" / "fagchat.conf"
# The staff app sends the same value itself when its cookies are Secure (fagchat/staff/app.py).
HSTS = "max-age=31536000"
# Mozilla's "intermediate" TLS 1.2 ciphers (forward secrecy, AEAD), without DHE so no
# dhparam file is needed; TLS 1.3 brings its own.
CIPHERS = (
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
)
# Repeated in every HTTPS server: Debian's nginx.conf allows TLSv1 and up in its http block,
# and a second ssl_protocols there would add to that list; a server's own replaces it.
TLS = [
    "ssl_protocols TLSv1.2 TLSv1.3;",
    f"ssl_ciphers {CIPHERS};",
    "ssl_prefer_server_ciphers off;",
    "ssl_session_cache shared:fagchat_tls:10m;",
    "ssl_session_timeout 1d;",
    "ssl_session_tickets off;",
]
TIMEOUT_MARGIN = 10  # seconds nginx waits beyond the web process's own longest wait
_NAME = re.compile(r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")
_PATH = re.compile(r"^/[A-Za-z0-9_./@+-]*$")  # nothing that could end an nginx directive
_PLACEHOLDER = re.compile(r"@[A-Z_]+@")


@dataclass(frozen=True)
class Front:
    """What the centre decides about its TLS front (the rest comes from the settings)."""

    public_name: str
    staff_name: str
    cert_dir: str = "/etc/letsencrypt/live"  # NAME/fullchain.pem and NAME/privkey.pem below it
    https_port: int = 443
    http_port: int = 80
    listen: Tuple[str, ...] = ("0.0.0.0", "[::]")
    staff_allow: Tuple[str, ...] = ()  # addresses or ranges that may reach the staff app; empty: all
    acme_webroot: Optional[str] = None  # serve /.well-known/acme-challenge/ from here over HTTP
    log_dir: str = "/var/log/nginx"


def check(front: Front) -> None:
    """Stop with a message naming the option when `front` cannot be rendered safely."""
    for option, name in (("--public-name", front.public_name), ("--staff-name", front.staff_name)):
        if not _NAME.match(name):
            raise SystemExit(f"{option}: {name!r} is not a host name (lower-case letters, digits, '-' and '.')")
    if front.public_name == front.staff_name:
        raise SystemExit("--staff-name must differ from --public-name: the staff app never shares the chat's origin")
    for option, path in (
        ("--cert-dir", front.cert_dir),
        ("--log-dir", front.log_dir),
        ("--acme-webroot", front.acme_webroot),
    ):
        if path is not None and not _PATH.match(path):
            raise SystemExit(f"{option}: {path!r} must be an absolute path without spaces or quotes")
    for entry in front.staff_allow:
        httpkit.proxy_networks([entry], "--staff-allow")
    for address in front.listen:
        try:
            ipaddress.ip_address(address.strip("[]"))
        except ValueError:
            raise SystemExit(f"--listen: {address!r} is not an IP address") from None


def chat_timeout(values: settings.Settings) -> int:
    """Seconds nginx waits for the web process: longer than anything the web process waits."""
    longest = max(values.float("FAGCHAT_PROXY_TIMEOUT"), values.float("FAGCHAT_HOLDING_SECONDS"))
    return math.ceil(longest) + TIMEOUT_MARGIN


def _upstream(service: str, values: settings.Settings) -> str:
    host, port = local_address(service, values)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _authority(name: str, port: int) -> str:
    return name if port == 443 else f"{name}:{port}"


def _listen(front: Front, port: int, options: str) -> List[str]:
    return [f"listen {address}:{port}{options};" for address in front.listen]


def _headers() -> List[str]:
    """HSTS and httpkit's headers: upstream copies hidden, one copy added to every answer."""
    lines = []
    for name, value in {"Strict-Transport-Security": HSTS, **httpkit.SECURITY_HEADERS}.items():
        lines += [f"proxy_hide_header {name};", f'add_header {name} "{value}" always;']
    return lines


def _staff_access(front: Front) -> List[str]:
    if not front.staff_allow:
        return ["# Reachable from every address; --staff-allow limits it to the centre's networks."]
    return [f"allow {entry};" for entry in front.staff_allow] + ["deny all;"]


def _acme(front: Front) -> List[str]:
    if front.acme_webroot is None:
        return []
    return [
        "location ^~ /.well-known/acme-challenge/ {",
        f"    root {front.acme_webroot};",
        "    default_type text/plain;",
        "}",
    ]


def values_for(front: Front, values: settings.Settings) -> Dict[str, Union[str, List[str]]]:
    """Every placeholder's value: a string, or lines that replace a placeholder's own line."""
    from fagchat.staff.app import CSP as STAFF_CSP  # the staff app's imports, only when rendering

    port_suffix = "" if front.https_port == 443 else f":{front.https_port}"
    return {
        "WEB_UPSTREAM": _upstream("web", values),
        "STAFF_UPSTREAM": _upstream("staff", values),
        "LOG_DIR": front.log_dir,
        "CERT_DIR": front.cert_dir,
        "PUBLIC_NAME": front.public_name,
        "STAFF_NAME": front.staff_name,
        "PUBLIC_AUTHORITY": _authority(front.public_name, front.https_port),
        "STAFF_AUTHORITY": _authority(front.staff_name, front.https_port),
        "HTTPS_PORT_SUFFIX": port_suffix,
        "HTTP_LISTEN_DEFAULT": _listen(front, front.http_port, " default_server"),
        "HTTP_LISTEN": _listen(front, front.http_port, ""),
        "HTTPS_LISTEN_DEFAULT": _listen(front, front.https_port, " ssl http2 default_server"),
        "HTTPS_LISTEN": _listen(front, front.https_port, " ssl http2"),
        "TLS": TLS,
        "MAX_BODY": str(values.int("FAGCHAT_MAX_BODY_BYTES")),
        "CHAT_TIMEOUT": str(chat_timeout(values)),
        "COMMON_HEADERS": _headers(),
        "STAFF_CSP": STAFF_CSP,
        "STAFF_ACCESS": _staff_access(front),
        "ACME_LOCATION": _acme(front),
    }


def render(front: Front, values: settings.Settings, template: Path = TEMPLATE) -> str:
    """The nginx configuration for `front` under the settings `values`."""
    check(front)
    fill = values_for(front, values)
    out = ["# Rendered by `python -m fagchat.run.nginx_conf` from deploy/nginx/fagchat.conf: edit that, not this."]
    for line in template.read_text().splitlines():
        sole = line.strip()
        if sole.startswith("#"):
            out.append(line)
        elif sole.startswith("@") and sole.endswith("@") and isinstance(fill.get(sole.strip("@")), list):
            indent = line[: len(line) - len(line.lstrip())]
            out += [indent + item for item in fill[sole.strip("@")]]
        else:
            out.append(_PLACEHOLDER.sub(lambda m: _scalar(fill, m.group(0)), line))
    return "\n".join(out) + "\n"


def _scalar(fill: Dict[str, Union[str, List[str]]], placeholder: str) -> str:
    value = fill.get(placeholder.strip("@"))
    if not isinstance(value, str):
        raise ValueError(f"{TEMPLATE.name}: {placeholder} is unknown or must stand on a line of its own")
    return value


def warnings(values: settings.Settings) -> List[str]:
    """What in the settings defeats the proxy: untrusted proxy address, cookies not Secure."""
    found = []
    for setting, service in (("FAGCHAT_WEB_TRUSTED_PROXIES", "web"), ("FAGCHAT_STAFF_TRUSTED_PROXIES", "staff")):
        # nginx connects from the loopback address of the upstream's family.
        peer = ipaddress.ip_address("::1" if ":" in local_address(service, values)[0] else "127.0.0.1")
        trusted = httpkit.proxy_networks(values.list(setting), setting)
        if not any(peer in network for network in trusted):
            found.append(f"set {setting}={peer}: otherwise every visitor has nginx's address")
    if not values.flag("FAGCHAT_STAFF_SECURE_COOKIE"):
        found.append("set FAGCHAT_STAFF_SECURE_COOKIE=1 (the default): behind HTTPS the staff cookies must be Secure")
    return found


def parse(argv: Optional[Sequence[str]] = None) -> Tuple[Front, Optional[Path]]:
    """The options as a Front, and the output file (None: stdout)."""
    parser = argparse.ArgumentParser(prog="python -m fagchat.run.nginx_conf", description=__doc__.split("\n\n")[0])
    parser.add_argument("--public-name", required=True, help="host name of the public chat, e.g. chat.example.dk")
    parser.add_argument("--staff-name", required=True, help="host name of the staff app (never the public one)")
    parser.add_argument("--cert-dir", default=Front.cert_dir, help="holds NAME/fullchain.pem and NAME/privkey.pem")
    parser.add_argument("--https-port", type=int, default=Front.https_port)
    parser.add_argument("--http-port", type=int, default=Front.http_port)
    parser.add_argument("--listen", action="append", help="address to listen on (repeatable; default 0.0.0.0 and [::])")
    parser.add_argument("--staff-allow", action="append", default=[], help="address or range allowed to the staff app")
    parser.add_argument("--acme-webroot", help="serve Let's Encrypt's HTTP challenge from this directory")
    parser.add_argument("--log-dir", default=Front.log_dir)
    parser.add_argument("--out", type=Path, help="write here instead of stdout")
    args = parser.parse_args(argv)
    front = Front(
        public_name=args.public_name.lower(),
        staff_name=args.staff_name.lower(),
        cert_dir=args.cert_dir.rstrip("/") or "/",
        https_port=args.https_port,
        http_port=args.http_port,
        listen=tuple(args.listen or Front.listen),
        staff_allow=tuple(args.staff_allow),
        acme_webroot=args.acme_webroot,
        log_dir=args.log_dir.rstrip("/") or "/",
    )
    return front, args.out


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Render the configuration to --out or stdout; print warnings about the settings."""
    front, out = parse(argv)
    values = settings.current()
    text = render(front, values)
    for warning in warnings(values):
        print(f"warning: {warning}", file=sys.stderr)
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
