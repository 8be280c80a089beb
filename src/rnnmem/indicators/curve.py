"""Scalar indicators read off a retention curve r(d), d = 0, 1, ..., D (their intervals: `indicators.catalogue`)."""

from __future__ import annotations

import numpy as np

from rnnmem.validation import check_tau

# r(d) that equals tau up to float rounding counts as having reached it, so that
# ML(tau) = ceil(log tau / log lambda) holds exactly for r(d) = lambda^d.
REACHED_TOLERANCE = 1e-9
_ROUNDING = REACHED_TOLERANCE


def memory_length(retention: np.ndarray, tau: float = 0.5) -> int | None:
    """ML(tau): the first distance from which r stays at or below tau; None when it never does.

    ML(tau) = min { d : E(d) <= tau },  E(d) = max_{d <= d' <= D} r(d'),

    where E is the upper envelope of r from the right and D the last measured distance.
    Every token farther back than ML keeps at most tau of its meaning over the measured
    range. The first crossing of r itself would let one noisy dip (r(3) = 0.09 before
    r(4) = 0.29) end the memory; for a curve that falls monotonically both are the same, so
    ML(tau) = ceil(log tau / log lambda) for r(d) = lambda^d.

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
    >>> memory_length(np.array([1.0, 0.6, 0.3, 0.09, 0.29, 0.05, 0.02]), tau=0.1)  # not 3
    5
    """
    tau = check_tau(tau)  # the library's single tau check: ML(1) = 0 and ML(nan) = None were numbers
    r = np.asarray(retention, dtype=float)
    measured = r[: measured_extent(r)]
    envelope = np.maximum.accumulate(measured[::-1])[::-1]
    below = np.nonzero(envelope <= tau + _ROUNDING)[0]
    return int(below[0]) if len(below) else None


def interpolated_crossing(x, values, threshold: float, log_x: bool = False) -> float | None:
    """Where the upper envelope from the right of ``values`` first falls to ``threshold``, between grid points.

    With E(i) = max_{j >= i} values[j] and i the first index where E(i) <= threshold, the
    crossing is x[0] when i = 0 and otherwise x[i-1] + f (x[i] - x[i-1]), f = (E(i-1) -
    threshold) / (E(i-1) - E(i)): the envelope read as piecewise linear (in log x with
    ``log_x``). It resolves what the grid value x[i] ties: two curves that both cross between
    x = 2 and x = 3 get different numbers. None when the envelope never falls to ``threshold``.

    >>> interpolated_crossing([0, 1, 2, 3], [1.0, 0.6, 0.2, 0.0], 0.1)  # 2 + (0.2 - 0.1) / 0.2
    2.5
    >>> interpolated_crossing([1, 4], [1.0, 0.0], 0.5, log_x=True)  # halfway in log k
    2.0
    """
    xs = np.log(np.asarray(x, float)) if log_x else np.asarray(x, float)
    envelope = np.maximum.accumulate(np.asarray(values, float)[::-1])[::-1]
    below = np.nonzero(envelope <= threshold + _ROUNDING)[0]
    if not len(below):
        return None
    i = int(below[0])
    if i == 0:
        crossing = xs[0]
    else:
        fraction = min(1.0, (envelope[i - 1] - threshold) / (envelope[i - 1] - envelope[i]))
        crossing = xs[i - 1] + fraction * (xs[i] - xs[i - 1])
    return float(np.exp(crossing) if log_x else crossing)


def fractional_memory_length(retention: np.ndarray, tau: float = 0.1) -> float | None:
    """ML(tau) read between distances: `interpolated_crossing` of r(d) at tau; None when r never falls to tau.

    ML(tau) - 1 < fractional ML(tau) <= ML(tau): the integer ML is the distance at or after the
    crossing, this is the crossing itself, so units whose r(d) all cross tau between the same two
    distances are still ordered. For r(d) = 1 - d / L it is (1 - tau) L.

    >>> fractional_memory_length(1 - np.arange(11) / 8, tau=0.1)  # 0.9 * 8
    7.2
    """
    tau = check_tau(tau)
    r = np.asarray(retention, dtype=float)
    measured = r[: measured_extent(r)]
    return interpolated_crossing(np.arange(len(measured)), measured, tau)


def retention_capacity(retention: np.ndarray) -> float:
    """Retention capacity C_r = sum_d r(d) over the measured range: the effective number of tokens remembered.

    Not Jaeger's task-free memory capacity (`rnnmem.indicators.classical.task_free_capacity`),
    which asks a linear readout to recall i.i.d. scalar input.

    >>> round(retention_capacity(0.5 ** np.arange(60)), 6)  # 1 / (1 - lambda)
    2.0
    """
    r = np.asarray(retention, dtype=float)
    return float(r[: measured_extent(r)].sum())


def recent_share(retention: np.ndarray) -> float:
    """Recent share: the part of the retention mass that lies in the most recent quarter of the measured range.

    RS = sum_{d <= D/4} r+(d) / sum_{d <= D} r+(d),   r+(d) = max(r(d), 0),

    where D is the last measured distance. RS lies in [0, 1]: about 1/4 when every measured
    distance is remembered alike (no preference for recent tokens), 1 when only the most recent
    quarter is remembered at all. Unlike a ratio of r(0) to the older retention, it stays finite
    when the older tokens are forgotten. For r(d) = lambda^d (0 < lambda < 1),
    RS = (1 - lambda^(q)) / (1 - lambda^(D+1)) with q = floor(D/4) + 1 recent distances.

    Parameters
    ----------
    retention : array [D+1]
        r(0), r(1), ..., r(D). NaN entries (distances no sequence reaches) end the measured range.

    Returns
    -------
    float
        NaN when fewer than 4 distances were measured (no quarter to speak of) or no distance
        retains anything.

    Examples
    --------
    >>> round(recent_share(0.5 ** np.arange(9)), 4)  # (1 - 0.5^3) / (1 - 0.5^9)
    0.8767
    >>> round(recent_share(np.ones(9)), 4)  # d <= 2 of 0..8: 3 of 9
    0.3333
    """
    r = np.asarray(retention, dtype=float)
    mass = np.clip(r[: measured_extent(r)], 0.0, None)
    total = float(mass.sum())
    if len(mass) < 4 or total <= 0:
        return float("nan")
    last = len(mass) - 1
    return float(mass[: last // 4 + 1].sum()) / total


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
