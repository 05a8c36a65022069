"""Prometheus counts of Fagchat's processes: each metric's name and meaning, and where they are served.

Counts and durations only: no label value ever comes from a user, so no text can leak
through here. The chat channel (fagchat/channel/turns.py) counts messages, answer times,
fallbacks, 112 answers, handovers, holding answers and failures; the staff app counts
logins (fagchat/staff/login.py).

Rasa runs several worker processes on one port, so a process-local count would show one
worker's share at random. Every Fagchat process of a machine therefore writes its counts
to FAGCHAT_VAR_DIR/metrics in prometheus_client's multiprocess mode (one small
memory-mapped file per process and kind), and the files are summed when read. One of
the processes serves that sum on 127.0.0.1:FAGCHAT_METRICS_PORT: each process tries to
bind the port and, while another holds it, tries again every few seconds, so whichever
processes run on a machine one serves, and another takes over when it stops. The port is
loopback only and apart from the public web port (docs/operations.md, "Health and metrics").

A process that never calls `start()` (a unit test) counts in memory; `sample()` reads either.
"""

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Mapping, Optional, Tuple, Union

from prometheus_client import CollectorRegistry, Counter, Histogram, values
from prometheus_client.exposition import start_http_server
from prometheus_client.multiprocess import MultiProcessCollector

from fagchat import settings

logger = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
RETRY_SECONDS = 2.0  # how soon another process takes over the port when its server stops
# Seconds; the holding answer goes out at FAGCHAT_HOLDING_SECONDS (4 by default).
LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0)


@dataclass(frozen=True)
class Spec:
    """One metric: its full exposed name, kind, meaning and the only values its labels take."""

    name: str
    kind: str  # "counter" or "histogram"
    help: str
    labels: Mapping[str, Tuple[str, ...]] = field(default_factory=dict)


SPECS: Tuple[Spec, ...] = (
    Spec(
        "fagchat_messages_received_total",
        "counter",
        "Chat messages that reached the bot (valid and not empty).",
    ),
    Spec(
        "fagchat_answer_latency_seconds",
        "histogram",
        "Seconds from a message's arrival until the bot's answer was ready, also when it came "
        "after the holding answer.",
    ),
    Spec(
        "fagchat_nlu_fallbacks_total",
        "counter",
        "Messages the bot did not understand: answered with did-you-mean, 'still unsure' or the default answer.",
    ),
    Spec("fagchat_danger_answers_total", "counter", "Acute-danger (112) answers given."),
    Spec("fagchat_handovers_total", "counter", "Answers that hand the case over to the centre's staff."),
    Spec(
        "fagchat_holding_answers_total",
        "counter",
        "Holding answers sent because the bot took longer than FAGCHAT_HOLDING_SECONDS.",
    ),
    Spec(
        "fagchat_tracker_store_errors_total",
        "counter",
        "Chat messages and votes not stored because the conversation database failed.",
    ),
    Spec(
        "fagchat_lock_store_errors_total",
        "counter",
        "Chat messages and votes not stored because the lock store (SQLite file or Redis) failed.",
    ),
    Spec(
        "fagchat_action_server_errors_total",
        "counter",
        "Messages the bot gave no answer to (action server down, slow or failing): the user got the contact details.",
    ),
    Spec(
        "fagchat_chat_errors_total",
        "counter",
        "Messages whose processing raised an unexpected error (a bug): the user got the contact details.",
    ),
    Spec(
        "fagchat_staff_logins_total",
        "counter",
        "Staff login attempts by result: ok, failed (wrong name or password), locked (refused, too many failures).",
        {"result": ("ok", "failed", "locked")},
    ),
)
BY_NAME: Dict[str, Spec] = {spec.name: spec for spec in SPECS}
Metric = Union[Counter, Histogram]


class _Metrics:
    """The metric objects of this process, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.objects: Dict[str, Metric] = {}
        for spec in SPECS:
            names = tuple(spec.labels)
            if spec.kind == "histogram":
                metric: Metric = Histogram(spec.name, spec.help, names, registry=self.registry, buckets=LATENCY_BUCKETS)
            else:
                metric = Counter(spec.name, spec.help, names, registry=self.registry)
            for label_values in _combinations(spec.labels):
                metric.labels(*label_values)  # every series exists at 0, so a first failure shows as an increase
            self.objects[spec.name] = metric


def _combinations(labels: Mapping[str, Tuple[str, ...]]) -> Tuple[Tuple[str, ...], ...]:
    combos: Tuple[Tuple[str, ...], ...] = ((),)
    for choices in labels.values():
        combos = tuple(c + (v,) for c in combos for v in choices)
    return combos if labels else ()


_lock = threading.Lock()
_current: Optional[_Metrics] = None
_directory: Optional[Path] = None


def _metrics() -> _Metrics:
    global _current
    with _lock:
        if _current is None:
            _current = _Metrics()
        return _current


def _metric(name: str, labels: Mapping[str, str]) -> Metric:
    spec = BY_NAME[name]
    if set(labels) != set(spec.labels) or any(labels[k] not in spec.labels[k] for k in labels):
        raise ValueError(f"{name} takes the labels {dict(spec.labels)}, got {dict(labels)}")
    metric = _metrics().objects[name]
    return metric.labels(**labels) if labels else metric


def inc(name: str, **labels: str) -> None:
    """Add one to counter `name` (labels only from its Spec's fixed values)."""
    _metric(name, labels).inc()


def observe(name: str, value: float) -> None:
    """Record `value` in histogram `name`."""
    _metric(name, {}).observe(value)


def use_directory(directory: Path) -> None:
    """Count into the shared files in `directory` from now on (once per process).

    prometheus_client reads its directory from PROMETHEUS_MULTIPROC_DIR when it creates a
    file, so the variable is written here (it is not a Fagchat setting: nobody sets it).
    """
    global _current, _directory
    with _lock:
        if _directory is not None:
            if _directory != directory:
                raise RuntimeError(f"metrics already count into {_directory}")
            return
        directory.mkdir(parents=True, exist_ok=True)
        _sweep(directory)
        os.environ.update(PROMETHEUS_MULTIPROC_DIR=str(directory))
        values.ValueClass = values.MultiProcessValue()
        _directory, _current = directory, None  # recreated with file-backed values on next use
    _metrics()


def _sweep(directory: Path) -> None:
    """Remove the files of stopped processes when no other process of the machine is counting.

    A stopped process's counts stay in the sum while any other process runs, so a total
    never falls (a fall looks like a reset to Prometheus and spikes rate()); once every
    process has stopped, the next start begins again at zero, which is a clean reset.
    """
    files = [(path, _pid_of(path)) for path in directory.glob("*.db")]
    if any(pid != os.getpid() and _alive(pid) for _, pid in files):
        return
    for path, _ in files:
        path.unlink(missing_ok=True)


def _pid_of(path: Path) -> int:
    tail = path.stem.rsplit("_", 1)[-1]
    return int(tail) if tail.isdigit() else -1


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def directory_of(values_: settings.Settings) -> Path:
    """Where the processes of FAGCHAT_VAR_DIR keep their counts."""
    return values_.path("FAGCHAT_VAR_DIR") / "metrics"


def start(service: str) -> None:
    """Count into the machine's shared files and take part in serving them (each real process).

    Call once the process serves (after Sanic's fork): a thread started before a fork
    lives on in the parent only.
    """
    values_ = settings.current()
    directory = directory_of(values_)
    use_directory(directory)
    port = values_.int("FAGCHAT_METRICS_PORT")
    if port:
        threading.Thread(target=serve, args=(port, directory), name="fagchat-metrics", daemon=True).start()
    logger.info("metrics.start service=%s port=%s", service, port or "off")


def serve(port: int, directory: Path, retry: float = RETRY_SECONDS) -> None:
    """Serve the sum of `directory` on 127.0.0.1:`port` once the port is free (blocks until then)."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory))
    while True:
        try:
            start_http_server(port, addr=LOOPBACK, registry=registry)
        except OSError:  # another Fagchat process serves it (or something else holds the port)
            time.sleep(retry)
            continue
        logger.info("metrics.serving address=%s:%s", LOOPBACK, port)
        return


def sample(name: str, directory: Optional[Path] = None, **labels: str) -> float:
    """The current value of series `name` (0 when absent): this process's, or the sum in `directory`.

    `name` is the exposed sample name, e.g. fagchat_answer_latency_seconds_count.
    """
    if directory is None and _directory is None:
        registry = _metrics().registry
    else:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(directory or _directory))
    return registry.get_sample_value(name, labels) or 0.0
