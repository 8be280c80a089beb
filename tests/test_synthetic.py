"""The known-memory suite's corpora: each label is the stated function of the stated words."""

import numpy as np
import pytest

import rnnmem
from rnnmem.errors import ConfigError


def classes_by_distance(corpus, split="train"):
    """Each text's word classes, column d = distance d from the end (0 = a, 1 = b)."""
    texts = corpus.train_texts if split == "train" else corpus.test_texts
    return np.array([[word[0] == "b" for word in text.split()][::-1] for text in texts], dtype=int)


@pytest.mark.parametrize("name, rule", [
    ("synthetic:key-5", lambda c: c[:, 5]),
    ("synthetic:key-20:31", lambda c: c[:, 20]),
    ("synthetic:last-3", lambda c: (c[:, :3].sum(1) >= 2).astype(int)),
    ("synthetic:all", lambda c: (c.sum(1) * 2 > c.shape[1]).astype(int)),
    ("synthetic:two-key-2-7", lambda c: (c[:, 2] != c[:, 7]).astype(int)),
])
def test_labels_follow_the_named_words(name, rule):
    corpus = rnnmem.load_corpus(name, size=600)
    classes = classes_by_distance(corpus)
    np.testing.assert_array_equal(corpus.train_labels, rule(classes))
    assert 0.4 < np.mean(corpus.train_labels) < 0.6  # both classes, about equally often
    assert len(set(corpus.train_texts[0].split()) | set(corpus.train_texts[1].split())) > 10


def test_names_set_length_and_relevant_distances():
    assert len(rnnmem.load_corpus("synthetic:key-20:60", size=40).train_texts[0].split()) == 60
    assert len(rnnmem.load_corpus("synthetic:key-5", size=40).train_texts[0].split()) == 20  # 2 * 5 + 10
    assert rnnmem.load_corpus("synthetic:last-3", size=40).notes["relevant_distances"] == [0, 1, 2]
    assert rnnmem.load_corpus("synthetic:two-key-9-2", size=40).notes["relevant_distances"] == [2, 9]


def test_the_same_seed_gives_the_same_corpus_and_another_seed_another():
    first, again = (rnnmem.load_corpus("synthetic:key-3", size=50, seed=4) for _ in range(2))
    assert first.train_texts == again.train_texts and first.test_labels == again.test_labels
    assert rnnmem.load_corpus("synthetic:key-3", size=50, seed=5).train_texts != first.train_texts


@pytest.mark.parametrize("name, named", [
    ("synthetic:key", "synthetic:key-K"), ("synthetic:last-4", "K must be odd"),
    ("synthetic:key-5:10x", "synthetic:key-20:60"), ("synthetic:key-5:5", "above the farthest relevant distance 5"),
    ("synthetic:all:24", "and odd"), ("synthetic:two-key-3-3", "two different distances"),
])
def test_bad_names_say_how_to_name_a_task(name, named):
    with pytest.raises(ConfigError, match=named):
        rnnmem.load_corpus(name, size=40)


def test_unknown_options_are_refused_by_name():
    with pytest.raises(ConfigError, match="does not take option.*num_classes"):
        rnnmem.load_corpus("synthetic:key-5", num_classes=3)
