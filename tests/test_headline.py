"""The headline says whether the numbers mean anything: verdict, accuracy beside baselines, validity beside its floor,
per-run CSV/LaTeX tables, and checkpoints that keep their training record."""

import copy
import json
import math

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

import rnnmem
from known_systems import LinearRecurrence
from rnnmem.cli import app
from rnnmem.guidance import (BELOW_BASELINE, INTERPRETABLE, NOT_LEARNED, VALIDITY_AT_FLOOR, VALIDITY_NOT_MEASURED,
                             interpretability_verdict)
from rnnmem.indicators.validity import Validity
from rnnmem.pipeline.classify import corpus_for, data_fingerprint
from rnnmem.pipeline.config import RunConfig, corpus_options
from rnnmem.report.console import run_summary

TINY = ["--max-len", "16", "--epochs", "2", "--hidden", "8", "--embedding-dim", "4", "--max-distance", "10",
        "--max-sequences", "20", "--seed", "3", "--quiet"]


def validity(rho, low, high):
    return Validity(rho, low, high, 50, (), np.zeros(0), np.zeros(0))


@pytest.fixture(scope="module")
def base_report():
    tokens = torch.randint(1, 40, (24, 16), generator=torch.Generator().manual_seed(0))
    return rnnmem.assess(LinearRecurrence(0.6), tokens, max_distance=15, progress=False, n_resamples=40)


def with_record(report, accuracy, majority=0.5, bag_of_words=0.7, views=None):
    shown = copy.copy(report)
    shown.meta = {**report.meta, "model": {"unit": "toy", "hidden_size": 3, "corpus": "toy", "test_accuracy": accuracy,
                                           "majority_baseline": majority, "bag_of_words_baseline": bag_of_words,
                                           "test_size": 1000,
                                           "competence": "competent", "best_epoch": 2, "epochs_run": 3}}
    shown.semantic_validity = views
    return shown


# -- the verdict -------------------------------------------------------------------------
def test_verdict_names_a_model_near_chance_and_axes_at_their_floor():
    near_chance = interpretability_verdict(0.52, 0.50, 0.70, test_size=1000)
    assert not near_chance.interpretable and near_chance.statements[0].startswith(NOT_LEARNED)
    assert "0.520" in near_chance.statements[0] and "0.700" in near_chance.statements[0]
    # README case: validity 0.02 below its floor's 0.04, though the accuracy is competent
    at_floor = interpretability_verdict(0.697, 0.497, 0.689, validity(0.02, -0.03, 0.07), validity(0.04, -0.01, 0.09),
                                       test_size=1000)
    assert not at_floor.interpretable and at_floor.statements == (at_floor.statements[0],)
    assert at_floor.statements[0].startswith(VALIDITY_AT_FLOOR) and "0.02 [-0.03, 0.07]" in at_floor.statements[0]
    # overlapping intervals are not "above the floor" even when the point value is higher
    assert not interpretability_verdict(0.7, 0.5, 0.7, validity(0.10, 0.04, 0.16), validity(0.05, 0.0, 0.10),
                                       test_size=1000).interpretable


def test_verdict_calls_numbers_interpretable_only_when_both_checks_pass():
    good = interpretability_verdict(0.70, 0.50, 0.72, validity(0.45, 0.40, 0.50), validity(0.03, -0.02, 0.08),
                                  test_size=1000)
    assert good.interpretable and good.statements[0].startswith(INTERPRETABLE)
    skipped = interpretability_verdict(0.70, 0.50, 0.72, test_size=1000, validity_skipped="the labels are fresh, rotten")
    assert skipped.interpretable and skipped.statements[1] == f"{VALIDITY_NOT_MEASURED}: the labels are fresh, rotten"
    assert not interpretability_verdict(0.70, 0.50, 0.72).interpretable  # the held-out count is not recorded
    unknown = interpretability_verdict(None, None, None)
    assert not unknown.interpretable and "not known" in unknown.statements[0]
    assert not interpretability_verdict(math.nan, 0.5, 0.7).interpretable


def test_verdict_refuses_a_chance_model_beside_a_chance_bag_of_words():
    """Issue 16: 0.482 against majority 0.503 and bag-of-words 0.491 was called interpretable."""
    for size in (None, 100, 10_000):
        chance = interpretability_verdict(0.482, 0.503, 0.491, test_size=size)
        assert not chance.interpretable and chance.statements[0].startswith(NOT_LEARNED)
        assert "0.482 is not clearly above the majority baseline's 0.503" in chance.statements[0]


def test_verdict_calls_a_model_5_points_below_bag_of_words_that():
    below = interpretability_verdict(0.611, 0.509, 0.661, test_size=1000)  # issue 16's GRU with --epochs 1
    assert not below.interpretable and below.statements[0].startswith(BELOW_BASELINE)
    assert "5.0 points below bag-of-words 0.661; competence allows 3 points" in below.statements[0]
    assert interpretability_verdict(0.641, 0.509, 0.661, test_size=1000).interpretable  # 2 points: within the margin


def test_report_md_html_and_cli_open_with_the_verdict_accuracy_and_validity(base_report, tmp_path):
    report = with_record(base_report, 0.51, views={"trained": validity(0.02, -0.03, 0.07),
                                                   "untrained": validity(0.04, -0.01, 0.09)})
    text = report.to_markdown()
    verdict = text[: text.index("## Headline")]
    assert verdict.startswith("# Memory assessment\n\n## Verdict\n")
    assert NOT_LEARNED in verdict and VALIDITY_AT_FLOOR in verdict
    assert "| held-out accuracy | 0.51 | majority class 0.5; bag-of-words 0.7 |" in verdict
    assert "| semantic validity (Spearman ρ) | 0.02 [-0.03, 0.07] | untrained floor 0.04 [-0.01, 0.09] |" in verdict
    page = report.to_html(tmp_path / "report.html").read_text()
    assert page.index("Verdict") < page.index("Headline") and NOT_LEARNED in page and "bag-of-words 0.7" in page
    printed = run_summary(report, "toy").splitlines()
    assert printed[0].startswith(f"verdict: {NOT_LEARNED}") and printed[1].startswith(f"verdict: {VALIDITY_AT_FLOOR}")
    assert printed[2] == "toy: held-out accuracy 0.510 (majority 0.500, bag-of-words 0.700)"
    assert any(line.startswith("semantic validity: Spearman rho 0.02 [-0.03, 0.07] (untrained floor 0.04") for line in printed)
    competent = with_record(base_report, 0.69).to_markdown()
    assert (f"- {INTERPRETABLE} (held-out accuracy 0.690 on 1000 sequences, above the majority baseline's 0.500 and "
            "against bag-of-words 0.700)") in competent
    assert f"- {VALIDITY_NOT_MEASURED}: the data carried no class labels" in competent


# -- per-run tables ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def floored_report():
    """An untrained rnnmem model: it has an untrained floor (itself) for every indicator."""
    model = rnnmem.build_model("gru", 30, 2, hidden_size=6, embedding_dim=4, seed=1)
    tokens = torch.randint(1, 30, (20, 12), generator=torch.Generator().manual_seed(1))
    return rnnmem.assess(model, tokens, max_distance=11, progress=False, n_resamples=30, estimators=("occlusion",))


def test_indicator_tables_hold_each_indicator_beside_its_floor(floored_report, tmp_path):
    written = floored_report.to_tables(tmp_path)
    assert sorted(path.name for path in written.values()) == ["indicators.csv", "indicators.tex"]
    table = pd.read_csv(tmp_path / "indicators.csv").set_index("indicator")
    values = floored_report.summary()["estimators"]["occlusion"]
    floor = floored_report.floor
    assert table.loc["retention capacity", "trained"] == pytest.approx(values["retention_capacity"])
    assert table.loc["retention capacity", "floor"] == pytest.approx(floor.retention_capacity("occlusion"))
    assert table.loc["recent share", "floor"] == pytest.approx(floor.recent_share("occlusion"))
    assert list(table.loc["recent share", ["trained_low", "trained_high"]]) == pytest.approx(values["recent_share CI"])
    assert 0 <= table.loc["recent share", "trained"] <= 1
    ml = floored_report.memory_length(0.1, "occlusion")
    assert table.loc["ML(0.1)", "trained"] == (11 + 1 if ml is None else ml)  # unreached: D + 1 (> max_distance)
    latex = (tmp_path / "indicators.tex").read_text()
    assert latex.startswith("\\begin{tabular}{llrr}\n\\toprule\n") and latex.count(r" \\") == 1 + 4
    assert "Trained [95\\% CI]" in latex and "recent share" in latex and "_" not in latex.replace("\\_", "")


def test_unreached_memory_length_reads_greater_than_in_latex(tmp_path):
    tokens = torch.randint(1, 40, (12, 8), generator=torch.Generator().manual_seed(2))
    lossless = rnnmem.assess(LinearRecurrence(1.0), tokens, max_distance=7, progress=False, n_resamples=20,
                             estimators=("occlusion",))
    lossless.to_tables(tmp_path)
    assert "occlusion & ML(0.5) & $>$ 7" in (tmp_path / "indicators.tex").read_text()
    assert pd.read_csv(tmp_path / "indicators.csv").set_index("indicator").loc["ML(0.5)", "trained"] == 8


def test_semantic_validity_is_one_row_beside_its_floor(base_report, tmp_path):
    report = with_record(base_report, 0.7, views={"trained": validity(0.3, 0.25, 0.35), "untrained": None})
    report.to_tables(tmp_path)
    row = pd.read_csv(tmp_path / "indicators.csv").set_index("estimator").loc["SES"]
    assert list(row[["trained", "trained_low", "trained_high"]]) == [0.3, 0.25, 0.35]
    assert row[["floor", "max_distance"]].isna().all()
    assert "SES & semantic validity (Spearman $\\rho$) & 0.3 [0.25, 0.35] & -- \\\\" in (tmp_path / "indicators.tex").read_text()


# -- checkpoints keep their record --------------------------------------------------------
RECORD = {"train_max_len": 16, "test_accuracy": 0.8, "majority_baseline": 0.5, "bag_of_words_baseline": 0.75,
          "competence": "competent", "best_epoch": 2, "epochs_run": 3, "epochs_on_pieces": 0, "stopped": "budget",
          "settings": {"lr": 0.003, "keep": "first", "bptt_window": None}, "data_fingerprint": "ab" * 32,
          "versions": {"rnnmem": "0.1.0", "torch": "2.13.0", "numpy": "2.0"}}


def test_a_checkpoint_keeps_its_training_record_and_an_old_one_still_loads(tmp_path):
    model = rnnmem.build_model("gru", 10, 2, hidden_size=4, embedding_dim=3)
    rnnmem.save_model(model, tmp_path / "new", training=RECORD)
    assert rnnmem.load_model(tmp_path / "new")[1]["training"] == RECORD
    rnnmem.save_model(model, tmp_path / "old")
    meta = json.loads((tmp_path / "old" / "model.json").read_text())
    del meta["training"]  # as written before the record was kept
    (tmp_path / "old" / "model.json").write_text(json.dumps(meta))
    assert rnnmem.load_model(tmp_path / "old")[1].get("training") is None


@pytest.mark.parametrize("record, message", [
    ([1, 2], "training must be an object, got a JSON list"),
    ({"accuracy": 0.8}, "unknown training field(s) 'accuracy'"),
    ({"test_accuracy": "0.8"}, "training.test_accuracy must be a number or null, got '0.8'"),
    ({"best_epoch": 2.5}, "training.best_epoch must be a whole number or null"),
    ({"settings": {"lr": [1]}}, "training.settings must map names to plain values"),
    ({"versions": {"torch": 2}}, "training.versions must map library names to version strings"),
    ({"curves": {"loss": [1.0], "validation_loss": [1.0], "train_accuracy": [0.5], "validation_accuracy": ["x"],
                 "stage": ["documents"]}}, "training.curves must hold loss"),
    ({"curves": {"loss": [1.0, 0.9], "validation_loss": [1.0], "train_accuracy": [0.5], "validation_accuracy": [0.5],
                 "stage": ["documents"]}}, "one entry per epoch each"),
])
def test_a_malformed_training_record_is_refused_by_name(tmp_path, record, message):
    rnnmem.save_model(rnnmem.build_model("gru", 10, 2, hidden_size=4, embedding_dim=3), tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    (tmp_path / "m" / "model.json").write_text(json.dumps({**meta, "training": record}))
    with pytest.raises(rnnmem.ModelProtocolError) as caught:
        rnnmem.load_model(tmp_path / "m")
    assert message in str(caught.value) and "re-save the model with rnnmem.save_model" in str(caught.value)


def test_the_data_fingerprint_changes_with_the_data_and_nothing_else(tiny_csv):
    config = RunConfig(corpus=str(tiny_csv), seed=3)
    corpus = corpus_for(config)
    first = data_fingerprint(corpus, corpus_options(config))
    assert first == data_fingerprint(corpus_for(config), corpus_options(config)) and len(first) == 64
    other_split = RunConfig(corpus=str(tiny_csv), seed=4)
    assert data_fingerprint(corpus_for(other_split), corpus_options(other_split)) != first
    relabelled = copy.copy(corpus)
    relabelled.test_labels = [1 - label for label in corpus.test_labels]
    assert data_fingerprint(relabelled, corpus_options(config)) != first


def test_reassessing_a_checkpoint_prints_and_reports_its_training_record(tiny_csv, tmp_path):
    runner = CliRunner()
    first = runner.invoke(app, ["assess", "--unit", "gru", "--corpus", str(tiny_csv), "--out", str(tmp_path / "a"), *TINY])
    assert first.exit_code == 0, first.output
    trained = json.loads((tmp_path / "a" / "report.json").read_text())["meta"]["model"]
    history = json.loads((tmp_path / "a" / "history.json").read_text())
    record = json.loads((tmp_path / "a" / "model" / "model.json").read_text())["training"]
    assert record["test_accuracy"] == pytest.approx(history["final_accuracy"]) == pytest.approx(trained["test_accuracy"])
    assert record["majority_baseline"] == pytest.approx(history["majority_baseline"])
    assert record["settings"]["max_len"] == 16 and record["versions"]["torch"] == torch.__version__
    for name in ("indicators.csv", "indicators.tex"):
        assert (tmp_path / "a" / name).stat().st_size > 0
    again = runner.invoke(app, ["assess", "--checkpoint", str(tmp_path / "a" / "model"), "--corpus", str(tiny_csv),
                                "--out", str(tmp_path / "b"), *TINY])
    assert again.exit_code == 0, again.output
    accuracy, majority, bag = (f"{record[key]:.3f}" for key in ("test_accuracy", "majority_baseline", "bag_of_words_baseline"))
    assert f"gru: held-out accuracy {accuracy} (majority {majority}, bag-of-words {bag})" in again.output
    assert "training (from the checkpoint's record):" in again.output
    assert record["data_fingerprint"][:16] in again.output
    text = (tmp_path / "b" / "report.md").read_text()
    assert "## Training record" in text and f"SHA-256 {record['data_fingerprint']}" in text
    assert f"| held-out accuracy | {rnnmem.report.format.number(record['test_accuracy'])} |" in text
    assert "trained on other data" not in text
    reseeded = runner.invoke(app, ["assess", "--checkpoint", str(tmp_path / "a" / "model"), "--corpus", str(tiny_csv),
                                   "--out", str(tmp_path / "c"), *TINY[:-3], "--seed", "4", "--quiet"])
    assert reseeded.exit_code == 0, reseeded.output
    assert "trained on other data than it is assessed on" in (tmp_path / "c" / "report.md").read_text()
