"""The retention estimators: which one the headline numbers use."""

from __future__ import annotations

# Model-agnostic and the paper's estimator: the headline numbers use it whenever it was computed.
HEADLINE_ESTIMATOR = "occlusion"


def headline_estimator(names) -> str | None:
    """Occlusion when it is among ``names``, else the first of them; None for no estimator."""
    names = list(names)
    if HEADLINE_ESTIMATOR in names:
        return HEADLINE_ESTIMATOR
    return names[0] if names else None
