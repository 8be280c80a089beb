"""Bootstrap over sequences: the unit of independent evidence is a sequence."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import stats

from rnnmem.progress import progress_bar


@dataclass(frozen=True)
class Estimate:
    """A curve (or scalar) with its 95% percentile-bootstrap interval and the resampled values."""

    value: np.ndarray
    low: np.ndarray
    high: np.ndarray
    resamples: np.ndarray  # [..., n_resamples]: feed derived indicators (ML, MC) for their CIs


def resample_weights(idx: np.ndarray, n: int) -> np.ndarray:
    """How often each of n sequences occurs in each resample: idx [B, n] -> counts [B, n]."""
    idx = np.atleast_2d(idx).astype(np.int64)
    counts = np.zeros((idx.shape[0], n))
    np.add.at(counts, (np.arange(idx.shape[0])[:, None], idx), 1.0)
    return counts


def bootstrap(n: int, weighted_statistic: Callable[[np.ndarray], np.ndarray], n_resamples: int = 1000,
              seed: int = 0, confidence: float = 0.95) -> Estimate:
    """Percentile bootstrap of a statistic of n sequences.

    ``weighted_statistic(w)`` gets sequence weights w [B, n] (resample counts) and returns
    [B, ...]. Using weights instead of resampled data lets one matrix product evaluate a
    whole batch of resamples.
    """
    value = weighted_statistic(np.ones((1, n)))[0]
    if n < 2:
        nan = np.full_like(value, np.nan, dtype=float)
        return Estimate(value, nan, nan, np.full(np.shape(value) + (0,), np.nan))

    def statistic(idx, axis=-1):
        flat = np.asarray(idx).reshape(-1, n)
        out = weighted_statistic(resample_weights(flat, n))
        if np.ndim(idx) > 1:  # a batch of resamples (SciPy also calls it once on the data itself)
            bar.update(len(flat))
        return np.moveaxis(out, 0, -1).reshape(np.shape(value) + np.shape(idx)[:-1])

    # constant statistics (r(0) = 1 by construction for some estimators) are expected here
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings(), \
            progress_bar(total=n_resamples, desc="bootstrap", unit="resample") as bar:
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        res = stats.bootstrap((np.arange(n),), statistic, vectorized=True, n_resamples=n_resamples,
                              method="percentile", confidence_level=confidence,
                              random_state=np.random.default_rng(seed), batch=200)
    return Estimate(value, np.asarray(res.confidence_interval.low), np.asarray(res.confidence_interval.high),
                    np.asarray(res.bootstrap_distribution))


def ratio_of_sums(numerator: np.ndarray, denominator: np.ndarray, n_resamples: int = 1000, seed: int = 0) -> Estimate:
    """E[num] / E[den] per column over the rows where both are present (NaN marks absent)."""
    present = np.isfinite(numerator) & np.isfinite(denominator)
    num = np.where(present, numerator, 0.0)
    den = np.where(present, denominator, 0.0)

    def statistic(w):
        with np.errstate(invalid="ignore", divide="ignore"):
            return (w @ num) / (w @ den)

    return bootstrap(len(num), statistic, n_resamples, seed)


def rank_interval(values) -> tuple[float, float]:
    """95% percentile interval of resampled values taken by rank (NaN values left out; (nan, nan) when none remain).

    Ranks, not interpolation: every reported bound is a value some resample gave (an ML is
    a whole distance), and infinite values keep their place without arithmetic on them.
    """
    values = np.asarray(values, float)
    values = np.sort(values[~np.isnan(values)])
    if len(values) == 0:
        return (math.nan, math.nan)
    low, high = values[[int(0.025 * (len(values) - 1)), int(np.ceil(0.975 * (len(values) - 1)))]]
    return float(low), float(high)


# no r(d) from fewer sequences than this (or than all measured, when fewer are): a mean over one or two
# sequences at a rare long distance made blips that the ML envelope read as memory (issue 16)
MIN_SEQUENCES = 30


def supported_sequences(lengths: np.ndarray) -> tuple[int, int]:
    """(how many sequences an r(d) needs, the farthest distance that many reach): `MIN_SEQUENCES`, or all of
    them when fewer are measured."""
    needed = min(MIN_SEQUENCES, len(lengths))
    return needed, int(np.sort(lengths)[::-1][needed - 1]) - 1


def peak_relative(effects: np.ndarray, n_resamples: int = 1000, seed: int = 0, min_sequences: int = 1,
                  yardstick: np.ndarray | None = None) -> Estimate:
    """r(d) = m(d) / max_d' m(d'), m(d) = E[e(d)] (or E[e(d)] / E[y(d)]), per column of effects [N, D+1], with CI.

    The share of the model's own largest effect that a token at distance d still has: in [0, 1]
    by construction, 1 at the distance the model depends on most. A ``yardstick`` y [N, D+1] (the
    same swap's effect on each token read alone) takes out which tokens happened to sit at each
    distance: without it, the linear recurrence of tests/test_known_answers.py (48 sequences, 40 words) falls
    outside its 5% tolerance of lambda^d from the draw of words alone. NaN marks absent rows; columns
    with fewer than ``min_sequences`` present rows are NaN (not measured) and left out of the peak.
    Each resample takes its own peak.
    """
    denominator = np.ones_like(effects) if yardstick is None else yardstick
    present = np.isfinite(effects) & np.isfinite(denominator)
    values, scale = np.where(present, effects, 0.0), np.where(present, denominator, 0.0)
    supported = present.sum(axis=0) >= min_sequences

    def statistic(w):
        with np.errstate(invalid="ignore", divide="ignore"):
            means = np.where(supported, (w @ values) / (w @ scale), np.nan)
            return means / np.fmax.reduce(means, axis=1, keepdims=True)  # fmax: the peak ignores NaN

    return bootstrap(len(values), statistic, n_resamples, seed)
