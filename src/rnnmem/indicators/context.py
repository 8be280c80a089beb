"""Effective context of a language model, read off the rise in held-out loss when its context is perturbed.

The reference measurement that needs no SES (Khandelwal, He, Qi, Jurafsky, ACL 2018, "Sharp
Nearby, Fuzzy Far Away"): the model's next-token loss with the full context, and with the
context cut to (or kept intact only within) the last k tokens. The measurement itself is in
`rnnmem.language_model.context_loss_rise`; this module turns its curve into one number.
"""

from __future__ import annotations

import numpy as np

from rnnmem.errors import ConfigError
from rnnmem.indicators.curve import interpolated_crossing
from rnnmem.validation import check_real

# the ways the context beyond the last k tokens is perturbed; "cut" drops it, "shuffle" permutes
# it (order destroyed, words kept), "replace" draws it afresh from the unigram distribution
PERTURBATIONS = ("cut", "shuffle", "replace")


def effective_context(ks, loss_rise, full_loss: float, tolerance: float = 0.01,
                      interpolate: bool = False) -> int | float | None:
    """The smallest k from which the loss rise stays within ``tolerance`` of the full-context loss.

    k_eff = min { k_i : E(i) <= tolerance * L_full },  E(i) = max_{j >= i} rise(k_j),

    where rise(k) = L(context perturbed beyond the last k tokens) - L_full (mean next-token loss in
    nats) and E is the upper envelope of the rise from the right, as for ML(tau): one noisy dip
    below the tolerance does not end the context the model uses. None when the rise at the
    largest k still exceeds the tolerance (the model uses more than max(ks) tokens).

    Parameters
    ----------
    ks : array [M]
        Increasing context sizes k.
    loss_rise : array [M]
        rise(k) for each k.
    full_loss : float
        L_full, the mean loss with the full context (> 0).
    tolerance : float
        Share of L_full a rise may have and still count as no loss (0.01 = 1%).
    interpolate : bool
        Read k_eff between grid points instead (`rnnmem.indicators.curve.interpolated_crossing`
        of E at tolerance * L_full, linear in log k): a float in (k_{i-1}, k_i], so models whose
        envelopes cross between the same two k are still ordered.

    Examples
    --------
    >>> effective_context([1, 2, 5, 10], [0.8, 0.3, 0.004, 0.001], full_loss=1.0)
    5
    >>> effective_context([1, 2, 5, 10], [0.8, 0.003, 0.2, 0.001], full_loss=1.0)  # not 2
    10
    >>> round(effective_context([1, 4], [0.03, 0.0], full_loss=1.0, interpolate=True), 4)  # 4 ** (2/3)
    2.5198
    """
    ks = np.asarray(ks, dtype=float)
    rise = np.asarray(loss_rise, dtype=float)
    if ks.ndim != 1 or ks.shape != rise.shape or len(ks) == 0:
        raise ConfigError(f"ks and loss_rise must be 1-D arrays of the same non-zero length "
                          f"(got shapes {ks.shape} and {rise.shape}).")
    if np.any(np.diff(ks) <= 0) or not np.isfinite(rise).all():
        raise ConfigError("ks must increase and every loss rise must be finite; pass the curve in order of k.")
    full_loss = check_real("full_loss", full_loss, low=0.0, low_open=True)
    tolerance = check_real("tolerance", tolerance, low=0.0, low_open=True)
    if interpolate:
        return interpolated_crossing(ks, rise, tolerance * full_loss, log_x=True)
    envelope = np.maximum.accumulate(rise[::-1])[::-1]
    within = np.nonzero(envelope <= tolerance * full_loss)[0]
    return int(ks[within[0]]) if len(within) else None


def context_area(ks, loss_rise) -> float:
    """A = integral of rise(k) dk from k_1 to k_M (trapezoids): the loss the far context saves, summed over cut points.

    The continuous companion of k_eff, as the retention capacity sum_d r(d) is of ML: no
    tolerance, and every k counts in proportion to how much the context beyond it still helps
    (nats x tokens). A model whose rise is 1 nat at k = 1 and 0 from k = 2 has A = 0.5.

    >>> context_area([1, 2, 4], [1.0, 0.0, 0.0])
    0.5
    """
    ks = np.asarray(ks, dtype=float)
    rise = np.asarray(loss_rise, dtype=float)
    return float(np.sum((rise[1:] + rise[:-1]) / 2 * np.diff(ks)))
