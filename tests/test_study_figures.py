"""Study figures from a small synthetic study: baselines on the accuracy plot, fitted axes, the untrained floor."""

from __future__ import annotations

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from rnnmem.report import study_figures, style
from rnnmem.sweep.study import Study

UNITS = ["srn", "gru"]
LENGTHS = [8, 16, 32]
MAX_DISTANCE = 100
MAJORITY, BAG_OF_WORDS = 0.5, 0.7


def _study():
    results = [{"config": {"unit": unit, "max_len": length, "seed": 0},
                "result": {"metrics": {"majority_baseline": MAJORITY, "bag_of_words_baseline": BAG_OF_WORDS}}}
               for unit in UNITS for length in LENGTHS]
    return Study(results=results, cells=pd.DataFrame(), estimator="occlusion", units=UNITS, lengths=LENGTHS, seeds=[0])


def _table(ml_half=(2, 5, 9), ml_horizon=(6, 11, 17), beyond=0):
    """Means of each metric by unit and length; intervals +-1 around them; ``beyond`` seeds past the range."""
    metrics = {"accuracy": (0.6, 0.7, 0.8), "fidelity_at_median_length": (0.9, 0.8, 0.7),
               "floor.fidelity_at_median_length": (0.3, 0.3, 0.3), "occlusion.ML(0.5)": ml_half,
               "occlusion.ML(0.1)": ml_horizon, "floor.occlusion.ML(0.1)": (1, 1, 2)}
    rows = []
    for i, unit in enumerate(UNITS):
        for metric, values in metrics.items():
            for length, value in zip(LENGTHS, values):
                spread = 0.05 if value < 1 else 1.0
                rows.append({"unit": unit, "max_len": length, "metric": metric, "mean": value + i * spread,
                             "lo": value + (i - 1) * spread, "hi": value + (i + 1) * spread, "n": 3,
                             "n_beyond": beyond if metric.endswith("ML(0.1)") and not metric.startswith("floor") else 0,
                             "max_distance": MAX_DISTANCE if ".ML(" in metric else np.nan})
    return pd.DataFrame(rows)


def test_memory_length_axis_is_fitted_to_values_well_inside_the_measured_range():
    table = _table()
    fig = study_figures.memory_length_figure(_study(), table)
    for ax, metric in zip(fig.axes, ("occlusion.ML(0.5)", "occlusion.ML(0.1)")):
        highest = table.loc[table["metric"].str.endswith(metric), "hi"].max()
        bottom, top = ax.get_ylim()
        assert highest < top < 2 * highest, f"{metric}: y axis {bottom}..{top} for values up to {highest}"
        assert not any("not reached" in t.get_text() for t in ax.texts)


def test_memory_length_axis_reaches_the_range_when_a_seed_never_fell_below_tau():
    fig = study_figures.memory_length_figure(_study(), _table(beyond=1))
    half, horizon = fig.axes[:2]
    assert horizon.get_ylim()[1] > MAX_DISTANCE + 1  # the "> D" line must show
    assert any("not reached" in t.get_text() for t in horizon.texts)
    assert half.get_ylim()[1] < 30  # the other panel stays fitted to its own values


def test_accuracy_plot_carries_the_baselines_and_the_floor_is_dotted():
    fig = study_figures.accuracy_fidelity_figure(_study(), _table())
    accuracy, fidelity = fig.axes[:2]
    lines = {line.get_label(): line for line in accuracy.get_lines()}
    for name, value in (("majority-class baseline", MAJORITY), ("bag-of-words baseline", BAG_OF_WORDS)):
        np.testing.assert_allclose(lines[name].get_ydata(), value)
        np.testing.assert_allclose(lines[name].get_xdata(), LENGTHS)
    legend = [t.get_text() for t in accuracy.get_legend().get_texts()]
    assert "majority-class baseline" in legend and set(UNITS) <= set(legend)
    floors = [line for line in fidelity.get_lines() if line.get_linestyle() == ":" and len(line.get_xdata())]
    assert len(floors) == len(UNITS)
    np.testing.assert_allclose(floors[0].get_ydata(), 0.3)


def test_memory_length_figure_draws_the_horizon_floor_only_where_the_table_has_it():
    fig = study_figures.memory_length_figure(_study(), _table())
    half, horizon = fig.axes[:2]
    assert not [line for line in half.get_lines() if line.get_linestyle() == ":"]
    dotted = [line for line in horizon.get_lines() if line.get_linestyle() == ":" and len(line.get_xdata())]
    assert len(dotted) == len(UNITS)
    np.testing.assert_allclose(dotted[0].get_ydata(), [1, 1, 2])


@pytest.mark.parametrize("draw", [study_figures.accuracy_fidelity_figure, study_figures.memory_length_figure])
def test_study_figures_render(draw, tmp_path):
    path = style.save_figure(draw(_study(), _table()), tmp_path / "figure.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = matplotlib.image.imread(path)
    assert image.shape[0] > 300 and image.shape[1] > 500 and image[..., :3].std() > 0.05


def test_a_study_without_a_competent_model_says_so_instead_of_drawing_empty_axes(recwarn):
    study = _study()  # its cells record no accuracy, so no model is competent
    assert not any(study.competent([cell]) for cell in study.results)
    table = _table()
    table.loc[table["metric"] != "accuracy", "n"] = 0  # memory numbers count competent models only
    for fig in (study_figures.retention_figure(study), study_figures.memory_length_figure(study, table)):
        for ax in fig.axes:
            assert study_figures.NO_COMPETENT_MODEL in [t.get_text() for t in ax.texts]
            assert ax.get_legend() is None
    assert not [w for w in recwarn if "legend" in str(w.message)]
