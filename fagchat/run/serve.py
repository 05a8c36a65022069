"""Serve one of our Sanic apps the way every Fagchat process does, on its own address.

Only the web process (demo page, widget, chat proxy) is meant for the internet: it binds
FAGCHAT_PUBLIC_HOST. Rasa, the action server and the staff app bind FAGCHAT_HOST, which
stays on loopback unless they run on other machines (docs/operations.md, "What faces the
internet"); publishing the web page must never publish them too.
"""

from typing import Tuple

from sanic import Sanic

from fagchat import settings
from fagchat.logs import configure_logging
from fagchat.ops import metrics

# The process's host and port settings, by launcher service name (fagchat/run/launcher.py).
HOST_SETTINGS = {
    "web": "FAGCHAT_PUBLIC_HOST",
    "rasa": "FAGCHAT_HOST",
    "actions": "FAGCHAT_HOST",
    "staff": "FAGCHAT_HOST",
}
PORT_SETTINGS = {
    "web": "FAGCHAT_WEB_PORT",
    "rasa": "FAGCHAT_RASA_PORT",
    "actions": "FAGCHAT_ACTIONS_PORT",
    "staff": "FAGCHAT_STAFF_PORT",
}
# A server bound to every interface is reached on loopback.
WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


def bind_address(service: str, values: settings.Settings) -> Tuple[str, int]:
    """The (host, port) service `service` listens on under the settings `values`."""
    return values.str(HOST_SETTINGS[service]), values.int(PORT_SETTINGS[service])


def local_address(service: str, values: settings.Settings) -> Tuple[str, int]:
    """The (host, port) at which the other processes reach service `service`."""
    host, port = bind_address(service, values)
    return WILDCARDS.get(host, host), port


def local_url(service: str, values: settings.Settings) -> str:
    """http://host:port of service `service` for the other processes (IPv6 in brackets)."""
    host, port = local_address(service, values)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def serve(app: Sanic, port_setting: str) -> None:
    """Run `app` on its service's address (named by `port_setting`), until stopped.

    One worker: these processes are I/O-bound. Sanic's access log stays off: our own log
    lines say what operators need, without user content. The process counts into the
    machine's shared metrics and takes its turn serving them (fagchat/ops/metrics.py).
    """
    service = next(name for name, setting in PORT_SETTINGS.items() if setting == port_setting)
    configure_logging(service)
    app.register_listener(lambda _app, _loop: metrics.start(service), "before_server_start")
    host, port = bind_address(service, settings.current())
    app.run(host=host, port=port, workers=1, access_log=False, motd=False)
