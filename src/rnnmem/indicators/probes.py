"""Probe accuracy by distance (docs/indicators.md §4): what a linear read-out can still decode from h_T."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from rnnmem.progress import progress_bar

# Fewer held-out or training examples than this at a distance give an accuracy too noisy to report.
MIN_TRAIN, MIN_TEST = 10, 5


def probe_accuracy_by_distance(features: np.ndarray, targets_by_distance: np.ndarray, seed: int = 0,
                               test_fraction: float = 0.3) -> pd.DataFrame:
    """Held-out accuracy of a linear probe that recovers, from the final state, a target at each distance.

    For each distance d a multinomial logistic regression on standardised features is fit on
    a seeded ``1 - test_fraction`` share of the sequences and scored on the rest:

        acc(d) = mean over held-out i of [argmax_c (W_d z_i + b_d)_c == y_{i,d}],  z = standardised h_T

    The split is one split of the sequences shared by every distance, so the curve compares
    like with like. ``chance`` is the held-out accuracy of always answering the class most
    frequent in the training part: a probe that reads nothing gets about that much.

    Parameters
    ----------
    features : array [N, F]
        One feature vector per sequence, e.g. the hidden state after its last token h_T.
    targets_by_distance : int array [N, D+1]
        Class of the target at distance d from the end (the token's identity, the class of the
        segment covering it, ...); -1 where the sequence has no target at d.
    seed : int
        Seed of the train/test split and of the solver.
    test_fraction : float
        Share of the sequences held out for scoring.

    Returns
    -------
    DataFrame with columns distance, accuracy, chance, n (held-out examples at d). Accuracy and
    chance are NaN where fewer than 10 training or 5 held-out examples, or a single training
    class, leave nothing to fit.

    References
    ----------
    Alain & Bengio, "Understanding intermediate layers using linear classifier probes", 2016;
    Zhang et al., "Assessing the Memory Ability of Recurrent Neural Networks", ECAI 2020.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 3, size=(300, 2))
    >>> x = np.eye(3)[y[:, 0]] + 0.01 * rng.normal(size=(300, 3))  # features encode d = 0 only
    >>> frame = probe_accuracy_by_distance(x, y)
    >>> float(frame["accuracy"][0]), bool(frame["accuracy"][1] < 0.6)
    (1.0, True)
    """
    features = np.asarray(features, dtype=float)
    targets = np.asarray(targets_by_distance)
    if features.ndim != 2 or targets.ndim != 2 or len(features) != len(targets):
        raise ValueError(f"features [N, F] and targets_by_distance [N, D+1] must share N; "
                         f"got shapes {features.shape} and {targets.shape}.")
    n = len(features)
    is_test = np.zeros(n, bool)
    is_test[np.random.default_rng(seed).permutation(n)[: round(n * test_fraction)]] = True
    rows = []
    # the fits are tiny: BLAS/OpenMP threads only add overhead, and beside torch's threads
    # they oversubscribe the cores (measured 15x slower on two cores)
    with threadpool_limits(limits=1):
        for d in progress_bar(range(targets.shape[1]), "probes", unit="distance"):
            y = targets[:, d]
            train, test = (y >= 0) & ~is_test, (y >= 0) & is_test
            accuracy = chance = np.nan
            classes, counts = np.unique(y[train], return_counts=True)
            if train.sum() >= MIN_TRAIN and test.sum() >= MIN_TEST and len(classes) > 1:
                probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed))
                probe.fit(features[train], y[train])
                accuracy = float(np.mean(probe.predict(features[test]) == y[test]))
                chance = float(np.mean(y[test] == classes[np.argmax(counts)]))
            rows.append((d, accuracy, chance, int(test.sum())))
    return pd.DataFrame(rows, columns=["distance", "accuracy", "chance", "n"])


def token_targets(tokens_by_distance: np.ndarray, top: int = 10) -> np.ndarray:
    """Token ids at each distance, kept only where the token is among the ``top`` most frequent ones.

    Restricting the probe to frequent tokens keeps enough examples per class for a probe to
    learn each; rarer tokens (and absent positions, marked -1 on input) become -1.

    Parameters
    ----------
    tokens_by_distance : int array [N, D+1]
        The token id at distance d from the end of each sequence, -1 past its start.
    top : int
        How many of the most frequent ids to keep (ties broken by the smaller id).

    Returns
    -------
    int array [N, D+1]
    """
    tokens = np.asarray(tokens_by_distance)
    ids, counts = np.unique(tokens[tokens >= 0], return_counts=True)
    frequent = ids[np.lexsort((ids, -counts))[:top]]
    return np.where(np.isin(tokens, frequent), tokens, -1)
