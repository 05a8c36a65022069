"""The intent classifier: n-grams and meaning vote, and a stored model predicts the same."""

import numpy as np
import pytest
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from tests.helpers import TENSORFLOW_GROUP

# The Rasa component modules are imported inside the helpers below, not at the top
# (tests/helpers.py: TENSORFLOW_GROUP).
pytestmark = pytest.mark.xdist_group(TENSORFLOW_GROUP)

EXAMPLES = {
    "restraining_order": [
        "hvad er et tilhold",
        "hvordan får man et tilhold",
        "kan politiet give tilhold",
        "tilhold mod eksen",
    ],
    "documentation": [
        "hvordan bruger man logskemaet",
        "hvordan dokumenterer hun det",
        "hvad skal hun skrive ned",
        "log over hændelser",
    ],
}


def message(text, intent=None, meaning=None):
    from fagchat.nlu.sentence_featurizer import ORIGIN

    m = Message(data={TEXT: text, **({INTENT: intent} if intent else {})})
    if meaning is not None:
        m.add_features(
            Features(
                np.asarray(meaning, dtype=np.float32).reshape(1, -1),
                FEATURE_TYPE_SENTENCE,
                TEXT,
                ORIGIN,
            )
        )
    return m


def meaning_for(intent):
    # Two well-separated directions stand in for the encoder.
    return [1.0, 0.0] if intent == "restraining_order" else [0.0, 1.0]


def classifier_class():
    from fagchat.nlu.intent_classifier import LinearIntentClassifier

    return LinearIntentClassifier


@pytest.fixture
def trained(tmp_path):
    storage, resource = LocalModelStorage(tmp_path), Resource("classifier")
    clf = classifier_class().create({"meaning_weight": 1.0}, storage, resource, None)
    data = [message(t, i, meaning_for(i)) for i, texts in EXAMPLES.items() for t in texts]
    clf.train(TrainingData(training_examples=data))
    return clf, storage, resource


def test_both_models_are_trained_and_vote(trained):
    clf, _, _ = trained
    assert clf.meaning_clf is not None and clf.meaning_dim == 2
    # The words say nothing known; the meaning decides.
    [m] = clf.process([message("noget helt andet", meaning=meaning_for("documentation"))])
    assert m.get(INTENT)["name"] == "documentation"
    ranking = m.get(INTENT_RANKING_KEY)
    assert abs(sum(r["confidence"] for r in ranking) - 1.0) < 1e-6


def test_a_stored_model_predicts_the_same(trained):
    clf, storage, resource = trained
    loaded = classifier_class().load({"meaning_weight": 1.0}, storage, resource, None)
    texts = ["tilhold", "logskema", "hvad gør jeg"]
    fresh = [message(t, meaning=meaning_for("documentation")) for t in texts]
    again = [message(t, meaning=meaning_for("documentation")) for t in texts]
    np.testing.assert_allclose(clf.probabilities(fresh), loaded.probabilities(again), atol=1e-9)


def test_min_df_leaves_out_ngrams_of_a_single_example_and_a_stored_model_keeps_the_vocabulary(tmp_path):
    storage, resource = LocalModelStorage(tmp_path), Resource("classifier")
    clf = classifier_class().create({"meaning_weight": 0.0, "min_df": 2}, storage, resource, None)
    clf.train(TrainingData(training_examples=[message(t, i) for i, texts in EXAMPLES.items() for t in texts]))
    words = clf.vecs[1].vocabulary_
    assert "tilhold" in words and "hvordan" in words  # in two examples or more
    assert "eksen" not in words and "log" not in words  # in one example only
    loaded = classifier_class().load({"meaning_weight": 0.0, "min_df": 2}, storage, resource, None)
    assert loaded.vecs[1].vocabulary == words
    [m] = loaded.process([message("hvordan får man et tilhold")])
    assert m.get(INTENT)["name"] == "restraining_order"


def test_without_meaning_features_the_ngrams_decide_alone(trained):
    clf, _, _ = trained
    [m] = clf.process([message("hvordan får man et tilhold mod ham")])
    assert m.get(INTENT)["name"] == "restraining_order"


def test_the_meaning_model_fitted_in_its_own_process_is_the_one_fitted_here(trained):
    from fagchat.nlu import fitting

    clf, _, _ = trained
    labels = [i for i, texts in EXAMPLES.items() for _ in texts]
    features = np.vstack([meaning_for(i) for i in labels]).astype(np.float32)
    here = fitting.rebuilt(fitting.fit(clf.config["meaning_C"], features, labels))
    assert list(here.classes_) == list(clf.meaning_clf.classes_)
    np.testing.assert_allclose(here.coef_, clf.meaning_clf.coef_, atol=1e-8)


def test_a_lost_helper_process_costs_time_not_the_meaning_model(tmp_path, monkeypatch, caplog):
    from concurrent.futures.process import BrokenProcessPool

    from fagchat.nlu import fitting

    class Lost:
        def result(self):
            raise BrokenProcessPool("the helper died")

    monkeypatch.setattr(fitting.Elsewhere, "fit", lambda self, *args: Lost())
    storage, resource = LocalModelStorage(tmp_path), Resource("classifier")
    clf = classifier_class().create({"meaning_weight": 1.0}, storage, resource, None)
    clf.train(TrainingData(training_examples=[message(t, i, meaning_for(i)) for i, ts in EXAMPLES.items() for t in ts]))
    assert clf.meaning_clf is not None
    assert "fit_elsewhere_failed error=BrokenProcessPool" in caplog.text
    [m] = clf.process([message("noget helt andet", meaning=meaning_for("documentation"))])
    assert m.get(INTENT)["name"] == "documentation"


def test_a_helper_process_that_cannot_start_is_reported_through_its_future(monkeypatch):
    from fagchat.nlu import fitting

    def refuse(*args, **kwargs):
        raise OSError("no more processes")

    with fitting.Elsewhere() as elsewhere:
        monkeypatch.setattr(elsewhere._pool, "submit", refuse)
        future = elsewhere.fit(1.0, np.eye(2), ["a", "b"])
    with pytest.raises(OSError):
        future.result()
