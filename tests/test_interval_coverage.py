"""Every reported interval contains its estimate, or the report marks the value and says why (catalogue.OUTSIDE_INTERVAL):
over 20 seeds of hand-made effects, the per-token estimators' statistic and the regression, every catalogue indicator."""

import copy

import numpy as np
import pytest
import torch

import rnnmem
from known_systems import LinearRecurrence
from rnnmem.indicators import catalogue
from rnnmem.indicators.bootstrap import peak_relative
from rnnmem.indicators.retention import regression_decline, regression_retention
from rnnmem.report.format import OUTSIDE_MARK, indicator_value
from rnnmem.report.tables import indicators_latex

SEEDS = range(20)
D, N, NOISE, LAM = 100, 200, 0.3, 0.9  # a long range whose far r(d) is noise around zero


def _per_token(seed):
    """Peak-relative r(d) (occlusion, gradient, replacement) of noisy effects lam^d."""
    rng = np.random.default_rng(seed)
    d = np.arange(D + 1)
    effects = np.abs(LAM ** d * (1 + NOISE * rng.standard_normal((N, D + 1))) + 0.02 * rng.standard_normal((N, D + 1)))
    return peak_relative(effects, 200, seed)


def _regression(seed):
    """The regression's r(d) of S(x) = sum_d lam^d s(x_{T-d}) + noise."""
    rng = np.random.default_rng(seed)
    words = rng.standard_normal((N, D + 1, 3))
    points = np.einsum("ndk,d->nk", words, LAM ** np.arange(D + 1)) + NOISE * rng.standard_normal((N, 3))
    fitted = regression_retention(words, points, D, 200, seed)
    assert regression_decline(fitted) is None
    return fitted


def _readings(curve):
    return [entry.read(curve.value, curve.resamples, D) for entry in catalogue.CURVE_INDICATORS]


def _inside(value, low, high):
    return low <= value <= high


@pytest.mark.parametrize("estimate", [_per_token, _regression], ids=["per-token", "regression"])
def test_every_r_of_d_interval_contains_its_estimate(estimate):
    for seed in SEEDS:
        curve = estimate(seed)
        measured = np.isfinite(curve.value)
        assert np.all((curve.low <= curve.value)[measured] & (curve.value <= curve.high)[measured]), seed


def test_the_per_token_estimators_indicators_lie_inside_their_intervals():
    for seed in SEEDS:
        for reading in _readings(_per_token(seed)):
            assert _inside(reading.number, reading.low, reading.high), (seed, reading)
            assert not reading.outside_interval and OUTSIDE_MARK not in indicator_value(reading)


def test_a_regression_indicator_outside_its_interval_is_a_non_smooth_one_and_is_marked():
    outside = []
    for seed in SEEDS:
        for reading in _readings(_regression(seed)):
            if _inside(reading.number, reading.low, reading.high):
                assert not reading.outside_interval and OUTSIDE_MARK not in indicator_value(reading)
                continue
            assert reading.outside_interval and indicator_value(reading).endswith(f" {OUTSIDE_MARK}")
            outside.append(reading.indicator.key)
    # the envelope of ML(0.1) and the positive part of the recent share, on far r(d) that is noise around zero
    assert outside and set(outside) <= {"ML(0.5)", "ML(0.1)", "recent_share"}
    assert "retention_capacity" not in outside  # a plain sum of r(d) is smooth in the noise


def test_the_report_and_its_latex_mark_a_value_outside_its_interval_and_say_why():
    tokens = torch.randint(1, 40, (40, 24), generator=torch.Generator().manual_seed(0))
    measured = rnnmem.assess(LinearRecurrence(0.6), tokens, max_distance=23, estimators=("occlusion",), progress=False,
                             n_resamples=40, probes=False)
    assert OUTSIDE_MARK not in measured.to_markdown() and "textdagger" not in indicators_latex(measured)
    shifted = copy.copy(measured)  # every resample keeps more at far distances: its recent share lies lower
    resamples = measured.resamples["occlusion"].copy()
    resamples[12:] += 0.2
    shifted.resamples = {"occlusion": resamples}
    readings = shifted.indicator_values("occlusion")
    share = next(r for r in readings if r.indicator.key == "recent_share")
    assert share.high < share.number and share.outside_interval
    outside = sum(not _inside(r.number, r.low, r.high) for r in readings)
    markdown = shifted.to_markdown()
    headline = next(line for line in markdown.splitlines() if line.startswith("| occlusion |"))
    assert headline.count(OUTSIDE_MARK) == outside and f"{OUTSIDE_MARK} {catalogue.OUTSIDE_INTERVAL}" in markdown
    latex = indicators_latex(shifted)
    assert latex.count(r"\textdagger{}") == outside + 1 and "outside its own 95" in latex  # the values and the note
