"""Retention curves r(d): how much of the token at distance d from the end survives in S(x).

Each estimator first computes per-sequence, per-distance effects ([N, D+1] arrays, NaN
where a sequence is shorter than d + 1), then `peak_relative` / `regression_retention`
turn them into a curve with a bootstrap CI (docs/estimators.md). The effect functions need a model; the
curve functions are pure functions of arrays.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import optimize
from torch import nn

from rnnmem.indicators.batching import kernels_differentiable, passes_cost, plan_batches
from rnnmem.indicators.bootstrap import Estimate, bootstrap
from rnnmem.errors import ModelProtocolError
from rnnmem.progress import progress_bar
from rnnmem.ses import checked_readouts, device_of

# above this many SES dimensions the gradient estimator sketches the readout (`sketched_readouts`)
SKETCH_DIMENSIONS = 16

def positions_within(lengths: torch.Tensor, max_distance: int) -> tuple[torch.Tensor, torch.Tensor]:
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


def occlusion_effects(model: nn.Module, tokens: torch.Tensor, lengths: torch.Tensor, neutral_token: int,
                      max_distance: int, budget_tokens: int = 1_000_000, reuse_prefix: bool | None = None,
                      progress: bool = True) -> np.ndarray:
    """||S(x) - S(x with x_{T-d} := neutral)|| of every token within ``max_distance`` of its sequence's end,
    [N, D+1]: the token's occlusion effect on the final state (`replaced_runs`)."""
    return replaced_runs(model, tokens, lengths, neutral_token, max_distance, budget_tokens, reuse_prefix,
                         progress)[0]


@torch.no_grad()
def replaced_runs(model: nn.Module, tokens: torch.Tensor, lengths: torch.Tensor, replacement, max_distance: int,
                  budget_tokens: int = 1_000_000, reuse_prefix: bool | None = None, progress: bool = True,
                  desc: str = "occlusion variants") -> tuple[np.ndarray, np.ndarray]:
    """Each token within ``max_distance`` of its sequence's end replaced in turn: effects and decision flips, [N, D+1].

    ``replacement`` is one token id for every variant (the neutral token), a LongTensor with one id
    per variant, in the order of `positions_within` (draws from the data's distribution), or [R, V]:
    R rounds of such ids, run as one (they share each chunk's readouts, cached states and
    batches), and then both arrays are [R, N, D+1]. Returns (||S(x) - S(x')||, whether
    argmax o_T != argmax o'_T) for every variant x'.

    All variants are batched, at most ``budget_tokens`` token-steps per forward
    pass, fewer by K / 16 for a readout of K > 31 dimensions (this bounds memory). The origin
    o_0 cancels in the difference. Two routes give the same numbers. From the start: each
    variant runs its whole sequence. From the cache, when the model offers ``states_before`` and
    ``readout_from`` (SequenceModel does, and so does a full-attention causal LM from load_huggingface):
    the states before position t are the same for every variant that replaces t, so each variant
    starts from the cached state h_{t-1} (a Transformer: the keys and values of positions < t) and runs
    only the d + 1 steps after it, about D^2 / 2 token-steps per sequence instead of D * T,
    plus one pass for the states. Variants of different widths share a batch where padding
    costs less than another pass (`plan_batches`). With ``reuse_prefix`` None each chunk of
    sequences takes the route its cost model prices lower; True or False forces one.
    """
    n = len(tokens)
    cacheable = hasattr(model, "states_before") and hasattr(model, "readout_from")
    if reuse_prefix and not cacheable:
        raise ModelProtocolError("reuse_prefix=True needs a model with states_before and readout_from "
                                 "(SequenceModel has both); pass reuse_prefix=None to let rnnmem choose.")
    seq, pos = positions_within(lengths, max_distance)
    replacement = torch.as_tensor(replacement).long()
    rounds = replacement.expand(len(seq))[None] if replacement.dim() < 2 else replacement
    variants = len(seq)
    seq, pos, per_variant = seq.repeat(len(rounds)), pos.repeat(len(rounds)), rounds.reshape(-1)
    at_end, flipped = torch.empty(len(seq), dtype=torch.float64), torch.empty(len(seq), dtype=torch.float64)
    with progress_bar(total=len(seq), desc=desc, unit="variant", shown=progress) as bar:
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
            at_end[mine], flipped[mine] = run(model, tokens, lengths, per_variant[mine], chunk, seq[mine], pos[mine],
                                              readouts, batches, bar)
    seq, pos = seq[:variants], pos[:variants]
    measured = tuple(np.stack([_to_distance_matrix(values, seq, pos, lengths, n, max_distance)
                               for values in per_round.reshape(len(rounds), variants)])
                     for per_round in (at_end, flipped))
    return measured if replacement.dim() == 2 else tuple(values[0] for values in measured)


def _occlude_from_start(model, tokens, lengths, replacement, chunk, seq, pos, readouts, batches, bar):
    at_end, flipped = torch.empty(len(seq), dtype=torch.float64), torch.empty(len(seq), dtype=torch.float64)
    for idx in batches:
        rows, read, at = torch.arange(len(idx)), lengths[seq[idx]] - 1, pos[idx]
        variants = tokens[seq[idx], : int(read.max()) + 1].clone()
        variants[rows, at] = replacement[idx]
        occluded = checked_readouts(model, variants)
        own = seq[idx] - chunk.start
        at_end[idx] = (readouts[own, read] - occluded[rows, read]).double().norm(dim=-1)
        flipped[idx] = (readouts[own, read].argmax(-1) != occluded[rows, read].argmax(-1)).double()
        bar.update(len(idx))
    return at_end, flipped


def _occlude_from_cache(model, tokens, lengths, replacement, chunk, seq, pos, readouts, batches, bar):
    device = device_of(model)
    states = model.states_before(tokens[chunk].to(device))
    dist = lengths[seq] - 1 - pos
    at_end, flipped = torch.empty(len(seq), dtype=torch.float64), torch.empty(len(seq), dtype=torch.float64)
    for idx in batches:
        width = int(dist[idx].max()) + 1
        columns = (pos[idx, None] + torch.arange(width)).clamp(max=tokens.shape[1] - 1)
        suffix = tokens[seq[idx, None], columns]
        suffix[:, 0] = replacement[idx]
        out = model.readout_from(suffix.to(device), states[seq[idx] - chunk.start, pos[idx]])
        occluded = out[torch.arange(len(idx)), dist[idx]].cpu()
        if not torch.isfinite(occluded).all():
            raise ModelProtocolError("the model returned NaN or infinite readouts for an occluded sequence.")
        own = seq[idx] - chunk.start
        final = readouts[own, lengths[seq[idx]] - 1]
        at_end[idx] = (final - occluded).double().norm(dim=-1)
        flipped[idx] = (final.argmax(-1) != occluded.argmax(-1)).double()
        bar.update(len(idx))
    return at_end, flipped


def gradient_effects(model: nn.Module, tokens: torch.Tensor, lengths: torch.Tensor, max_distance: int,
                     batch_size: int = 64, progress: bool = True,
                     sketch_dimensions: int = SKETCH_DIMENSIONS) -> np.ndarray:
    """||dS(x)/de_{T-d}||_F of every token within ``max_distance`` of its sequence's end, [N, D+1].

    Needs ``model.embed`` and ``model.forward_embedded``. One backward pass per SES dimension per
    batch gives every position at once.

    A readout of K > ``sketch_dimensions`` = m dimensions (a language model's vocabulary) would
    need K backward passes; it is projected onto m fixed random Gaussian directions instead
    (`sketched_readouts`), which estimates every squared norm without bias. Exact when K <= m.
    """
    n, _ = tokens.shape
    final_norms = torch.empty(n, tokens.shape[1], dtype=torch.float64)
    for s in progress_bar(list(_chunks(n, batch_size)), "gradient (final states)", shown=progress):
        final_norms[s, : int(lengths[s].max())] = _jacobian_norms(model, tokens[s], lengths[s] - 1, trim=True,
                                                                        sketch=sketch_dimensions)
    seq, pos = positions_within(lengths, max_distance)
    return _to_distance_matrix(final_norms[seq, pos], seq, pos, lengths, n, max_distance)


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
                         n_resamples: int = 1000, seed: int = 0, min_sequences: int = 1) -> Estimate:
    """r_reg(d) = alpha(d) / max_d' |alpha(d')|, d = 0..max_distance, with CI; NaN where fewer than
    ``min_sequences`` sequences reach d.

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
    distances_used = used[: max_distance + 1] & (np.isfinite(words[:, : max_distance + 1, 0]).sum(axis=0)
                                                 >= min_sequences)
    n_fitted = int(used[: max_distance + 1].sum())
    kept = distances_used[used[: max_distance + 1]]  # which fitted distance weights are reported

    def statistic(w):
        g = (w @ gram.reshape(len(gram), -1)).reshape(-1, p, p)  # one BLAS product for all resamples
        b = w @ rhs
        # a vanishing ridge keeps resamples that miss a rare distance solvable
        g += np.eye(p) * (1e-10 * np.trace(g, axis1=1, axis2=2) / p)[:, None, None]
        alpha = np.linalg.solve(g, b[..., None])[..., 0]
        out = np.full((len(w), max_distance + 1), np.nan)
        out[:, distances_used] = alpha[:, :n_fitted][:, kept]
        return out / np.fmax.reduce(np.abs(out), axis=1, keepdims=True)  # the sign stays: `regression_decline`

    return bootstrap(len(points), statistic, n_resamples, seed)


def regression_decline(fitted: Estimate, share: float = 0.1) -> str | None:
    """Why the regression's r(d) must not be read as retention, or None when it may.

    A weight alpha(d) below -``share`` of the largest says that S(x) is not a positive sum of word
    points: on trained models of the known-memory suite the key token got alpha(5) = -2.3 with the
    other weights filling the rest, and on key-10 the weights summed to a negative capacity (issue 16,
    docs/known_memory.md). A linear recurrence fits exactly, every weight lambda^d >= 0, and never declines.
    """
    value = np.asarray(fitted.value, float)
    wrong = np.nonzero(value < -share)[0]
    if not len(wrong):
        return None
    d = int(wrong[np.argmin(value[wrong])])
    return (f"its weight at d = {d} is {value[d]:.2f} of its largest, below zero: the final state is not a "
            "weighted sum of the word points, so its r(d), ML and retention capacity would mislead "
            "(docs/estimators.md).")
