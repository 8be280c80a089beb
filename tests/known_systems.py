"""Models whose memory is known exactly (docs/indicators.md §5), written as plain nn.Modules.

They follow only the user-model protocol (forward(tokens) -> [B, T, K], plus embed and
forward_embedded), so assessing them also checks that no rnnmem class is required.
"""

import torch
from torch import nn


def fixed_word_table(vocab_size: int, dim: int, seed: int) -> nn.Parameter:
    """Seeded random word vectors, frozen; token 0 (the neutral token) carries no input."""
    table = torch.randn(vocab_size, dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    table[0] = 0.0
    return nn.Parameter(table, requires_grad=False)


class LinearRecurrence(nn.Module):
    """h_t = lam * h_{t-1} + e_t with identity readout: r(d) = lam^d for every estimator."""

    def __init__(self, lam: float, vocab_size: int = 40, dim: int = 3, seed: int = 0):
        super().__init__()
        self.table = fixed_word_table(vocab_size, dim, seed)
        self.lam = lam

    def embed(self, tokens):
        return self.table[tokens]

    def forward_embedded(self, emb):
        h = torch.zeros_like(emb[:, 0])
        out = []
        for t in range(emb.shape[1]):
            h = self.lam * h + emb[:, t]
            out.append(h)
        return torch.stack(out, dim=1)

    def forward(self, tokens):
        return self.forward_embedded(self.embed(tokens))


class DelayLine(nn.Module):
    """A shift register holding the last k inputs; the readout sums them: remembers exactly k tokens."""

    def __init__(self, k: int, vocab_size: int = 40, dim: int = 3, seed: int = 0):
        super().__init__()
        self.table = fixed_word_table(vocab_size, dim, seed)
        self.k = k

    def embed(self, tokens):
        return self.table[tokens]

    def forward_embedded(self, emb):
        # the register after step t holds e_{t-k+1..t}: a windowed cumulative sum
        padded = torch.cat([emb.new_zeros(emb.shape[0], self.k, emb.shape[2]), emb], dim=1)
        total = padded.cumsum(dim=1)
        return total[:, self.k :] - total[:, : -self.k]

    def forward(self, tokens):
        return self.forward_embedded(self.embed(tokens))


class Differencer(nn.Module):
    """o_t = e_t - c e_{t-1}: the token before the last weighs -c, so the regression, which needs a positive sum of
    word points, declines (indicators.retention.regression_decline) for c above a tenth."""

    def __init__(self, c: float = 0.8, vocab_size: int = 40, dim: int = 3, seed: int = 0):
        super().__init__()
        self.table = fixed_word_table(vocab_size, dim, seed)
        self.c = c

    def forward(self, tokens):
        emb = self.table[tokens]
        return emb - self.c * torch.cat([torch.zeros_like(emb[:, :1]), emb[:, :-1]], dim=1)
