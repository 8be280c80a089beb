"""The public edge: the two capacities named apart (old names deprecated), one "> D", one hull routine, one
recommendation rule, and arguments checked where they enter."""

import copy
import json

import numpy as np
import pytest
import torch

import rnnmem
from known_systems import Differencer, LinearRecurrence
from rnnmem.report.console import run_summary
from rnnmem.guidance import recommend_for_unit
from rnnmem.indicators import estimators as registry
from rnnmem.indicators import hull_vertices, word_hull
from rnnmem.indicators.classical import drive_unit


@pytest.fixture(scope="module")
def report():
    tokens = torch.randint(1, 40, (12, 10), generator=torch.Generator().manual_seed(2))
    return rnnmem.assess(LinearRecurrence(0.9), tokens, max_distance=9, progress=False, n_resamples=30)


def test_retention_capacity_is_the_sum_of_r_and_the_old_name_warns(report):
    assert report.retention_capacity("occlusion") == pytest.approx(np.nansum(report.curve("occlusion")))
    with pytest.warns(DeprecationWarning, match="retention_capacity"):
        old = report.capacity("occlusion")
    assert old == report.retention_capacity("occlusion")
    summary = report.summary()["estimators"]["occlusion"]
    assert "capacity" not in summary and summary["retention_capacity"] == old


def test_task_free_capacity_keeps_its_old_name_for_one_release():
    states, inputs = drive_unit("esn", 10, 600, seed=0)
    new = rnnmem.task_free_capacity(states, inputs, max_delay=12)
    with pytest.warns(DeprecationWarning, match="task_free_capacity"):
        old_function = rnnmem.memory_capacity
    with pytest.warns(DeprecationWarning, match="task_free_capacity"):
        from_indicators = rnnmem.indicators.memory_capacity(states, inputs, max_delay=12)
    assert old_function is rnnmem.task_free_capacity
    assert from_indicators.total == new.total


def test_unknown_estimator_and_indicator_and_bad_tau_are_config_errors(report):
    with pytest.raises(rnnmem.ConfigError, match="Did you mean 'occlusion'"):
        report.interval("memory_length", estimator="oclusion")
    with pytest.raises(rnnmem.ConfigError, match="unknown indicator 'capacity'.*retention_capacity"):
        report.interval("capacity")
    with pytest.raises(rnnmem.ConfigError, match=r"tau must be in \(0.0, 1.0\) \(got 1.5\)"):
        report.memory_length(1.5)
    with pytest.raises(rnnmem.ConfigError, match="tau must be"):
        report.recommend_length(tau=0)
    with pytest.raises(rnnmem.ConfigError, match="max_len"):
        rnnmem.assess(LinearRecurrence(0.5), torch.ones(4, 5, dtype=torch.long), max_len=0, progress=False)


def test_an_unreached_memory_length_reads_the_same_d_in_the_cli_and_the_markdown(report):
    cut = copy.copy(report)
    cut.retention = report.retention.copy()
    cut.retention.loc[cut.retention["distance"] >= 7, "occlusion"] = np.nan  # measured range 0..6 of 0..9
    assert cut.memory_length(0.1, "occlusion") is None and cut.last_measured_distance("occlusion") == 6
    table = run_summary(cut, "toy")
    occlusion = next(line for line in table.splitlines() if "occlusion" in line and "ML(0.1)" in line)
    assert "> 6" in occlusion and "> 9" not in occlusion
    headline = next(line for line in cut.to_markdown().splitlines() if line.startswith("| occlusion |"))
    assert headline.split("|")[3].strip().startswith("> 6")


def test_hull_vertices_go_round_a_polygon_and_fall_back_to_a_segment():
    square = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, 0.5], [1.0, 1.0], [0.0, 1.0]])
    ring = hull_vertices(square)
    assert sorted(ring.tolist()) == [0, 1, 3, 4]  # the centre point is no vertex
    corners = square[ring]
    # consecutive corners share a side of the unit square: one coordinate stays the same
    assert all(np.any(np.isclose(a, b)) for a, b in zip(corners, np.roll(corners, -1, axis=0)))
    line = np.array([[0.0, 0.0], [1.0, 1.0], [3.0, 3.0], [2.0, 2.0]])
    assert sorted(hull_vertices(line).tolist()) == [0, 2]
    assert word_hull(line).route == "1-D"


def test_a_unit_recommendation_is_the_rounded_up_median_at_its_longest_training_length():
    rec = recommend_for_unit({8: [3, 4], 16: [5, 6]})
    assert (rec.length, rec.median, rec.from_length) == (6, 5.5, 16)
    assert rec.by_length == {8: 3.5, 16: 5.5}
    assert recommend_for_unit({8: []}) is None
    assert not rec.at_least
    # a seed at the longest length that never fell to tau makes the unit's median a lower bound; a shorter length's not
    assert recommend_for_unit({8: [3, 4], 16: [5, 6]}, {8: [False, False], 16: [False, True]}).at_least
    assert not recommend_for_unit({8: [3, 4], 16: [5, 6]}, {8: [True, True], 16: [False, False]}).at_least



# -- every estimator declines --------------------------------------------------------------
def _tokens(n=16, length=12, seed=0):
    return torch.randint(1, 40, (n, length), generator=torch.Generator().manual_seed(seed))


def test_a_report_whose_every_estimator_declined_says_so_in_every_view(tmp_path):
    report = rnnmem.assess(Differencer(0.8), _tokens(), max_distance=11, estimators=("regression",), progress=False,
                           n_resamples=20, probes=False)
    assert report.estimators == [] and list(report.meta["no_curve"]) == ["regression"]
    why = "regression declined: its weight at d = 1 is -0.80"
    assert why in report.meta["no_curve"]["regression"]
    report.write_files(tmp_path)  # json, md, html, tables, token effects, interactive page
    markdown = (tmp_path / "report.md").read_text()
    assert f"This report has no retention curve: {why}" in markdown
    assert "**Recommended training length**: none" in markdown
    assert why in (tmp_path / "report.html").read_text()
    recommended = json.loads((tmp_path / "report.json").read_text())["summary"]["recommended_length"]
    assert recommended["length"] is None and why in recommended["rule"]
    cli = run_summary(report, "toy")
    assert "recommended training length: none, this report has no retention curve: " + why in cli
    assert report.to_frame().empty and (tmp_path / "indicators.csv").read_text().startswith("estimator,indicator,")
    with pytest.raises(rnnmem.ConfigError, match="no indicator of r\\(d\\) can be read .*" + why):
        report.memory_length(0.5, "regression")


def test_an_estimator_that_declines_without_a_note_is_still_named(monkeypatch):
    silent = registry.Estimator("silent", "#000000", "declines every model", lambda inputs: registry.EstimatorResult(None))
    monkeypatch.setattr(registry, "ESTIMATORS", registry.ESTIMATORS + (silent,))
    report = rnnmem.assess(LinearRecurrence(0.5), _tokens(), max_distance=11, estimators=("silent",), progress=False,
                           n_resamples=20, probes=False, floor=False)
    assert report.meta["no_curve"] == {"silent": "silent declined without saying why."}
    assert "no retention curve: silent declined without saying why." in report.to_markdown()
