"""What the hand-written units share: the state they carry is their output h_t."""

from __future__ import annotations

import torch
from torch import nn


class RecurrentUnit(nn.Module):
    """Base of units whose state is their output: the state entering step t is h_{t-1}, h_0 = 0."""

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size

    def initial_state(self, x: torch.Tensor, state: torch.Tensor | None) -> torch.Tensor:
        return x.new_zeros(x.shape[0], self.hidden_size) if state is None else state

    def run_from(self, x: torch.Tensor, packed_state: torch.Tensor) -> torch.Tensor:
        """Outputs [B, L, H] of the steps x [B, L, E] taken from a packed state [B, S] (see states_before)."""
        return self(x, packed_state)[0]

    @torch.no_grad()
    def states_before(self, x: torch.Tensor) -> torch.Tensor:
        """The state entering every step, [B, T, H]: the outputs shifted one step right."""
        outputs, _ = self(x)
        return torch.cat([torch.zeros_like(outputs[:, :1]), outputs[:, :-1]], dim=1)
