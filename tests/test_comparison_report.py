"""The study comparison report (rnnmem.sweep.study) on a real, small results store."""

from __future__ import annotations

import copy
import csv
import math
import random
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from rnnmem.errors import DataError
from rnnmem.report.study_text import format_cell
from rnnmem.sweep.study import cell_verdict, metric_values, t_interval, write_study_report
from rnnmem.sweep import ResultsStore, RunConfig, run_cell

UNITS = ("srn", "gru")
LENGTHS = (8, 16)
SEEDS = (0, 1)
FAILED_ERROR = "TrainingError: the loss diverged at epoch 1"
PNGS = ("retention_by_unit.png", "accuracy_fidelity_by_length.png", "memory_length_by_length.png", "ses.png")


def _write_corpus(path) -> None:
    """Two classes set by a cue word among ~30 filler words, 200 rows of 6-14 words."""
    rng = random.Random(1)
    filler = [f"w{i}" for i in range(30)]
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for i in range(200):
            words = [rng.choice(filler) for _ in range(rng.randint(5, 13))]
            words.insert(rng.randint(0, 3), "good" if i % 2 else "bad")
            writer.writerow([" ".join(words), "pos" if i % 2 else "neg"])


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    """8 finished cells (srn, gru x L 8, 16 x seeds 0, 1) and one failed cell."""
    root = tmp_path_factory.mktemp("study")
    corpus = root / "tiny.csv"
    _write_corpus(corpus)
    store = ResultsStore(root / "study.sqlite")
    common = dict(corpus=str(corpus), hidden_size=8, embedding_dim=8, epochs=1, max_distance=8, max_sequences=20,
                  n_resamples=50)
    for unit in UNITS:
        for length in LENGTHS:
            for seed in SEEDS:
                cfg = RunConfig(unit=unit, max_len=length, seed=seed, **common)
                store.add([cfg])
                assert store.claim().key == cfg.key
                store.finish(cfg.key, run_cell(cfg))
    failed = RunConfig(unit="lstm", max_len=8, seed=0, **common)
    store.add([failed])
    store.claim()
    store.fail(failed.key, f"{FAILED_ERROR}\nTraceback (most recent call last): ...")
    return store.path


@pytest.fixture(scope="module")
def report(store_path, tmp_path_factory):
    return write_study_report(store_path, tmp_path_factory.mktemp("report"))


# accuracies set on the stored cells: gru learned its task, srn sits 10 points below bag-of-words
GRADED = {"gru": 0.95, "srn": 0.85}


@pytest.fixture(scope="module")
def graded_store(store_path, tmp_path_factory):
    """The finished cells of ``store_path`` again, with their accuracy and baselines set by GRADED."""
    store = ResultsStore(tmp_path_factory.mktemp("graded") / "study.sqlite")
    for stored in ResultsStore(store_path).results():
        config = RunConfig.from_dict(stored["config"])
        result = copy.deepcopy(stored["result"])
        result["metrics"].update(accuracy=GRADED[config.unit], majority_baseline=0.5, bag_of_words_baseline=0.95,
                                 test_size=200)
        store.add([config])
        store.claim()
        store.finish(config.key, result)
    return store.path


@pytest.fixture(scope="module")
def graded_report(graded_store, tmp_path_factory):
    return write_study_report(graded_store, tmp_path_factory.mktemp("graded_report"))


def test_returns_every_file_it_wrote(report):
    expected = {"comparison_csv", "comparison_md", "report_md", "report_html", "interactive_html",
                "retention_by_unit", "accuracy_fidelity_by_length", "memory_length_by_length", "ses"}
    assert set(report) == expected
    assert all(path.is_file() and path.stat().st_size > 0 for path in report.values())


@pytest.mark.parametrize("unit, length, metric", [("gru", 16, "occlusion.retention_capacity"), ("srn", 8, "accuracy"),
                                                  ("gru", 8, "fidelity_at_median_length")])
def test_csv_mean_is_the_mean_over_seeds_and_inside_its_interval(graded_report, graded_store, unit, length, metric):
    report, store_path = graded_report, graded_store
    table = pd.read_csv(report["comparison_csv"])
    row = table[(table["unit"] == unit) & (table["max_len"] == length) & (table["metric"] == metric)]
    assert len(row) == 1
    row = row.iloc[0]
    values = [r["result"]["metrics"][metric] for r in ResultsStore(store_path).results()
              if r["config"]["unit"] == unit and r["config"]["max_len"] == length]
    assert len(values) == len(SEEDS) == row["n"]
    assert row["mean"] == pytest.approx(np.mean(values))
    assert row["lo"] <= row["mean"] <= row["hi"]


def test_csv_is_tidy_over_the_whole_grid(report):
    table = pd.read_csv(report["comparison_csv"])
    assert not table.duplicated(["unit", "max_len", "metric"]).any()
    assert set(table["unit"]) == set(UNITS) and set(table["max_len"]) == set(LENGTHS)
    assert table.groupby(["unit", "max_len"]).size().nunique() == 1  # same metrics in every group
    full = table[table["n"] >= 2]
    assert (full["lo"] <= full["mean"] + 1e-12).all() and (full["mean"] <= full["hi"] + 1e-12).all()


def test_memory_length_past_the_range_counts_as_d_plus_one():
    def cell(ml, distances=9):
        return {"result": {"metrics": {"occlusion.ML(0.5)": ml},
                           "report": {"retention": {"distance": list(range(distances)),
                                                    "occlusion": [1.0] * distances}}}}

    values, beyond, limit = metric_values([cell(None), cell(3)], "occlusion.ML(0.5)", "occlusion")
    assert values == [9.0, 3.0] and beyond == 1 and limit == 8
    mean, lo, hi = t_interval(values)
    assert format_cell({"n": 2, "n_beyond": 1, "mean": mean, "lo": lo, "hi": hi, "max_distance": 8}).startswith("≥ 6")
    assert format_cell({"n": 2, "n_beyond": 2, "mean": 9.0, "lo": 9.0, "hi": 9.0, "max_distance": 8}) == "> 8"
    assert math.isnan(t_interval([4.0])[1])  # one seed: no interval
    assert format_cell({"n": 1, "n_beyond": 0, "mean": 4.0, "lo": math.nan, "hi": math.nan,
                        "max_distance": 8}) == "4"


def test_markdown_has_every_unit_length_and_the_failed_cell(report):
    text = report["comparison_md"].read_text()
    for unit in UNITS:
        assert re.search(rf"^\| {unit} \|", text, re.M), unit
    for length in LENGTHS:
        assert f"L = {length}" in text
    assert FAILED_ERROR in text
    assert "Traceback" not in text  # only the error's first line
    assert text.count("| unit | L = 8 | L = 16 |") == 1  # accuracy alone: no model is competent, so no memory table


def test_figures_exist_and_are_not_blank(report):
    for name in PNGS:
        path = report[name.removesuffix(".png")]
        assert path.name == name
        image = imread(path)
        assert image.shape[0] > 200 and image.shape[1] > 200
        assert np.ptp(image[..., :3]) > 0.5, f"{name} is a single colour"


def _recommended(store_path, units=UNITS) -> dict[str, int]:
    """Per unit: median over seeds of the recommended length at its longest training length, rounded up."""
    results = ResultsStore(store_path).results()
    out = {}
    for unit in units:
        longest = max(r["config"]["max_len"] for r in results if r["config"]["unit"] == unit)
        recs = [r["result"]["metrics"]["recommended_length"] for r in results
                if r["config"]["unit"] == unit and r["config"]["max_len"] == longest]
        out[unit] = math.ceil(np.median(recs))
    return out


def test_html_is_self_contained_with_tables_images_and_recommendations(graded_report, graded_store):
    report, store_path = graded_report, graded_store
    html = report["report_html"].read_text()
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html.lower() and "<link" not in html.lower() and "@import" not in html
    sources = re.findall(r'src="([^"]*)"', html)
    assert len(sources) == 4 and all(s.startswith("data:image/png;base64,") for s in sources)
    assert html.count("<table>") >= 7 + 2  # seven metric tables, the verdicts and the recommendation table
    assert "Retention capacity Σ r(d)" in html
    for unit, length in _recommended(store_path, ["gru"]).items():
        assert re.search(rf"<td>{unit}</td><td>{length} tokens</td>", html), (unit, length)
    rule = ResultsStore(store_path).results()[0]["result"]["report"]["summary"]["recommended_length"]["rule"]
    assert rule.split(":")[0] in html


def test_cells_below_bag_of_words_get_a_verdict_and_give_no_recommendation(graded_report, graded_store):
    text = graded_report["report_md"].read_text()
    verdicts = text[text.index("## Verdicts"): text.index("## Recommended training length")]
    for unit, length, seed in [(u, n, s) for u in UNITS for n in LENGTHS for s in SEEDS]:
        verdict = "competent" if unit == "gru" else "below bag-of-words"
        assert re.search(rf"\| {unit} \| {length} \| {seed} \| {GRADED[unit]} \| 0.5 \| 0.95 \| {verdict} \|", verdicts)
    assert "No recommendation for srn: none of its models is competent." in verdicts
    recommendations = text[text.index("## Recommended training length"): text.index("## Figures")]
    assert "gru:" in recommendations and "srn" not in recommendations
    table = pd.read_csv(graded_report["comparison_csv"]).set_index(["unit", "max_len", "metric"])
    assert table.loc[("srn", 16, "accuracy"), "n"] == len(SEEDS)  # accuracy counts every cell
    assert table.loc[("srn", 16, "occlusion.retention_capacity"), "n"] == 0  # memory only the competent ones
    assert table.loc[("gru", 16, "occlusion.retention_capacity"), "n"] == len(SEEDS)
    comparison = graded_report["comparison_md"].read_text()
    assert comparison.count("| unit | L = 8 | L = 16 |") == 11  # one table per metric: 7, and 4 untrained floors
    assert "Untrained floor of ML(0.1)" in comparison
    assert re.search(r"^\| srn \| — \| — \|$", comparison, re.M)  # srn's memory rows are empty


def test_cells_of_this_store_are_not_competent_after_one_epoch(report):
    """The unedited store: one epoch of a tiny model does not learn the cue (bag-of-words does): no recommendation."""
    text = report["report_md"].read_text()
    assert "| competent |" not in text and text.count("No recommendation for") == len(UNITS)


def test_report_markdown_links_the_figures_relatively(report):
    text = report["report_md"].read_text()
    for name in PNGS:
        assert f"]({name})" in text
        assert (report["report_md"].parent / name).is_file()


def test_no_finished_cells_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="rnnmem sweep"):
        write_study_report(tmp_path / "missing.sqlite", tmp_path / "out")
    assert not (tmp_path / "missing.sqlite").exists()  # reading never creates a store
    empty = ResultsStore(tmp_path / "empty.sqlite")
    empty.add([RunConfig(unit="srn")])
    with pytest.raises(DataError, match="no finished cells.*rnnmem sweep"):
        write_study_report(empty.path, tmp_path / "out")


CHROMIUM = shutil.which("chromium")


@pytest.mark.skipif(CHROMIUM is None, reason="headless rendering check needs Debian's chromium (/usr/bin/chromium); "
                                              "install it with `apt-get install chromium`")
def test_headless_chromium_renders_the_images(graded_report, tmp_path):
    report = graded_report  # with competent models, so that the memory figures draw curves
    page = report["report_html"].resolve().as_uri()
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000"]
    dom = subprocess.run(flags + ["--dump-dom", page], capture_output=True, text=True, timeout=60, check=True).stdout
    images = re.findall(r"<img\b[^>]*>", dom)
    assert len(images) == 4
    for tag in images:
        src = re.search(r'src="([^"]*)"', tag).group(1)
        assert src.startswith("data:image/png;base64,") and len(src) > 10_000

    shot = tmp_path / "shot.png"
    subprocess.run(flags + [f"--screenshot={shot}", "--window-size=1200,3000", page], capture_output=True,
                   timeout=60, check=True)
    pixels = imread(shot)[..., :3]
    assert np.ptp(pixels) > 0.5, "the rendering is a single colour"
    non_white = (pixels < 0.95).any(axis=-1).mean()
    assert non_white > 0.05, f"only {non_white:.1%} of the rendering is not white"
    # Text and table borders are grey, so coloured pixels come from the figures' curves and bands:
    # about 2% with the images drawn, under 0.1% when they fail to decode.
    coloured = (pixels.max(axis=-1) - pixels.min(axis=-1) > 0.1).mean()
    assert coloured > 0.005, f"only {coloured:.2%} of the rendering is coloured: the figures did not render"


def test_a_store_from_before_the_rename_still_gives_its_retention_capacity():
    old = {"result": {"metrics": {"occlusion.capacity": 4.5}, "report": {"retention": {}}}}
    assert metric_values([old], "occlusion.retention_capacity", "occlusion")[0] == [4.5]


def test_a_cell_stored_without_its_held_out_count_is_not_judged_competent():
    stored = {"accuracy": 0.9, "majority_baseline": 0.5, "bag_of_words_baseline": 0.9}
    assert cell_verdict({"metrics": stored}) == "unknown"  # a store written before the count was kept
    assert cell_verdict({"metrics": {**stored, "test_size": 200}}) == "competent"
    assert cell_verdict({"metrics": {**stored, "accuracy": 0.51, "test_size": 200}}) == "not above the majority baseline"
