"""Turn memory indicators into decisions (docs/indicators.md §2, §3): whether the numbers can be read as learned
memory at all, and which training length to use, for one model and for a unit across a study."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from rnnmem.baselines import Baselines, competence_verdict
from rnnmem.indicators.curve import memory_length
from rnnmem.indicators.validity import Validity
from rnnmem.validation import check_real, check_tau, counted


@dataclass(frozen=True)
class Recommendation:
    """The recommended training length, the rule that produced it and the numbers it used."""

    length: int
    rule: str
    evidence: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{counted(self.length, 'token')} ({self.rule})"


def recommend_length(retention: np.ndarray, lengths: np.ndarray, tau: float = 0.1,
                     data_quantile: float = 0.95, context: dict | None = None) -> Recommendation:
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
    context : dict, optional
        Further evidence to report with the rule (e.g. the estimator and the fidelity knee).
    """
    tau = check_tau(tau)
    check_real("data_quantile", data_quantile, low=0.0, high=1.0)
    lengths = np.asarray(lengths)
    data_cap = int(np.ceil(np.quantile(lengths, data_quantile)))
    horizon = memory_length(retention, tau)
    evidence = {f"ML({tau:g})": horizon, f"data length q{round(data_quantile * 100)}": data_cap,
                "measured distances": int(np.isfinite(retention).sum()), **(context or {})}
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


NOT_LEARNED = "the model has not learned its task: memory numbers describe its untrained dynamics"
VALIDITY_AT_FLOOR = "semantic validity is at its untrained floor: the SES axes do not yet carry the task's meaning"
INTERPRETABLE = "the numbers are interpretable"


@dataclass(frozen=True)
class Verdict:
    """Whether a report's memory numbers describe learned memory, in plain words.

    ``interpretable`` is True only when the model is known to have learned its task and its
    SES axes are not at their untrained floor (when validity was measured); ``statements``
    say why, each with the numbers it rests on.
    """

    interpretable: bool
    statements: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"interpretable": self.interpretable, "statements": list(self.statements)}


def interpretability_verdict(accuracy: float | None, majority: float | None, bag_of_words: float | None,
                             validity: Validity | None = None, validity_floor: Validity | None = None) -> Verdict:
    """Say whether the memory numbers of a model can be read as what it learned to keep.

    Two checks, each only when its numbers are known:

    - task: `rnnmem.baselines.competence_verdict` — a held-out accuracy more than 10 points
      below the bag-of-words baseline means the model has not learned its task;
    - axes: semantic validity (Spearman rho of an SES axis against human ratings) is at its
      floor when its 95% interval does not lie above the untrained model's, i.e. when
      low(trained) <= high(untrained) (the point values when an interval is missing).

    An unknown accuracy (a model assessed without its training record) is said as such: the
    numbers are then not called interpretable.
    """
    known = [value for value in (accuracy, bag_of_words) if value is not None and not math.isnan(value)]
    statements = []
    if len(known) < 2:
        statements.append("the model's accuracy and baselines are not known (no training record): whether it has "
                          "learned its task, and so whether these numbers describe learned memory, is not checked")
    elif competence_verdict(accuracy, Baselines(math.nan, bag_of_words)) == "not yet competent":  # reads bag-of-words only
        statements.append(f"{NOT_LEARNED} (held-out accuracy {accuracy:.3f} against bag-of-words {bag_of_words:.3f}"
                          + (f" and majority {majority:.3f})" if majority is not None and not math.isnan(majority) else ")"))
    if _at_floor(validity, validity_floor):
        statements.append(f"{VALIDITY_AT_FLOOR} (Spearman rho {_rho(validity)} against the untrained floor's "
                          f"{_rho(validity_floor)})")
    if statements:
        return Verdict(False, tuple(statements))
    checked = f"held-out accuracy {accuracy:.3f} against bag-of-words {bag_of_words:.3f}"
    if validity is not None and validity_floor is not None and not math.isnan(validity.rho):
        checked += f"; semantic validity {_rho(validity)} above its untrained floor's {_rho(validity_floor)}"
    return Verdict(True, (f"{INTERPRETABLE} ({checked})",))


def _at_floor(validity: Validity | None, floor: Validity | None) -> bool:
    if validity is None or floor is None or math.isnan(validity.rho) or math.isnan(floor.rho):
        return False
    intervals = not any(math.isnan(v) for v in (validity.low, floor.high))
    return validity.low <= floor.high if intervals else validity.rho <= floor.rho


def _rho(validity: Validity) -> str:
    return f"{validity.rho:.2f} [{validity.low:.2f}, {validity.high:.2f}]"


@dataclass(frozen=True)
class UnitRecommendation:
    """A unit's recommended training length from the models of a study.

    ``by_length`` is the median recommendation over seeds at each training length; the
    unit's ``length`` is ``median`` (the one at ``from_length``) rounded up.
    """

    length: int
    median: float
    from_length: int
    by_length: dict[int, float]


def recommend_for_unit(recommended: dict[int, list[int]]) -> UnitRecommendation | None:
    """One recommendation for a unit trained at several lengths with several seeds.

    Rule: each model recommends `recommend_length`; per training length take the median over
    seeds; the unit's recommendation is the median at its longest training length, rounded up
    to a whole token (rounding down would drop a token the unit can still use). Those models
    saw the most context, so their horizon is the least clipped by the training length itself.

    Parameters
    ----------
    recommended : dict of training length -> the recommended lengths of its models (one per seed)

    Returns
    -------
    UnitRecommendation, or None when no model has a recommendation.
    """
    by_length = {length: float(np.median(values)) for length, values in sorted(recommended.items()) if values}
    if not by_length:
        return None
    longest = max(by_length)
    return UnitRecommendation(math.ceil(by_length[longest]), by_length[longest], longest, by_length)
