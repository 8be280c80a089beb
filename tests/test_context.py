"""Effective context from the context-cut/shuffle/replace curve, on language models whose context is known."""

import math

import pytest
import torch
from torch import nn

from rnnmem.errors import ConfigError, DataError
from rnnmem.indicators.context import context_area, effective_context
from rnnmem.language_model import context_loss_rise

VOCAB = 20


class CopyBack(nn.Module):
    """Predicts x_{t+1} = x_{t+1-k} from the token k - 1 steps before the last one read: uses exactly k tokens.

    With ``bag`` > 0 it also adds ``bag`` times the count of every token read so far: it then
    uses the whole context, but not the order beyond the last k tokens.
    """

    def __init__(self, k: int, bag: float = 0.0):
        super().__init__()
        self.k, self.bag = k, bag

    def forward(self, tokens):
        onehot = nn.functional.one_hot(tokens, VOCAB).double()
        delayed = torch.cat([onehot.new_zeros(len(tokens), self.k - 1, VOCAB), onehot], dim=1)[:, : tokens.shape[1]]
        return 10.0 * delayed + self.bag * onehot.cumsum(dim=1)


def periodic_sequences(period: int, n: int = 12, length: int = 40, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    rows = [torch.randperm(VOCAB - 1, generator=g)[:period] + 1 for _ in range(n)]  # distinct, never the pad id
    return torch.stack([row.repeat(length // period + 1)[:length] for row in rows])


KS = [1, 2, 3, 4, 6, 8, 12]


def curve(model, period=4):
    tokens = periodic_sequences(period)
    unigram = torch.full((VOCAB,), -math.log(VOCAB - 1)).index_fill(0, torch.tensor([0]), -math.inf)
    return context_loss_rise(model, tokens, torch.full((len(tokens),), tokens.shape[1]), unigram, ks=KS,
                             n_targets=200, progress=False)


def test_a_model_that_uses_exactly_k_tokens_has_effective_context_k_under_every_perturbation():
    result = curve(CopyBack(k=4))
    for name in ("cut", "shuffle", "replace"):
        assert result.effective_context(name) == 4, (name, result.rise[name])
        assert result.rise[name][KS.index(3)] > 0.5  # the token it copies is gone (or moved) for k = 3
        assert all(abs(r) < 1e-12 for r in result.rise[name][KS.index(4):])


def test_a_model_that_ignores_order_beyond_k_shows_no_shuffle_rise_beyond_k_but_a_cut_rise():
    result = curve(CopyBack(k=4, bag=0.3))
    assert result.effective_context("shuffle") == 4
    assert all(abs(r) < 1e-9 for r in result.rise["shuffle"][KS.index(4):])
    assert result.rise["cut"][-1] > 0.01 * result.full_loss  # the counts of the far words still matter
    assert result.effective_context("cut") is None


def test_effective_context_reads_the_envelope_from_the_right():
    assert effective_context([1, 2, 5, 10], [0.8, 0.3, 0.004, 0.001], full_loss=1.0) == 5
    assert effective_context([1, 2, 5, 10], [0.8, 0.003, 0.2, 0.001], full_loss=1.0) == 10
    assert effective_context([1, 2, 5], [0.8, 0.3, 0.2], full_loss=1.0) is None
    assert effective_context([1, 2, 5], [0.8, 0.3, 0.2], full_loss=1.0, tolerance=0.5) == 2


@pytest.mark.parametrize("ks, rise, full, match", [
    ([2, 1], [0.1, 0.2], 1.0, "ks must increase"),
    ([1, 2], [0.1], 1.0, "same non-zero length"),
    ([1, 2], [0.1, float("nan")], 1.0, "finite"),
    ([1, 2], [0.1, 0.0], 0.0, "full_loss"),
])
def test_effective_context_refuses_a_malformed_curve(ks, rise, full, match):
    with pytest.raises(ConfigError, match=match):
        effective_context(ks, rise, full)


def test_the_context_curve_refuses_sequences_shorter_than_the_largest_k():
    tokens = periodic_sequences(4, length=10)
    with pytest.raises(DataError, match="longer than max"):
        context_loss_rise(CopyBack(4), tokens, torch.full((len(tokens),), 10), torch.zeros(VOCAB), ks=[1, 20],
                          progress=False)


def test_the_interpolated_effective_context_of_a_model_that_uses_k_tokens_lies_between_the_grid_points_around_k():
    result = curve(CopyBack(k=4))
    k_eff = result.effective_context("cut", interpolate=True)
    assert 3 < k_eff <= 4  # the rise is large at k = 3 and zero from k = 4: the crossing is next to 4
    assert k_eff > 3.9


def test_the_interpolated_effective_context_orders_two_curves_that_tie_on_the_grid():
    ks, full = [1, 2, 5, 10], 1.0
    sharp, slow = [0.5, 0.011, 0.0, 0.0], [0.5, 0.2, 0.0, 0.0]  # both cross 1% between k = 2 and k = 5
    assert effective_context(ks, sharp, full) == effective_context(ks, slow, full) == 5
    sharp_k, slow_k = (effective_context(ks, r, full, interpolate=True) for r in (sharp, slow))
    assert 2 < sharp_k < slow_k < 5
    assert slow_k == pytest.approx(math.exp(math.log(2) + 0.95 * (math.log(5) - math.log(2))))


def test_the_context_area_of_a_copy_model_grows_with_the_tokens_it_uses():
    short, long = (context_area(KS, curve(CopyBack(k=k)).rise["cut"]) for k in (4, 8))  # period 4: both exact
    assert 0 < short < long


def test_resampled_curves_average_to_the_curve_and_share_their_draws_across_models():
    near, far = curve(CopyBack(k=4, bag=0.3)), curve(CopyBack(k=8, bag=0.3))  # the counts make targets differ
    full, rise = near.resampled("cut", n_resamples=400, seed=3)
    assert rise.shape == (400, len(KS)) and full.shape == (400,)
    assert rise.mean(axis=0) == pytest.approx(near.rise["cut"], abs=0.05)
    assert rise.std(axis=0)[KS.index(6)] > 0
    # the same targets and seed give the same draws: each resample keeps the two models' order
    _, far_rise = far.resampled("cut", n_resamples=400, seed=3)
    assert (far_rise[:, KS.index(6)] > rise[:, KS.index(6)]).all()


def test_a_curve_without_per_target_losses_cannot_be_resampled():
    from rnnmem.language_model import ContextCurve

    bare = ContextCurve(ks=[1, 2], full_loss=1.0, rise={"cut": [0.5, 0.0]}, n_targets=10)
    with pytest.raises(ConfigError, match="without its per-target losses"):
        bare.resampled("cut")
