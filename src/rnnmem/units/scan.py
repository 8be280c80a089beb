"""Parallel scan for linear recurrences h_t = a_t * h_{t-1} + b_t (minGRU, LRU)."""

from __future__ import annotations

import torch


def linear_scan(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None = None) -> torch.Tensor:
    """Every h_t of h_t = a_t * h_{t-1} + b_t at once, by recursive doubling.

    ``b`` is [B, T, N]; ``a`` broadcasts against it ([1, T, N] when the decay does not
    depend on the input); ``h0`` [B, N] (default 0). Works for real and complex tensors.

    Each pass composes every step with the block of steps ``shift`` before it:
    (a1, b1) then (a2, b2) is (a2 a1, a2 b1 + b2). After log2(T) passes step t holds
    the composition of steps 1..t, so b_t = h_t. Only multiplications and additions:
    unlike the log-space form (Feng et al. 2024, appendix) it needs no positive b, and
    unlike cumprod-and-divide it cannot overflow when the decays are small
    (Hillis & Steele 1986; Blelloch 1990, "Prefix sums and their applications").
    """
    if h0 is not None:
        b = torch.cat([a[:, :1] * h0[:, None] + b[:, :1], b[:, 1:]], dim=1)
    shift = 1
    while shift < b.shape[1]:
        b = torch.cat([b[:, :shift], a[:, shift:] * b[:, :-shift] + b[:, shift:]], dim=1)
        a = torch.cat([a[:, :shift], a[:, shift:] * a[:, :-shift]], dim=1)
        shift *= 2
    return b
