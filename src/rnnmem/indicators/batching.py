"""How the effect estimators run recurrent kernels: batches cut to cost the least, cuDNN kept for backward.

A batch of rows padded to its widest row w costs about rows * w token-steps, plus a fixed
cost for each of its w steps (the kernel walks them one after another, one matrix product
each) and one per call (embedding, readout, gathering the rows). Cutting rows sorted by
width into batches trades padding (one batch for all) against fixed costs (a batch per
width); `plan_batches` finds the cheapest cut exactly. The occlusion estimator plans both
of its routes this way and takes the cheaper (`occlusion_effects`).
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
import torch
from torch import nn

# fixed costs in token-steps, rough estimates for the 2-core CPU with an LSTM-64, not yet fitted to timings:
# one step of a batch costs about as much as 32 rows of it, one call as about 512 token-steps
STEP_COST = 32
CALL_COST = 512


def plan_batches(widths: torch.Tensor, budget: int) -> tuple[list[torch.Tensor], float]:
    """Row indices of ``widths`` cut into batches of at most ``budget`` token-steps each, and their summed cost.

    Rows are sorted by width; a batch takes a run of consecutive widths, padded to its widest,
    split into as few passes as the budget allows. Dynamic programming over the distinct widths
    gives the cut with the least summed cost (`passes_cost` of each run; a single row wider than the budget still
    gets a batch of its own).
    """
    order = torch.argsort(widths, stable=True)
    distinct, counts = np.unique(widths[order].numpy(), return_counts=True)
    if len(distinct) == 0:
        return [], 0.0
    rows_before = np.concatenate([[0], np.cumsum(counts)])
    best = np.zeros(len(distinct) + 1)
    cut = np.zeros(len(distinct), dtype=int)
    for j, width in enumerate(distinct.astype(np.int64)):
        rows = rows_before[j + 1] - rows_before[: j + 1]  # rows of the widths i..j, for every start i
        passes = np.ceil(rows / max(1, budget // width))
        costs = best[: j + 1] + rows * width + passes * (width * STEP_COST + CALL_COST)
        cut[j] = int(np.argmin(costs))
        best[j + 1] = costs[cut[j]]
    batches, j = [], len(distinct) - 1
    while j >= 0:
        first, per_pass = cut[j], max(1, budget // int(distinct[j]))
        span = order[rows_before[first] : rows_before[j + 1]]
        batches.extend(span.split(per_pass))
        j = first - 1
    return batches[::-1], float(best[-1])


def passes_cost(rows: int, width: int, budget: int) -> float:
    """Cost of ``rows`` rows of equal ``width`` run in passes of at most ``budget`` token-steps."""
    per_pass = max(1, budget // width)
    return rows * width + math.ceil(rows / per_pass) * (width * STEP_COST + CALL_COST)


@contextlib.contextmanager
def kernels_differentiable(model: nn.Module):
    """Let autograd run backward through ``model``'s fused recurrent kernels (nn.RNN/LSTM/GRU) at full speed.

    cuDNN refuses an RNN's backward in eval mode. Switching only the kernels to train mode keeps
    cuDNN and changes no number: a kernel's dropout acts between its layers, so with one layer
    (or none) train mode computes the same function; the model's own dropout modules stay in
    eval mode. A kernel with dropout between several layers runs without cuDNN instead.
    """
    kernels = [m for m in model.modules() if isinstance(m, nn.RNNBase) and not m.training]
    if any(m.num_layers > 1 and m.dropout > 0 for m in kernels):
        with torch.backends.cudnn.flags(enabled=False):
            yield
        return
    for kernel in kernels:
        kernel.train()
    try:
        yield
    finally:
        for kernel in kernels:
            kernel.eval()
