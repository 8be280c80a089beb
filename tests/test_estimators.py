"""The estimators on known-answer systems where the old definitions went wrong (issue 10, item 4).

- regression with sequences longer than max_distance (ragged lengths): the far tokens'
  weights must not bias r(d) at small d;
- occlusion's r(d) on a system whose input gain scaled the old word-alone curve;
- ML(tau) on a noisy curve: a single dip below tau does not end the memory.
"""

import math

import numpy as np
import pytest
import torch
from torch import nn

import rnnmem
from known_systems import DelayLine, LinearRecurrence, fixed_word_table
from rnnmem import ses
from rnnmem.data.text import encode_batch
from rnnmem.indicators import memory_length
from rnnmem.indicators.retention import fitted_tail_decay, regression_design

MAX_DISTANCE = 20


def ragged_sequences(n=64, shortest=30, longest=80, seed=0):
    """n random sequences with lengths in [shortest, longest]: all longer than MAX_DISTANCE + 1."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(shortest, longest + 1, (n,), generator=g)
    return [torch.randint(1, 40, (int(length),), generator=g).tolist() for length in lengths]


def relative_errors(measured, expected):
    return np.abs(np.asarray(measured) - expected) / expected


def words_and_points(model, sequences):
    """s(x_{T-d}) by distance [N, T, K] and S(x) [N, K], as assess computes them."""
    tokens, lengths = encode_batch(sequences, pad_id=0)
    o0 = ses.origin(model, 0).point
    points = ses.sequence_points(ses.trajectories(model, tokens, o0), lengths).double().numpy()
    ids, table = ses.word_point_table(model, tokens, lengths, o0)
    return ses.by_distance(ses.words_by_position(tokens, lengths, ids, table), lengths.numpy()), points


# -- regression: sequences longer than max_distance ---------------------------------------------

@pytest.mark.parametrize("lam", [0.5, 0.8, 0.95])
def test_regression_is_lambda_power_d_when_sequences_are_longer_than_max_distance(lam):
    report = rnnmem.assess(LinearRecurrence(lam), ragged_sequences(), max_distance=MAX_DISTANCE,
                           estimators=("regression",), progress=False, n_resamples=50, probes=False)
    expected = lam ** np.arange(MAX_DISTANCE + 1)
    errors = relative_errors(report.retention["regression"], expected)
    assert errors.max() <= 0.05, f"worst r({errors.argmax()}) is {errors.max():.1%} off lambda^d"
    assert report.memory_length(0.5, "regression") == math.ceil(math.log(0.5) / math.log(lam))


def test_a_single_pooled_weight_for_the_far_tokens_fails_the_same_test():
    """The old model (every token beyond max_distance shares one weight, rho = 1) misses by more than 5%."""
    lam = 0.95
    words, points = words_and_points(LinearRecurrence(lam), ragged_sequences())
    design = regression_design(words, MAX_DISTANCE, tail_decay=1.0)
    alpha = np.linalg.lstsq(design.transpose(0, 2, 1).reshape(points.size, -1), points.reshape(-1), rcond=None)[0]
    assert relative_errors(alpha[: MAX_DISTANCE + 1], lam ** np.arange(MAX_DISTANCE + 1)).max() > 0.10


@pytest.mark.parametrize("lam", [0.8, 0.95])
def test_the_fitted_tail_decays_at_the_recurrences_rate(lam):
    words, points = words_and_points(LinearRecurrence(lam), ragged_sequences(seed=1))
    assert fitted_tail_decay(words, points, MAX_DISTANCE) == pytest.approx(lam, abs=1e-6)


def test_a_delay_line_shorter_than_max_distance_has_no_tail_and_stays_exact():
    k = 4
    report = rnnmem.assess(DelayLine(k), ragged_sequences(seed=2), max_distance=10, estimators=("regression",),
                           progress=False, n_resamples=50, probes=False)
    np.testing.assert_allclose(report.retention["regression"], (np.arange(11) < k).astype(float), atol=1e-6)


# -- occlusion: r(d) relative to the model's own largest effect ----------------------------------

class DampedInput(nn.Module):
    """h_t = lam h_{t-1} + g_t e_t, g_1 = 1 and g_t = gain afterwards, identity readout.

    A token read in context moves the state ``gain`` times as far as the same token read
    alone from the initial state (a saturating unit does this with gain < 1). Its effect then
    decays as lam^d: the share of the model's largest effect left at distance d is lam^d.
    """

    def __init__(self, lam, gain, vocab_size=40, dim=3, seed=0):
        super().__init__()
        self.table = fixed_word_table(vocab_size, dim, seed)
        self.lam, self.gain = lam, gain

    def forward(self, tokens):
        emb = self.table[tokens]
        h, out = torch.zeros_like(emb[:, 0]), []
        for t in range(emb.shape[1]):
            h = self.lam * h + (1.0 if t == 0 else self.gain) * emb[:, t]
            out.append(h)
        return torch.stack(out, dim=1)


def test_an_input_gain_leaves_r_a_share_of_the_largest_effect_and_the_half_life_a_half_life():
    """The word-alone yardstick read gain * lam^d here (r(0) = 0.4, so ML(0.5) = 0 whatever lam was)."""
    lam, gain = 0.8, 0.4
    report = rnnmem.assess(DampedInput(lam, gain), ragged_sequences(), max_distance=MAX_DISTANCE,
                           estimators=("occlusion",), progress=False, n_resamples=50, probes=False)
    np.testing.assert_allclose(report.retention["occlusion"], lam ** np.arange(MAX_DISTANCE + 1), rtol=1e-9)
    assert report.memory_length(0.5) == math.ceil(math.log(0.5) / math.log(lam))


# -- ML(tau) on a noisy curve ------------------------------------------------------------------

def test_a_dip_below_tau_followed_by_a_rise_does_not_end_the_memory():
    r = np.array([1.0, 0.6, 0.3, 0.09, 0.289, 0.15, 0.05, 0.02])
    assert memory_length(r, 0.1) == 6
    assert memory_length(r, 0.5) == 2


def test_memory_length_on_noisy_geometric_curves_is_where_r_stays_below_tau():
    horizon = math.ceil(math.log(0.1) / math.log(0.8))  # 11 without noise
    early_dips = 0
    for seed in range(20):
        r = 0.8 ** np.arange(60) + np.random.default_rng(seed).normal(0, 0.02, 60)
        ml = memory_length(r, 0.1)
        assert np.all(r[ml:] <= 0.1) and r[ml - 1] > 0.1
        assert abs(ml - horizon) <= 3  # 0.8^d is within 2 noise widths of 0.1 only for d in 8..14
        early_dips += int(np.argmax(r <= 0.1)) < ml
    assert early_dips >= 3  # the case the rule is for: the first crossing comes before r settles


@pytest.mark.parametrize("lam", [0.5, 0.7, 0.8, 0.9, 0.95])
def test_memory_length_keeps_the_exact_answer_for_a_geometric_curve(lam):
    r = lam ** np.arange(200)
    for tau in (0.5, 0.1):
        assert memory_length(r, tau) == math.ceil(math.log(tau) / math.log(lam))


def test_memory_length_is_none_when_the_last_measured_value_is_above_tau():
    assert memory_length(np.array([1.0, 0.05, 0.3, np.nan, 0.0]), 0.1) is None
