"""The reproduction study's readings of its cells (benchmarks/study_tables.py), on hand-made cells with known answers."""

import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("study_tables", ROOT / "benchmarks" / "study_tables.py")
tables = importlib.util.module_from_spec(spec)
sys.modules["study_tables"] = tables
spec.loader.exec_module(tables)

MEASURED = 60  # r(d) measured at d = 0..60, missing beyond: an ML past the range reads "> 60"


def cell(seed, metrics, differences=None, estimators=("occlusion", "replacement", "regression")):
    curve = [1.0] * (MEASURED + 1) + [None] * 40
    return {"config": {"seed": seed, "estimators": list(estimators)},
            "result": {"metrics": metrics,
                       "report": {"retention": {"distance": list(range(101)), "occlusion": curve, "replacement": curve},
                                  "summary": {"trained_minus_floor": differences or {}}}}}


def test_an_ml_past_the_range_for_every_seed_reads_beyond_the_measured_distance():
    group = [cell(0, {"occlusion.ML(0.1)": None}), cell(1, {"occlusion.ML(0.1)": None})]
    assert tables.shown(tables.reading(group, "occlusion.ML(0.1)")) == f"> {MEASURED}"


def test_an_ml_past_the_range_for_some_seeds_counts_as_d_plus_1_and_reads_as_a_lower_bound():
    group = [cell(0, {"occlusion.ML(0.1)": 40}), cell(1, {"occlusion.ML(0.1)": None})]
    reading = tables.reading(group, "occlusion.ML(0.1)")
    assert reading["mean"] == pytest.approx((40 + MEASURED + 1) / 2) and reading["beyond"] == 1
    assert tables.shown(reading) == "≥ 50.5"


def test_a_capacity_is_a_plain_mean_never_a_bound():
    group = [cell(0, {"occlusion.retention_capacity": 3.0}), cell(1, {"occlusion.retention_capacity": 5.0})]
    assert tables.shown(tables.reading(group, "occlusion.retention_capacity"), 2) == "4.00"


def test_a_declined_estimator_is_counted_and_shown_as_declined_not_as_a_number():
    group = [cell(0, {"occlusion.ML(0.1)": 5, "floor.regression.ML(0.1)": 3}),
             cell(1, {"occlusion.ML(0.1)": 7, "regression.ML(0.1)": 9, "floor.regression.ML(0.1)": 2}),
             cell(2, {"occlusion.ML(0.1)": 7}, estimators=("occlusion",))]  # regression not run: not a decline
    assert tables.declined(group, "regression") == 1 and tables.declined(group, "regression", "floor.") == 0
    numbers = {"competent": 2, "regression declined": 2, "floor.regression declined": 0,
               "regression.ML(0.1)": tables.reading([], "regression.ML(0.1)"),
               "floor.regression.ML(0.1)": tables.reading(group[:2], "floor.regression.ML(0.1)")}
    assert tables.memory_text(numbers, "regression", "ML(0.1)") == "declined (2.5)"


def test_trained_minus_floor_says_which_side_a_censored_ml_bounds():
    def difference(value, low, high):
        return {"occlusion": {"ML(0.1)": {"difference": value, "low": low, "high": high, "censored": False}}}

    trained_past = [cell(0, {"occlusion.ML(0.1)": None, "floor.occlusion.ML(0.1)": 9}, difference(52, 40, 52))]
    assert tables.difference_text(tables.difference(trained_past, "occlusion", "ML(0.1)")) == "≥ +52 [+40, +52]"
    floor_past = [cell(0, {"occlusion.ML(0.1)": 9, "floor.occlusion.ML(0.1)": None}, difference(-52, -52, -40))]
    assert tables.difference_text(tables.difference(floor_past, "occlusion", "ML(0.1)")).startswith("≤ -52")
    seeds = [cell(0, {"occlusion.ML(0.1)": 9, "floor.occlusion.ML(0.1)": 3}, difference(6, 2, 9)),
             cell(1, {"occlusion.ML(0.1)": 5, "floor.occlusion.ML(0.1)": 3}, difference(2, -1, 4))]
    assert tables.difference_text(tables.difference(seeds, "occlusion", "ML(0.1)")) == "+4 (1 of 2 beyond noise)"


def test_a_partial_store_names_every_cell_it_holds_no_result_for():
    cells = pd.DataFrame([{"unit": "srn", "max_len": 128, "seed": 0, "status": "done"},
                          {"unit": "lstm", "max_len": 128, "seed": 1, "status": "pending"},
                          {"unit": "gru", "max_len": 16, "seed": 0, "status": "failed"},
                          {"unit": "mgu", "max_len": 32, "seed": 2, "status": "running"}])
    assert tables.unfinished(SimpleNamespace(cells=cells)) == [
        "lstm@128 seed 1 (pending)", "gru@16 seed 0 (failed)", "mgu@32 seed 2 (running)"]
    assert tables.unfinished(SimpleNamespace(cells=cells.iloc[:1])) == []


def test_a_group_without_finished_cells_reads_not_run_and_one_without_competent_ones_not_competent():
    assert tables.absent({"seeds": 0, "competent": 0}) == "not run"
    assert tables.absent({"seeds": 3, "competent": 0}) == "not competent"
    assert tables.absent({"seeds": 3, "competent": 1}) is None
