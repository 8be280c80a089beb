"""minGRU: a GRU whose gate ignores the state, so every step is computed at once."""

from __future__ import annotations

import torch
from torch import nn

from rnnmem.units.base import RecurrentUnit
from rnnmem.units.scan import linear_scan


class MinGRUUnit(RecurrentUnit):
    """minGRU (Feng et al. 2024): gates from the input only, a linear recurrence in h.

    z_t = sigmoid(W_z x_t + b_z);  n_t = W_h x_t + b_h
    h_t = (1 - z_t) * h_{t-1} + z_t * n_t

    Neither z nor n depends on h, so h_t = a_t h_{t-1} + b_t with a = 1 - z, b = z n:
    forward runs a parallel scan over time, no loop over steps.

    Feng, Tung, Ahmed, Bengio & Hajimirsadeghi, "Were RNNs all we needed?", arXiv:2410.01201, 2024.
    """

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__(input_size, hidden_size)
        self.input_proj = nn.Linear(input_size, 2 * hidden_size)  # [W_z; W_h]

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None):
        gate, candidate = self.input_proj(x).chunk(2, dim=-1)
        z = torch.sigmoid(gate)
        outputs = linear_scan(1 - z, z * candidate, state)
        return outputs, outputs[:, -1]
