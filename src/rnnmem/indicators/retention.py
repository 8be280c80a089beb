"""Retention curves r(d): how much of the token at distance d from the end survives in S(x).

Each estimator first computes per-sequence, per-distance effects ([N, D+1] arrays, NaN
where a sequence is shorter than d + 1), then `ratio_of_sums` / `regression_retention`
turn them into a curve with a bootstrap CI (docs/estimators.md). The effect functions need a model; the
curve functions are pure functions of arrays.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import optimize
from torch import nn

from rnnmem.indicators.batching import kernels_differentiable, passes_cost, plan_batches
from rnnmem.indicators.bootstrap import Estimate, bootstrap, ratio_of_sums
from rnnmem.errors import ModelProtocolError
from rnnmem.progress import progress_bar
from rnnmem.ses import checked_readouts, device_of

# the yardsticks of the occlusion estimator (`occlusion_retention`); the first is the default
OCCLUSION_NORMALISATIONS = ("word", "context")
# above this many SES dimensions the gradient estimator sketches the readout (`sketched_readouts`)
SKETCH_DIMENSIONS = 16

def _positions_within(lengths: torch.Tensor, max_distance: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(sequence index, position) of every token within ``max_distance`` of its sequence's end."""
    seq, pos = [], []
    for i, length in enumerate(lengths.tolist()):
        first = max(0, length - 1 - max_distance)
        seq.extend([i] * (length - first))
        pos.extend(range(first, length))
    return torch.tensor(seq, dtype=torch.long), torch.tensor(pos, dtype=torch.long)


def _to_distance_matrix(values: torch.Tensor, seq: torch.Tensor, pos: torch.Tensor,
                        lengths: torch.Tensor, n: int, max_distance: int) -> np.ndarray:
    out = np.full((n, max_distance + 1), np.nan)
    dist = (lengths[seq] - 1 - pos).numpy()
    out[seq.numpy(), dist] = values.double().numpy()
    return out


def _chunks(count: int, size: int):
    for start in range(0, count, size):
        yield slice(start, min(start + size, count))


@torch.no_grad()
def occlusion_effects(model: nn.Module, tokens: torch.Tensor, lengths: torch.Tensor, neutral_token: int,
                      max_distance: int, budget_tokens: int = 1_000_000, reuse_prefix: bool | None = None,
                      progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Occlusion effects of every token within ``max_distance`` of its sequence's end, each [N, D+1].

    Returns (||S(x) - S(x with x_{T-d} := neutral)||, ||S(x_1..t) - S(x_1..t with x_t := neutral)||)
    with t = T - d: the token's effect on the final state and its effect in its own context
    at the step it was read (the d = 0 effect of the prefix that ends with it). The second
    comes from the same occluded runs as the first, read at step t.

    All occluded variants are batched, at most ``budget_tokens`` token-steps per forward
    pass, fewer by K / 16 for a readout of K > 31 dimensions (this bounds memory). The origin
    o_0 cancels in the difference. Two routes give the same numbers. From the start: each
    variant runs its whole sequence. From the cache, when the model offers ``states_before`` and
    ``readout_from`` (SequenceModel does): the states before position t are the same for every
    variant that occludes t, so each variant starts from the cached state h_{t-1} and runs
    only the d + 1 steps after it, about D^2 / 2 token-steps per sequence instead of D * T,
    plus one pass for the states. Variants of different widths share a batch where padding
    costs less than another pass (`plan_batches`). With ``reuse_prefix`` None each chunk of
    sequences takes the route its cost model prices lower; True or False forces one.
    """
    n, t = tokens.shape
    cacheable = hasattr(model, "states_before") and hasattr(model, "readout_from")
    if reuse_prefix and not cacheable:
        raise ModelProtocolError("reuse_prefix=True needs a model with states_before and readout_from "
                                 "(SequenceModel has both); pass reuse_prefix=None to let rnnmem choose.")
    seq, pos = _positions_within(lengths, max_distance)
    at_end = torch.empty(len(seq), dtype=torch.float64)
    in_context = torch.empty(len(seq), dtype=torch.float64)
    with progress_bar(total=len(seq), desc="occlusion variants", unit="variant", shown=progress) as bar:
        for chunk in _chunks(n, 256):
            readouts = checked_readouts(model, tokens[chunk])
            mine = torch.nonzero((seq >= chunk.start) & (seq < chunk.stop))[:, 0]
            # a batch's readouts hold token-steps x K numbers: a language model's K = V would take gigabytes
            budget = max(1, budget_tokens // max(1, readouts.shape[-1] // 16))
            from_start, start_cost = plan_batches(lengths[seq[mine]], budget)
            from_cache, cache_cost = plan_batches(lengths[seq[mine]] - pos[mine], budget)
            # the states cost a pass over the chunk, and an LSTM's cell states one more walk
            cache_cost += 2 * passes_cost(chunk.stop - chunk.start, int(lengths[chunk].max()), budget)
            if reuse_prefix or (reuse_prefix is None and cacheable and cache_cost < start_cost):
                run, batches = _occlude_from_cache, from_cache
            else:
                run, batches = _occlude_from_start, from_start
            at_end[mine], in_context[mine] = run(model, tokens, lengths, neutral_token, chunk, seq[mine], pos[mine],
                                                 readouts, batches, bar)
    return (_to_distance_matrix(at_end, seq, pos, lengths, n, max_distance),
            _to_distance_matrix(in_context, seq, pos, lengths, n, max_distance))


def _occlude_from_start(model, tokens, lengths, neutral, chunk, seq, pos, readouts, batches, bar):
    at_end = torch.empty(len(seq), dtype=torch.float64)
    in_context = torch.empty(len(seq), dtype=torch.float64)
    for idx in batches:
        rows, read, at = torch.arange(len(idx)), lengths[seq[idx]] - 1, pos[idx]
        variants = tokens[seq[idx], : int(read.max()) + 1].clone()
        variants[rows, at] = neutral
        occluded = checked_readouts(model, variants)
        own = seq[idx] - chunk.start
        at_end[idx] = (readouts[own, read] - occluded[rows, read]).double().norm(dim=-1)
        in_context[idx] = (readouts[own, at] - occluded[rows, at]).double().norm(dim=-1)
        bar.update(len(idx))
    return at_end, in_context


def _occlude_from_cache(model, tokens, lengths, neutral, chunk, seq, pos, readouts, batches, bar):
    device = device_of(model)
    states = model.states_before(tokens[chunk].to(device))
    dist = lengths[seq] - 1 - pos
    at_end = torch.empty(len(seq), dtype=torch.float64)
    in_context = torch.empty(len(seq), dtype=torch.float64)
    for idx in batches:
        width = int(dist[idx].max()) + 1
        columns = (pos[idx, None] + torch.arange(width)).clamp(max=tokens.shape[1] - 1)
        suffix = tokens[seq[idx, None], columns]
        suffix[:, 0] = neutral
        out = model.readout_from(model.embed(suffix.to(device)), states[seq[idx] - chunk.start, pos[idx]])
        occluded, occluded_first = out[torch.arange(len(idx)), dist[idx]].cpu(), out[:, 0].cpu()
        if not (torch.isfinite(occluded).all() and torch.isfinite(occluded_first).all()):
            raise ModelProtocolError("the model returned NaN or infinite readouts for an occluded sequence.")
        own = seq[idx] - chunk.start
        at_end[idx] = (readouts[own, lengths[seq[idx]] - 1] - occluded).double().norm(dim=-1)
        in_context[idx] = (readouts[own, pos[idx]] - occluded_first).double().norm(dim=-1)
        bar.update(len(idx))
    return at_end, in_context


def occlusion_retention(at_end: np.ndarray, in_context: np.ndarray, word_alone: np.ndarray, normalisation: str,
                        n_resamples: int = 1000, seed: int = 0) -> Estimate:
    """r_occ(d): the occlusion effect of the token at distance d on S(x), over a yardstick, with CI.

    With e(d) = ||S(x) - S(x with x_{T-d} := neutral)|| (``at_end``), over the sequences that reach d:

    - ``"word"``:    r(d) = E[e(d)] / E[||s(x_{T-d}) - s(neutral)||] (``word_alone``), the same swap
      made on the word read alone from the initial state: how much of the word's own meaning
      is in S(x).
    - ``"context"``: r(d) = E[e(d)] / E[c(d)], c(d) = ||S(x_1..t) - S(x_1..t with x_t := neutral)||
      at t = T - d (``in_context``): of what the token did to the state when it was read, how
      much is left d steps later; r(0) = 1 by construction.

    The two agree when reading a token moves the state as much as reading it alone does (a
    linear recurrence: both are lambda^d). A saturated unit moves less in context than from
    its initial state, so "word" scales the whole curve down by about r_word(0) < 1.
    """
    return ratio_of_sums(at_end, occlusion_yardsticks(in_context, word_alone)[normalisation], n_resamples, seed)


def occlusion_yardsticks(in_context: np.ndarray, word_alone: np.ndarray) -> dict[str, np.ndarray]:
    """Each normalisation's yardstick by name (see `occlusion_retention`), in `OCCLUSION_NORMALISATIONS` order."""
    return {"word": word_alone, "context": in_context}


def gradient_effects(model: nn.Module, tokens: torch.Tensor, lengths: torch.Tensor, max_distance: int,
                     batch_size: int = 64, budget_tokens: int = 500_000, progress: bool = True,
                     sketch_dimensions: int = SKETCH_DIMENSIONS) -> tuple[np.ndarray, np.ndarray]:
    """Jacobian norms for the gradient estimator, each [N, D+1].

    Returns (||dS(x)/de_{T-d}||_F, ||dS(x_1..T-d)/de_{T-d}||_F). Needs ``model.embed`` and
    ``model.forward_embedded``. One backward pass per SES dimension per batch gives the
    first for every position at once. The second replays each step alone from the state
    before it when the model offers ``states_before`` and ``readout_from`` (as
    SequenceModel does); otherwise it is the d = 0 Jacobian of batched prefix copies.

    A readout of K > ``sketch_dimensions`` = m dimensions (a language model's vocabulary) would
    need K backward passes; it is projected onto m fixed random Gaussian directions instead
    (`sketched_readouts`), which estimates every squared norm without bias. Exact when K <= m.
    """
    n, _ = tokens.shape
    final_norms = torch.empty(n, tokens.shape[1], dtype=torch.float64)
    for s in progress_bar(list(_chunks(n, batch_size)), "gradient (final states)", shown=progress):
        final_norms[s, : int(lengths[s].max())] = _jacobian_norms(model, tokens[s], lengths[s] - 1, trim=True,
                                                                        sketch=sketch_dimensions)
    seq, pos = _positions_within(lengths, max_distance)
    numerator = final_norms[seq, pos]
    if hasattr(model, "states_before") and hasattr(model, "readout_from"):
        denominator = _local_jacobian_norms(model, tokens, seq, pos, batch_size, sketch_dimensions)
    else:
        denominator = _prefix_jacobian_norms(model, tokens, seq, pos, budget_tokens, progress, sketch_dimensions)
    return (_to_distance_matrix(numerator, seq, pos, lengths, n, max_distance),
            _to_distance_matrix(denominator, seq, pos, lengths, n, max_distance))


def _local_jacobian_norms(model, tokens, seq, pos, batch_size, sketch) -> torch.Tensor:
    """||d o_t / d e_t|| by replaying step t alone from the state the model had before it."""
    device = device_of(model)
    out = torch.empty(len(seq), dtype=torch.float64)
    for s in _chunks(len(tokens), batch_size):
        pick = (seq >= s.start) & (seq < s.stop)
        rows, at = seq[pick], pos[pick]
        states = model.states_before(tokens[s].to(device))[rows - s.start, at]
        with torch.enable_grad(), torch.backends.cudnn.flags(enabled=False):
            emb = model.embed(tokens[rows, at].to(device)).detach().requires_grad_(True)
            readout = model.readout_from(emb[:, None], states)[:, 0]
            out[pick] = _frobenius_norms(sketched_readouts(readout, sketch), emb)
    return out


def _prefix_jacobian_norms(model, tokens, seq, pos, budget_tokens, progress, sketch) -> torch.Tensor:
    """||d o_t / d e_t|| for models that only offer forward_embedded: batched prefix copies, O(T^2)."""
    out = torch.empty(len(seq), dtype=torch.float64)
    order = torch.argsort(pos)  # similar prefix lengths together: less padding per batch
    batch = max(1, budget_tokens // tokens.shape[1])
    for s in progress_bar(list(_chunks(len(seq), batch)), "gradient (prefixes)", shown=progress):
        idx = order[s]
        at = pos[idx]
        norms = _jacobian_norms(model, tokens[seq[idx]], at, trim=True, sketch=sketch)
        out[idx] = norms[torch.arange(len(idx)), at]
    return out


def _jacobian_norms(model: nn.Module, tokens: torch.Tensor, read_at: torch.Tensor, trim: bool,
                    sketch: int = SKETCH_DIMENSIONS) -> torch.Tensor:
    """||d o_{read_at} / d e_t||_F for every position t of every row, [B, T'] (T' = max(read_at) + 1 when trimmed)."""
    if trim:
        tokens = tokens[:, : int(read_at.max()) + 1]
    device = device_of(model)
    with torch.enable_grad(), kernels_differentiable(model):
        emb = model.embed(tokens.to(device)).detach().requires_grad_(True)
        out = model.forward_embedded(emb)
        return _frobenius_norms(sketched_readouts(out[torch.arange(len(tokens)), read_at], sketch), emb)


def sketched_readouts(readouts: torch.Tensor, sketch_dimensions: int) -> torch.Tensor:
    """Readouts [B, K] projected onto m = ``sketch_dimensions`` random directions, [B, m]; unchanged when K <= m.

    With G [K, m] of i.i.d. N(0, 1/m) entries (always drawn from seed 0, so that every
    Jacobian of a measurement, numerator and denominator alike, is seen through the same G),
    ||G^T J||_F^2 = (1/m) sum_i ||g_i^T J||^2 is an unbiased estimate of ||J||_F^2 for any
    Jacobian J = d readouts / d e (Hutchinson; Johnson-Lindenstrauss). Its relative standard
    deviation is at most sqrt(2/m) (0.35 for m = 16), smaller when J has many comparable
    singular values, and the ratio of sums over many tokens averages it further
    (docs/estimators.md gives the error measured on a trained language model).
    """
    k = readouts.shape[-1]
    if k <= sketch_dimensions:
        return readouts
    g = torch.Generator().manual_seed(0)
    directions = torch.randn(k, sketch_dimensions, generator=g, dtype=torch.float64) / sketch_dimensions ** 0.5
    return readouts @ directions.to(readouts.device, readouts.dtype)


def _frobenius_norms(readouts: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
    """||d readouts[b] / d emb[b, ...]||_F for each row b, one backward pass per SES dimension; on the CPU.

    Rows are independent sequences, so the gradient of the batch sum is each row's own.
    """
    squared = torch.zeros(emb.shape[:-1], dtype=torch.float64, device=emb.device)
    for k in range(readouts.shape[1]):
        (grad,) = torch.autograd.grad(readouts[:, k].sum(), emb, retain_graph=k + 1 < readouts.shape[1])
        squared += grad.double().pow(2).sum(dim=-1)
    return squared.sqrt().cpu()


def regression_design(words: np.ndarray, max_distance: int, tail_decay: float) -> np.ndarray:
    """Per-sequence design [N, P, K] of the least squares S(x) ~ sum_d alpha(d) s(x_{T-d}).

    ``words`` [N, T, K] holds s(x_{T-d}) by distance (NaN past the start). Distances
    d <= ``max_distance`` = D get a column each; the tokens beyond share one column with a
    geometric tail, alpha(d) = beta * rho^(d - D - 1) for d > D, rho = ``tail_decay``
    (all zero when no sequence is longer than D + 1).
    """
    filled = np.nan_to_num(words, nan=0.0)
    far = filled[:, max_distance + 1 :]
    tail = np.einsum("ntk,t->nk", far, tail_decay ** np.arange(far.shape[1]))[:, None]
    return np.concatenate([filled[:, : max_distance + 1], tail], axis=1)


def fitted_tail_decay(words: np.ndarray, points: np.ndarray, max_distance: int) -> float:
    """rho in [0, 1] whose geometric tail leaves the least residual sum of squares (on all sequences).

    A grid finds the basin (the residual need not be unimodal in rho), a bounded scalar
    search refines it. rho = 1 is a single pooled weight for every far token, so the fit is
    never worse than that. The near-distance columns do not depend on rho, so they are
    projected out once (one SVD, the rank cut of `np.linalg.lstsq`): for each rho the residual
    is that of the projected target on the one projected tail column, a product with the
    projected far columns instead of a least-squares solve. The residual is computed
    directly, not from the normal equations, so that a tail too small to matter (lambda^D near
    1e-7) still ranks rho values above float rounding.
    """
    if words.shape[1] <= max_distance + 1:
        return 1.0  # no token lies beyond max_distance: there is no tail to fit
    filled = np.nan_to_num(words, nan=0.0).transpose(0, 2, 1).reshape(points.size, -1)  # rows (sequence, k)
    near, far = filled[:, : max_distance + 1], filled[:, max_distance + 1 :]
    basis, singular, _ = np.linalg.svd(near, full_matrices=False)
    basis = basis[:, singular > singular[0] * np.finfo(float).eps * max(near.shape)]
    target = points.reshape(-1) - basis @ (basis.T @ points.reshape(-1))
    far = far - basis @ (basis.T @ far)

    def residual(rho):
        tail = far @ rho ** np.arange(far.shape[1])
        scale = tail @ tail
        left = target - tail * (tail @ target / scale) if scale > 0 else target
        return float(left @ left)

    grid = np.linspace(0.0, 1.0, 41)
    rss = [residual(rho) for rho in grid]
    best = int(np.argmin(rss))
    low, high = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    found = optimize.minimize_scalar(residual, bounds=(low, high), method="bounded", options={"xatol": 1e-9})
    return float(found.x) if found.fun <= rss[best] else float(grid[best])


def regression_retention(words: np.ndarray, points: np.ndarray, max_distance: int,
                         n_resamples: int = 1000, seed: int = 0) -> Estimate:
    """r_reg(d) = alpha(d), d = 0..max_distance (NaN where no sequence reaches d), with CI.

    alpha solves the least squares S(x) ~ sum_{d <= D} alpha(d) s(x_{T-d}) + beta * sum_{d > D}
    rho^(d - D - 1) s(x_{T-d}) over all sequences (D = ``max_distance``). Whatever the model
    leaves of the far tokens unexplained is a sum of many word points, and least squares
    spreads it over the near weights through their chance correlations with it in the sample.
    A single pooled weight for the far tokens (rho = 1, the old model) cannot fit a decaying
    tail: on h_t = 0.95 h_{t-1} + e_t with 64 sequences of 30-80 tokens and D = 20 it put
    alpha(2) 7% and alpha(17) 17% away from lambda^d. The geometric tail is exact for any
    system whose far memory decays geometrically (a linear recurrence; a contracting unit
    near its fixed point decays at the rate of its largest eigenvalue) and costs one column
    whatever the sequence length, where a weight per distance up to the longest sequence
    would cost Gram matrices of (longest length)^2 per sequence and be poorly determined where
    few sequences reach. rho is profiled once on all sequences (`fitted_tail_decay`) and held
    fixed in the bootstrap, so the interval leaves out its uncertainty.
    """
    design = regression_design(words, max_distance, fitted_tail_decay(words, points, max_distance))
    used = np.abs(design).sum(axis=(0, 2)) > 0
    design = design[:, used]
    gram = design @ design.transpose(0, 2, 1)
    rhs = (design @ points[..., None])[..., 0]
    p = gram.shape[1]
    distances_used = used[: max_distance + 1]

    def statistic(w):
        g = (w @ gram.reshape(len(gram), -1)).reshape(-1, p, p)  # one BLAS product for all resamples
        b = w @ rhs
        # a vanishing ridge keeps resamples that miss a rare distance solvable
        g += np.eye(p) * (1e-10 * np.trace(g, axis1=1, axis2=2) / p)[:, None, None]
        alpha = np.linalg.solve(g, b[..., None])[..., 0]
        out = np.full((len(w), max_distance + 1), np.nan)
        out[:, distances_used] = alpha[:, : distances_used.sum()]
        return out

    return bootstrap(len(points), statistic, n_resamples, seed)
