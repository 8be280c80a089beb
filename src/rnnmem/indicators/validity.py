"""Semantic validity (docs/indicators.md §3): does an SES axis mean what it is named for?"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
from scipy import stats

MIN_MATCHED = 10


@dataclass(frozen=True, eq=False)
class Validity:
    """Spearman correlation between words' SES axis values and their human ratings.

    Attributes
    ----------
    rho : float
        Spearman rank correlation over the matched words (NaN when fewer than 10 match or either
        side is constant).
    low, high : float
        Its 95% percentile-bootstrap interval over words (NaN when ``rho`` is).
    n_matched : int
        Words with both a finite axis value and a human rating.
    words : tuple of str
        The matched words, in input order.
    valence : np.ndarray
        Their human ratings [n_matched].
    axis : np.ndarray
        Their axis values [n_matched].
    """

    rho: float
    low: float
    high: float
    n_matched: int
    words: tuple[str, ...] = field(repr=False)
    valence: np.ndarray = field(repr=False)
    axis: np.ndarray = field(repr=False)

    def to_dict(self) -> dict:
        """The numbers (not the per-word values): rho, its 95% CI and the number of words matched."""
        return {"rho": self.rho, "ci": [self.low, self.high], "n_matched": self.n_matched}


def semantic_validity(words: Sequence[str], axis_values: np.ndarray, lexicon: Mapping[str, float],
                      n_resamples: int = 1000, seed: int = 0) -> Validity:
    """Rank correlation between each word's position along an SES axis and its human rating.

    For the words w that the lexicon rates (and whose axis value is finite),

        rho = Spearman( a(w), v(w) ) = Pearson( rank a(w), rank v(w) )

    where a(w) is the word's coordinate along the semantic axis — for a sentiment SES,
    a(w) = s(w)[positive] - s(w)[negative], the word point read along positive minus negative —
    and v(w) is its mean human valence rating in the VADER lexicon (ten raters, -4 .. 4;
    Hutto & Gilbert 2014, "VADER: A Parsimonious Rule-based Model for Sentiment Analysis of
    Social Media Text", ICWSM). Ties get average ranks. rho near 1: the axis orders words as
    people do; near 0: the axis is not about valence.

    The 95% interval is a paired percentile bootstrap over the matched words (each resample
    draws (a(w), v(w)) pairs with replacement). With fewer than 10 matched words every number
    is NaN and only ``n_matched`` is reported.

    Parameters
    ----------
    words : sequence of str
        One word per axis value.
    axis_values : np.ndarray [n]
        The words' coordinates along the axis.
    lexicon : mapping of str to float
        Human rating of each rated word (e.g. `rnnmem.data.lexicon.vader_lexicon()`).
    n_resamples : int
        Bootstrap resamples of the interval.
    seed : int
        Seed of the bootstrap.

    Returns
    -------
    Validity
    """
    axis_values = np.asarray(axis_values, dtype=float).reshape(-1)
    if len(words) != len(axis_values):
        raise ValueError(f"got {len(words)} words but {len(axis_values)} axis values.")
    keep = [i for i, w in enumerate(words) if w in lexicon and math.isfinite(axis_values[i])]
    matched = tuple(str(words[i]) for i in keep)
    valence = np.array([float(lexicon[w]) for w in matched], dtype=float)
    axis = axis_values[keep]
    n = len(matched)
    nan = math.nan
    if n < MIN_MATCHED or np.ptp(axis) == 0 or np.ptp(valence) == 0:
        return Validity(nan, nan, nan, n, matched, valence, axis)
    rho = float(stats.spearmanr(axis, valence).statistic)

    def statistic(a, v, axis=-1):
        ra = stats.rankdata(a, axis=axis)
        rv = stats.rankdata(v, axis=axis)
        ra = ra - ra.mean(axis=axis, keepdims=True)
        rv = rv - rv.mean(axis=axis, keepdims=True)
        return (ra * rv).sum(axis=axis) / np.sqrt((ra ** 2).sum(axis=axis) * (rv ** 2).sum(axis=axis))

    # a constant resample (0/0) is possible only when nearly all draws hit one word: with 10+ words, never in practice
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        res = stats.bootstrap((axis, valence), statistic, paired=True, vectorized=True, n_resamples=n_resamples,
                              method="percentile", random_state=np.random.default_rng(seed), batch=100)
    low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
    return Validity(rho, low, high, n, matched, valence, axis)
