"""The state of a model with direct access to its context: the keys and values of every position before a step.

A recurrent unit's state before step t is one vector, so `states_before` returns them packed, [B, T, S], and
occlusion's prefix cache picks one per variant (`states[rows, positions]`). An attention model's state before
step t is the key/value cache of positions 0..t-1, which grows with t; packing it per step would cost
B * T^2 numbers. `KeyValuePrefixes` holds each position's keys and values once and is indexed the same way
(`prefixes[rows, positions]`); the `PrefixCache` it returns gathers a variant's prefix only when a batch of
its steps runs (`PrefixCache.part`), so memory follows the batch, not the number of variants.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class KeyValuePrefixes:
    """Keys and values of every position of a batch, one (keys, values) pair per layer, each [B, T, ...]."""

    layers: tuple[tuple[torch.Tensor, torch.Tensor], ...]

    @property
    def shape(self) -> tuple[int, int]:
        """(B, T): the batch and the steps whose prefixes it holds."""
        return tuple(self.layers[0][0].shape[:2])

    def __getitem__(self, index) -> PrefixCache:
        """The prefix before ``positions`` of ``rows``: ``prefixes[rows, positions]``, as a packed state tensor is indexed.

        ``rows`` and ``positions`` are index tensors of one length, or a slice and an int
        (``prefixes[:, t]``: every row's prefix before step t).
        """
        rows, positions = index
        batch = self.shape[0]
        rows = torch.arange(batch)[rows] if isinstance(rows, slice) else torch.as_tensor(rows).long().reshape(-1)
        positions = torch.as_tensor(positions).long().reshape(-1).expand(len(rows)).cpu()
        return PrefixCache(self.layers, rows.cpu(), positions)


@dataclass(frozen=True)
class PrefixCache:
    """The key/value cache before each variant's first step: variant i continues row ``rows[i]`` after
    ``lengths[i]`` of its positions. Nothing is copied until `part` gathers some variants."""

    layers: tuple[tuple[torch.Tensor, torch.Tensor], ...]
    rows: torch.Tensor
    lengths: torch.Tensor

    def __len__(self) -> int:
        return len(self.rows)

    def part(self, variants: slice) -> tuple[list[tuple[torch.Tensor, torch.Tensor]], torch.Tensor]:
        """Per layer (keys, values) [m, P, ...] of ``variants``, each padded to their longest prefix P, and their
        prefix lengths [m]; positions at or past a variant's length hold its row's later keys and must be masked."""
        rows, lengths = self.rows[variants], self.lengths[variants]
        width = int(lengths.max()) if len(lengths) else 0
        device = self.layers[0][0].device
        rows = rows.to(device)
        gathered = [(keys[rows, :width], values[rows, :width]) for keys, values in self.layers]
        return gathered, lengths.to(device)
