"""Turning the raw results into benchmarks/results.md: the py-spy profile summary, ratios, goal rows, the report text."""

import argparse
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List

BUCKETS = [
    ("TensorFlow (DIET/TED inference)", ("tensorflow", "keras")),
    ("spaCy tokenizer/lemmatizer", ("spacy", "thinc")),
    ("scikit-learn/scipy featurizers", ("sklearn", "scipy")),
    ("SQL tracker store (SQLAlchemy, driver)", ("sqlalchemy", "sqlite3", "psycopg2")),
    ("Redis lock store", ("redis",)),
    ("action server calls (aiohttp)", ("aiohttp",)),
    ("Rasa policies/featurization", ("rasa/core/policies", "rasa/core/featurizers", "rasa/utils/tensorflow")),
    ("Rasa NLU components", ("rasa/nlu",)),
    ("Rasa tracker/events (de)serialization", ("rasa/shared/core", "rasa/core/tracker_store")),
    ("Rasa graph/processor", ("rasa/engine", "rasa/core/processor", "rasa/core/agent")),
    ("Fagchat channel and stores", ("fagchat/",)),
    ("Sanic/asyncio/HTTP", ("sanic", "asyncio", "uvloop", "httptools")),
]


# Leaf frames of threads that wait, not work: Sanic's main process waiting for its workers,
# an idle thread-pool worker blocked on its queue (work would have deeper frames), the
# metrics thread. Without this a 2-worker profile was one third idle threads.
WAITING = ("popen_fork.py", "concurrent/futures/thread.py", "fagchat/ops/metrics.py")


def summarize_profile(path: Path) -> Dict[str, Any]:
    """Where the samples go, from py-spy's collapsed stacks.

    Each sample counts once, for the area of the deepest frame that belongs to one (a
    TensorFlow frame under DIET counts as TensorFlow); `self` is the leaf function.
    """
    total, areas, leaves = 0, Counter(), Counter()
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        if any(waiting in frames[-1] for waiting in WAITING):
            continue  # a thread that waits, seen as busy by py-spy's --nonblocking sampling
        total += n
        leaves[frames[-1]] += n
        for frame in reversed(frames):
            name = next((name for name, needles in BUCKETS if any(needle in frame for needle in needles)), None)
            if name:
                areas[name] += n
                break
        else:
            areas["other"] += n
    share = {name: round(100 * c / total, 1) for name, c in areas.most_common()} if total else {}
    top = [(f, round(100 * c / total, 1)) for f, c in leaves.most_common(15)] if total else []
    return {"samples": total, "areas": share, "self": top}


# -- the report ------------------------------------------------------------------------------


def normalize(data: Dict[str, Any]) -> None:
    """Count empty and fallback answers as answers with a note (older runs called them errors)."""
    for figures in (data.get(k, {}) for k in ("stock", "embedded", "single", "scaled")):
        for phase in [v for k, v in figures.items() if isinstance(v, dict) and "throughput" in v]:
            if "notes" in phase:
                continue
            kinds = phase.get("error_kinds", {})
            phase["notes"] = {k: kinds.pop(k) for k in ("empty_answer", "contact_fallback") if k in kinds}
            phase["messages"] += sum(phase["notes"].values())
            phase["errors"] -= sum(phase["notes"].values())
            phase["throughput"] = round(phase["messages"] / phase["seconds"], 2) if phase["seconds"] else 0


def notes_text(phase: Dict[str, Any]) -> str:
    notes = phase.get("notes", {})
    return ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in notes.items() if v) or "–"


def goal_rows(stock: Dict[str, Any], fag: Dict[str, Any], name: str) -> List[str]:
    """The goals of issue 14 for one Fagchat variant against stock, as table rows."""
    if not (stock.get("c50") and fag.get("c50")):
        return []
    rows = []

    def row(goal: str, target: str, value: float, detail: str, met: bool) -> None:
        rows.append(f"| {name}: {goal} | {target} | {value:.2f}× ({detail}) | {'yes' if met else 'no'} |")

    s50, f50 = stock["c50"], fag["c50"]
    t = f50["throughput"] / s50["throughput"] if s50["throughput"] else 0
    row("throughput at 50 conversations", "≥ 1.5×", t, f"{f50['throughput']} vs {s50['throughput']} msg/s", t >= 1.5)
    p = f50["p50"] / s50["p50"] if s50["p50"] else 0
    row("p50 at 50 conversations", "≤ 1.0×", p, f"{f50['p50']} vs {s50['p50']} s", p <= 1.0)
    if stock.get("sequential") and fag.get("sequential"):
        q = fag["sequential"]["p50"] / stock["sequential"]["p50"] if stock["sequential"]["p50"] else 0
        detail = f"{fag['sequential']['p50']} vs {stock['sequential']['p50']} s"
        row("sequential p50", "≤ 1.0×", q, detail, q <= 1.0)
    if stock.get("rasa_process_rss_kb") and fag.get("rasa_process_rss_kb"):
        m = fag["rasa_process_rss_kb"] / stock["rasa_process_rss_kb"]
        detail = (
            f"{fag['rasa_process_rss_kb'] / 1024:.0f} vs {stock['rasa_process_rss_kb'] / 1024:.0f} MiB, largest process"
        )
        row("Rasa process RSS", "≤ 1.0×", m, detail, m <= 1.0)
    failed = f50["errors"] + f50.get("notes", {}).get("contact_fallback", 0)
    met = "yes" if not failed else "no"
    rows.append(f"| {name}: errors (and contact fallbacks) at 50 conversations | 0 | {failed} | {met} |")
    return rows


def report(data: Dict[str, Any], args: argparse.Namespace) -> str:
    normalize(data)
    stock, emb, sc = data.get("stock", {}), data.get("embedded", {}), data.get("scaled", {})
    single = data.get("single", {})
    assistants = (
        ("stock rasa init", stock),
        ("Fagchat embedded (2 Rasa workers)", emb),
        ("Fagchat, one Rasa process", single),
        ("Fagchat scale-out", sc),
    )
    lines = [
        "# Benchmark results",
        "",
        f"Written by `make bench` (`{data.get('command', 'python benchmarks/bench.py')}`) "
        f"on {data['date']}: {data['machine']}. Load average (1/5/15 min) at start {data['load_start']}, "
        f"at end {data['load_end']}; a figure above 2 means other processes shared the 2 cores, "
        "so absolute numbers are pessimistic and ratios within one run are what to compare.",
        "",
        "Load: virtual users hold realistic Danish multi-turn conversations (benchmarks/load.py) over the REST "
        "chat channel, a fresh sender per conversation; the load generator runs on the same machine. Each "
        f"concurrency level starts messages for {args.phase_seconds:.0f} s and then waits for the answers under "
        "way; throughput is answers (HTTP 200) per second over the whole phase. An error is a non-200 or a "
        "timeout; empty answers (the stock bot predicts no utterance for some of the Danish texts) and "
        "Fagchat's contact-details fallback are counted as answers and listed. Fagchat runs with "
        "FAGCHAT_HOLDING_SECONDS=120, so no holding answer replaces a real one.",
        "",
        "## Training",
        "",
        "| what | seconds |",
        "| --- | --- |",
    ]
    train = data.get("training", {})
    if "full" in train:
        lines.append(f"| Fagchat, full training (`rasa train --force`) | {train['full']} |")
    lines.append(f"| Fagchat, nothing changed (`make train` again) | {train.get('no_change', 'n/a')} |")
    if stock.get("train_seconds"):
        lines.append(f"| stock `rasa init --no-prompt` (creates and trains) | {stock['train_seconds']} |")
    lines += [
        "",
        "## Sequential latency per message (one conversation at a time)",
        "",
        "| assistant | messages | p50 s | p95 s | p99 s | errors | empty / fallback |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, figures in assistants:
        s = figures.get("sequential")
        if s:
            lines.append(
                f"| {name} | {s['messages']} | {s['p50']} | {s['p95']} | {s['p99']} | {s['errors']} | {notes_text(s)} |"
            )
    lines += [
        "",
        "## Concurrent conversations",
        "",
        "| assistant | conversations | messages/s | p50 s | p95 s | errors | empty / fallback | load before → after |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for users in (10, 50, 200):
        for name, figures in assistants:
            c = figures.get(f"c{users}")
            if c:
                kinds = f" ({', '.join(f'{k}: {v}' for k, v in c['error_kinds'].items())})" if c["errors"] else ""
                lines.append(
                    f"| {name} | {users} | {c['throughput']} | {c['p50']} | {c['p95']} | "
                    f"{c['errors']}{kinds} | {notes_text(c)} | {c['load']} |"
                )
    lines += ["", "## Goals", "", "| goal | target | measured | met |", "| --- | --- | --- | --- |"]
    lines += goal_rows(stock, emb, "embedded")
    lines += goal_rows(stock, single, "one Rasa process")
    if sc.get("c50") and emb.get("c50"):
        for users in (50, 200):
            t = sc[f"c{users}"]["throughput"] / emb[f"c{users}"]["throughput"] if emb[f"c{users}"]["throughput"] else 0
            lines.append(
                f"| scale-out throughput vs embedded, {users} conversations | ≥ 1.7× | {t:.2f}× "
                f"({sc[f'c{users}']['throughput']} vs {emb[f'c{users}']['throughput']} msg/s) | "
                f"{'yes' if t >= 1.7 else 'no'} |"
            )
    if emb.get("soak_rss_kb"):
        worst = max((after - before) / before for before, after in emb["soak_rss_kb"].values() if before)
        lines.append(
            f"| RSS growth over the {args.soak_seconds // 60}-minute soak (worst process) | ≤ 10 % | "
            f"{100 * worst:.1f} % | {'yes' if worst <= 0.10 else 'no'} |"
        )
    lines += [
        "",
        "## Memory (resident set, MiB; a Sanic process with its workers)",
        "",
        "| assistant | process | at start | after the run | soak: before → after |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, figures in assistants:
        for process, (start, end) in figures.get("rss_kb", {}).items():
            soak = figures.get("soak_rss_kb", {}).get(process)
            soak_text = (
                f"{soak[0] / 1024:.0f} → {soak[1] / 1024:.0f} ({100 * (soak[1] - soak[0]) / soak[0]:+.1f} %)"
                if soak
                else ""
            )
            lines.append(f"| {name} | {process} | {start / 1024:.0f} | {end / 1024:.0f} | {soak_text} |")
    if emb.get("soak"):
        s = emb["soak"]
        lines.append(
            f"\nSoak: {s['messages']} messages in {s['seconds']:.0f} s at 10 conversations, "
            f"p95 {s['p95']} s, {s['errors']} errors."
        )
    for name, figures in (("embedded", emb), ("scale-out", sc)):
        prof = figures.get("profile")
        if not prof:
            continue
        lines += ["", f"## Where the time goes: Fagchat {name}, 50 conversations (py-spy)", ""]
        if "error" in prof:
            lines.append(f"py-spy failed: {prof['error']}")
            continue
        again = f" Profiled again with `--profile-only` (load average then {prof['load']})." if prof.get("load") else ""
        lines += [
            f"{prof['samples']} samples of the Rasa process{'es' if name == 'scale-out' else ''} (py-spy, "
            f"50 Hz, busy threads only; Sanic's main process waiting for its workers left out).{again} Each sample counts for the area of its deepest frame that belongs "
            "to one:",
            "",
            "| area | % of samples |",
            "| --- | --- |",
        ]
        lines += [f"| {area} | {share} |" for area, share in prof["areas"].items()]
        if prof.get("self"):
            lines += ["", "Functions the samples were in (self time):", ""]
            lines += [f"- {share} % `{frame[:120]}`" for frame, share in prof["self"][:10]]
    lines += ["", "Raw figures: var/results/bench.json.", ""]
    return "\n".join(lines)
