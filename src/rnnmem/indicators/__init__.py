"""Memory indicators (DESIGN §2) as pure functions of arrays, plus the model-facing effect estimators."""

from rnnmem.indicators.bootstrap import Estimate, bootstrap, ratio_of_sums
from rnnmem.indicators.fidelity import fidelity_by_length, knee
from rnnmem.indicators.retention import gradient_effects, occlusion_effects, regression_retention
from rnnmem.indicators.summary import capacity, memory_length, recency_bias

__all__ = [
    "Estimate", "bootstrap", "ratio_of_sums", "fidelity_by_length", "knee", "gradient_effects",
    "occlusion_effects", "regression_retention", "capacity", "memory_length", "recency_bias",
]
