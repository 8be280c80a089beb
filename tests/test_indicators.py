"""The pure indicator functions on arrays with known answers."""

import numpy as np
import pytest

from rnnmem.guidance import recommend_length
from rnnmem.indicators import knee, retention_capacity, memory_length, ratio_of_sums, recent_share


def test_memory_length_is_the_first_distance_at_or_below_tau():
    r = np.array([1.0, 0.8, 0.6, 0.5, 0.4, 0.05])
    assert memory_length(r, 0.5) == 3
    assert memory_length(r, 0.1) == 5
    assert memory_length(r, 0.01) is None


def test_memory_length_stops_at_the_measured_range():
    r = np.array([1.0, 0.9, np.nan, 0.0])
    assert memory_length(r, 0.5) is None
    assert retention_capacity(r) == pytest.approx(1.9)


def test_recent_share_is_the_mass_in_the_most_recent_quarter_of_the_measured_range():
    r = np.array([1.0, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.25, 0.0, np.nan, 5.0])  # measured 0..8: quarter d <= 2
    assert recent_share(r) == pytest.approx(2.0 / 3.25)
    assert recent_share(np.ones(13)) == pytest.approx(4 / 13)  # no preference for recent tokens: about 1/4
    assert recent_share(np.r_[1.0, np.zeros(20)]) == pytest.approx(1.0)  # older tokens gone: bounded, not infinite
    assert recent_share(np.array([1.0, -0.5, 0.0, 1.0])) == pytest.approx(0.5)  # negative weights carry no mass
    assert np.isnan(recent_share(np.zeros(8))) and np.isnan(recent_share(np.ones(3)))


def test_knee_finds_where_a_plateau_breaks():
    x = np.arange(1, 101)
    y = np.where(x < 60, 1.0, 1.0 - (x - 60) / 40)
    assert knee(x, y) == pytest.approx(60, abs=3)
    assert knee(x, np.ones(100)) is None
    assert knee(x, 1.0 - x / 100) is None


def test_knee_is_not_placed_by_noise_on_a_plateau():
    x = np.arange(1, 151)
    rng = np.random.default_rng(0)
    y = 0.85 + 0.15 * np.exp(-(x - 1) / 2.0) + rng.normal(0, 0.01, len(x))
    assert knee(x, y) <= 15


def test_ratio_of_sums_ci_has_the_width_of_the_delta_method_and_skips_missing():
    rng = np.random.default_rng(0)
    truth = np.array([1.0, 0.5, 0.2])
    den = rng.uniform(0.5, 1.5, (400, 3))
    num = den * truth + rng.normal(0, 0.05, (400, 3))
    num[:200, 2] = np.nan  # sequences too short for the farthest distance
    est = ratio_of_sums(num, den, n_resamples=2000, seed=0)
    for j in range(3):
        rows = np.isfinite(num[:, j])
        se = np.std(num[rows, j] - truth[j] * den[rows, j]) / (np.sqrt(rows.sum()) * den[rows, j].mean())
        assert abs(est.value[j] - truth[j]) < 4 * se
        assert est.high[j] - est.low[j] == pytest.approx(2 * 1.96 * se, rel=0.2)
    assert est.resamples.shape == (3, 2000)


def test_recommendation_is_capped_by_the_data():
    lengths = np.full(50, 20)
    capped = recommend_length(0.5 ** np.arange(30), np.full(50, 3))  # ML(0.1) = 4 would be past the data's 3 tokens
    assert (capped.length, capped.at_least) == (3, False)
    short = recommend_length(0.5 ** np.arange(20), lengths)
    assert short.length == 4 and short.evidence["ML(0.1)"] == 4 and not short.at_least


def test_a_recommendation_past_the_measured_range_is_at_least_that_range():
    """Issue 16: --max-distance 20 gave 128 tokens, the data's 95% length quantile, for a curve never below 0.1."""
    wide = recommend_length(np.ones(21), np.full(50, 128))
    assert (wide.length, wide.at_least) == (21, True)
    assert "rerun with a larger --max-distance" in wide.rule and str(wide).startswith("at least 21 tokens")
    # 0.9^d reaches 0.1 at d = 22: measured to d = 19 that is unseen, measured to d = 29 it is found
    assert recommend_length(0.9 ** np.arange(20), np.full(50, 64)).length == 20
    assert recommend_length(0.9 ** np.arange(30), np.full(50, 64)).length == 22
    rng = np.random.default_rng(0)
    for _ in range(200):  # never outside the measured range, whatever the curve and the data
        curve = rng.uniform(0, 1.5, size=rng.integers(1, 40))
        rec = recommend_length(curve, rng.integers(1, 300, size=30), tau=float(rng.uniform(0.05, 0.9)))
        assert 1 <= rec.length <= len(curve)


@pytest.mark.parametrize("lam", [0.5, 0.7, 0.9, 0.97])
def test_fractional_memory_length_lies_in_the_step_before_the_integer_one(lam):
    from rnnmem.indicators.curve import fractional_memory_length

    r = lam ** np.arange(200)
    ml = memory_length(r, 0.1)
    fractional = fractional_memory_length(r, 0.1)
    assert ml - 1 < fractional <= ml
    # linear between the two distances around the crossing: r(ml - 1) - fractional step x its drop
    step = fractional - (ml - 1)
    assert r[ml - 1] - step * (r[ml - 1] - r[ml]) == pytest.approx(0.1)


def test_fractional_memory_length_orders_curves_that_tie_on_the_integer_ml():
    from rnnmem.indicators.curve import fractional_memory_length

    early, late = np.array([1.0, 0.5, 0.11, 0.0]), np.array([1.0, 0.5, 0.3, 0.0])  # both ML(0.1) = 3
    assert memory_length(early, 0.1) == memory_length(late, 0.1) == 3
    assert 2 < fractional_memory_length(early, 0.1) < fractional_memory_length(late, 0.1) < 3
    assert fractional_memory_length(np.array([1.0, 0.5, 0.3]), 0.1) is None  # never falls to tau
    # a noisy dip is not the crossing, as for ML: the envelope from the right decides
    assert fractional_memory_length(np.array([1.0, 0.05, 0.3, 0.0]), 0.1) > 2


def test_peak_relative_is_each_mean_over_the_largest_and_leaves_thin_distances_out():
    from rnnmem.indicators.bootstrap import peak_relative

    effects = np.tile([2.0, 4.0, 1.0, 40.0], (40, 1))
    effects[5:, 3] = np.nan  # d = 3 reached by 5 sequences only: a huge mean there must not set the peak
    est = peak_relative(effects, n_resamples=50, seed=0, min_sequences=30)
    np.testing.assert_allclose(est.value[:3], [0.5, 1.0, 0.25])
    assert np.isnan(est.value[3])
    with_yardstick = peak_relative(effects[:, :3], n_resamples=20, yardstick=np.tile([1.0, 8.0, 0.5], (40, 1)))
    np.testing.assert_allclose(with_yardstick.value, [1.0, 0.25, 1.0])  # E[e] / E[y]: 2, 0.5, 2


def test_regression_declines_only_on_a_clearly_negative_weight():
    from rnnmem.indicators.bootstrap import Estimate
    from rnnmem.indicators.retention import regression_decline

    def fitted(values):
        values = np.asarray(values, float)
        return Estimate(values, values - 0.1, values + 0.1, np.empty((len(values), 0)))

    assert regression_decline(fitted([1.0, 0.5, 0.25, -0.05])) is None  # noise around zero is not a reason
    reason = regression_decline(fitted([0.3, -0.4, 1.0, -0.2]))
    assert reason.startswith("its weight at d = 1 is -0.40 of its largest")


def test_a_memory_spread_thin_over_the_context_is_not_cut_at_its_horizon():
    # attention spread over 100 earlier tokens: each has 3% of the current token's effect, together 75% of the mass;
    # cutting training at ML(0.1) = 1 would remove what the model reads
    spread = recommend_length(np.r_[1.0, np.full(100, 0.03)], np.full(50, 128))
    assert (spread.length, spread.at_least) == (101, True)
    assert spread.evidence["ML(0.1)"] == 1 and spread.evidence["retention mass past ML"] == pytest.approx(0.75)
    assert "spread thin" in spread.rule
    # a fading memory keeps about tau of its mass past ML(tau): read at its horizon, as before
    for lam in (0.5, 0.8, 0.95):
        assert recommend_length(lam ** np.arange(101), np.full(50, 128)).length == memory_length(lam ** np.arange(101), 0.1)
    # with the far tokens holding less than half of the mass, the horizon stands
    assert recommend_length(np.r_[1.0, 1.0, np.full(99, 0.01)], np.full(50, 128)).length == 2


def test_the_recommendation_interval_is_the_rule_applied_to_every_resampled_curve():
    rng = np.random.default_rng(3)
    lams = rng.uniform(0.7, 0.9, size=400)
    resamples = np.stack([lam ** np.arange(60) for lam in lams], axis=1)  # [D+1, R]: each fades at its own rate
    rec = recommend_length(0.8 ** np.arange(60), np.full(50, 128), resamples=resamples)
    horizons = np.sort([memory_length(lam ** np.arange(60), 0.1) for lam in lams])
    # by rank: the 10th and the 391st of 400 sorted horizons (0.025 and 0.975 of the 399 steps between them)
    assert [(end.length, end.at_least) for end in rec.interval] == [(horizons[9], False), (horizons[390], False)]
    assert horizons[9] < rec.length < horizons[390]
    assert str(rec).startswith(f"{rec.length} tokens, 95% interval {horizons[9]} to {horizons[390]} (ML(0.1)")
    # the data cap applies to every resample as to the curve: none can ask for more than the data's 12 tokens
    capped = recommend_length(0.8 ** np.arange(60), np.full(50, 12), resamples=resamples)
    assert capped.length == 11 and capped.interval[1].length == 12 and capped.interval[0].length == horizons[9]


def test_resampled_curves_that_never_fall_to_tau_leave_the_interval_open_above():
    curve = 0.8 ** np.arange(40)
    flat = np.ones((40, 30))  # 30 of 200 resamples stay above 0.1 up to d = 39: "at least 40 tokens"
    resamples = np.concatenate([np.repeat(curve[:, None], 170, axis=1), flat], axis=1)
    rec = recommend_length(curve, np.full(50, 128), resamples=resamples)
    low, high = rec.interval
    assert (low.length, low.at_least) == (memory_length(curve, 0.1), False)
    assert (high.length, high.at_least) == (40, True)
    assert rec.to_dict()["interval"] == [{"length": low.length, "at_least": False}, {"length": 40, "at_least": True}]
    # fewer than 2.5% of the resamples past the range: the upper end is a bounded length again
    rare = np.concatenate([np.repeat(curve[:, None], 197, axis=1), flat[:, :3]], axis=1)
    assert not recommend_length(curve, np.full(50, 128), resamples=rare).interval[1].at_least
