"""What our three Sanic processes share: security headers, the Danish error table, errors,
and whose request it is behind a reverse proxy (`client_address`).

The Rasa chat channel, the web process and the staff app each answer errors in their own
form (JSON for code, HTML for people), but from one table, with one rule for logging:
a 5xx logs the exception's type only, since its text can quote the request.
"""

import ipaddress
import logging
from typing import Dict, Iterable, Mapping, Optional, Tuple, Union

from sanic import response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

# On every answer of every process; each adds its own Content-Security-Policy.
SECURITY_HEADERS: Mapping[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}
# Status -> (machine code, Danish message for the user).
ERRORS: Mapping[int, Tuple[str, str]] = {
    400: ("bad_request", "Forespørgslen kunne ikke læses. Prøv igen."),
    403: ("forbidden", "Adgang nægtet."),
    404: ("not_found", "Siden findes ikke."),
    405: ("method_not_allowed", "Den handling er ikke mulig her."),
    413: ("too_large", "Beskeden er for stor."),
    429: ("too_many_requests", "For mange forsøg. Prøv igen senere."),
    500: ("server_error", "Der skete en fejl hos os. Prøv igen om lidt."),
}
Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
MAX_FORWARDED_HOPS = 20  # X-Forwarded-For entries read at most; a longer header is padding


def error_status(exception: Exception) -> int:
    """The HTTP status an exception stands for: Sanic's own, else 500."""
    return exception.status_code if isinstance(exception, SanicException) else 500


def describe(status: int) -> Tuple[str, str]:
    """(code, Danish message) for a status; unknown 4xx read as 400, 5xx as 500."""
    return ERRORS.get(status) or ERRORS[500 if status >= 500 else 400]


def exception_headers(exception: Exception) -> Dict[str, str]:
    """Headers an exception carries for the client (e.g. Allow on 405)."""
    return dict(getattr(exception, "headers", None) or {})


def log_server_error(logger: logging.Logger, event: str, request: Request, exception: Exception) -> None:
    """One ERROR line for a 5xx: the path and the exception's type, never its text."""
    logger.error("%s status=500 path=%s error=%s", event, request.path, type(exception).__name__)
    logger.debug("%s traceback", event, exc_info=exception)


def json_error(status: int, code: str, message: str, headers: Mapping[str, str] = ()) -> HTTPResponse:
    """A JSON error with a machine code and a Danish message for the user."""
    return response.json({"error": code, "message": message}, status=status, headers=dict(headers))


def add_headers(answer: HTTPResponse, headers: Mapping[str, str]) -> None:
    """Set each header the answer does not set itself."""
    for name, value in headers.items():
        answer.headers.setdefault(name, value)


def proxy_networks(entries: Iterable[str], setting: str) -> Tuple[Network, ...]:
    """The trusted reverse proxies of a setting (addresses or CIDR ranges).

    A malformed entry stops the process with a message naming `setting`.
    """
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise SystemExit(f"Setting {setting}: {entry!r} is neither an IP address nor a CIDR range") from None
    return tuple(networks)


def _ip(text: str) -> Optional[Union[ipaddress.IPv4Address, ipaddress.IPv6Address]]:
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


def client_address(peer: str, forwarded_for: Optional[str], proxies: Tuple[Network, ...]) -> str:
    """Whose request it is: the socket peer, or behind trusted proxies the client they name.

    X-Forwarded-For is believed only when the peer is one of `proxies`, since anyone can
    send the header. Each proxy appends the address it was called from, so the header is
    read from the right, past the trusted hops; the first other address is the client.
    Entries further left were written by the client and prove nothing.

    Args:
        peer: The connection's own address (Sanic's `request.ip`).
        forwarded_for: The X-Forwarded-For header(s), comma-separated, or None.
        proxies: Trusted proxies (`proxy_networks()`); empty: the header is never read.

    Returns:
        The client's address; the last trusted hop when the chain ends in one or in an
        entry that is not an address.
    """

    def trusted(address: object) -> bool:
        return address is not None and any(address in network for network in proxies)

    client = peer[:64]
    if not (proxies and forwarded_for and trusted(_ip(peer))):
        return client
    for entry in reversed(forwarded_for.split(",")[-MAX_FORWARDED_HOPS:]):
        address = _ip(entry)
        if address is None:
            break
        client = str(address)
        if not trusted(address):
            break
    return client
