"""The report ends with what its numbers ask for: each rule of `guidance.next_steps` on hand-built summaries, both
where it speaks and where it must not, and the steps at the end of report.md/HTML and the CLI summary."""

import copy

import pytest
import torch

import rnnmem
from known_systems import LinearRecurrence
from rnnmem.guidance import next_steps
from rnnmem.report.console import run_summary

COMPETENT = {"test_accuracy": 0.80, "majority_baseline": 0.50, "bag_of_words_baseline": 0.78, "test_size": 1000,
             "train_max_len": 64}


def summary(length=40, at_least=False, record=COMPETENT, rule="ML(0.1): tokens farther back than 40 keep less",
            interval=None):
    return {"training": dict(record), "recommended_length": {"length": length, "at_least": at_least, "rule": rule,
                                                             "evidence": {}, "interval": interval}}


def bounds(low, high, high_at_least=False):
    return [{"length": low, "at_least": False}, {"length": high, "at_least": high_at_least}]


def step(steps, start):
    return next((s for s in steps if s.startswith(start)), None)


def test_a_recommendation_other_than_the_training_length_says_retrain_at_it():
    retrain = step(next_steps(summary(length=40)), "retrain at")
    assert retrain.startswith("retrain at 40 tokens (--max-len 40; this model was trained at 64)")
    assert step(next_steps(summary(length=64)), "retrain") is None  # trained at the recommended length
    assert step(next_steps(summary(length=40, record={})), "retrain") is None  # training length not known


def test_a_training_length_inside_the_recommendations_interval_is_not_told_to_retrain():
    # the README default: trained at 128, ML(0.1) = 100 on a curve that lingers near 0.1, interval 89 to "> 100"
    steps = next_steps(summary(length=100, record={**COMPETENT, "train_max_len": 128},
                               interval=bounds(89, 101, high_at_least=True)))
    assert step(steps, "retrain") is None
    assert step(steps, "no need to retrain at 100 tokens") == (
        "no need to retrain at 100 tokens: this model's training length, 128, lies inside the recommendation's 95% "
        "interval (89 to at least 101 tokens)")
    inside = next_steps(summary(length=40, interval=bounds(36, 70)))  # trained at 64
    assert step(inside, "no need to retrain") and step(inside, "retrain at") is None
    # an interval that excludes the training length, above it or below it, keeps the advice, with the interval
    below = step(next_steps(summary(length=40, interval=bounds(36, 44))), "retrain at")
    assert below.startswith("retrain at 40 tokens, 95% interval 36 to 44 (--max-len 40; this model was trained at 64)")
    above = next_steps(summary(length=80, record={**COMPETENT, "train_max_len": 64}, interval=bounds(70, 90)))
    assert step(above, "retrain at 80 tokens") and step(above, "no need") is None
    # a bounded upper end below the training length: retrain, even with the lower end far down
    assert step(next_steps(summary(length=40, interval=bounds(2, 63))), "retrain at 40 tokens")


def test_a_recommendation_that_is_a_lower_bound_says_measure_farther_not_retrain():
    steps = next_steps(summary(length=101, at_least=True))
    assert step(steps, "at least 101 tokens:") and "--max-distance" in step(steps, "at least")
    assert step(steps, "retrain") is None
    assert step(next_steps(summary(length=40)), "at least") is None


def test_a_model_trained_by_rnnmem_is_one_seed_and_a_users_model_is_not_told_to_add_seeds():
    assert "--seeds 0,1,2" in step(next_steps(summary()), "this is one seed")
    assert step(next_steps(summary(record={})), "this is one seed") is None  # no training record: not our training
    language_model = {"test_perplexity": 80.0, "unigram_perplexity": 300.0, "train_max_len": 64}
    assert step(next_steps(summary(record=language_model)), "this is one seed") is None  # --seeds refuses --task lm


@pytest.mark.parametrize("accuracy, bag_of_words, says", [
    (0.51, 0.78, "is not clearly above the majority baseline's 0.500"),
    (0.70, 0.78, "is below bag-of-words 0.780")])
def test_a_model_that_has_not_learned_its_task_is_told_to_train_further_first_and_nothing_else(accuracy, bag_of_words,
                                                                                                 says):
    record = {**COMPETENT, "test_accuracy": accuracy, "bag_of_words_baseline": bag_of_words}
    steps = next_steps(summary(length=40, record=record))
    assert len(steps) == 1 and steps[0].startswith("not competent: held-out accuracy") and says in steps[0]
    assert step(next_steps(summary(length=40)), "not competent") is None


def test_a_report_without_a_curve_is_told_which_estimator_measures_any_model():
    steps = next_steps(summary(length=None, rule="no retention curve: regression declined: ..."))
    assert steps[0].startswith("no estimator gave a retention curve: rerun with --estimators occlusion")
    assert step(steps, "retrain") is None


def test_nothing_to_do_is_an_empty_list():
    assert next_steps(summary(length=64, record={"train_max_len": 64})) == []


def test_the_steps_end_report_md_html_and_the_cli_summary(tmp_path):
    tokens = torch.randint(1, 40, (24, 16), generator=torch.Generator().manual_seed(0))
    report = copy.copy(rnnmem.assess(LinearRecurrence(0.6), tokens, max_distance=15, progress=False, n_resamples=40,
                                     probes=False))
    report.meta = {**report.meta, "model": {**COMPETENT, "train_max_len": 200, "competence": "competent"}}
    length = report.recommend_length().length
    assert length != 200
    markdown = report.to_markdown()
    assert markdown.rstrip().rsplit("## ", 1)[1].startswith("Next steps")
    # the linear recurrence's resampled curves are exact: the interval is the length itself
    assert f"- retrain at {length} tokens, 95% interval {length} to {length} (--max-len {length}; this model was " \
           "trained at 200)" in markdown
    cli = run_summary(report, "toy").splitlines()
    at = cli.index("next steps:")
    assert cli[at + 1].startswith(f"  - retrain at {length} tokens") and cli[-1].startswith("  - this is one seed")
    report.to_html(tmp_path / "report.html")
    page = (tmp_path / "report.html").read_text()
    assert page.index("Next steps") > page.index("Images") and f"retrain at {length} tokens" in page
