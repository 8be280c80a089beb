"""The indicator catalogue: an indicator added there alone reaches every view (report.json, report.md,
indicators.csv, the CLI summary, a sweep cell's metrics, the study's metrics), with its known value."""

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

import rnnmem
from known_systems import LinearRecurrence
from rnnmem.indicators import catalogue
from rnnmem.indicators.catalogue import Indicator, beyond_range
from rnnmem.report.console import run_summary
from rnnmem.sweep.cell import cell_metrics
from rnnmem.sweep.study import Study

# r(2) of h_t = lam h_{t-1} + e_t is lam^2: 0.25 for the model, 0.64 for its floor
TOY = Indicator("r2", "toy r(2)", "Toy retention at d = 2", "what is left of the token two steps back.",
                lambda curve: float(curve[2]))


@pytest.fixture(scope="module")
def report():
    tokens = torch.randint(1, 40, (30, 10), generator=torch.Generator().manual_seed(3))
    return rnnmem.assess(LinearRecurrence(0.5), tokens, max_distance=9, progress=False, n_resamples=50,
                         estimators=("occlusion", "gradient"), floor=LinearRecurrence(0.8), probes=False)


@pytest.fixture()
def with_toy(monkeypatch):
    monkeypatch.setattr(catalogue, "CURVE_INDICATORS", catalogue.CURVE_INDICATORS + (TOY,))


def test_an_indicator_added_to_the_catalogue_alone_reaches_every_view(report, with_toy, tmp_path):
    report.to_json(tmp_path / "report.json")
    summary = json.loads((tmp_path / "report.json").read_text())["summary"]
    for name in ("occlusion", "gradient"):
        assert summary["estimators"][name]["r2"] == pytest.approx(0.25, abs=1e-6)
        low, high = summary["estimators"][name]["r2 CI"]
        assert low <= 0.25 + 1e-6 and high >= 0.25 - 1e-6
        assert summary["floor"]["estimators"][name]["r2"] == pytest.approx(0.64, abs=1e-6)

    headline = report.to_markdown().split("## Headline")[1].split("##")[0]
    assert "toy r(2) [95% CI]" in headline and "| occlusion | " in headline
    occlusion = next(line for line in headline.splitlines() if line.startswith("| occlusion |"))
    assert "0.25 [" in occlusion and occlusion.rstrip(" |").endswith("/ 0.64")
    assert "Toy retention at d = 2" in report.to_markdown()

    report.to_tables(tmp_path)
    table = pd.read_csv(tmp_path / "indicators.csv")
    row = table[(table["estimator"] == "gradient") & (table["indicator"] == "toy r(2)")].iloc[0]
    assert row["trained"] == pytest.approx(0.25, abs=1e-6) and row["floor"] == pytest.approx(0.64, abs=1e-6)
    assert not row["trained_censored"]
    assert "toy r(2)" in (tmp_path / "indicators.tex").read_text()

    printed = next(line for line in run_summary(report, "toy").splitlines()
                   if line.split()[:3] == ["occlusion", "toy", "r(2)"]).split()
    assert printed[3:] == ["0.25", "0.64", "-0.39"]  # trained, floor, difference

    history = SimpleNamespace(final_accuracy=0.9, test_size=200, majority_baseline=0.5, bag_of_words_baseline=0.6, best_epoch=1)
    metrics = cell_metrics(report, history)
    assert metrics["occlusion.r2"] == pytest.approx(0.25, abs=1e-6)
    assert metrics["floor.gradient.r2"] == pytest.approx(0.64, abs=1e-6)

    study = Study([], pd.DataFrame(), "occlusion", [], [], [])
    assert ("occlusion.r2", "Toy retention at d = 2 (occlusion)") in study.metrics()
    assert ("floor.occlusion.r2", "Untrained floor of toy r(2) (occlusion)") in study.metrics()


def test_without_the_entry_no_view_has_it(report, tmp_path):
    assert "r2" not in report.summary()["estimators"]["occlusion"]
    assert "toy r(2)" not in report.to_markdown() and "toy r(2)" not in run_summary(report, "toy")
    history = SimpleNamespace(final_accuracy=0.9, test_size=200, majority_baseline=0.5, bag_of_words_baseline=0.6, best_epoch=1)
    assert not any(key.endswith(".r2") for key in cell_metrics(report, history))


def test_censoring_is_one_rule_past_the_range_counts_as_d_plus_one():
    lossless = np.ones(8)  # r(d) never falls: ML(0.5) past the measured 0..7
    half_life = catalogue.CURVE_INDICATORS[0]
    assert half_life.of(lossless) is None and half_life.counted(lossless) == 8 == beyond_range(None, 7)
    assert beyond_range(3, 7) == 3
    assert half_life.interval(np.ones((8, 20))) == (8, 8)
    falls = 0.5 ** np.arange(8)  # ML(0.5) = 1, never censored
    assert half_life.counted(falls) == 1 and half_life.interval(np.tile(falls[:, None], (1, 20))) == (1, 1)


def test_a_censored_value_is_a_lower_bound_in_the_csv_and_reads_greater_than(tmp_path):
    tokens = torch.randint(1, 40, (12, 8), generator=torch.Generator().manual_seed(2))
    lossless = rnnmem.assess(LinearRecurrence(1.0), tokens, max_distance=7, progress=False, n_resamples=20,
                             estimators=("occlusion",), probes=False)
    lossless.to_tables(tmp_path)
    row = pd.read_csv(tmp_path / "indicators.csv").set_index("indicator").loc["ML(0.5)"]
    assert row["trained"] == 8 and row["trained_censored"] and row["max_distance"] == 7
    recent = pd.read_csv(tmp_path / "indicators.csv").set_index("indicator").loc["recent share"]
    assert not recent["trained_censored"]
    line = next(line for line in run_summary(lossless, "toy").splitlines() if "ML(0.5)" in line)
    assert "> 7" in line
    values = lossless.summary()["estimators"]["occlusion"]
    assert values["ML(0.5)"] is None and values["ML(0.5) censored"] is True and "recent_share censored" not in values
    frame = lossless.to_frame().set_index("indicator")
    assert frame.loc["ML(0.5)", "trained"] == 8 and frame.loc["ML(0.5)", "trained_censored"]
    assert frame.loc["retention capacity", "trained"] == pytest.approx(lossless.retention_capacity())
