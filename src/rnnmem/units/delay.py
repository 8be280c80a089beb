"""Delay line: the validation unit that remembers exactly k tokens."""

from __future__ import annotations

import torch

from rnnmem.errors import ConfigError
from rnnmem.units.base import RecurrentUnit


class DelayUnit(RecurrentUnit):
    """Delay line (shift register) of the last k = H / E inputs; no parameters, exact memory of k tokens.

    h_t = [x_t, x_{t-1}, ..., x_{t-k+1}]   (x_s = 0 for s < 1),  H = k E

    The known-answer system of docs/indicators.md §5: retention is 1 for d < k and 0 beyond, so
    ML(0.5) = MC = k under a readout that sums the k slots.
    """

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__(input_size, hidden_size)
        if hidden_size < input_size or hidden_size % input_size:
            raise ConfigError(
                f"delay: hidden_size ({hidden_size}) must be a positive multiple of the input "
                f"(embedding) size ({input_size}), as the register holds hidden_size // input_size "
                f"tokens; use hidden_size = k * {input_size} for a memory of k tokens."
            )
        self.k = hidden_size // input_size

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None):
        batch, steps, width = x.shape
        # the state h_0 = [x_0, x_{-1}, ...] holds the k - 1 inputs before this chunk, newest first
        history = self.initial_state(x, state)[:, : (self.k - 1) * width]
        history = history.reshape(batch, self.k - 1, width).flip(1)
        padded = torch.cat([history, x], dim=1)  # [B, k - 1 + T, E], oldest first
        windows = padded.unfold(1, self.k, 1).flip(-1)  # [B, T, E, k], newest first
        outputs = windows.transpose(-1, -2).reshape(batch, steps, self.hidden_size)
        return outputs, outputs[:, -1]
