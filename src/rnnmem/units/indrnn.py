"""Independently recurrent neural network."""

from __future__ import annotations

import torch
from torch import nn

from rnnmem.units.base import RecurrentUnit


class IndRNNUnit(RecurrentUnit):
    """IndRNN (Li et al. 2018): each unit recurs only onto itself, |u| <= 1.

    h_t = relu(W x_t + u * h_{t-1} + b),  u = tanh(v)  (element-wise, so |u_i| < 1)

    The gradient through n steps is prod u_i relu', so Li et al. bound |u_i| by
    gamma^(1/n) to keep it from exploding; we take gamma = 1, which holds for any
    length. The paper clips u after each optimiser step; u = tanh(v) keeps the bound
    by construction, whatever the optimiser or learning rate, with no training hook.

    Li, Li, Cook, Zhu & Gao, "Independently recurrent neural network (IndRNN):
    building a longer and deeper RNN", CVPR 2018.
    """

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__(input_size, hidden_size)
        self.input_proj = nn.Linear(input_size, hidden_size)
        # u uniform in [0, 1) as in the paper; 0.999 keeps atanh finite
        self.recurrent_raw = nn.Parameter(torch.atanh(torch.rand(hidden_size).clamp(max=0.999)))

    @property
    def recurrent_weight(self) -> torch.Tensor:
        """u, the element-wise recurrent weights, each in (-1, 1)."""
        return torch.tanh(self.recurrent_raw)

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None):
        projected = self.input_proj(x)  # all steps in one product; only u * h stays in the loop
        u = self.recurrent_weight
        h = self.initial_state(x, state)
        outputs = []
        for t in range(x.shape[1]):
            h = torch.relu(projected[:, t] + u * h)
            outputs.append(h)
        return torch.stack(outputs, dim=1), h
