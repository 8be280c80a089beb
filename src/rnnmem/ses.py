"""The Semantic Euclidean Space (docs/indicators.md §1).

SES = R^K, the space of the readout o_t = W h_t + b, taken relative to the
empty-sequence point o_0. A sequence point is S(x_1..t) = o_t - o_0; a word point is
s(w) = S([w]), the word read alone from the initial state. Every function here works
on any model whose ``forward(tokens)`` returns [B, T, K].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from rnnmem.adapters.outputs import adapter_hint
from rnnmem.errors import ModelProtocolError


@dataclass(frozen=True)
class Origin:
    """o_0, and how it was obtained (the report states the route)."""

    point: torch.Tensor
    route: str


def device_of(model: nn.Module) -> torch.device:
    """Where the model's weights live (CPU for a model without any): inputs are sent there."""
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


def checked_readouts(model: nn.Module, tokens: torch.Tensor) -> torch.Tensor:
    """``model(tokens)`` on the model's device after checking the protocol: [B, T, K], finite; returned on the CPU."""
    out = model(tokens.to(device_of(model)))
    hint = adapter_hint(out)  # a dict, output object or tuple: the fix is an adapter, not another shape
    if hint is not None:
        raise ModelProtocolError(hint)
    if not isinstance(out, torch.Tensor) or out.dim() != 3 or out.shape[:2] != tokens.shape:
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ModelProtocolError(
            f"model(tokens) must return the readout of every prefix, a tensor [B, T, K] = "
            f"[{tokens.shape[0]}, {tokens.shape[1]}, K]; got {got}. Return the readout after "
            "every step (e.g. readout(rnn(emb)[0])), not only the last one; a model that gives only the last "
            "one can be wrapped in rnnmem.PrefixAdapter(model), which runs it on every prefix (O(T^2))."
        )
    if out.shape[2] < 1:
        raise ModelProtocolError(
            "model(tokens) returned readouts with K = 0 dimensions; the SES is the space of the readout, so the "
            "model needs at least one output (e.g. one per class).")
    if not torch.isfinite(out).all():
        raise ModelProtocolError(
            "model(tokens) returned NaN or infinite values; memory cannot be measured on "
            "them. Check the model's weights (a diverged training run?) and its inputs."
        )
    return out.cpu()


def origin(model: nn.Module, neutral_token: int) -> Origin:
    """o_0 from ``model.initial_readout()`` when the model has it, else the readout after one neutral token."""
    with torch.no_grad():
        first = checked_readouts(model, torch.full((1, 1), neutral_token, dtype=torch.long))
    if not hasattr(model, "initial_readout"):
        return Origin(first[0, 0], f"readout after one neutral token (id {neutral_token}); the model exposes no "
                                   "initial_readout()")
    k, raw = first.shape[-1], model.initial_readout()
    try:
        point = torch.as_tensor(raw).detach().cpu()
    except (TypeError, ValueError, RuntimeError):
        point = None
    # [K] or [1, K]; anything else would be broadcast into a wrong origin
    if point is None or point.numel() != k or point.dim() > 2 or not (point.is_floating_point() or point.dtype == torch.long):
        got = f"shape {list(point.shape)} ({point.dtype})" if point is not None else type(raw).__name__
        raise ModelProtocolError(f"model.initial_readout() must return o_0 = W h_0 + b, a tensor [K] = [{k}] like "
                                 f"the readout; got {got}. Return the readout of the initial state (e.g. "
                                 "readout.bias for h_0 = 0), or remove initial_readout() to use one neutral token.")
    if not torch.isfinite(point).all():
        raise ModelProtocolError("model.initial_readout() returned NaN or infinite values; it must be the (finite) "
                                 "readout of the initial state. Check the readout's bias.")
    return Origin(point.reshape(-1).to(first.dtype), "initial state h_0")


@torch.no_grad()
def trajectories(model: nn.Module, tokens: torch.Tensor, o0: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """S(x_1..t) for every prefix of every sequence, [N, T, K] (rows past a sequence's end are meaningless)."""
    parts = [checked_readouts(model, tokens[i : i + batch_size]) - o0 for i in range(0, len(tokens), batch_size)]
    return torch.cat(parts)


def sequence_points(trajectory: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """S(x) at each sequence's true last token, [N, K]."""
    return trajectory[torch.arange(len(lengths)), lengths - 1]


@torch.no_grad()
def word_points(model: nn.Module, token_ids: torch.Tensor, o0: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
    """s(w) = S([w]) for each id in ``token_ids``, [V, K]."""
    ids = token_ids.reshape(-1, 1)
    parts = [checked_readouts(model, ids[i : i + batch_size])[:, 0] - o0 for i in range(0, len(ids), batch_size)]
    return torch.cat(parts)


def word_point_table(model: nn.Module, tokens: torch.Tensor, lengths: torch.Tensor, o0: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Word points of every distinct token in the data: (ids [V], points [V, K])."""
    mask = torch.arange(tokens.shape[1]) < lengths[:, None]
    ids = torch.unique(tokens[mask])
    return ids.numpy(), word_points(model, ids, o0).double().numpy()


def words_by_position(tokens: torch.Tensor, lengths: torch.Tensor, ids: np.ndarray, points: np.ndarray) -> np.ndarray:
    """s(x_t) for every position of every sequence, [N, T, K]; NaN past a sequence's end."""
    lookup = np.clip(np.searchsorted(ids, tokens.numpy()), 0, len(ids) - 1)
    out = points[lookup]
    out[np.arange(tokens.shape[1])[None, :] >= lengths.numpy()[:, None]] = np.nan
    return out


def by_distance(per_position: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Re-index [N, T, ...] from position t to distance from the end d = length - 1 - t (NaN past the start)."""
    n, t = per_position.shape[:2]
    positions = np.asarray(lengths)[:, None] - 1 - np.arange(t)[None, :]
    valid = positions >= 0
    out = np.full(per_position.shape, np.nan)
    rows = np.broadcast_to(np.arange(n)[:, None], (n, t))
    out[valid] = per_position[rows[valid], positions[valid]]
    return out


def project_2d(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Principal-component projection of [N, K] points to 2-D: (coords [N, 2], axes [2, K]).

    For K <= 2 the SES is shown as it is (K = 1 gets a zero second axis).
    """
    k = points.shape[1]
    if k <= 2:
        axes = np.eye(2, k)
        return points @ axes.T, axes
    centred = points - points.mean(axis=0)
    _, spread, vt = np.linalg.svd(centred, full_matrices=False)
    axes = [v for v, size in zip(vt, spread) if size > 1e-12][:2]
    for e in np.eye(k):  # too few distinct points for two directions: complete by Gram-Schmidt
        if len(axes) == 2:
            break
        v = e - sum((e @ a) * a for a in axes)
        if np.linalg.norm(v) > 1e-9:
            axes.append(v / np.linalg.norm(v))
    axes = np.array(axes)
    return points @ axes.T, axes
