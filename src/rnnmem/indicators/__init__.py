"""Memory indicators (DESIGN §2) as pure functions of arrays, plus the model-facing effect estimators."""

from rnnmem.indicators.bootstrap import Estimate, bootstrap, ratio_of_sums
from rnnmem.indicators.classical import MemoryCapacity, drive_unit, memory_capacity
from rnnmem.indicators.fidelity import fidelity_by_length, knee
from rnnmem.indicators.hull import (HullView, RetainedVolume, WordHull, hull_indicators, retained_words, subset_volume,
                                    word_hull)
from rnnmem.indicators.planted import accuracy_by_planted_distance, memory_distance
from rnnmem.indicators.probes import probe_accuracy_by_distance, token_targets
from rnnmem.indicators.retention import gradient_effects, occlusion_effects, regression_retention
from rnnmem.indicators.curve import capacity, memory_length, recency_bias
from rnnmem.indicators.validity import Validity, semantic_validity

__all__ = [
    "Estimate", "bootstrap", "ratio_of_sums", "fidelity_by_length", "knee", "gradient_effects",
    "occlusion_effects", "regression_retention", "capacity", "memory_length", "recency_bias",
    "MemoryCapacity", "drive_unit", "memory_capacity",
    "HullView", "RetainedVolume", "WordHull", "hull_indicators", "retained_words", "subset_volume", "word_hull",
    "accuracy_by_planted_distance", "memory_distance", "probe_accuracy_by_distance", "token_targets",
    "Validity", "semantic_validity",
]
