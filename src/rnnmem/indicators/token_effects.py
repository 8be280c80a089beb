"""Per-token retention on a few sequences: what the interactive page colours each token by.

The curves r(d) are ratios of sums over every sequence (`bootstrap.ratio_of_sums`): mean effect
over mean yardstick. Here the same effect and yardstick are kept token by token for a few
example sequences, so a reader can see which tokens of one sequence the final state still holds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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
        gradient ||dS(x)/de_{T-d}||_F.
    yardstick : ndarray
        y_i(d), what the estimator's r(d) divides by for this token: occlusion's word yardstick
        ||s(x_{T-d}) - s(neutral)|| or context yardstick (the effect at the step it was read),
        gradient ||dS(x_1..T-d)/de_{T-d}||_F.
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
