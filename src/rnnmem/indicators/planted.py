"""Accuracy by planted distance and the memory distance it implies (docs/indicators.md §4)."""

from __future__ import annotations

import pandas as pd
import torch
from torch import nn

from rnnmem.data import Corpus, Vocabulary
from rnnmem.errors import DataError
from rnnmem.ses import checked_readouts


@torch.no_grad()
def accuracy_by_planted_distance(model: nn.Module, corpus: Corpus, vocabulary: Vocabulary | None = None,
                                 batch_size: int = 256) -> pd.DataFrame:
    """Test accuracy of ``model`` grouped by how far from the end the signal was planted.

    The prediction for a text is the argmax of the readout after its last token.

    Parameters
    ----------
    model : nn.Module
        ``model(tokens)`` returns the readout after every prefix, [B, T, K].
    corpus : Corpus
        A corpus with ``test_distances`` (``load_corpus("planted", ...)``).
    vocabulary : Vocabulary, optional
        Encodes the texts; default the corpus's own.

    Returns
    -------
    DataFrame with columns distance, accuracy, n (test texts planted at that distance).
    """
    if corpus.test_distances is None:
        raise DataError(f"corpus {corpus.name!r} records no planted distances; use load_corpus('planted', ...).")
    tokens, lengths, labels = corpus.encode(vocabulary or corpus.vocabulary, split="test")
    was_training = model.training
    model.eval()
    try:
        predicted = torch.cat([
            checked_readouts(model, tokens[s])[torch.arange(len(tokens[s])), lengths[s] - 1].argmax(dim=-1)
            for s in (slice(i, i + batch_size) for i in range(0, len(tokens), batch_size))
        ])
    finally:
        model.train(was_training)
    frame = pd.DataFrame({"distance": corpus.test_distances, "correct": (predicted == labels).numpy()})
    grouped = frame.groupby("distance")["correct"]
    return pd.DataFrame({"accuracy": grouped.mean(), "n": grouped.size()}).reset_index()


def memory_distance(frame: pd.DataFrame, chance: float) -> int | None:
    """The first planted distance at which accuracy falls to halfway between perfect and chance.

        MD = min { d : acc(d) <= (1 + chance) / 2 }

    Memory distance in the sense of Illium et al.: how far back a signal can sit and still be
    recognised. The halfway threshold makes it robust to a model that is a little short of
    perfect at small d, and needs no tuning per number of classes.

    Parameters
    ----------
    frame : DataFrame
        Columns distance and accuracy, as `accuracy_by_planted_distance` returns.
    chance : float
        Accuracy of guessing, 1 / C for C balanced classes.

    Returns
    -------
    int, or None when accuracy stays above the threshold at every measured distance.

    References
    ----------
    Illium, Schillman, Müller, Gabor, Linnhoff-Popien, "Empirical Analysis of Limits for Memory
    Distance in Recurrent Neural Networks", ICAART 2022, arXiv:2212.11085.

    Examples
    --------
    >>> memory_distance(pd.DataFrame({"distance": [0, 1, 2, 3], "accuracy": [1.0, 0.9, 0.6, 0.5]}), 0.5)
    2
    """
    ordered = frame.sort_values("distance")
    below = ordered["distance"].to_numpy()[ordered["accuracy"].to_numpy(float) <= (1.0 + chance) / 2 + 1e-12]
    return int(below[0]) if len(below) else None
