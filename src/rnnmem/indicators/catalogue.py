"""The catalogue of the indicators read off a retention curve: one entry each, read by every view.

`MemoryReport.summary` and its intervals, the report's headline table and explanations,
indicators.csv / indicators.tex, the CLI summary, a sweep cell's metrics and a study's
metrics are all generated from `CURVE_INDICATORS`. A new indicator is its function (of r(d),
[D+1]) and one `Indicator` entry here, plus its line in docs/indicators.md.

The one censoring rule lives here too: an ML(tau) whose r(d) never fell to tau within the
measured distances 0..D is *past the range*; where a number is needed (an interval bound, a
table's numeric column, a mean over seeds) it counts as D + 1, a lower bound (`beyond_range`).

An interval need not contain its estimate (`IndicatorValue.outside_interval`, `OUTSIDE_INTERVAL`): the
percentile bootstrap reads the indicator off resampled curves, which are noisier than the curve
measured on all sequences, and two indicators are not smooth in that noise. The memory length's
upper envelope max_{d' >= d} r(d') is raised by it, so resampled MLs lie farther out; the recent
share's positive part r+(d) turns it into retention mass in the far distances, so resampled shares
lie lower. On a curve whose far r(d) is noise around zero (a regression's, over a long range) every
resample can then lie on one side of the estimate. Both definitions are kept (the envelope makes
one noisy dip unable to end the memory, the positive part keeps the share in [0, 1]); the reports
mark such a value instead of moving its interval.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from rnnmem.indicators.bootstrap import rank_interval
from rnnmem.indicators.curve import measured_extent, memory_length, recent_share, retention_capacity
from rnnmem.validation import check_choice, check_tau


def beyond_range(value, last_measured: int):
    """The value of a censored indicator as a number: None (not reached within 0..D) counts as D + 1."""
    return last_measured + 1 if value is None else value


@dataclass(frozen=True)
class Indicator:
    """One scalar indicator of a retention curve r(d).

    key : the name in report.json's summary, a sweep cell's metrics (``<estimator>.<key>``) and the study.
    label : its name in tables (headline, indicators.csv, CLI summary).
    title, explanation : its name in sentences and study tables, and what it means (the report's
        "What the indicators mean").
    function : r(d) [D+1] -> number, or None when the curve never meets the indicator's condition
        (with ``tau`` the function is called as function(curve, tau)).
    tau : the threshold the function takes, None for an indicator without one.
    censored : None means "past the measured range" (read "> D", counted as D + 1) rather than undefined.
    floor_in_study : the study's tables show its untrained floor beside it.
    """

    key: str
    label: str
    title: str
    explanation: str
    function: Callable
    tau: float | None = None
    censored: bool = False
    floor_in_study: bool = True

    def of(self, curve) -> float | int | None:
        """The indicator of one curve r(d)."""
        return self.function(curve) if self.tau is None else self.function(curve, self.tau)

    def counted(self, curve) -> float:
        """The indicator of one curve as a number: a censored one past the range counts as D + 1."""
        value = self.of(curve)
        if self.censored:
            value = beyond_range(value, measured_extent(curve) - 1)
        return math.nan if value is None else value

    def counted_resamples(self, resamples) -> np.ndarray:
        """`counted` of every resampled curve, [R], from the curve's resamples [D+1, R].

        A report reads each indicator's resamples several times (its interval in report.json, report.md, the
        tables and the console summary, its difference from the floor): the last few answers are kept, by the
        resamples' content, so that each is computed once.
        """
        curves = np.ascontiguousarray(np.asarray(resamples, float).T)
        key = (self, curves.shape, hashlib.blake2b(curves.tobytes(), digest_size=16).digest())
        if key not in _COUNTED:
            _COUNTED[key] = np.array([self.counted(curve) for curve in curves], float)
            _COUNTED[key].setflags(write=False)
            while len(_COUNTED) > COUNTED_KEPT:
                _COUNTED.pop(next(iter(_COUNTED)))
        return _COUNTED[key]

    def interval(self, resamples) -> tuple[float, float]:
        """95% bootstrap interval from the curve's resamples [D+1, R], taken by rank (`rank_interval`)."""
        return rank_interval(self.counted_resamples(resamples))

    def read(self, curve, resamples, last_measured: int) -> IndicatorValue:
        """Value and interval of one estimator's curve, with the D of "> D"."""
        return IndicatorValue(self, self.of(curve), *self.interval(resamples), last_measured)


# every indicator of a few estimators of a trained model and its floor: R numbers each
COUNTED_KEPT = 64
_COUNTED: dict[tuple, np.ndarray] = {}


@dataclass(frozen=True)
class IndicatorValue:
    """One indicator of one curve: value, 95% interval, and the last measured distance D.

    ``value`` None is "past the range" for a censored indicator (`censored`), undefined otherwise.
    """

    indicator: Indicator
    value: float | int | None
    low: float
    high: float
    last_measured: int

    @property
    def censored(self) -> bool:
        return self.indicator.censored and self.value is None

    @property
    def outside_interval(self) -> bool:
        """Whether the value (as a number) lies outside its own 95% interval: see `OUTSIDE_INTERVAL`."""
        value = self.number
        return not any(math.isnan(x) for x in (value, self.low, self.high)) and not self.low <= value <= self.high

    @property
    def number(self) -> float:
        """The value as a number: D + 1 (a lower bound) when censored, NaN when undefined."""
        value = beyond_range(self.value, self.last_measured) if self.indicator.censored else self.value
        return math.nan if value is None else float(value)


# What a report says under a table that marks a value outside its own interval (the module docstring says more).
OUTSIDE_INTERVAL = ("the value lies outside its own 95% bootstrap interval: the resampled curves are noisier than "
                    "the measured one, and this indicator is not smooth in that noise (a memory length's upper "
                    "envelope rises with it, a recent share's positive part turns it into far retention mass), so "
                    "the resamples lie to one side. Read the interval as the spread, and the value as biased by "
                    "at least the gap between them (docs/indicators.md).")

CURVE_INDICATORS: tuple[Indicator, ...] = (
    Indicator("ML(0.5)", "ML(0.5)", "Memory length ML(0.5), half-life",
              "the first distance from the end d at which a token keeps at most half of its semantics in the final "
              "state; “> D” means it never fell that far within the measured distances 0..D.",
              memory_length, tau=0.5, censored=True, floor_in_study=False),
    Indicator("ML(0.1)", "ML(0.1)", "Memory length ML(0.1), horizon",
              "the first distance at which a token keeps at most a tenth of its semantics: tokens farther back barely "
              "reach the final state.", memory_length, tau=0.1, censored=True),
    Indicator("retention_capacity", "retention capacity", "Retention capacity Σ r(d)",
              "the sum of r(d) over the measured distances: the effective number of tokens remembered (not Jaeger's "
              "task-free memory capacity, which `rnnmem capacity` measures on an untrained unit).", retention_capacity),
    Indicator("recent_share", "recent share", "Recent share of the retention mass, 0..1",
              "the share of the retention mass Σ r(d) that lies in the most recent quarter of the measured distances "
              "(d ≤ D/4), between 0 and 1: about 0.25 = every measured distance is remembered alike, 1 = only the most "
              "recent quarter is remembered at all.", recent_share),
)


def curve_interval(resamples: np.ndarray, indicator: str, tau: float = 0.5) -> tuple[float, float]:
    """95% bootstrap interval of one indicator function of a retention curve, from the curve's resamples.

    Parameters
    ----------
    resamples : array [D+1, R]
        R bootstrap resamples of r(d) (`Estimate.resamples`).
    indicator : the name of a catalogue function: "retention_capacity", "memory_length", "recent_share", ...
    tau : float
        Threshold of an indicator that takes one (``memory_length``); a resample where r never
        falls to tau counts as one past its measured range, D + 1.
    """
    return indicator_by_function(indicator, tau).interval(resamples)


def indicator_by_function(indicator: str, tau: float = 0.5) -> Indicator:
    """The catalogue entry whose function is named ``indicator``, at threshold ``tau`` when it takes one."""
    by_function = {entry.function.__name__: entry for entry in CURVE_INDICATORS}
    entry = by_function[check_choice("indicator", indicator, by_function)]
    return entry if entry.tau is None else replace(entry, tau=check_tau(tau))
