"""The virtual users and what they measure: the conversations, load phases, percentiles, RSS and load average."""

import argparse
import asyncio
import os
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

import aiohttp

FALLBACK_MARK = "Beklager, jeg kan ikke svare lige nu"  # utter_service_unavailable

# Realistic conversations of a professional: greeting, questions, follow-ups, goodbye.
CONVERSATIONS = [
    ["Hej", "Hvad er stalking?", "Hvordan dokumenterer man stalking?", "Tak for hjælpen", "farvel"],
    [
        "Hej",
        "Jeg er politibetjent",
        "Er det stalking eller bare en konflikt mellem to naboer?",
        "Skal vi tilbyde mægling?",
        "Hvad siger loven om stalking?",
        "farvel",
    ],
    [
        "Hvor kan offeret få hjælp?",
        "og hvor kan krænkeren henvises til?",
        "kan jeg tale med en rådgiver hos jer om en konkret sag?",
        "tak",
    ],
    [
        "Hej",
        "hvordan vurderer jeg om hun er i fare",
        "han sender 40 sms'er om dagen og venter ved hendes arbejde",
        "hvad skal jeg skrive i journalen",
        "farvel",
    ],
    [
        "hvad er et polititilhold",
        "hvor længe gælder et tilhold",
        "hvad sker der hvis han overtræder det",
        "tak for svaret",
    ],
    [
        "Goddag, jeg er sagsbehandler i kommunen",
        "en borger fortæller at hendes eks følger efter hende",
        "hvad kan jeg gøre som kommune?",
        "hvor finder jeg mere viden",
        "tak",
    ],
]


def rss_each_kb(pid: int) -> List[int]:
    """Resident memory of `pid` and of each of its descendants (Sanic workers), KiB."""
    sizes, todo = [], [pid]
    while todo:
        each = todo.pop()
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(int(line.split()[1]))
            for task in Path(f"/proc/{each}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return sizes


def rss_kb(pid: int) -> int:
    """Resident memory of `pid` and its descendants together, KiB."""
    return sum(rss_each_kb(pid))


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def pct(values: List[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


# -- load generation -------------------------------------------------------------------------


@dataclass
class Phase:
    """What one load phase measured."""

    name: str
    users: int
    seconds: float = 0.0
    latencies: List[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    notes: Counter = field(default_factory=Counter)
    load_before: str = ""
    load_after: str = ""

    @property
    def ok(self) -> int:
        return len(self.latencies)

    def summary(self) -> Dict[str, Any]:
        return {
            "users": self.users,
            "seconds": round(self.seconds, 1),
            "messages": self.ok,
            "throughput": round(self.ok / self.seconds, 2) if self.seconds else 0,
            "p50": round(pct(self.latencies, 50), 3),
            "p95": round(pct(self.latencies, 95), 3),
            "p99": round(pct(self.latencies, 99), 3),
            "errors": sum(self.errors.values()),
            "error_kinds": dict(self.errors),
            "notes": dict(self.notes),
            "load": f"{self.load_before} -> {self.load_after}",
        }


async def talk(session: aiohttp.ClientSession, url: str, sender: str, text: str, phase: Phase) -> None:
    started = time.monotonic()
    try:
        async with session.post(url, json={"sender": sender, "message": text}) as answer:
            body = await answer.json(content_type=None)
            status = answer.status
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
        phase.errors[type(exc).__name__] += 1
        return
    took = time.monotonic() - started
    if status != 200:
        phase.errors[f"http_{status}"] += 1
        return
    phase.latencies.append(took)
    if not body or not any(m.get("text") for m in body):
        phase.notes["empty_answer"] += 1  # the stock bot predicts no utterance for some texts
    elif any(FALLBACK_MARK in (m.get("text") or "") for m in body):
        phase.notes["contact_fallback"] += 1


async def run_phase(url: str, users: int, seconds: float, name: str, max_messages: Optional[int] = None) -> Phase:
    """`users` virtual users hold conversations for `seconds` (or `max_messages` in all).

    No new message starts after `seconds`; the messages under way are waited for and
    counted, and the phase lasts until the last answer (throughput = answers / that time).
    """
    phase = Phase(name, users, load_before=load())
    rng = random.Random(users)
    timeout = aiohttp.ClientTimeout(total=180)
    sent = 0
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=0)) as session:
        started = time.monotonic()
        end = started + seconds

        async def user(index: int) -> None:
            nonlocal sent
            await asyncio.sleep(index * min(0.02, 2.0 / users))  # ramp up over at most 2 s
            while time.monotonic() < end and (max_messages is None or sent < max_messages):
                sender = f"bench-{uuid.uuid4().hex}"
                for text in rng.choice(CONVERSATIONS):
                    if time.monotonic() >= end or (max_messages is not None and sent >= max_messages):
                        return
                    sent += 1
                    await talk(session, url, sender, text, phase)

        await asyncio.gather(*(user(i) for i in range(users)))
        phase.seconds = time.monotonic() - started
    phase.load_after = load()
    return phase


def measure(url: str, label: str, args: argparse.Namespace) -> Dict[str, Any]:
    """Sequential latency, then each concurrency level; return the summaries."""
    out: Dict[str, Any] = {}
    print(f"[{label}] warm-up", flush=True)
    asyncio.run(run_phase(url, 2, 10 if not args.quick else 4, "warmup"))
    seq = asyncio.run(run_phase(url, 1, 10_000, "sequential", max_messages=args.sequential))
    out["sequential"] = seq.summary()
    print(f"[{label}] sequential {out['sequential']}", flush=True)
    for users in (50,) if args.quick else (10, 50, 200):
        phase = asyncio.run(run_phase(url, users, args.phase_seconds, f"c{users}"))
        out[f"c{users}"] = phase.summary()
        print(f"[{label}] {users} conversations {out[f'c{users}']}", flush=True)
        time.sleep(3)  # let queues drain between levels
    return out
