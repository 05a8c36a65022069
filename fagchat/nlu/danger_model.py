"""Rasa NLU component: how likely a message describes danger now, learnt from examples.

The pattern layer (danger.py) is deterministic and knows the wordings it was written for.
On fresh wordings it errs both ways: replayed as they stood on the day each development
round was committed, the patterns of rounds 4-13 found 76 % of that round's danger
messages and fired on 5.5 % of its look-alikes. Most of those look-alikes are near
danger in their words and far from it in what they say (an attack that is over, a theme
day about threats, "hvornår skal man ringe 112").

This model learns that difference from examples: logistic regression over the intent
classifier's n-grams of the folded text, trained on the danger and look-alike messages of
the earlier development rounds (`data/safety/`) and on `data/nlu.yml` (`acute_danger`
against every other intent). Left out one round at a time, it scored a round it had not
seen with an AUC of 0.998 (README: the danger model). The detector (danger.py) reads its
score: a pattern hit the model all but rules out is no alarm, and a message it is sure of
is one even when no pattern fires.

It is stored as arrays (JSON + NumPy), never pickled: loading a model runs no code.
"""

import hashlib
import json
import logging
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Text, Tuple

import numpy as np
import scipy.sparse as sp
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from fagchat import vocabulary
from fagchat.nlu.component import FromConfig
from fagchat.nlu.danger_patterns import fold
from fagchat.nlu.intent_classifier import vectorizers
from fagchat.nlu.testsets import read_lines  # the one reader of one-message-a-line files
from fagchat.settings import ROOT

logger = logging.getLogger(__name__)

DANGER_FILES, LOOKALIKE_FILES = "danger_*.txt", "lookalikes_*.txt"


def example_files(directory: Path) -> List[Path]:
    """The danger and look-alike files of `directory`, in a fixed order."""
    return sorted(directory.glob(DANGER_FILES)) + sorted(directory.glob(LOOKALIKE_FILES))


def safety_examples(directory: Path) -> Tuple[List[str], List[bool]]:
    """(texts, is danger) from the danger and look-alike files of `directory`."""
    texts: List[str] = []
    labels: List[bool] = []
    for path in example_files(directory):
        lines = read_lines(path)
        texts += lines
        labels += [path.match(DANGER_FILES)] * len(lines)
    return texts, labels


class DangerModel:
    """The fitted vectorizers and the binary logistic regression (danger now or not)."""

    def __init__(self, config: Dict[Text, Any], vecs: List[TfidfVectorizer], clf: LogisticRegression) -> None:
        self.config, self.vecs, self.clf = config, vecs, clf

    @classmethod
    def fit(cls, config: Dict[Text, Any], texts: Sequence[str], labels: Sequence[bool]) -> "DangerModel":
        """Fit on `texts` (True: danger now). Both classes are weighted alike: the
        examples hold about one danger message for every five others."""
        vecs = vectorizers(config)
        features = sp.hstack([v.fit_transform([fold(t) for t in texts]) for v in vecs]).tocsr()
        clf = LogisticRegression(C=float(config["C"]), max_iter=3000, class_weight="balanced", random_state=42)
        # One BLAS thread: the fit is a sparse problem, and a second thread only spins.
        with threadpool_limits(limits=1, user_api="blas"):
            clf.fit(features, np.asarray(labels, dtype=int))
        return cls(config, vecs, clf)

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """The probability that each text describes danger now."""
        features = sp.hstack([v.transform([fold(t) for t in texts]) for v in self.vecs]).tocsr()
        return self.clf.predict_proba(features)[:, 1]

    def save(self, directory: Path) -> None:
        """Vocabularies as JSON, IDF weights and coefficients as NumPy arrays."""
        meta = {"vocabularies": [{k: int(v) for k, v in vec.vocabulary_.items()} for vec in self.vecs]}
        (directory / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        np.savez(
            directory / "arrays.npz",
            idf_char=self.vecs[0].idf_,
            idf_word=self.vecs[1].idf_,
            coef=self.clf.coef_,
            intercept=self.clf.intercept_,
        )

    @classmethod
    def read(cls, config: Dict[Text, Any], directory: Path) -> "DangerModel":
        """The model `save` wrote (no pickle involved)."""
        meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
        with np.load(directory / "arrays.npz", allow_pickle=False) as arrays:
            idf = [arrays["idf_char"], arrays["idf_word"]]
            coef, intercept = arrays["coef"], arrays["intercept"]
        vecs = vectorizers(config, meta["vocabularies"])
        for vec, weights in zip(vecs, idf):
            vec.idf_ = weights
        clf = LogisticRegression()
        clf.classes_, clf.coef_, clf.intercept_ = np.array([0, 1]), coef, intercept
        return cls(config, vecs, clf)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class DangerScorer(FromConfig):
    """Sets `danger_score` (vocabulary.DANGER_SCORE_KEY) on every message; place it before
    the AcuteDangerDetector, which reads it. Without a trained model it sets nothing, and
    the detector decides by its patterns alone."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        """Defaults; config.yml may override each."""
        return {
            # The danger and look-alike examples, relative to the project's root.
            "examples": "data/safety",
            "char_ngrams": [2, 5],
            "word_ngrams": [1, 2],
            "min_df": 2,
            # 30 and 100 scored alike left out one round at a time, 10 and 3 worse (README).
            "C": 30.0,
        }

    def __init__(
        self,
        config: Optional[Dict[Text, Any]] = None,
        model_storage: Optional[ModelStorage] = None,
        resource: Optional[Resource] = None,
        model: Optional[DangerModel] = None,
    ) -> None:
        super().__init__(config, model_storage, resource)
        self._storage, self._resource, self.model = model_storage, resource, model

    @classmethod
    def examples_dir(cls, config: Dict[Text, Any]) -> Path:
        """The directory of the danger and look-alike files."""
        return ROOT / {**cls.get_default_config(), **config}["examples"]

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        """The example files are no input of Rasa's graph: their contents go into the
        fingerprint, so that `rasa train` fits the model again when they change."""
        digest = hashlib.sha256()
        for path in example_files(cls.examples_dir(config)):
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        return digest.hexdigest()

    def train(self, training_data: TrainingData) -> Resource:
        """Fit on the NLU examples (acute_danger or not) and the example files."""
        examples = [m for m in training_data.intent_examples if m.get(TEXT) and m.get(INTENT)]
        texts = [m.get(TEXT) for m in examples]
        labels = [m.get(INTENT) == vocabulary.ACUTE_DANGER for m in examples]
        extra_texts, extra_labels = safety_examples(self.examples_dir(self.config))
        texts, labels = texts + extra_texts, labels + extra_labels
        if not any(labels) or all(labels):
            logger.warning("danger_model.not_trained reason=one_class examples=%d", len(texts))
            return self._resource
        self.model = DangerModel.fit(self.config, texts, labels)
        logger.info("danger_model.trained examples=%d danger=%d", len(texts), sum(labels))
        with self._storage.write_to(self._resource) as directory:
            self.model.save(Path(directory))
        return self._resource

    def process(self, messages: List[Message]) -> List[Message]:
        """Score every message that has a text."""
        scored = [m for m in messages if m.get(TEXT)]
        if self.model is None or not scored:
            return messages
        for message, score in zip(scored, self.model.scores([m.get(TEXT) for m in scored])):
            message.set(vocabulary.DANGER_SCORE_KEY, round(float(score), 4), add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Nothing to add to the training data."""
        return training_data

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "DangerScorer":
        """The stored model; none (the patterns decide alone) if it is missing."""
        config = {**cls.get_default_config(), **config}
        try:
            with model_storage.read_from(resource) as directory:
                model = DangerModel.read(config, Path(directory))
        except (ValueError, FileNotFoundError, KeyError) as error:
            logger.warning("danger_model.missing error=%s: the patterns decide alone", type(error).__name__)
            model = None
        return cls(config, model_storage, resource, model)
