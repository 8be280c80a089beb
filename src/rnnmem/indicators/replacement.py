"""The replacement reference: how far the readout moves, and how often the decision flips, when the token
at distance d is replaced by tokens drawn from the data's own distribution.

It needs no SES and no neutral token: every replacement is a token the model has seen in
such positions, so what it measures is the model's dependence on the token in its working
regime (docs/estimators.md). The runs are those of occlusion (`retention.replaced_runs`),
with a drawn token per variant instead of the neutral one.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from rnnmem.indicators.retention import positions_within, replaced_runs

# draws per position: enough that a drawn token of the same class as the original (no move) does not
# decide one sequence's effect, few enough that the reference costs a few occlusions
REPLACEMENT_DRAWS = 4


def unigram_distribution(tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Share of each token id among the measured tokens (padding excluded), [max id + 1]."""
    real = tokens[torch.arange(tokens.shape[1]) < lengths[:, None]]
    counts = torch.bincount(real).double()
    return counts / counts.sum()


def replacement_effects(model: nn.Module, tokens: torch.Tensor, lengths: torch.Tensor, max_distance: int,
                        draws: int = REPLACEMENT_DRAWS, seed: int = 0,
                        progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Mean readout move ||o_T - o'_T|| and decision flip rate over ``draws`` replacements per position, each [N, D+1].

    Each token within ``max_distance`` of its sequence's end is replaced, ``draws`` times, by a
    token drawn from the unigram distribution of the measured data (seeded: the same seed gives
    the same draws); a draw may equal the original token (a move of 0), as it does in the data.
    """
    return replaced_together(model, tokens, lengths, max_distance, None, draws, seed, progress)[1]


def replaced_together(model: nn.Module, tokens: torch.Tensor, lengths: torch.Tensor, max_distance: int,
                      neutral: int | None, draws: int, seed: int,
                      progress: bool) -> tuple[np.ndarray | None, tuple[np.ndarray, np.ndarray] | None]:
    """Occlusion's effects (the ``neutral`` token; None: not run) and the replacement reference's mean moves and flip
    rates (``draws`` drawn tokens; 0: not run), from one `replaced_runs` call: each chunk's cached states and
    readouts serve every round, and the rounds' variants share batches."""
    variants = len(positions_within(lengths, max_distance)[0])
    rounds = [] if neutral is None else [torch.full((variants,), neutral, dtype=torch.long)]
    if draws:
        generator = torch.Generator().manual_seed(seed)
        distribution = unigram_distribution(tokens, lengths)
        rounds += [torch.multinomial(distribution, variants, replacement=True, generator=generator)
                   for _ in range(draws)]
    desc = " and ".join(name for name, runs in (("occlusion", neutral is not None), ("replacement", draws)) if runs)
    moves, flips = replaced_runs(model, tokens, lengths, torch.stack(rounds), max_distance, progress=progress,
                                 desc=f"{desc} variants")
    occluded = None if neutral is None else moves[0]
    drawn = slice(0 if neutral is None else 1, None)
    return occluded, ((moves[drawn].mean(axis=0), flips[drawn].mean(axis=0)) if draws else None)
