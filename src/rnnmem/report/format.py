"""How numbers read in every report: one formatter per kind of value, shared by Markdown, HTML, plots and the CLI."""

from __future__ import annotations

import math

import numpy as np

# Beside a value outside its own interval (`catalogue.IndicatorValue.outside_interval`); the table's note says why.
OUTSIDE_MARK = "†"


def number(value) -> str:
    """Short human form: integers as such, floats to 3 significant digits, missing as an em dash."""
    if value is None:
        return "—"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    value = float(value)
    if math.isnan(value):
        return "—"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if value == int(value) and abs(value) < 1e6:
        return str(int(value))
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def missing(value) -> bool:
    return value is None or (isinstance(value, (float, np.floating)) and math.isnan(value))


def with_ci(value, ci) -> str:
    """"value [low, high]", or the value alone when the interval is missing."""
    low, high = ci
    if missing(low) or missing(high):
        return number(value)
    return f"{number(value)} [{number(low)}, {number(high)}]"


def memory_length_text(value, last_measured: int) -> str:
    """ML(tau) as read everywhere: the distance, or "> D" when r(d) never fell to tau within 0..D.

    ``last_measured`` is D, the largest distance with a measured r(d)
    (`MemoryReport.last_measured_distance`); a value above D (an interval bound that counts
    an unreached resample as D + 1) also reads "> D".
    """
    if value is None or value > last_measured:
        return f"> {last_measured}"
    return number(value)


def memory_length_with_ci_text(value, ci, last_measured: int) -> str:
    """ML(tau) with its 95% interval, each bound read as `memory_length_text` reads it."""
    shown = memory_length_text(value, last_measured)
    low, high = ci
    if missing(low) or missing(high):
        return shown
    return f"{shown} [{memory_length_text(low, last_measured)}, {memory_length_text(high, last_measured)}]"


def indicator_value(reading, interval: bool = True) -> str:
    """One catalogue indicator's value (an `IndicatorValue`) as every report reads it: "> D" past the measured range
    for a censored one (an ML), 3 significant digits otherwise; with its 95% interval unless ``interval`` is False,
    marked `OUTSIDE_MARK` when the value lies outside it."""
    if not interval:
        return memory_length_text(reading.value, reading.last_measured) if reading.indicator.censored else number(reading.value)
    shown = (memory_length_with_ci_text(reading.value, (reading.low, reading.high), reading.last_measured)
             if reading.indicator.censored else with_ci(reading.value, (reading.low, reading.high)))
    return f"{shown} {OUTSIDE_MARK}" if reading.outside_interval else shown


def duration(seconds: float) -> str:
    """Seconds as "42 s", "3.5 min" or "2.1 h"."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def powers_of_two(last: int) -> list[int]:
    """0, 1, 2, 4, 8, ... up to ``last``, and ``last`` itself: the rows a long table keeps."""
    out, d = [0], 1
    while d <= last:
        out.append(d)
        d *= 2
    if last not in out:
        out.append(last)
    return out
