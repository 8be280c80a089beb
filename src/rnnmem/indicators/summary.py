"""Scalar indicators read off a retention curve r(d), d = 0, 1, ..., D."""

from __future__ import annotations

import numpy as np

from rnnmem.validation import check_tau

# r(d) that equals tau up to float rounding counts as having reached it, so that
# ML(tau) = ceil(log tau / log lambda) holds exactly for r(d) = lambda^d.
_ROUNDING = 1e-9


def memory_length(retention: np.ndarray, tau: float = 0.5) -> int | None:
    """ML(tau): the first distance d with r(d) <= tau; None when r stays above tau over the measured range.

    Parameters
    ----------
    retention : array [D+1]
        r(0), r(1), ..., r(D). NaN entries (distances no sequence reaches) end the measured range.
    tau : float
        Threshold in (0, 1): 0.5 gives the half-life, 0.1 the horizon.

    Examples
    --------
    >>> memory_length(0.8 ** np.arange(20), tau=0.5)  # ceil(log 0.5 / log 0.8)
    4
    """
    tau = check_tau(tau)  # the library's single tau check: ML(1) = 0 and ML(nan) = None were numbers
    r = np.asarray(retention, dtype=float)
    measured = r[: measured_extent(r)]
    below = np.nonzero(measured <= tau + _ROUNDING)[0]
    return int(below[0]) if len(below) else None


def capacity(retention: np.ndarray) -> float:
    """MC = sum_d r(d) over the measured range: the effective number of tokens remembered.

    >>> round(capacity(0.5 ** np.arange(60)), 6)  # 1 / (1 - lambda)
    2.0
    """
    r = np.asarray(retention, dtype=float)
    return float(r[: measured_extent(r)].sum())


def recency_bias(retention: np.ndarray, typical_length: int) -> float:
    """r(0) / mean r(d) over the older half of a sequence of ``typical_length`` tokens.

    1 means no preference for recent tokens; large values mean the end dominates.
    Infinite when the older half is forgotten entirely.
    """
    r = np.asarray(retention, dtype=float)
    end = min(typical_length, measured_extent(r))
    older = r[max(1, end // 2) : end]
    if len(older) == 0:
        return float("nan")
    mean_old = float(np.mean(older))
    return float(r[0] / mean_old) if mean_old > 0 else float("inf")


def measured_extent(retention) -> int:
    """How many distances 0, 1, ... were measured: a missing value (NaN or None) ends the range."""
    r = np.asarray(retention, dtype=float)
    missing = np.nonzero(~np.isfinite(r))[0]
    return int(missing[0]) if len(missing) else len(r)


def last_measured_distance(distance, retention) -> int:
    """D of "> D": the distance before the first missing r(d) (the last distance when none was measured)."""
    distance = np.asarray(distance)
    if not len(distance):
        return 0
    if not np.isfinite(np.asarray(retention, dtype=float)).any():
        return int(distance[-1])
    return int(distance[max(measured_extent(retention) - 1, 0)])
