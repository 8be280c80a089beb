"""Trained minus its untrained floor: the difference of a curve indicator, with a paired bootstrap interval.

The untrained floor (the same architecture at initialisation, assessed on the same sequences) is a
reference, not a lower bound: an untrained network's state carries its recent inputs too, and a
trained one can keep less of them than it did (a task that reads only the last tokens teaches it to
forget). What training changed is the difference, and whether that difference is more than
resampling noise is what its interval says. The trained model and its floor are measured on the
same sequences with the same bootstrap seed, so resample i of each draws the same sequences: the
difference is taken resample by resample (a paired bootstrap), which cancels the variation the two
share from the choice of sequences.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from rnnmem.errors import ConfigError
from rnnmem.indicators.bootstrap import rank_interval
from rnnmem.indicators.catalogue import indicator_by_function


@dataclass(frozen=True)
class FloorDifference:
    """An indicator of the trained model minus the same indicator of its untrained floor.

    Attributes
    ----------
    difference : float
        trained - floor on the measured sequences.
    low, high : float
        95% percentile interval of the difference over paired bootstrap resamples (NaN without resamples).
    censored : bool
        For memory lengths: the trained model's or the floor's r(d) never fell to tau within the
        measured range, so that side counts as D + 1 and the difference is a bound, not a value.
    """

    difference: float
    low: float
    high: float
    censored: bool = False

    @property
    def excludes_zero(self) -> bool:
        """Whether the interval lies wholly on one side of 0: training changed the indicator beyond resampling noise."""
        return not math.isnan(self.low) and (self.low > 0 or self.high < 0)

    def to_dict(self) -> dict:
        return asdict(self)


def floor_difference(trained: np.ndarray, floor: np.ndarray, trained_resamples: np.ndarray,
                     floor_resamples: np.ndarray, indicator: str, tau: float = 0.5) -> FloorDifference:
    """Trained minus floor for one indicator of their retention curves, with its paired 95% bootstrap interval.

    Parameters
    ----------
    trained, floor : array [D+1]
        r(d) of the trained model and of its untrained floor, on the same sequences.
    trained_resamples, floor_resamples : array [D+1, R]
        Their bootstrap resamples (`Estimate.resamples`), drawn with the same seed over the same
        sequences, so that column i of each comes from the same resampled sequences.
    indicator : {"retention_capacity", "memory_length", "recent_share"}
    tau : float
        Threshold of ``memory_length``.
    """
    entry = indicator_by_function(indicator, tau)
    trained_resamples, floor_resamples = np.asarray(trained_resamples, float), np.asarray(floor_resamples, float)
    if trained_resamples.shape != floor_resamples.shape:
        raise ConfigError(f"the trained model's resamples {trained_resamples.shape} and its floor's "
                          f"{floor_resamples.shape} differ in shape: the difference needs both assessed on the same "
                          "sequences with the same n_resamples and seed (assess(..., floor=...) does this).")
    censored = entry.censored and any(entry.of(curve) is None for curve in (trained, floor))
    difference = entry.counted(trained) - entry.counted(floor)
    paired = entry.counted_resamples(trained_resamples) - entry.counted_resamples(floor_resamples)
    return FloorDifference(difference, *rank_interval(paired), censored)
