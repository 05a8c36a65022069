"""The danger model: what it trains on, what it scores, and that a stored model scores the same."""

import logging

import numpy as np
import pytest
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from tests.helpers import TENSORFLOW_GROUP

# The Rasa component modules are imported inside the helpers below, not at the top
# (tests/helpers.py: TENSORFLOW_GROUP).
pytestmark = pytest.mark.xdist_group(TENSORFLOW_GROUP)

DANGER = [
    "han står uden for døren lige nu og hamrer på den",
    "hun gemmer sig på toilettet, han er inde i lejligheden",
    "han holder ude foran skolen og venter på hende nu",
]
LOOKALIKES = [
    "vi planlægger en temadag om trusler og vold for personalet",
    "han truede hende sidste år, nu er sagen afsluttet, hvordan dokumenterer vi",
    "hvornår skal man ringe 112 og hvornår til politiets servicenummer",
]
NLU = {
    "acute_danger": ["han slår hende nu", "han er brudt ind hos hende"],
    "documentation": ["hvordan bruger man logskemaet", "hvad skal hun skrive ned"],
    "greet": ["hej", "goddag"],
}


def scorer_class():
    from fagchat.nlu.danger_model import DangerScorer

    return DangerScorer


def write_examples(directory, danger=DANGER, lookalikes=LOOKALIKES):
    directory.mkdir(exist_ok=True)
    (directory / "danger_a.txt").write_text("# a comment line\n" + "\n".join(danger) + "\n", encoding="utf-8")
    (directory / "lookalikes_a.txt").write_text("\n".join(lookalikes) + "\n\n", encoding="utf-8")
    return directory


def training_data():
    return TrainingData(training_examples=[Message(data={TEXT: t, INTENT: i}) for i, ts in NLU.items() for t in ts])


@pytest.fixture
def trained(tmp_path):
    examples = write_examples(tmp_path / "examples")
    config = {"examples": str(examples), "min_df": 1}
    (tmp_path / "model").mkdir()
    storage, resource = LocalModelStorage(tmp_path / "model"), Resource("danger")
    scorer = scorer_class().create(config, storage, resource, None)
    scorer.train(training_data())
    return scorer, config, storage, resource


def test_the_example_files_give_texts_and_labels_without_comments_or_blank_lines(tmp_path):
    from fagchat.nlu.danger_model import safety_examples

    texts, labels = safety_examples(write_examples(tmp_path / "examples"))
    assert texts == DANGER + LOOKALIKES
    assert labels == [True] * len(DANGER) + [False] * len(LOOKALIKES)


def test_the_model_trained_on_both_sources_scores_danger_above_a_look_alike(trained):
    scorer = trained[0]
    messages = [Message(data={TEXT: t}) for t in ("han står uden for døren nu", "en temadag om trusler", "")]
    scorer.process(messages)
    danger, lookalike, empty = (m.get("danger_score") for m in messages)
    assert 0.0 <= lookalike < 0.5 < danger <= 1.0
    assert empty is None  # nothing to score
    # The NLU examples count: acute_danger is danger, every other intent is not.
    [nlu_danger, nlu_other] = scorer.model.scores(["han slår hende nu", "hvordan bruger man logskemaet"])
    assert nlu_danger > 0.5 > nlu_other


def test_a_stored_model_scores_the_same(trained):
    scorer, config, storage, resource = trained
    loaded = scorer_class().load(config, storage, resource, None)
    texts = ["han står uden for døren nu", "hvad siger loven", "HEJ!"]
    np.testing.assert_allclose(scorer.model.scores(texts), loaded.model.scores(texts), atol=1e-12)


def test_without_a_stored_model_it_sets_no_score_and_says_so(tmp_path, caplog):
    storage, resource = LocalModelStorage(tmp_path), Resource("never_trained")
    with caplog.at_level(logging.WARNING):
        loaded = scorer_class().load({}, storage, resource, None)
    assert "danger_model.missing" in caplog.text
    [m] = loaded.process([Message(data={TEXT: "han står uden for døren nu"})])
    assert m.get("danger_score") is None


def test_changed_example_files_change_the_fingerprint(tmp_path):
    # The files are no input of Rasa's graph: without this, `rasa train` would keep a stale model.
    examples = write_examples(tmp_path / "examples")
    config = {"examples": str(examples)}
    before = scorer_class().fingerprint_addon(config)
    assert scorer_class().fingerprint_addon(config) == before
    write_examples(examples, lookalikes=LOOKALIKES + ["et nyt eksempel om en afsluttet sag"])
    assert scorer_class().fingerprint_addon(config) != before


def test_one_class_only_trains_nothing(tmp_path, caplog):
    examples = write_examples(tmp_path / "examples", danger=[])
    (tmp_path / "model").mkdir()
    storage, resource = LocalModelStorage(tmp_path / "model"), Resource("danger")
    scorer = scorer_class().create({"examples": str(examples)}, storage, resource, None)
    data = TrainingData(training_examples=[Message(data={TEXT: "hej", INTENT: "greet"})])
    with caplog.at_level(logging.WARNING):
        scorer.train(data)
    assert scorer.model is None and "danger_model.not_trained" in caplog.text


def test_the_shipped_examples_hold_both_kinds():
    from fagchat.nlu.danger_model import DangerScorer, safety_examples

    texts, labels = safety_examples(DangerScorer.examples_dir(DangerScorer.get_default_config()))
    assert sum(labels) >= 800 and len(labels) - sum(labels) >= 800
    assert len(set(texts)) == len(texts), "an example appears twice"
