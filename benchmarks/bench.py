"""`make bench`: load, latency, memory and training time, against a stock Rasa assistant.

    python benchmarks/bench.py                 # everything (about 40 minutes on 2 cores)
    python benchmarks/bench.py --quick         # `make bench-quick`: stock vs embedded at 50 conversations (~4 min)

Virtual users talk to the chat channel over HTTP (REST) with realistic Danish multi-turn
conversations, one fresh sender id per conversation (Rasa's advice for load tests: a
shared sender serializes on the conversation lock). Three assistants, one at a time:

    stock     `rasa init --no-prompt` (trained here, in a temp dir), its REST channel
    embedded  Fagchat as `make run` starts it: SQLite, two Rasa workers sharing the SQLite lock store
    single    the same with one Rasa process (in-memory lock): the gain from the design alone
    scaled    Fagchat in scale-out mode: PostgreSQL, Redis, 2 Rasa and 2 action workers

Each gets the same load: sequential messages (latency percentiles), then 10, 50 and 200
concurrent conversations (throughput, p95, errors). The embedded stack is profiled with
py-spy and soaked for 10 minutes (resident memory of each process before and after).
Training time is measured for a full training (into a temp dir) and a no-change run.
Writes benchmarks/results.md (and the raw figures to var/results/bench.json).

The command line is here; the virtual users are in load.py, starting and stopping the
assistants in stacks.py, and the report in report.py.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]  # project code, and the sibling modules also when not run as a script
from load import load
from report import report, summarize_profile
from stacks import RAW, run_fagchat, run_stock, training_times

from fagchat.run.launcher import model_path

RESULTS = ROOT / "benchmarks" / "results.md"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short phases, no soak, no full training")
    parser.add_argument(
        "--only", nargs="*", choices=["stock", "embedded", "single", "scaled"], help="assistants to run"
    )
    parser.add_argument("--phase-seconds", type=float, default=60.0)
    parser.add_argument("--sequential", type=int, default=100, help="messages in the sequential phase")
    parser.add_argument("--soak-seconds", type=int, default=600)
    parser.add_argument("--profile-seconds", type=int, default=30)
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--no-full-train", action="store_true")
    parser.add_argument("--rasa-workers", type=int, default=2)
    parser.add_argument("--actions-workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--report-only", action="store_true", help="rewrite the report from var/results/bench.json")
    parser.add_argument(
        "--profile-only",
        action="store_true",
        help="profile embedded and scale-out again into var/results/bench.json, rewrite the report",
    )
    args = parser.parse_args()
    if args.quick:
        global RAW
        RAW = RAW.with_name("bench-quick.json")
    if args.profile_only:
        data = json.loads(RAW.read_text())
        tmp = Path(tempfile.mkdtemp(prefix="fagchat-bench-"))
        tmp.chmod(0o755)
        try:
            for label in ("embedded", "scaled"):
                data[label]["profile"] = run_fagchat(tmp, args, scaled=label == "scaled")["profile"]
                data[label]["profile"]["load"] = load()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        RAW.write_text(json.dumps(data, indent=1))
        args.out.write_text(report(data, args))
        print(f"Wrote {args.out}")
        return 0
    if args.report_only:
        data = json.loads(RAW.read_text())
        for label in ("embedded", "scaled"):  # profiles again from the kept py-spy files
            raw = RAW.parent / f"profile-{label}.pyspy"
            if raw.exists() and label in data:
                data[label]["profile"] = {**data[label].get("profile", {}), **summarize_profile(raw)}
        args.out.write_text(report(data, args))
        print(f"Wrote {args.out}")
        return 0
    if args.quick:
        if args.out == RESULTS:  # the quick figures never replace the full report
            args.out = RAW.with_name("bench-quick.md")
        args.phase_seconds, args.sequential, args.soak_seconds, args.no_profile = 20.0, 30, 0, True
        args.no_full_train = True
        args.only = args.only or ["stock", "embedded"]
    if not model_path().exists():
        print("No trained model: run `make train` first (make bench does).", file=sys.stderr)
        return 1
    only = set(args.only or ["stock", "embedded", "single", "scaled"])
    tmp = Path(tempfile.mkdtemp(prefix="fagchat-bench-"))
    tmp.chmod(0o755)  # PostgreSQL (as the postgres user) keeps its data below
    data: Dict[str, Any] = {
        "command": " ".join(["python benchmarks/bench.py", *sys.argv[1:]]),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{os.cpu_count()} cores, {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB",
        "load_start": load(),
    }
    try:
        if not args.quick:
            data["training"] = training_times(tmp, full=not args.no_full_train)
            print(f"[train] {data['training']}", flush=True)
        if "stock" in only:
            data["stock"] = run_stock(tmp, args)
        if "embedded" in only:
            data["embedded"] = run_fagchat(tmp, args, scaled=False)
        if "single" in only:
            data["single"] = run_fagchat(tmp, args, scaled=False, single=True)
        if "scaled" in only:
            data["scaled"] = run_fagchat(tmp, args, scaled=True)
    finally:
        data["load_end"] = load()
        RAW.parent.mkdir(parents=True, exist_ok=True)
        RAW.write_text(json.dumps(data, indent=1))
        shutil.rmtree(tmp, ignore_errors=True)
    text = report(data, args)
    args.out.write_text(text)
    print(f"Wrote {args.out}", flush=True)
    if args.quick:
        print("\n".join(line for line in text.splitlines() if line.startswith("| embedded")), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
