"""Per-token effects export (token_effects.csv) and the report's notebook rendering."""

from html import escape

import numpy as np
import pandas as pd
import pytest
import torch

import rnnmem
from known_systems import LinearRecurrence

LAM = 0.8


@pytest.fixture(scope="module")
def report():
    tokens = torch.randint(1, 40, (12, 10), generator=torch.Generator().manual_seed(4))
    lengths = torch.tensor([10, 7] * 6)
    return rnnmem.assess(LinearRecurrence(LAM), tokens, lengths=lengths, max_distance=6, progress=False,
                         n_resamples=20, probes=False, estimators=("occlusion", "gradient"))


def test_the_per_token_csv_holds_each_tokens_known_share(report, tmp_path):
    written = report.to_token_effects(tmp_path / "token_effects.csv")
    table = pd.read_csv(tmp_path / "token_effects.csv")
    assert len(table) == len(written) == sum(map(len, report.trajectory_tokens))
    # position and distance count from the two ends of each sequence; the token is the one at that position
    for sequence, position, distance, token_id in table[["sequence", "position", "distance", "token_id"]].to_numpy():
        ids = report.trajectory_tokens[sequence]
        assert distance == len(ids) - 1 - position and token_id == ids[position]
    measured = table[table["distance"] <= 6]
    # h_t = lam h_{t-1} + e_t: the final state holds lam^d of the token d steps back, for each estimator
    for estimator in ("occlusion", "gradient"):
        np.testing.assert_allclose(measured[f"{estimator} share"], LAM ** measured["distance"], rtol=1e-6)
        np.testing.assert_allclose(measured[f"{estimator} effect"] / measured[f"{estimator} yardstick"],
                                   measured[f"{estimator} share"], rtol=1e-9)
    assert table.loc[table["distance"] > 6, "gradient share"].isna().all()


def test_a_corpus_assessment_exports_each_sequences_true_label(tiny_csv):
    corpus = rnnmem.read_corpus(tiny_csv)
    model = rnnmem.build_model("gru", len(corpus.vocabulary), corpus.num_classes, hidden_size=8, embedding_dim=4)
    report = rnnmem.assess(model, corpus, max_distance=5, n_resamples=20, progress=False, max_sequences=10,
                           probes=False, estimators=("occlusion",))
    table = report.to_token_effects()
    names = list(corpus.label_names)
    expected = [names[int(report.sequence_labels[i])] for i in table["sequence"]]
    assert list(table["label"]) == expected and set(expected) <= {"neg", "pos"}


def test_a_notebook_renders_the_report_as_its_tables_and_verdict(report):
    fragment = report._repr_html_()
    assert fragment.startswith("<div") and "<html" not in fragment and "<img" not in fragment
    assert "<table>" in fragment and "Headline" in fragment
    # the same numbers as the page written to a file
    assert escape(report.verdict().statements[0]) in fragment and "report.plot(folder) writes the figures" in fragment


def test_the_training_figure_draws_the_records_curves_the_kept_epoch_and_the_baselines():
    from types import SimpleNamespace

    from rnnmem.report.plots import training_figure

    record = {"best_epoch": 3, "majority_baseline": 0.5, "bag_of_words_baseline": 0.6, "stopped": "budget spent",
              "curves": {"loss": [1.0, 0.7, 0.5, 0.45], "validation_loss": [0.9, 0.8, 0.6, 0.65],
                         "train_accuracy": [0.5, 0.6, 0.7, 0.75], "validation_accuracy": [0.55, 0.6, 0.72, 0.7],
                         "stage": ["pieces", "documents", "documents", "documents"]}}
    fig = training_figure(SimpleNamespace(training_record=lambda: record))
    loss_ax, accuracy_ax = fig.axes[:2]
    drawn = {line.get_label(): list(line.get_ydata()) for line in accuracy_ax.lines}
    assert drawn["validation"] == record["curves"]["validation_accuracy"]
    assert drawn["bag-of-words baseline"] == [0.6, 0.6] and drawn["majority baseline"] == [0.5, 0.5]
    assert list(loss_ax.lines[0].get_ydata()) == record["curves"]["loss"]
    kept = [line for line in loss_ax.lines if line.get_label() == "epoch kept (3)"]
    assert kept and list(kept[0].get_xdata()) == [3, 3]


def test_a_report_without_a_training_record_writes_no_training_figure(report, tmp_path):
    assert "training" not in report.plot(tmp_path)
