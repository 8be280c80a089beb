"""Turn memory indicators into a training-length decision (DESIGN §3)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rnnmem.indicators.summary import memory_length
from rnnmem.validation import check_real, check_tau


@dataclass(frozen=True)
class Recommendation:
    """The recommended training length, the rule that produced it and the numbers it used."""

    length: int
    rule: str
    evidence: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.length} tokens ({self.rule})"


def recommend_length(retention: np.ndarray, lengths: np.ndarray, tau: float = 0.1,
                     data_quantile: float = 0.95) -> Recommendation:
    """Shortest training length that keeps every token the unit can still use.

    Rule: ML(tau) tokens (by default the horizon ML(0.1): tokens farther back than that
    contribute less than a tenth of their meaning to the final state), capped by the
    ``data_quantile`` quantile of the data's own sequence lengths, since longer
    training sequences would mostly be padding. When r(d) never falls to tau within the
    measured range the unit uses everything it was shown, and the data cap decides.

    Parameters
    ----------
    retention : array [D+1]
        A retention curve r(d).
    lengths : array [N]
        Lengths of the sequences the curve was measured on.
    """
    tau = check_tau(tau)
    check_real("data_quantile", data_quantile, low=0.0, high=1.0)
    lengths = np.asarray(lengths)
    data_cap = int(np.ceil(np.quantile(lengths, data_quantile)))
    horizon = memory_length(retention, tau)
    evidence = {f"ML({tau:g})": horizon, f"data length q{round(data_quantile * 100)}": data_cap,
                "measured distances": int(np.isfinite(retention).sum())}
    if horizon is None:
        rule = (f"r(d) stays above {tau:g} for every measured distance, so the unit uses all "
                f"it is shown: the {data_quantile:.0%} quantile of the data's lengths")
        return Recommendation(data_cap, rule, evidence)
    length = max(1, horizon)
    if length >= data_cap:
        rule = (f"ML({tau:g}) = {horizon} reaches past the {data_quantile:.0%} quantile of the "
                f"data's lengths, which caps it")
        return Recommendation(data_cap, rule, evidence)
    rule = f"ML({tau:g}): tokens farther back than {horizon} keep less than {tau:g} of their meaning"
    return Recommendation(length, rule, evidence)
