"""Per-token retention on a few sequences: what the interactive page colours each token by.

The curves r(d) are ratios of means over every sequence, relative to their peak (`bootstrap.peak_relative`):
mean effect over mean yardstick. Here the same effect and yardstick (times the peak) are kept token by token
for a few example sequences, so a reader can see which tokens of one sequence the final state still holds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnmem.indicators.bootstrap import Estimate, peak_relative

# yardsticks this small (relative to the largest) are a token whose swap does nothing on its own
# (e.g. the neutral token itself): its share is undefined rather than huge
_NEGLIGIBLE = 1e-9


@dataclass(frozen=True)
class TokenEffects:
    """One estimator's numbers for each token of the example sequences, by distance from the end.

    Both arrays are [n, D+1]: row i is example sequence i, column d the token d steps before its
    end (NaN past the sequence's start).

    Attributes
    ----------
    effect : ndarray
        e_i(d), the token's effect on the final state: occlusion ||S(x) - S(x with x_{T-d} := neutral)||,
        gradient ||dS(x)/de_{T-d}||_F, replacement the mean move over the drawn replacements.
    yardstick : ndarray
        y_i(d), what the estimator's r(d) divides by for this token: the peak m* of the estimator's
        mean effect, times (occlusion) the word's own swap effect ||s(x_{T-d}) - s(neutral)||.
    """

    effect: np.ndarray
    yardstick: np.ndarray

    def share(self) -> np.ndarray:
        """r_i(d) = e_i(d) / y_i(d), the share of the token the final state still holds, [n, D+1].

        The curve r(d) = E_i[e_i(d)] / E_i[y_i(d)] is the yardstick-weighted mean of these shares.
        NaN where the token is not measured or its yardstick is negligible (< 1e-9 of the largest).
        """
        yardstick = np.asarray(self.yardstick, float)
        largest = np.nanmax(np.abs(yardstick), initial=0.0)
        usable = np.abs(yardstick) > _NEGLIGIBLE * largest
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(usable, np.asarray(self.effect, float) / yardstick, np.nan)


def peak_relative_effects(effects: np.ndarray, examples: slice, n_resamples: int, seed: int, min_sequences: int,
                          yardstick: np.ndarray | None = None) -> tuple[Estimate, TokenEffects]:
    """An estimator's curve (`peak_relative`) and its per-token effects on the ``examples`` over the same peak.

    A token's share is e_i(d) / (y_i(d) m*), m* the peak of m(d): the curve is their yardstick-weighted
    mean over the sequences.
    """
    curve = peak_relative(effects, n_resamples, seed, min_sequences, yardstick)
    yardstick = np.ones_like(effects) if yardstick is None else yardstick
    present = np.isfinite(effects) & np.isfinite(yardstick)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(present, effects, 0).sum(axis=0) / np.where(present, yardstick, 0).sum(axis=0)
    peak = np.nanmax(np.where(np.isfinite(curve.value), means, np.nan))
    return curve, TokenEffects(effects[examples], yardstick[examples] * peak)
