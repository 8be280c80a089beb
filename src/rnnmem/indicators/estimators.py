"""The registry of retention estimators: one protocol, one entry each, read by `assess`, the CLI, the sweep and the plots.

An estimator is given the measured sequences and the SES quantities `assess` computes once
(`EstimatorInputs`) and returns its r(d) with 95% intervals (`EstimatorResult`): either from
per-token effects over per-token yardsticks (a ratio of sums, with `TokenEffects` kept for the
example sequences of the interactive page) or as a fitted curve (regression). A new estimator is
its function and one `Estimator` entry in `ESTIMATORS` (plus its section of docs/estimators.md):
`assess` runs it when asked, the defaults, the CLI's choices, the plots' colours, the report's
tables and every indicator of the catalogue follow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import nn

from rnnmem.indicators.bootstrap import Estimate, ratio_of_sums
from rnnmem.indicators.retention import (OCCLUSION_NORMALISATIONS, gradient_effects, occlusion_effects,
                                         occlusion_retention, occlusion_yardsticks, regression_retention)
from rnnmem.indicators.token_effects import TokenEffects

# Model-agnostic and the paper's estimator: the headline numbers use it whenever it was computed.
HEADLINE_ESTIMATOR = "occlusion"


@dataclass(frozen=True)
class EstimatorInputs:
    """What every estimator is given: the model, the measured sequences and what `assess` read off them once.

    word_points_by_distance : [N, D'+1, K] s(x_{T-d}), the word point of the token d steps before each end.
    sequence_points : [N, K] S(x) of every sequence.
    swap_norms : [N, D+1] ||s(x_{T-d}) - s(neutral)||, the isolated effect of swapping a token for the neutral one.
    examples : the first this many sequences keep per-token effects (`TokenEffects`).
    """

    model: nn.Module
    tokens: torch.Tensor
    lengths: torch.Tensor
    neutral: int
    max_distance: int
    n_resamples: int
    seed: int
    progress: bool
    word_points_by_distance: np.ndarray
    sequence_points: np.ndarray
    swap_norms: np.ndarray
    occlusion_normalisation: str
    examples: int


@dataclass
class EstimatorResult:
    """An estimator's r(d) (value, 95% CI, resamples), with what it measured on the way.

    token_effects : per-token effect and yardstick of the example sequences, by name (the interactive page).
    effects : [N, D+1] per-token effects on S(x), for views that judge tokens by them (occlusion's: the hull view).
    yardstick_curves : r(d) under each yardstick, when the estimator offers a choice (occlusion's two).
    """

    curve: Estimate
    token_effects: dict[str, TokenEffects] = field(default_factory=dict)
    effects: np.ndarray | None = None
    yardstick_curves: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class Estimator:
    """One retention estimator.

    name : the name in ``estimators=...``, ``--estimators``, report columns and metrics.
    color : its colour in every figure (Okabe-Ito, colour-blind safe).
    help : what its r(d) measures, in one line (the report's explanation of r(d)).
    measure : EstimatorInputs -> EstimatorResult.
    requires : methods the model must offer beyond forward(tokens); without them the estimator is skipped
        with a note saying ``requires_text``.
    per_token : whether it measures each token (effects over yardsticks) rather than fitting a curve.
    default : run when no estimators are named.
    """

    name: str
    color: str
    help: str
    measure: Callable[[EstimatorInputs], EstimatorResult]
    requires: tuple[str, ...] = ()
    requires_text: str = ""
    per_token: bool = True
    default: bool = True

    def offered_by(self, model: nn.Module) -> bool:
        return all(hasattr(model, method) for method in self.requires)


def measure_occlusion(inputs: EstimatorInputs) -> EstimatorResult:
    effects, in_context = occlusion_effects(inputs.model, inputs.tokens, inputs.lengths, inputs.neutral,
                                            inputs.max_distance, progress=inputs.progress)
    both = {name: occlusion_retention(effects, in_context, inputs.swap_norms, name, inputs.n_resamples, inputs.seed)
            for name in OCCLUSION_NORMALISATIONS}
    chosen = inputs.occlusion_normalisation
    yardsticks = occlusion_yardsticks(in_context, inputs.swap_norms)
    examples = slice(0, inputs.examples)
    token_effects = {f"occlusion ({name} yardstick)": TokenEffects(effects[examples], yardsticks[name][examples])
                     for name in sorted(OCCLUSION_NORMALISATIONS, key=lambda name: name != chosen)}
    return EstimatorResult(both[chosen], token_effects, effects, {name: est.value for name, est in both.items()})


def measure_regression(inputs: EstimatorInputs) -> EstimatorResult:
    return EstimatorResult(regression_retention(inputs.word_points_by_distance, inputs.sequence_points,
                                                inputs.max_distance, inputs.n_resamples, inputs.seed))


def measure_gradient(inputs: EstimatorInputs) -> EstimatorResult:
    numerator, denominator = gradient_effects(inputs.model, inputs.tokens, inputs.lengths, inputs.max_distance,
                                              progress=inputs.progress)
    examples = slice(0, inputs.examples)
    return EstimatorResult(ratio_of_sums(numerator, denominator, inputs.n_resamples, inputs.seed),
                           {"gradient": TokenEffects(numerator[examples], denominator[examples])})


ESTIMATORS: tuple[Estimator, ...] = (
    Estimator("occlusion", "#0072B2", "replace the token by a neutral one", measure_occlusion),
    Estimator("regression", "#D55E00", "least-squares weight of each distance", measure_regression, per_token=False),
    Estimator("gradient", "#009E73", "how far error signals flow back", measure_gradient,
              requires=("embed", "forward_embedded"),
              requires_text="embed(tokens) and forward_embedded(emb) to differentiate through"),
)


def estimator_names() -> tuple[str, ...]:
    return tuple(estimator.name for estimator in ESTIMATORS)


def default_estimators() -> tuple[str, ...]:
    """The estimators run when none are named."""
    return tuple(estimator.name for estimator in ESTIMATORS if estimator.default)


def registered(name: str) -> Estimator | None:
    """The registry entry of ``name``; None for a name not in it."""
    return next((estimator for estimator in ESTIMATORS if estimator.name == name), None)


def headline_estimator(names) -> str | None:
    """Occlusion when it is among ``names``, else the first of them; None for no estimator."""
    names = list(names)
    if HEADLINE_ESTIMATOR in names:
        return HEADLINE_ESTIMATOR
    return names[0] if names else None
