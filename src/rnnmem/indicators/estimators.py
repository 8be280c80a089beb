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
from functools import cached_property
from typing import Callable

import numpy as np
import torch
from torch import nn

from rnnmem.indicators.bootstrap import Estimate
from rnnmem.indicators.replacement import REPLACEMENT_DRAWS, replaced_together
from rnnmem.indicators.retention import gradient_effects, regression_decline, regression_retention
from rnnmem.indicators.token_effects import TokenEffects, peak_relative_effects

# Model-agnostic and the paper's estimator: the headline numbers use it whenever it was computed.
HEADLINE_ESTIMATOR = "occlusion"


@dataclass(frozen=True)
class EstimatorInputs:
    """What every estimator is given: the model, the measured sequences and what `assess` read off them once.

    word_points_by_distance : [N, D'+1, K] s(x_{T-d}), the word point of the token d steps before each end.
    sequence_points : [N, K] S(x) of every sequence.
    swap_norms : [N, D+1] ||s(x_{T-d}) - s(neutral)||, the isolated effect of swapping a token for the neutral one.
    examples : the first this many sequences keep per-token effects (`TokenEffects`).
    min_sequences : no r(d) from fewer sequences than this (`bootstrap.supported_sequences`): beyond, it is censored.
    estimators : the estimators `assess` runs: occlusion and the replacement reference share their runs (`replays`).
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
    examples: int
    min_sequences: int
    estimators: tuple[str, ...]

    @cached_property
    def replays(self) -> tuple[np.ndarray | None, tuple[np.ndarray, np.ndarray] | None]:
        """Occlusion's and the replacement reference's runs, those of the two that ``estimators`` names, made together
        (`replaced_together`): one `states_before` and one forward pass per chunk serve both."""
        return replaced_together(self.model, self.tokens, self.lengths, self.max_distance,
                                 self.neutral if "occlusion" in self.estimators else None,
                                 REPLACEMENT_DRAWS if "replacement" in self.estimators else 0, self.seed, self.progress)


@dataclass
class EstimatorResult:
    """An estimator's r(d) (value, 95% CI, resamples), with what it measured on the way.

    curve : None when the estimator declines for this model (``notes`` say why): it then has no column.
    token_effects : per-token effect and yardstick of the example sequences, by name (the interactive page).
    effects : [N, D+1] per-token effects on S(x), for views that judge tokens by them (occlusion's: the hull view).
    columns : further retention-table columns by name (the replacement reference's decision flip rate).
    notes : what the report should say about this measurement.
    """

    curve: Estimate | None
    token_effects: dict[str, TokenEffects] = field(default_factory=dict)
    effects: np.ndarray | None = None
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


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


# occlusion, gradient and replacement: r(d) = E[effect(d)] / max_d' E[effect(d')] (docs/estimators.md)
def _peak_relative(name: str, inputs: EstimatorInputs, measured: np.ndarray, yardstick=None, **result) -> EstimatorResult:
    curve, token_effects = peak_relative_effects(measured, slice(0, inputs.examples), inputs.n_resamples, inputs.seed,
                                                 inputs.min_sequences, yardstick)
    return EstimatorResult(curve, {name: token_effects}, **result)


def measure_occlusion(inputs: EstimatorInputs) -> EstimatorResult:
    effects = inputs.replays[0]
    return _peak_relative("occlusion", inputs, effects, inputs.swap_norms, effects=effects)


def measure_regression(inputs: EstimatorInputs) -> EstimatorResult:
    fitted = regression_retention(inputs.word_points_by_distance, inputs.sequence_points, inputs.max_distance,
                                  inputs.n_resamples, inputs.seed, inputs.min_sequences)
    declined = regression_decline(fitted)
    return EstimatorResult(None, notes=[f"regression declined: {declined}"]) if declined else EstimatorResult(fitted)


def measure_gradient(inputs: EstimatorInputs) -> EstimatorResult:
    effects = gradient_effects(inputs.model, inputs.tokens, inputs.lengths, inputs.max_distance,
                               progress=inputs.progress)
    return _peak_relative("gradient", inputs, effects)


def measure_replacement(inputs: EstimatorInputs) -> EstimatorResult:
    moves, flips = inputs.replays[1]
    return _peak_relative("replacement", inputs, moves, columns={"replacement_flip_rate": np.nanmean(flips, axis=0)})


ESTIMATORS: tuple[Estimator, ...] = (
    Estimator("occlusion", "#0072B2", "replace the token by a neutral one", measure_occlusion),
    Estimator("regression", "#D55E00", "least-squares weight of each distance", measure_regression, per_token=False),
    Estimator("gradient", "#009E73", "how far error signals flow back", measure_gradient,
              requires=("embed", "forward_embedded"),
              requires_text="embed(tokens) and forward_embedded(emb) to differentiate through",
              # opt-in: on the known-memory suite it reads key-k 4-6 tokens too far (docs/known_memory.md), so its
              # ML is how far error signals flow back, not how far the model remembers
              default=False),
    Estimator("replacement", "#CC79A7", "the reference: replace the token by tokens drawn from the data",
              measure_replacement),
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
