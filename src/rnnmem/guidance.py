"""Turn memory indicators into decisions (docs/indicators.md §2, §3): whether the numbers can be read as learned
memory at all, and which training length to use, for one model and for a unit across a study."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from rnnmem.baselines import (BELOW_BAG_OF_WORDS, COMPETENCE_ALPHA, COMPETENCE_MARGIN, NOT_ABOVE_MAJORITY, UNKNOWN,
                               Baselines, above_majority_p_value, competence_verdict)
from rnnmem.indicators.bootstrap import rank_interval
from rnnmem.indicators.curve import measured_extent, memory_length
from rnnmem.indicators.validity import Validity
from rnnmem.validation import check_real, check_tau, counted


@dataclass(frozen=True)
class RecommendationBound:
    """One end of a recommendation's interval: a length in tokens, or "at least" that many (``at_least``)."""

    length: int
    at_least: bool = False

    def __str__(self) -> str:
        return f"{'at least ' if self.at_least else ''}{self.length}"


@dataclass(frozen=True)
class Recommendation:
    """The recommended training length, the rule that produced it and the numbers it used.

    ``at_least``: the unit still used the farthest measured token, so ``length`` (the measured range) is a lower
    bound and a larger ``max_distance`` would find the recommendation. ``interval``: the 95% bootstrap interval of
    the recommendation (the same rule on every resampled curve), None when no resamples were given.
    """

    length: int
    rule: str
    evidence: dict = field(default_factory=dict)
    at_least: bool = False
    interval: tuple[RecommendationBound, RecommendationBound] | None = None

    def __str__(self) -> str:
        return f"{recommendation_text(self.to_dict())} ({self.rule})"

    def to_dict(self) -> dict:
        return {"length": self.length, "at_least": self.at_least, "rule": self.rule, "evidence": self.evidence,
                "interval": None if self.interval is None else [asdict(end) for end in self.interval]}


def recommendation_text(rec: dict) -> str:
    """A summary's recommendation (`Recommendation.to_dict`) in words: "[at least] N tokens", and its 95% interval
    when it has one."""
    text = f"{'at least ' if rec.get('at_least') else ''}{counted(rec['length'], 'token')}"
    bounds = _bounds(rec)
    return text + (f", 95% interval {bounds[0]} to {bounds[1]}" if bounds else "")


def _bounds(rec: dict) -> tuple[RecommendationBound, RecommendationBound] | None:
    return tuple(RecommendationBound(**end) for end in rec["interval"]) if rec.get("interval") else None


def _inside(rec: dict, length: int) -> bool:
    """Whether a training length lies inside the recommendation's 95% interval (False when it has none); an upper
    end that is "at least" leaves the interval open above."""
    bounds = _bounds(rec)
    return bounds is not None and bounds[0].length <= length and (bounds[1].at_least or length <= bounds[1].length)


# more than this share of the retention mass past ML(tau): the horizon does not bound the memory (`recommend_length`)
SPREAD_SHARE = 0.5


def recommend_length(retention: np.ndarray, lengths: np.ndarray, tau: float = 0.1,
                     data_quantile: float = 0.95, context: dict | None = None,
                     resamples: np.ndarray | None = None) -> Recommendation:
    """Shortest training length that keeps every token the unit can still use; never past the measured range.

    Rule: ML(tau) tokens (by default the horizon ML(0.1): tokens farther back than that
    contribute less than a tenth of their meaning to the final state), capped by the
    ``data_quantile`` quantile of the data's own sequence lengths, since longer
    training sequences would mostly be padding. When r(d) never falls to tau within the
    measured distances 0..D the unit uses all of them, and how much more is not measured: the
    recommendation is "at least D + 1 tokens" (``at_least``), with the advice to measure farther,
    not a length read off the data. So it is when r(d) falls below tau but the tokens past ML(tau)
    hold more than ``SPREAD_SHARE`` of the retention mass sum_d r+(d) together: each far token has
    little effect, yet the unit uses them all (attention spread over its context reads ML(0.1) = 1
    on real text, docs/indicators.md §4c). A memory that fades geometrically, r(d) = lambda^d, keeps
    only about tau of its mass past ML(tau), so this never applies to it.

    Parameters
    ----------
    retention : array [D+1]
        A retention curve r(d).
    lengths : array [N]
        Lengths of the sequences the curve was measured on.
    context : dict, optional
        Further evidence to report with the rule (e.g. the estimator and the fidelity knee).
    resamples : array [D+1, R], optional
        Bootstrap resamples of the curve (`Estimate.resamples`): the rule applied to each gives the
        recommendation's 95% interval, taken by rank; an "at least" recommendation ranks above every
        bounded one.
    """
    tau = check_tau(tau)
    check_real("data_quantile", data_quantile, low=0.0, high=1.0)
    lengths = np.asarray(lengths)
    data_cap = int(np.ceil(np.quantile(lengths, data_quantile)))
    measured = measured_extent(retention)
    length, at_least, rule, spread = _apply_rule(retention, tau, data_cap, data_quantile)
    evidence = {f"ML({tau:g})": memory_length(retention, tau), f"data length q{round(data_quantile * 100)}": data_cap,
                "measured distances": measured, **(context or {}), **spread}
    interval = None if resamples is None else _interval(resamples, tau, data_cap, data_quantile, measured)
    return Recommendation(length, rule, evidence, at_least, interval)


def _apply_rule(retention: np.ndarray, tau: float, data_cap: int, data_quantile: float) -> tuple[int, bool, str, dict]:
    """(length, at_least, rule, the spread's evidence) of `recommend_length` for one curve."""
    horizon = memory_length(retention, tau)
    measured = measured_extent(retention)
    if horizon is None:
        return measured, True, (f"r(d) stays above {tau:g} for every measured distance 0..{measured - 1}, so the unit "
                                f"uses at least {measured} tokens: rerun with a larger --max-distance (max_distance) "
                                "to find how many"), {}
    positive = np.clip(np.nan_to_num(np.asarray(retention, float)[:measured]), 0, None)
    beyond = float(positive[horizon:].sum() / positive.sum()) if positive.sum() > 0 else 0.0
    if beyond > SPREAD_SHARE:
        return measured, True, (f"r(d) falls below {tau:g} after d = {horizon}, but the tokens farther back hold "
                                f"{beyond:.0%} of the retention mass together: the memory is spread thin over all "
                                f"{measured} measured tokens, not faded, so the unit uses at least that many"), {
                                    "retention mass past ML": beyond}
    if max(1, horizon) >= data_cap:
        return data_cap, False, (f"ML({tau:g}) = {horizon} reaches past the {data_quantile:.0%} quantile of the "
                                 "data's lengths, which caps it"), {}
    return max(1, horizon), False, (f"ML({tau:g}): tokens farther back than {horizon} keep less than {tau:g} of "
                                    "their meaning"), {}


def _interval(resamples: np.ndarray, tau: float, data_cap: int, data_quantile: float,
              measured: int) -> tuple[RecommendationBound, RecommendationBound]:
    """The 95% interval of the recommendation over the resampled curves (`recommend_length`); an "at least"
    recommendation is at least the ``measured`` tokens of the curve."""
    ranked = [math.inf if at_least else length for length, at_least, _, _ in
              (_apply_rule(curve, tau, data_cap, data_quantile) for curve in np.asarray(resamples, float).T)]
    return tuple(RecommendationBound(measured, True) if math.isinf(end) else RecommendationBound(int(end))
                 for end in rank_interval(ranked))


NOT_LEARNED = "the model has not learned its task: memory numbers describe its untrained dynamics"
BELOW_BASELINE = ("the model is below its bag-of-words baseline: memory numbers describe a model that has not learned "
                  "what word counts alone give")
VALIDITY_AT_FLOOR = "semantic validity is at its untrained floor: the SES axes do not yet carry the task's meaning"
VALIDITY_NOT_MEASURED = ("semantic validity was not measured, so whether the SES axes carry the task's meaning is not "
                         "checked")
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
                             validity: Validity | None = None, validity_floor: Validity | None = None, *,
                             test_size: int | None = None, validity_skipped: str | None = None) -> Verdict:
    """Say whether the memory numbers of a model can be read as what it learned to keep.

    Two checks, each only when its numbers are known:

    - task: `rnnmem.baselines.competence_verdict` — the held-out accuracy must lie clearly above the
      majority baseline (one-sided binomial test on the ``test_size`` held-out sequences at
      ``COMPETENCE_ALPHA``) and at most ``COMPETENCE_MARGIN`` below the bag-of-words baseline;
    - axes: semantic validity (Spearman rho of an SES axis against human ratings) is at its
      floor when its 95% interval does not lie above the untrained model's, i.e. when
      low(trained) <= high(untrained) (the point values when an interval is missing).

    An unknown accuracy (a model assessed without its training record), or an unknown held-out
    count where only the test against the majority could refuse, is said as such: the numbers
    are then not called interpretable. ``validity_skipped`` (why validity was not measured) is
    stated in the verdict without refusing it.
    """
    statements = []
    verdict = competence_verdict(_known(accuracy), Baselines(_known(majority), _known(bag_of_words), test_size))
    if verdict == NOT_ABOVE_MAJORITY:
        test = (f"one-sided binomial test p = {above_majority_p_value(accuracy, majority, test_size):.2g} on "
                f"{test_size} held-out sequences, alpha {COMPETENCE_ALPHA:g}" if test_size and accuracy > majority
                else "at or below it, whatever the number of held-out sequences")
        statements.append(f"{NOT_LEARNED} (held-out accuracy {accuracy:.3f} is not clearly above the majority "
                          f"baseline's {majority:.3f}: {test}; bag-of-words {bag_of_words:.3f})")
    elif verdict == BELOW_BAG_OF_WORDS:
        statements.append(f"{BELOW_BASELINE} (held-out accuracy {accuracy:.3f} is "
                          f"{100 * (bag_of_words - accuracy):.1f} points below bag-of-words {bag_of_words:.3f}; "
                          f"competence allows {100 * COMPETENCE_MARGIN:g} points)")
    elif verdict == UNKNOWN:
        known = all(not math.isnan(_known(v)) for v in (accuracy, majority, bag_of_words))
        statements.append(
            f"the number of held-out sequences behind accuracy {accuracy:.3f} is not recorded, so whether it lies "
            f"clearly above the majority baseline's {majority:.3f} is not tested (a model trained by this version "
            "records it)" if known else
            "the model's accuracy and baselines are not known (no training record): whether it has "
            "learned its task, and so whether these numbers describe learned memory, is not checked")
    if _at_floor(validity, validity_floor):
        statements.append(f"{VALIDITY_AT_FLOOR} (Spearman rho {_rho(validity)} against the untrained floor's "
                          f"{_rho(validity_floor)})")
    skipped = [f"{VALIDITY_NOT_MEASURED}: {validity_skipped}"] if validity_skipped else []
    if statements:
        return Verdict(False, tuple(statements + skipped))
    checked = (f"held-out accuracy {accuracy:.3f} on {test_size} sequences, above the majority baseline's "
               f"{majority:.3f} and against bag-of-words {bag_of_words:.3f}")
    if validity is not None and validity_floor is not None and not math.isnan(validity.rho):
        checked += f"; semantic validity {_rho(validity)} above its untrained floor's {_rho(validity_floor)}"
    return Verdict(True, (f"{INTERPRETABLE} ({checked})", *skipped))


def _known(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _at_floor(validity: Validity | None, floor: Validity | None) -> bool:
    if validity is None or floor is None or math.isnan(validity.rho) or math.isnan(floor.rho):
        return False
    intervals = not any(math.isnan(v) for v in (validity.low, floor.high))
    return validity.low <= floor.high if intervals else validity.rho <= floor.rho


def _rho(validity: Validity) -> str:
    return f"{validity.rho:.2f} [{validity.low:.2f}, {validity.high:.2f}]"


RETRAIN_ADVICE = "train it further (more --epochs, another --lr or a larger --hidden) before reading its memory"


def next_steps(summary: dict) -> list[str]:
    """What the numbers of one report (`MemoryReport.summary`) ask the reader to do next, most pressing first.

    - not competent (`baselines.competence_verdict` on the training record's numbers): train further first; the
      other steps then wait, since the recommendation describes untrained dynamics;
    - no retention curve: rerun with an estimator that measures any model;
    - a recommendation that is a lower bound (``at_least``): measure farther;
    - a recommended length other than the recorded training length: retrain at it, unless the training length lies
      inside the recommendation's 95% interval, which the reader is told instead;
    - a model trained by rnnmem (a classifier's training record): it is one seed, so add seeds.

    Empty when nothing is asked for.
    """
    record, rec = summary.get("training") or {}, summary["recommended_length"]
    accuracy, majority, bag_of_words = (_known(record.get(key)) for key in
                                        ("test_accuracy", "majority_baseline", "bag_of_words_baseline"))
    competence = competence_verdict(accuracy, Baselines(majority, bag_of_words, record.get("test_size")))
    if competence == NOT_ABOVE_MAJORITY:
        return [f"not competent: held-out accuracy {accuracy:.3f} is not clearly above the majority baseline's "
                f"{majority:.3f}; {RETRAIN_ADVICE} (its numbers describe its untrained dynamics)"]
    if competence == BELOW_BAG_OF_WORDS:
        return [f"not competent: held-out accuracy {accuracy:.3f} is below bag-of-words {bag_of_words:.3f}; "
                f"{RETRAIN_ADVICE}"]
    steps = []
    trained_at = record.get("train_max_len")
    if rec["length"] is None:
        steps.append("no estimator gave a retention curve: rerun with --estimators occlusion (it measures any model)")
    elif rec.get("at_least"):
        steps.append(f"at least {counted(rec['length'], 'token')}: the unit still uses the farthest distance measured; "
                     f"rerun with a larger --max-distance (max_distance), on sequences longer than {rec['length']} "
                     "tokens, to find the recommendation")
    elif trained_at is not None and rec["length"] != trained_at and _inside(rec, trained_at):
        low, high = _bounds(rec)
        steps.append(f"no need to retrain at {counted(rec['length'], 'token')}: this model's training length, "
                     f"{trained_at}, lies inside the recommendation's 95% interval ({low} to {high} tokens)")
    elif trained_at is not None and rec["length"] != trained_at:
        steps.append(f"retrain at {recommendation_text(rec)} (--max-len {rec['length']}; this model was trained at "
                     f"{trained_at}): {rec['rule']}")
    if "test_accuracy" in record:
        steps.append("this is one seed: add --seeds 0,1,2 (same settings, no --checkpoint) to see how far each "
                     "headline number moves between trainings")
    return steps


@dataclass(frozen=True)
class UnitRecommendation:
    """A unit's recommended training length from the models of a study.

    ``by_length`` is the median recommendation over seeds at each training length; the
    unit's ``length`` is ``median`` (the one at ``from_length``) rounded up; ``at_least`` when a
    model there recommended "at least" its measured range, which makes the median a lower bound too.
    """

    length: int
    median: float
    from_length: int
    by_length: dict[int, float]
    at_least: bool = False


def recommend_for_unit(recommended: dict[int, list[int]],
                       at_least: dict[int, list[bool]] | None = None) -> UnitRecommendation | None:
    """One recommendation for a unit trained at several lengths with several seeds.

    Rule: each model recommends `recommend_length`; per training length take the median over
    seeds; the unit's recommendation is the median at its longest training length, rounded up
    to a whole token (rounding down would drop a token the unit can still use). Those models
    saw the most context, so their horizon is the least clipped by the training length itself.

    Parameters
    ----------
    recommended : dict of training length -> the recommended lengths of its models (one per seed)
    at_least : dict of training length -> for each of those models, whether its recommendation is a lower
        bound (`Recommendation.at_least`); default none is

    Returns
    -------
    UnitRecommendation, or None when no model has a recommendation.
    """
    by_length = {length: float(np.median(values)) for length, values in sorted(recommended.items()) if values}
    if not by_length:
        return None
    longest = max(by_length)
    bounded = any((at_least or {}).get(longest, ()))
    return UnitRecommendation(math.ceil(by_length[longest]), by_length[longest], longest, by_length, bounded)
