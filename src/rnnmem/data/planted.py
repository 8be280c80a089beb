"""The synthetic ``planted`` corpus: one class word planted at a known distance from the end among filler.

Its ground truth is where the signal sits, so accuracy by planted distance shows directly
how far back a model can still use a token (docs/indicators.md §4, memory distance).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rnnmem.data.corpus import Corpus, split_indices
from rnnmem.errors import ConfigError

FILLER_WORDS = tuple(f"f{i}" for i in range(20))


def signal_words(num_classes: int) -> tuple[str, ...]:
    """The class words s0, s1, ...: text k carries ``s{k}`` exactly once when its label is k."""
    return tuple(f"s{c}" for c in range(num_classes))


def load_planted(num_classes: int = 4, length: int = 64, distances: Sequence[int] | None = None,
                 size: int = 4000, seed: int = 0, test_fraction: float = 0.2) -> Corpus:
    """Filler sequences with one class word planted at a controlled distance from the end.

    Each text is ``length`` words: filler drawn uniformly from f0..f19, except that the word
    at distance d from the end (d = 0 is the last word) is the signal word ``s{label}``.
    Labels and distances are drawn uniformly and independently; a model that remembers the
    signal from distance d classifies those texts perfectly, one that has forgotten it is at
    chance, 1 / num_classes.

    Parameters
    ----------
    num_classes : int
        Number of classes C, at least 2.
    length : int
        Words per text, at least 1.
    distances : sequence of int, optional
        Distances the signal is planted at, each in 0..length - 1; default all of them.
    size : int
        Number of texts before the train/test split.
    seed : int
        Seed of the texts and of the split: the same seed gives the same corpus.
    test_fraction : float
        Share of texts for the test split.

    Returns
    -------
    Corpus
        With ``train_distances``/``test_distances`` holding each text's planted distance.
    """
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ConfigError(f"num_classes must be an integer >= 2, got {num_classes!r}.")
    if not isinstance(length, int) or length < 1:
        raise ConfigError(f"length must be an integer >= 1, got {length!r}.")
    if not isinstance(size, int) or size < 2:
        raise ConfigError(f"size must be an integer >= 2, got {size!r}.")
    choices = np.arange(length) if distances is None else np.unique(np.asarray(distances, dtype=int))
    if len(choices) == 0 or choices.min() < 0 or choices.max() > length - 1:
        raise ConfigError(f"distances must be a non-empty set of integers in 0..{length - 1} "
                          f"(length={length}), got {distances!r}.")
    # a stream apart from the split's (which seeds default_rng(seed)), so the two never correlate
    rng = np.random.default_rng([seed, 2])
    labels = rng.integers(0, num_classes, size)
    planted_at = rng.choice(choices, size)
    words = np.asarray(FILLER_WORDS)[rng.integers(0, len(FILLER_WORDS), (size, length))].astype(object)
    words[np.arange(size), length - 1 - planted_at] = np.asarray(signal_words(num_classes))[labels]
    texts = [" ".join(row) for row in words]
    train, test = split_indices(size, test_fraction, seed)
    return Corpus(
        name="planted",
        label_names=signal_words(num_classes),
        train_texts=[texts[i] for i in train],
        train_labels=labels[train].tolist(),
        test_texts=[texts[i] for i in test],
        test_labels=labels[test].tolist(),
        notes={"num_classes": num_classes, "length": length, "filler_words": len(FILLER_WORDS),
               "distances": choices.tolist() if distances is not None else f"0..{length - 1}",
               "size": size, "seed": seed, "test_fraction": test_fraction},
        train_distances=planted_at[train].tolist(),
        test_distances=planted_at[test].tolist(),
    )
