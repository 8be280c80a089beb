"""Minimal gated unit."""

from __future__ import annotations

import torch
from torch import nn

from rnnmem.units.base import RecurrentUnit


class MGUUnit(RecurrentUnit):
    """Minimal gated unit (Zhou et al. 2016): a GRU with a single forget gate.

    f_t = sigmoid(W_f x_t + U_f h_{t-1} + b_f)
    n_t = tanh(W_h x_t + U_h (f_t * h_{t-1}) + b_h)
    h_t = (1 - f_t) * h_{t-1} + f_t * n_t

    Zhou, Wu, Zhang & Zhou, "Minimal gated unit for recurrent neural networks",
    International Journal of Automation and Computing 13, 2016.
    """

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__(input_size, hidden_size)
        self.input_proj = nn.Linear(input_size, 2 * hidden_size)  # [W_f; W_h] with [b_f; b_h]
        self.forget_rec = nn.Linear(hidden_size, hidden_size, bias=False)  # U_f
        self.candidate_rec = nn.Linear(hidden_size, hidden_size, bias=False)  # U_h

    def cell(self, projected: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """One step from the input projection [W_f x_t + b_f, W_h x_t + b_h] and h_{t-1}."""
        px_f, px_h = projected.chunk(2, dim=-1)
        f = torch.sigmoid(px_f + self.forget_rec(h))
        n = torch.tanh(px_h + self.candidate_rec(f * h))
        return h + f * (n - h)

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None):
        projected = self.input_proj(x)  # all steps in one product; only U h stays in the loop
        h = self.initial_state(x, state)
        outputs = []
        for t in range(x.shape[1]):
            h = self.cell(projected[:, t], h)
            outputs.append(h)
        return torch.stack(outputs, dim=1), h
