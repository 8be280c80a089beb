"""Trained minus its untrained floor: known differences, a paired interval, and one that can say "no difference"."""

import numpy as np
import pytest
import torch

import rnnmem
from rnnmem.indicators.bootstrap import ratio_of_sums
from rnnmem.indicators.floor import floor_difference

N, DISTANCES, RESAMPLES = 300, 31, 400


def noisy_curve(lam, noise_seed, shared_seed=0, noise=0.05):
    """r(d) = lam^d as a ratio of per-sequence sums: the denominators (the sequences) are shared across systems,
    the effects carry each system's own noise; the bootstrap seed is the same, so the resamples are paired."""
    den = np.random.default_rng(shared_seed).uniform(0.5, 1.5, size=(N, DISTANCES))
    jitter = 1 + noise * np.random.default_rng(noise_seed).standard_normal((N, DISTANCES))
    return ratio_of_sums(lam ** np.arange(DISTANCES) * den * jitter, den, RESAMPLES, seed=1)


def difference(a, b, indicator, tau=0.5):
    return floor_difference(a.value, b.value, a.resamples, b.resamples, indicator, tau)


def test_difference_of_two_geometric_memories_is_their_known_gap():
    trained, floor = noisy_curve(0.8, noise_seed=1), noisy_curve(0.5, noise_seed=2)
    capacity = difference(trained, floor, "retention_capacity")
    truth = (1 - 0.8 ** DISTANCES) / 0.2 - (1 - 0.5 ** DISTANCES) / 0.5  # sum of lam^d over d = 0..30
    assert capacity.difference == pytest.approx(truth, abs=0.05)
    assert capacity.low <= truth <= capacity.high and capacity.excludes_zero
    horizon = difference(trained, floor, "memory_length", tau=0.1)  # ceil(log 0.1 / log lam): 11 - 4
    assert horizon.difference == 7 and not horizon.censored and horizon.excludes_zero


def test_the_same_memory_twice_is_no_difference():
    """The interval must be able to say no: two noisy measurements of one system straddle 0."""
    first, second = noisy_curve(0.7, noise_seed=3), noisy_curve(0.7, noise_seed=4)
    for indicator in ("retention_capacity", "recent_share"):
        same = difference(first, second, indicator)
        assert same.low <= 0 <= same.high and not same.excludes_zero, indicator


def test_the_bootstrap_is_paired_resample_by_resample():
    curve = noisy_curve(0.7, noise_seed=5)
    itself = difference(curve, curve, "retention_capacity")
    assert (itself.difference, itself.low, itself.high) == (0.0, 0.0, 0.0)
    # unpaired (the floor's resamples in another order) the same two curves would show a spread
    shuffled = floor_difference(curve.value, curve.value, curve.resamples, curve.resamples[:, ::-1], "retention_capacity")
    assert shuffled.high - shuffled.low > 0.01


def test_a_memory_past_the_measured_range_makes_the_difference_a_bound():
    never = np.ones(DISTANCES)
    fast = 0.5 ** np.arange(DISTANCES)
    bound = floor_difference(never, fast, np.tile(never[:, None], 5), np.tile(fast[:, None], 5), "memory_length", 0.1)
    assert bound.censored and bound.difference == DISTANCES - 4  # D + 1 = 31 against ML(0.1) = 4


def test_resamples_of_other_shapes_are_refused():
    curve = noisy_curve(0.7, noise_seed=6)
    with pytest.raises(rnnmem.ConfigError, match="same sequences with the same n_resamples and seed"):
        floor_difference(curve.value, curve.value, curve.resamples, curve.resamples[:, :10], "retention_capacity")


def test_an_untrained_model_is_its_own_floor_and_the_report_keeps_the_difference():
    model = rnnmem.build_model("gru", 30, 2, hidden_size=6, embedding_dim=4, seed=1)
    tokens = torch.randint(1, 30, (24, 12), generator=torch.Generator().manual_seed(1))
    report = rnnmem.assess(model, tokens, max_distance=11, progress=False, n_resamples=30, estimators=("occlusion",))
    differences = report.summary()["trained_minus_floor"]["occlusion"]
    assert set(differences) == {"ML(0.5)", "ML(0.1)", "retention_capacity", "recent_share"}
    for numbers in differences.values():  # same weights, same sequences, same resamples
        assert (numbers["difference"], numbers["low"], numbers["high"]) == (0.0, 0.0, 0.0)
    assert "trained_minus_floor" in report.to_dict()["summary"]
    no_floor = rnnmem.assess(model, tokens, max_distance=11, progress=False, n_resamples=30,
                             estimators=("occlusion",), floor=False)
    assert no_floor.summary()["trained_minus_floor"] is None
    with pytest.raises(rnnmem.ConfigError, match="has no untrained floor"):
        no_floor.floor_difference("retention_capacity")
