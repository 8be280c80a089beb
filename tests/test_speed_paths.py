"""The fast paths give the numbers of the slow ones (issue 19): batch plans, occlusion routes, the tail fit."""

import itertools

import numpy as np
import pytest
import torch
from scipy import optimize

import rnnmem
from rnnmem import baselines as baselines_module
from rnnmem.data import Corpus
from known_systems import LinearRecurrence
from rnnmem.errors import ModelProtocolError
from rnnmem.indicators.batching import CALL_COST, STEP_COST, kernels_differentiable, passes_cost, plan_batches
from rnnmem.indicators.replacement import replaced_together, replacement_effects, unigram_distribution
from rnnmem.indicators.retention import (_jacobian_norms, fitted_tail_decay, occlusion_effects, positions_within,
                                         regression_design, replaced_runs)
from test_estimators import MAX_DISTANCE, ragged_sequences, words_and_points


def brute_force_cost(widths, budget):
    """The least summed cost over every cut of the sorted distinct widths into consecutive runs."""
    distinct, counts = np.unique(widths, return_counts=True)
    best = np.inf
    for cuts in itertools.product([False, True], repeat=len(distinct) - 1):
        total, rows = 0.0, 0
        for i, (width, count) in enumerate(zip(distinct, counts)):
            rows += count
            if i == len(distinct) - 1 or cuts[i]:
                total += passes_cost(rows, int(width), budget)
                rows = 0
        best = min(best, total)
    return best


@pytest.mark.parametrize("seed", range(4))
def test_the_batch_plan_is_the_cheapest_cut_and_covers_every_row_once(seed):
    gen = torch.Generator().manual_seed(seed)
    # 12 distinct widths at most, so that every cut can be tried
    widths = torch.tensor([1, 2, 3, 5, 8, 13, 21, 34, 40, 45, 50, 59])[torch.randint(0, 12, (80,), generator=gen)]
    budget = 600 if seed % 2 else 10**6
    batches, cost = plan_batches(widths, budget)
    assert sorted(torch.cat(batches).tolist()) == list(range(len(widths)))
    assert all(len(b) * int(widths[b].max()) <= budget for b in batches)
    assert cost == pytest.approx(brute_force_cost(widths.numpy(), budget))


def test_narrow_rows_leave_a_wide_one_when_padding_costs_more_than_a_pass():
    widths = torch.tensor([1] * 100 + [100])
    batches, cost = plan_batches(widths, budget=10**6)
    # together: 101 rows x 100 steps + one pass; apart: 100 x 1 and 1 x 100, two passes
    apart = 100 * 1 + 1 * STEP_COST + CALL_COST + 1 * 100 + 100 * STEP_COST + CALL_COST
    assert cost == apart < 101 * 100 + 100 * STEP_COST + CALL_COST
    assert [len(b) for b in batches] == [100, 1]
    # rows of nearly the same width share a pass: a second pass costs more than the padding
    assert [len(b) for b in plan_batches(torch.tensor([99] * 50 + [100] * 50), budget=10**6)[0]] == [100]


@pytest.mark.parametrize("max_distance", [29, 10])
def test_occlusion_gives_the_same_effects_whichever_route_the_cost_model_takes(max_distance):
    model = rnnmem.build_model("lstm", 50, 3, hidden_size=16, embedding_dim=8).eval()
    gen = torch.Generator().manual_seed(1)
    tokens = torch.randint(1, 50, (10, 30), generator=gen)
    lengths = torch.randint(12, 31, (10,), generator=gen)
    tokens[torch.arange(30) >= lengths[:, None]] = 0
    runs = [occlusion_effects(model, tokens, lengths, 0, max_distance, budget_tokens=1000, reuse_prefix=reuse,
                              progress=False) for reuse in (None, True, False)]
    for effects in runs[1:]:
        for chosen, forced in zip(runs[0], effects):
            np.testing.assert_allclose(chosen, forced, atol=1e-6)


@pytest.mark.parametrize("reuse", [True, False])
def test_rounds_of_replacements_run_as_one_give_each_round_s_own_runs(reuse):
    model = rnnmem.build_model("lstm", 50, 3, hidden_size=16, embedding_dim=8).eval()
    gen = torch.Generator().manual_seed(2)
    tokens = torch.randint(1, 50, (10, 30), generator=gen)
    lengths = torch.randint(12, 31, (10,), generator=gen)
    rounds = torch.randint(1, 50, (3, len(positions_within(lengths, 20)[0])), generator=gen)
    together = replaced_runs(model, tokens, lengths, rounds, 20, budget_tokens=1000, reuse_prefix=reuse,
                             progress=False)
    assert together[0].shape == (3, 10, 21)
    for r, drawn in enumerate(rounds):
        alone = replaced_runs(model, tokens, lengths, drawn, 20, budget_tokens=1000, reuse_prefix=reuse, progress=False)
        for joint, own in zip(together, alone):
            np.testing.assert_allclose(joint[r], own, atol=1e-6)
    assert np.nanmax(np.abs(together[0][0] - together[0][1])) > 1e-3  # the rounds differ: a mix-up would show



def test_the_replacement_reference_is_the_mean_over_its_seeded_draws_each_run_alone():
    model = rnnmem.build_model("lstm", 50, 3, hidden_size=16, embedding_dim=8).eval()
    gen = torch.Generator().manual_seed(2)
    tokens = torch.randint(1, 50, (10, 30), generator=gen)
    lengths = torch.randint(12, 31, (10,), generator=gen)
    draws = torch.Generator().manual_seed(5)  # the draws one at a time, as the reference drew them before
    distribution = unigram_distribution(tokens, lengths)
    alone = [replaced_runs(model, tokens, lengths, torch.multinomial(distribution, len(positions_within(lengths, 20)[0]),
                                                                     replacement=True, generator=draws), 20, progress=False)
             for _ in range(3)]
    moves, flips = replacement_effects(model, tokens, lengths, 20, draws=3, seed=5, progress=False)
    np.testing.assert_allclose(moves, np.mean([move for move, _ in alone], axis=0), atol=1e-6)
    np.testing.assert_allclose(flips, np.mean([flip for _, flip in alone], axis=0), atol=1e-6)
    # with occlusion's neutral round in the same call (as assess runs both), each gives what it gives alone
    occluded, (together, flipped) = replaced_together(model, tokens, lengths, 20, 0, 3, 5, progress=False)
    np.testing.assert_allclose(occluded, occlusion_effects(model, tokens, lengths, 0, 20, progress=False), atol=1e-6)
    np.testing.assert_allclose(together, moves, atol=1e-6)
    np.testing.assert_allclose(flipped, flips, atol=1e-6)


def test_reusing_prefixes_of_a_model_without_states_before_is_refused_with_the_fix():
    class Plain(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = rnnmem.build_model("gru", 20, 2, hidden_size=4, embedding_dim=4)

        def forward(self, tokens):
            return self.inner(tokens)

    with pytest.raises(ModelProtocolError, match="reuse_prefix=None"):
        occlusion_effects(Plain(), torch.ones(2, 5, dtype=torch.long), torch.tensor([5, 5]), 0, 4,
                          reuse_prefix=True, progress=False)


def test_jacobian_norms_with_the_fused_kernel_in_train_mode_are_the_exact_jacobian():
    model = rnnmem.build_model("lstm", 20, 3, hidden_size=6, embedding_dim=5).eval()
    tokens = torch.randint(1, 20, (2, 7), generator=torch.Generator().manual_seed(3))
    norms = _jacobian_norms(model, tokens, torch.tensor([6, 4]), trim=False)
    assert not any(m.training for m in model.modules())  # the kernels are back in eval mode
    for row, read in ((0, 6), (1, 4)):
        emb = model.embed(tokens[row : row + 1]).detach()
        jac = torch.autograd.functional.jacobian(lambda e: model.forward_embedded(e)[0, read], emb)[:, 0]
        np.testing.assert_allclose(norms[row].numpy(), jac.pow(2).sum(dim=(0, 2)).sqrt().numpy(), atol=1e-6)


def test_a_kernel_with_dropout_between_layers_keeps_eval_mode():
    stacked = torch.nn.LSTM(4, 4, num_layers=2, dropout=0.5).eval()
    with kernels_differentiable(stacked):
        assert not stacked.training  # train mode would switch its dropout on


def lstsq_tail_decay(words, points, max_distance):
    """The tail fit before issue 19: one least-squares solve per rho."""
    target = points.reshape(-1)

    def residual(rho):
        design = regression_design(words, max_distance, rho).transpose(0, 2, 1).reshape(len(target), -1)
        alpha = np.linalg.lstsq(design, target, rcond=None)[0]
        return float(np.sum((target - design @ alpha) ** 2))

    grid = np.linspace(0.0, 1.0, 41)
    rss = [residual(rho) for rho in grid]
    best = int(np.argmin(rss))
    low, high = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    found = optimize.minimize_scalar(residual, bounds=(low, high), method="bounded", options={"xatol": 1e-9})
    return float(found.x) if found.fun <= rss[best] else float(grid[best])


@pytest.mark.parametrize("system", ["linear 0.8", "linear 0.95", "gru"])
def test_the_tail_fit_by_projection_finds_the_decay_of_the_least_squares_fit(system):
    model = (LinearRecurrence(float(system.split()[1])) if system.startswith("linear")
             else rnnmem.build_model("gru", 40, 3, hidden_size=8, embedding_dim=8).eval())
    words, points = words_and_points(model, ragged_sequences(seed=1))
    assert fitted_tail_decay(words, points, MAX_DISTANCE) == pytest.approx(
        lstsq_tail_decay(words, points, MAX_DISTANCE), abs=1e-9)


def test_the_baselines_are_fitted_once_per_corpus_content_and_truncation(monkeypatch):
    fits = []
    real_fit = baselines_module._fit_baselines
    monkeypatch.setattr(baselines_module, "_fit_baselines",
                        lambda corpus, *cut: fits.append(cut) or real_fit(corpus, *cut))
    texts = ["good fine", "bad awful", "fine good good", "awful bad"] * 5

    def corpus(labels):
        return Corpus("cache-test", ("neg", "pos"), texts, labels, texts[:8], [1, 0, 1, 0] * 2)

    labels = [1, 0, 1, 0] * 5
    first = baselines_module.baselines(corpus(labels))
    assert baselines_module.baselines(corpus(list(labels))) == first and len(fits) == 1
    baselines_module.baselines(corpus([0] + labels[1:]))  # one label changed: another corpus
    assert len(fits) == 2
    baselines_module.baselines(corpus(labels), max_len=1)  # the bag of words of other tokens: another fit
    assert fits[-1] == (1, "first") and len(fits) == 3
