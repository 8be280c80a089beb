"""Retention curves r(d): how much of the token at distance d from the end survives in S(x).

Each estimator first computes per-sequence, per-distance effects ([N, D+1] arrays, NaN
where a sequence is shorter than d + 1), then `ratio_of_sums` / `regression_retention`
turn them into a curve with a bootstrap CI. The effect functions need a model; the
curve functions are pure functions of arrays.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from rnnmem.indicators.bootstrap import Estimate, bootstrap
from rnnmem.errors import ModelProtocolError
from rnnmem.ses import checked_readouts, device_of


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
                      max_distance: int, budget_tokens: int = 1_000_000, reuse_prefix: bool = True,
                      progress: bool = True) -> np.ndarray:
    """||S(x) - S(x with x_{T-d} := neutral)|| for every sequence and distance, [N, D+1].

    All occluded variants are batched, about ``budget_tokens`` token-steps per forward
    pass (this bounds memory). The origin o_0 cancels in the difference. The states
    before position t are the same for every variant that occludes t, so when the model
    offers ``states_before`` and ``readout_from`` (SequenceModel does) and
    ``reuse_prefix`` is set, each variant starts from the cached state h_{t-1} and runs
    only the d + 1 steps after it: the work falls from D * T to about D^2 / 2
    token-steps per sequence. Otherwise every variant is run from the start.
    """
    n, t = tokens.shape
    cached = reuse_prefix and hasattr(model, "states_before") and hasattr(model, "readout_from")
    seq, pos = _positions_within(lengths, max_distance)
    effects = torch.empty(len(seq), dtype=torch.float64)
    chunks = list(_chunks(n, 256))
    for chunk in tqdm(chunks, desc="occlusion", disable=not progress or len(chunks) == 1, leave=False):
        rows = torch.arange(chunk.start, chunk.stop)
        final = checked_readouts(model, tokens[chunk])[rows - chunk.start, lengths[chunk] - 1]
        mine = torch.nonzero((seq >= chunk.start) & (seq < chunk.stop))[:, 0]
        run = _occlude_from_cache if cached else _occlude_from_start
        effects[mine] = run(model, tokens, lengths, neutral_token, chunk, seq[mine], pos[mine], final, budget_tokens)
    return _to_distance_matrix(effects, seq, pos, lengths, n, max_distance)


def _occlude_from_start(model, tokens, lengths, neutral, chunk, seq, pos, final, budget) -> torch.Tensor:
    effects = torch.empty(len(seq), dtype=torch.float64)
    width = int(lengths[chunk].max())
    for s in _chunks(len(seq), max(1, budget // width)):
        variants = tokens[seq[s], :width].clone()
        variants[torch.arange(len(variants)), pos[s]] = neutral
        occluded = checked_readouts(model, variants)[torch.arange(len(variants)), lengths[seq[s]] - 1]
        effects[s] = (final[seq[s] - chunk.start] - occluded).double().norm(dim=-1)
    return effects


def _occlude_from_cache(model, tokens, lengths, neutral, chunk, seq, pos, final, budget) -> torch.Tensor:
    device = device_of(model)
    states = model.states_before(tokens[chunk].to(device))
    dist = lengths[seq] - 1 - pos
    order = torch.argsort(dist, stable=True)  # equal suffix lengths share a batch: no padding wasted
    effects = torch.empty(len(seq), dtype=torch.float64)
    start = 0
    while start < len(order):
        guess = min(len(order), start + max(1, budget // (int(dist[order[start]]) + 1)))
        width = int(dist[order[guess - 1]]) + 1
        idx = order[start : min(len(order), start + max(1, budget // width))]
        width = int(dist[idx].max()) + 1
        columns = (pos[idx, None] + torch.arange(width)).clamp(max=tokens.shape[1] - 1)
        suffix = tokens[seq[idx, None], columns]
        suffix[:, 0] = neutral
        out = model.readout_from(model.embed(suffix.to(device)), states[seq[idx] - chunk.start, pos[idx]])
        occluded = out[torch.arange(len(idx)), dist[idx]].cpu()
        if not torch.isfinite(occluded).all():
            raise ModelProtocolError("the model returned NaN or infinite readouts for an occluded sequence.")
        effects[idx] = (final[seq[idx] - chunk.start] - occluded).double().norm(dim=-1)
        start += len(idx)
    return effects


def gradient_effects(model: nn.Module, tokens: torch.Tensor, lengths: torch.Tensor, max_distance: int,
                     batch_size: int = 64, budget_tokens: int = 500_000, progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Jacobian norms for the gradient estimator, each [N, D+1].

    Returns (||dS(x)/de_{T-d}||_F, ||dS(x_1..T-d)/de_{T-d}||_F). Needs ``model.embed`` and
    ``model.forward_embedded``. One backward pass per SES dimension per batch gives the
    first for every position at once. The second replays each step alone from the state
    before it when the model offers ``states_before`` and ``readout_from`` (as
    SequenceModel does); otherwise it is the d = 0 Jacobian of batched prefix copies.
    """
    n, _ = tokens.shape
    final_norms = torch.empty(n, tokens.shape[1], dtype=torch.float64)
    for s in tqdm(list(_chunks(n, batch_size)), desc="gradient", disable=not progress, leave=False):
        final_norms[s, : int(lengths[s].max())] = _jacobian_norms(model, tokens[s], lengths[s] - 1, trim=True)
    seq, pos = _positions_within(lengths, max_distance)
    numerator = final_norms[seq, pos]
    if hasattr(model, "states_before") and hasattr(model, "readout_from"):
        denominator = _local_jacobian_norms(model, tokens, seq, pos, batch_size)
    else:
        denominator = _prefix_jacobian_norms(model, tokens, seq, pos, budget_tokens, progress)
    return (_to_distance_matrix(numerator, seq, pos, lengths, n, max_distance),
            _to_distance_matrix(denominator, seq, pos, lengths, n, max_distance))


def _local_jacobian_norms(model, tokens, seq, pos, batch_size) -> torch.Tensor:
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
            out[pick] = _frobenius_norms(readout, emb)
    return out


def _prefix_jacobian_norms(model, tokens, seq, pos, budget_tokens, progress) -> torch.Tensor:
    """||d o_t / d e_t|| for models that only offer forward_embedded: batched prefix copies, O(T^2)."""
    out = torch.empty(len(seq), dtype=torch.float64)
    order = torch.argsort(pos)  # similar prefix lengths together: less padding per batch
    batch = max(1, budget_tokens // tokens.shape[1])
    for s in tqdm(list(_chunks(len(seq), batch)), desc="gradient (prefixes)", disable=not progress, leave=False):
        idx = order[s]
        at = pos[idx]
        norms = _jacobian_norms(model, tokens[seq[idx]], at, trim=True)
        out[idx] = norms[torch.arange(len(idx)), at]
    return out


def _jacobian_norms(model: nn.Module, tokens: torch.Tensor, read_at: torch.Tensor, trim: bool) -> torch.Tensor:
    """||d o_{read_at} / d e_t||_F for every position t of every row, [B, T'] (T' = max(read_at) + 1 when trimmed)."""
    if trim:
        tokens = tokens[:, : int(read_at.max()) + 1]
    device = device_of(model)
    # cuDNN refuses RNN backward in eval mode, and train mode would switch on dropout
    with torch.enable_grad(), torch.backends.cudnn.flags(enabled=False):
        emb = model.embed(tokens.to(device)).detach().requires_grad_(True)
        out = model.forward_embedded(emb)
        return _frobenius_norms(out[torch.arange(len(tokens)), read_at], emb)


def _frobenius_norms(readouts: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
    """||d readouts[b] / d emb[b, ...]||_F for each row b, one backward pass per SES dimension; on the CPU.

    Rows are independent sequences, so the gradient of the batch sum is each row's own.
    """
    squared = torch.zeros(emb.shape[:-1], dtype=torch.float64, device=emb.device)
    for k in range(readouts.shape[1]):
        (grad,) = torch.autograd.grad(readouts[:, k].sum(), emb, retain_graph=k + 1 < readouts.shape[1])
        squared += grad.double().pow(2).sum(dim=-1)
    return squared.sqrt().cpu()


def regression_design(words: np.ndarray, points: np.ndarray, max_distance: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-sequence least-squares blocks for S(x) ~ sum_d alpha(d) s(x_{T-d}).

    ``words`` [N, T, K] holds s(x_{T-d}) by distance (NaN past the start), ``points`` [N, K]
    holds S(x). Distances above ``max_distance`` share one pooled column so that far
    tokens are explained by one weight rather than left as noise. Returns per-sequence
    Gram matrices [N, P, P], right-hand sides [N, P] and the mask of the P columns that
    the data exercises.
    """
    filled = np.nan_to_num(words, nan=0.0)
    near = filled[:, : max_distance + 1]
    far = filled[:, max_distance + 1 :].sum(axis=1, keepdims=True)
    design = np.concatenate([near, far], axis=1)  # [N, P, K]
    used = np.abs(design).sum(axis=(0, 2)) > 0
    design = design[:, used]
    gram = design @ design.transpose(0, 2, 1)
    rhs = (design @ points[..., None])[..., 0]
    return gram, rhs, used


def regression_retention(words: np.ndarray, points: np.ndarray, max_distance: int,
                         n_resamples: int = 1000, seed: int = 0) -> Estimate:
    """r_reg(d) = alpha(d), d = 0..max_distance (NaN where no sequence reaches d), with CI."""
    gram, rhs, used = regression_design(words, points, max_distance)
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
