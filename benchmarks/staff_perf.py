"""How fast the staff app lists, filters and opens conversations in a large database.

    python benchmarks/staff_perf.py                      # 100,000 conversations, SQLite
    python benchmarks/staff_perf.py --conversations 5000 --url postgresql://u:p@host/db
    make staff-perf

Fills a fresh database with conversations in Rasa's exact event shape (the event JSON
comes from Rasa's own event classes via `tests.staff_sample`; rows are bulk-inserted,
which is much faster than saving trackers one by one), lets the staff app's indexer
build its summary tables, then starts the real staff app (`python -m fagchat.staff`) and
times HTTP requests of a signed-in user: the inbox, every filter, deep pages, a
conversation, plus the other pages for reference. Each request runs several times; the
median and the slowest are reported. The issue's bar: list, filter and open under 1 s.
"""

import argparse
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Dict, List, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from fagchat.staff import db_accounts, indexer, retention, schema
from fagchat.staff.auth import hash_password  # noqa: E402
from fagchat.staff.engine import connect  # noqa: E402
from tests import staff_sample as sample  # noqa: E402

DAY = 86400
TS = "__TS__"
REQUESTS: List[Tuple[str, str, str]] = [
    ("list", "inbox, page 1", "/"),
    ("list", "inbox, page 100", "/?page=100"),
    ("list", "inbox, last page (200)", "/?page=200"),
    ("filter", "fallback", "/?fallback=1"),
    ("filter", "👎 given", "/?thumbs_down=1"),
    ("filter", "handover", "/?handover=1"),
    ("filter", "acute danger", "/?acute=1"),
    ("filter", "confidence < 0.6", "/?below=0.6"),
    ("filter", "topic (law_and_police)", "/?topic=law_and_police"),
    ("filter", "topic (rare: about_dsc)", "/?topic=about_dsc"),
    ("filter", "role (kommune)", "/?role=kommune"),
    ("filter", "date range (7 days)", "/?from={d7}&to={d0}"),
    (
        "filter",
        "all filters combined",
        "/?from={d30}&to={d0}&thumbs_down=1&below=0.6&role=kommune&topic=law_and_police",
    ),
    ("filter", "combined, page 20", "/?fallback=1&below=0.6&page=20"),
    ("open", "a conversation in the middle", "/conversation/?id=perf-{mid:06d}"),
    ("open", "the last conversation", "/conversation/?id=perf-{last:06d}"),
    ("other", "review queue", "/review/"),
    ("other", "review queue, 👎 only", "/review/?reason=down"),
    ("other", "dashboard, 30 days", "/dashboard/?days=30"),
    ("other", "dashboard, 90 days", "/dashboard/?days=90"),
    ("other", "knowledge view", "/knowledge/"),
]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def templates() -> List[List[Tuple[dict, str]]]:
    """Each scenario's events as (row columns, JSON with a timestamp placeholder)."""
    out = []
    for turns in sample.SCENARIOS:
        events = []
        for event in sample._events(turns, 0.0):
            data = event.as_dict()
            offset = data["timestamp"]
            data["timestamp"] = TS
            intent = (data.get("parse_data") or {}).get("intent", {}).get("name")
            cols = {"type_name": data["event"], "intent_name": intent, "action_name": data.get("name")}
            events.append(({**cols, "offset": offset}, json.dumps(data).replace(f'"{TS}"', TS)))
        out.append(events)
    return out


def fill(engine, count: int, now: float, days: int, seed: int = 11) -> int:
    """Bulk-insert `count` conversations spread over `days` days; return the event count."""
    rng, scenarios, total, batch = random.Random(seed), templates(), 0, []
    for i in range(count):
        start = now - rng.uniform(60, days * DAY)
        for cols, data in rng.choice(scenarios):
            ts = start + cols["offset"]
            batch.append(
                {
                    "sender_id": f"perf-{i:06d}",
                    "type_name": cols["type_name"],
                    "timestamp": ts,
                    "intent_name": cols["intent_name"],
                    "action_name": cols["action_name"],
                    "data": data.replace(TS, repr(ts)),
                }
            )
        if len(batch) >= 20000 or i == count - 1:
            with engine.begin() as conn:
                conn.execute(schema.events.insert(), batch)
            total += len(batch)
            batch = []
    return total


def count_events(engine) -> int:
    """Events in the database."""
    with engine.begin() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(schema.events)).scalar()


class Client:
    """A signed-in HTTP client of the running staff app."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def get(self, path: str) -> Tuple[int, str]:
        with self.opener.open(self.base + path, timeout=60) as resp:
            return resp.status, resp.read().decode()

    def login(self, username: str, password: str) -> None:
        _, page = self.get("/login")
        token = re.search(r'name="login_token" value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode({"login_token": token, "username": username, "password": password})
        with self.opener.open(self.base + "/login", data=form.encode(), timeout=60) as resp:
            assert resp.status == 200 and "Indbakke" in resp.read().decode(), "login failed"


def measure(client: Client, runs: int, values: Dict[str, object]) -> List[Tuple[str, str, float, float]]:
    """(kind, name, median s, max s) per request."""
    results = []
    for kind, name, path in REQUESTS:
        path = path.format(**values)
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            status, body = client.get(path)
            times.append(time.perf_counter() - start)
            assert status == 200 and "Det gik ikke" not in body, (path, status)
        results.append((kind, name, statistics.median(times), max(times)))
    return results


def main() -> int:
    """Parse the arguments and run in a temporary folder."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--url", help="database URL (default: a new SQLite file in a temp folder)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="measure a database filled by an earlier run")
    parser.add_argument("--keep", action="store_true", help="keep the temporary SQLite file")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="fagchat-staff-perf-"))
    url = args.url or f"sqlite:///{folder / 'perf.db'}"
    try:
        return run(args, url)
    finally:
        if args.keep:
            print(f"kept {url}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def run(args: argparse.Namespace, url: str) -> int:
    """Fill (unless reusing), index, serve, measure, report."""
    engine = connect(url, timeout_ms=600_000)
    with engine.begin() as conn:
        filled = conn.execute(schema.events.select().limit(1)).first() is not None
        if filled and not args.reuse:
            raise SystemExit(f"{url} is not empty: use a fresh database (or --reuse).")
        if filled:
            first, last = conn.execute(
                sa.select(sa.func.min(schema.events.c.timestamp), sa.func.max(schema.events.c.timestamp))
            ).one()
            args.conversations = conn.execute(sa.select(sa.func.count()).select_from(schema.conversations)).scalar()
    now = time.time() if not filled else last + 60
    t0 = time.perf_counter()
    events = fill(engine, args.conversations, now, days=85) if not filled else count_events(engine)
    t1 = time.perf_counter()
    print(f"filled {args.conversations:,} conversations / {events:,} events in {t1 - t0:.1f} s", flush=True)
    from fagchat.staff.config import StaffConfig

    config = StaffConfig.from_settings({"db_url": url})
    indexed = indexer.catch_up(engine, indexer.day_function(config.tz))
    t2 = time.perf_counter()
    print(f"indexed {indexed:,} events in {t2 - t1:.1f} s ({indexed / (t2 - t1):,.0f} events/s)", flush=True)
    retention.purge(engine, 90)
    t3 = time.perf_counter()
    print(f"retention purge scan (nothing to delete): {t3 - t2:.2f} s", flush=True)
    with engine.begin() as conn:
        if not db_accounts.get_user(conn, "perf"):
            db_accounts.create_user(conn, "perf", hash_password("benchmark-password"), now)
    engine.dispose()

    port = free_port()
    env = {
        **os.environ,
        "FAGCHAT_DB_URL": url,
        "FAGCHAT_STAFF_PORT": str(port),
        "FAGCHAT_LOG_LEVEL": "WARNING",
        "FAGCHAT_STAFF_SECURE_COOKIE": "0",  # plain HTTP on loopback: the client must get the cookie back
        "PYTHONPATH": str(ROOT),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "fagchat.staff"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(240):
            try:
                if urllib.request.urlopen(base + "/healthz", timeout=2).status == 200:
                    break
            except OSError:
                time.sleep(0.5)
        client = Client(base)
        client.login("perf", "benchmark-password")
        day = lambda n: time.strftime("%Y-%m-%d", time.localtime(now - n * DAY))  # noqa: E731
        values = {
            "d0": day(0),
            "d7": day(7),
            "d30": day(30),
            "mid": args.conversations // 2,
            "last": args.conversations - 1,
        }
        results = measure(client, args.runs, values)
    finally:
        server.terminate()
        server.wait(timeout=30)
    backend = url.split(":", 1)[0]
    print(
        f"\n{args.conversations:,} conversations, {events:,} events, {backend}; "
        f"HTTP request of a signed-in user, {args.runs} runs each\n"
    )
    print("| kind | request | median | slowest |\n|---|---|---:|---:|")
    for kind, name, median, worst in results:
        print(f"| {kind} | {name} | {median * 1000:.0f} ms | {worst * 1000:.0f} ms |")
    slow = [name for kind, name, _, worst in results if kind != "other" and worst >= 1.0]
    print("\nlist/filter/open all under 1 s" if not slow else f"\nOVER 1 s: {', '.join(slow)}")
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
