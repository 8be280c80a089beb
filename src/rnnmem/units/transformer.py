"""A small causal Transformer as a unit: its output at position t reads positions 0..t through attention."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from rnnmem.errors import ConfigError
from rnnmem.units.prefix import KeyValuePrefixes, PrefixCache

# attention scores held at once (parts x heads x queries x keys): bounds the memory of a long batch to ~64 MB
MAX_SCORES = 2**24
ROTARY_BASE = 10_000.0


def rotary_turns(positions: torch.Tensor, width: int) -> torch.Tensor:
    """Rotary position embedding (Su et al. 2021): unit complex numbers [n, L, 1, 1, width / 2] at ``positions`` [n, L].

    A head's query or key, read as width / 2 complex numbers (pairs of neighbours), is multiplied by them: pair i
    turns by the angle position / base^(2i/width), so the score q . k of two turned vectors depends on their
    positions only through the offset between them. Computed once per call and shared by every layer.
    """
    half = width // 2
    frequencies = ROTARY_BASE ** (-torch.arange(half, device=positions.device, dtype=torch.float32) / half)
    angles = positions[..., None, None, None].float() * frequencies
    return torch.polar(torch.ones_like(angles), angles)


class Block(nn.Module):
    """Pre-norm block: x + attention(norm(x)), then x + MLP(norm(x))."""

    def __init__(self, width: int, heads: int, mlp_ratio: int):
        super().__init__()
        self.heads = heads
        self.attention_norm = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.attention_out = nn.Linear(width, width)
        self.mlp_norm = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, mlp_ratio * width), nn.GELU(), nn.Linear(mlp_ratio * width, width))

    def forward(self, h, turns, past, allowed):
        """h [n, L, W], its queries and keys turned by ``turns`` (`rotary_turns`); past (keys, values) [n, P, heads, d]
        or None; allowed [n, 1, L, P + L] (None: plain causal attention). Returns the new h and this call's
        (keys, values) [n, L, heads, d]."""
        n, length, width = h.shape
        qkv = self.qkv(self.attention_norm(h)).view(n, length, 3, self.heads, -1, 2)
        q, k = torch.view_as_real(torch.view_as_complex(qkv[:, :, :2]) * turns).flatten(-2).unbind(dim=2)
        v = qkv[:, :, 2].flatten(-2)
        keys, values = (k, v) if past is None else (torch.cat([past[0], k], 1), torch.cat([past[1], v], 1))
        attended = F.scaled_dot_product_attention(q.transpose(1, 2), keys.transpose(1, 2), values.transpose(1, 2),
                                                  attn_mask=allowed, is_causal=allowed is None)
        h = h + self.attention_out(attended.transpose(1, 2).reshape(n, length, width))
        return h + self.mlp(self.mlp_norm(h)), (k, v)


class TransformerUnit(nn.Module):
    """Causal Transformer (pre-norm, rotary positions, optional sliding window): attention reads the context directly.

    Each position's output is the last block's, layer-normed: o_t reads x_0..x_t. With ``window`` = w each
    layer reads only the last w positions, so nothing older than layers x (w - 1) steps reaches o_t (w - 1
    with one layer). Blocks are pre-norm (attention, then a GELU MLP of ``mlp_ratio`` x the width), positions
    rotary (Su et al. 2021), so no length limit is built in. At E = H = 64 with the defaults (1 layer, 4 heads,
    MLP ratio 2) it has 33,600 parameters, as many as the LSTM (33,280). Settings by name:
    ``transformer:layers=2``, ``transformer:window=8``, ``transformer:heads=2``.

    Its state is the key/value cache: `states_before` gives every position's keys and values
    (`KeyValuePrefixes`), and `run_from` continues from the cache of a prefix, so occlusion runs a
    variant's suffix only, as it does for the recurrent units.

    Vaswani et al., "Attention is all you need", NeurIPS 2017; Su et al., "RoFormer", arXiv:2104.09864;
    Beltagy et al., "Longformer" (the sliding window), arXiv:2004.05150, 2020.
    """

    def __init__(self, input_size: int, hidden_size: int, layers: int = 1, heads: int = 4,
                 window: int | None = None, mlp_ratio: int = 2):
        super().__init__()
        if layers < 1 or heads < 1 or mlp_ratio < 1 or (window is not None and window < 1):
            raise ConfigError(f"transformer needs layers, heads, mlp_ratio and window >= 1, got layers={layers}, "
                              f"heads={heads}, mlp_ratio={mlp_ratio}, window={window}.")
        if hidden_size % (2 * heads):
            raise ConfigError(f"transformer splits its hidden size into {heads} heads of an even width (rotary "
                              f"positions turn pairs), so it must be a multiple of {2 * heads}; got {hidden_size}. "
                              f"Pick --hidden {2 * heads * max(1, round(hidden_size / (2 * heads)))} or fewer heads "
                              "(transformer:heads=1).")
        self.input_size, self.hidden_size, self.window = input_size, hidden_size, window
        self.input_proj = nn.Identity() if input_size == hidden_size else nn.Linear(input_size, hidden_size)
        self.blocks = nn.ModuleList(Block(hidden_size, heads, mlp_ratio) for _ in range(layers))
        self.norm = nn.LayerNorm(hidden_size)

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, ...] | None = None):
        """Outputs [B, T, H] and the cache after the last step: (keys, values) of every layer, each [B, P + T, heads, d].

        Passed back as ``state`` it continues the sequence: the new steps attend to the cached positions.
        """
        past = None if state is None else [(state[i], state[i + 1]) for i in range(0, len(state), 2)]
        offset = 0 if past is None else past[0][0].shape[1]
        lengths = x.new_full((x.shape[0],), offset, dtype=torch.long)
        outputs, cache = self._run(x, past, lengths)
        if past is not None:
            cache = [(torch.cat([pk, k], 1), torch.cat([pv, v], 1)) for (pk, pv), (k, v) in zip(past, cache)]
        return outputs, tuple(t for pair in cache for t in pair)

    @torch.no_grad()
    def states_before(self, x: torch.Tensor) -> KeyValuePrefixes:
        """The cache entering every step: each position's keys and values, indexed ``[rows, positions]``."""
        return KeyValuePrefixes(tuple(self._run(x, None, x.new_zeros(x.shape[0], dtype=torch.long))[1]))

    def run_from(self, x: torch.Tensor, prefix: PrefixCache) -> torch.Tensor:
        """Outputs [n, L, H] of the steps x [n, L, E], each variant continuing after its prefix in ``prefix``."""
        parts = []
        for part in self._parts(len(prefix), x.shape[1], int(prefix.lengths.max()) + x.shape[1]):
            past, lengths = prefix.part(part)
            parts.append(self._run(x[part], past, lengths)[0])
        return torch.cat(parts)

    def _parts(self, rows: int, queries: int, keys: int):
        per_part = max(1, MAX_SCORES // (self.blocks[0].heads * queries * keys))
        return [slice(start, min(start + per_part, rows)) for start in range(0, rows, per_part)]

    def _run(self, x, past, past_lengths):
        """Outputs and per-layer (keys, values) of the steps x [n, L, E] after ``past_lengths`` [n] cached positions."""
        if past is None and x.shape[0] > 1:  # a batch of whole sequences: cut it so its scores fit MAX_SCORES
            parts = self._parts(x.shape[0], x.shape[1], x.shape[1])
            if len(parts) > 1:
                runs = [self._run(x[part], None, past_lengths[part]) for part in parts]
                return (torch.cat([out for out, _ in runs]),
                        [tuple(torch.cat(t) for t in zip(*layer)) for layer in zip(*(c for _, c in runs))])
        steps = torch.arange(x.shape[1], device=x.device)
        positions = past_lengths[:, None] + steps  # [n, L]
        # whole sequences without a window are plain causal attention, which the kernel masks itself, faster
        allowed = (None if past is None and self.window is None
                   else self._allowed(positions, past_lengths, 0 if past is None else past[0][0].shape[1]))
        turns = rotary_turns(positions, self.hidden_size // self.blocks[0].heads)
        h, cache = self.input_proj(x), []
        for i, block in enumerate(self.blocks):
            h, kv = block(h, turns, None if past is None else past[i], allowed)
            cache.append(kv)
        return self.norm(h), cache

    def _allowed(self, positions, past_lengths, past_width):
        """Which keys each query may read, [n, 1, L, P + L]: earlier or equal positions, within the window,
        and of the cached prefix only the first ``past_lengths`` (the rest pads the part to its widest)."""
        cached = torch.arange(past_width, device=positions.device).expand(len(positions), -1)
        key_positions = torch.cat([cached, positions], dim=1)  # [n, P + L]
        real = torch.cat([cached < past_lengths[:, None], torch.ones_like(positions, dtype=torch.bool)], dim=1)
        offset = positions[:, :, None] - key_positions[:, None, :]  # [n, L, P + L]
        allowed = real[:, None, :] & (offset >= 0)
        if self.window is not None:
            allowed &= offset < self.window
        return allowed[:, None]
