"""Memory indicators (docs/indicators.md) as pure functions of arrays, plus the model-facing effect estimators."""

from rnnmem.indicators.bootstrap import Estimate, bootstrap, rank_interval, ratio_of_sums
from rnnmem.indicators.classical import TaskFreeCapacity, drive_unit, memory_capacity, task_free_capacity
from rnnmem.indicators.catalogue import CURVE_INDICATORS, Indicator, IndicatorValue, curve_interval
from rnnmem.indicators.curve import memory_length, recent_share, retention_capacity
from rnnmem.indicators.fidelity import fidelity_at, fidelity_by_length, fidelity_knee, knee
from rnnmem.indicators.hull import (HullView, RetainedVolume, WordHull, hull_indicators, hull_vertices, retained_words,
                                    subset_volume, word_hull)
from rnnmem.indicators.planted import accuracy_by_planted_distance, memory_distance
from rnnmem.indicators.probes import probe_accuracy_by_distance, token_targets
from rnnmem.indicators.retention import gradient_effects, occlusion_effects, regression_retention
from rnnmem.indicators.validity import Validity, semantic_validity

__all__ = [
    "Estimate", "bootstrap", "rank_interval", "ratio_of_sums", "fidelity_at", "fidelity_by_length", "fidelity_knee",
    "knee", "gradient_effects", "occlusion_effects", "regression_retention", "curve_interval", "memory_length",
    "recent_share", "retention_capacity", "TaskFreeCapacity", "drive_unit", "memory_capacity", "task_free_capacity",
    "HullView", "RetainedVolume", "WordHull", "hull_indicators", "hull_vertices", "retained_words", "subset_volume",
    "word_hull", "accuracy_by_planted_distance", "memory_distance", "probe_accuracy_by_distance", "token_targets",
    "Validity", "semantic_validity", "CURVE_INDICATORS", "Indicator", "IndicatorValue",
]
