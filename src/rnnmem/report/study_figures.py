"""Figures of a study: retention by unit, accuracy and fidelity by training length, memory length, one model's SES.

Each takes a study (`rnnmem.sweep.study.Study`, read through its attributes and methods)
and the tidy comparison table; the numbers are computed in `rnnmem.sweep.study`.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from rnnmem.report.format import memory_length_text, number
from rnnmem.report.ses_plots import ses_figure_from_arrays, words_caption
from rnnmem.report.study_text import CI_NOTE
from rnnmem.report.style import (BOX, OKABE_ITO, STYLE, UNIT_MARKERS, distance_axis, draw_thresholds,
                                 label_retention_axes, legend_below, new_figure, save_figure)


def _unit_style(study, unit: str) -> dict:
    i = study.units.index(unit)
    return {"color": OKABE_ITO[i % len(OKABE_ITO)], "marker": UNIT_MARKERS[i % len(UNIT_MARKERS)]}


NO_COMPETENT_MODEL = ("No model learned its task (competence verdict),\nso none is drawn: the memory of a model that\n"
                      "did not learn its task is not a finding about its unit.")


def _say_no_competent_model(ax) -> None:
    ax.text(0.5, 0.75, NO_COMPETENT_MODEL, transform=ax.transAxes, ha="center", va="center", fontsize=9,
            color="0.2", bbox=BOX, zorder=7)


def retention_figure(study) -> Figure:
    """Mean r(d) over seeds of every unit at the longest common training length, with a band.

    Band: the range across seeds (lowest to highest seed's r(d)): it shows how much a new
    initialisation moves the curve without the very wide t-intervals that 2-3 seeds give
    (the tables carry those). A unit with a single seed gets that model's bootstrap 95% CI.
    """
    length = study.retention_length()
    with matplotlib.rc_context(STYLE):
        fig = new_figure(8.0, 5.0)
        ax = fig.add_subplot()
        longest = 0
        for unit in study.units:
            group = study.competent(study.group(unit, length) if length is not None else study.longest_group(unit))
            if not group:
                continue
            distance, mean, lo, hi = study.retention_band(group)
            longest = max(longest, int(distance[-1]) if len(distance) else 0)
            style = _unit_style(study, unit)
            where = "" if length is not None else f", L = {group[0]['config']['max_len']}"
            ax.fill_between(distance, lo, hi, color=style["color"], alpha=0.18, linewidth=0)
            ax.plot(distance, mean, lw=1.8, ms=4, label=f"{unit} ({len(group)} seed{'s' * (len(group) > 1)}{where})",
                    **style)
        draw_thresholds(ax)
        if not ax.get_legend_handles_labels()[1]:
            _say_no_competent_model(ax)
        at = f"training length L = {length}" if length is not None else "each unit's longest training length"
        ax.set_title(f"Retention r(d) by unit ({study.estimator}) at {at}\n"
                     "line: mean over seeds; band: range across seeds (one seed: its bootstrap 95% CI)")
        label_retention_axes(ax)
        ax.set_ylim(bottom=min(-0.05, ax.get_ylim()[0]), top=max(1.1, ax.get_ylim()[1]))
        ax.grid(True, alpha=0.25)
        if ax.get_legend_handles_labels()[1]:
            distance_axis(ax, np.arange(longest + 1))
            legend_below(ax, ncol=min(4, len(study.units)))
        else:
            ax.set_xticks([])
    return fig


def _by_length_axes(ax, study, table: pd.DataFrame, metric: str, ylabel: str) -> list[float]:
    """One line per unit of a metric against training length (log2 x axis), 95% t-interval error bars.

    Where the table has the untrained floor of the metric (``floor.<metric>``), each unit's floor
    is drawn dotted in its colour. Returns every value drawn (means and interval ends), to fit the y axis.
    """
    n_units = len(study.units)
    drawn: list[float] = []
    for i, unit in enumerate(study.units):
        # Nudge units sideways (in log2 units) so error bars at one length do not hide each other.
        nudge = 2 ** (0.04 * (i - (n_units - 1) / 2))
        rows = _rows(table, metric, unit)
        if len(rows):
            mean = rows["mean"].to_numpy(float)
            err = np.vstack([mean - rows["lo"].to_numpy(float), rows["hi"].to_numpy(float) - mean])
            ax.errorbar(rows["max_len"].to_numpy(float) * nudge, mean, yerr=np.nan_to_num(err, nan=0.0), capsize=3,
                        lw=1.6, ms=5, label=unit, **_unit_style(study, unit))
            drawn += [*mean, *rows["lo"].to_numpy(float), *rows["hi"].to_numpy(float)]
        floor = _rows(table, f"floor.{metric}", unit)
        if len(floor):
            ax.plot(floor["max_len"].to_numpy(float) * nudge, floor["mean"].to_numpy(float), ls=":", lw=1.4,
                    color=_unit_style(study, unit)["color"])
            drawn += list(floor["mean"].to_numpy(float))
    if any(table["metric"] == f"floor.{metric}"):
        ax.plot([], [], color="0.3", ls=":", lw=1.4, label="untrained floor (dotted, in the unit's colour)")
    ax.set_xscale("log", base=2)
    ax.set_xticks(study.lengths, [str(n) for n in study.lengths])
    ax.minorticks_off()
    ax.set_xlabel("training length L (tokens, log₂ scale)")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.25)
    return [v for v in drawn if np.isfinite(v)]


def _rows(table: pd.DataFrame, metric: str, unit: str) -> pd.DataFrame:
    return table[(table["metric"] == metric) & (table["unit"] == unit) & (table["n"] > 0)].sort_values("max_len")


BASELINES = (("majority_baseline", "majority-class baseline", "--"),
             ("bag_of_words_baseline", "bag-of-words baseline", "-."))


def _draw_baselines(ax, study) -> None:
    """The accuracy baselines the cells recorded, averaged over the cells at each training length."""
    for key, name, style in BASELINES:
        points = study.mean_by_length(key)
        if points:
            x, y = zip(*points)
            ax.plot(x, y, color="0.3", ls=style, lw=1.3, label=name, zorder=1)


def accuracy_fidelity_figure(study, table: pd.DataFrame) -> Figure:
    """Test accuracy (beside the majority and bag-of-words baselines) and fidelity at the median length, by training length."""
    with matplotlib.rc_context(STYLE):
        fig = new_figure(10.0, 4.8)
        left, right = fig.subplots(1, 2)
        _draw_baselines(left, study)
        _by_length_axes(left, study, table, "accuracy", "test accuracy")
        left.set_title("Test accuracy")
        _by_length_axes(right, study, table, "fidelity_at_median_length", "cosine(S(x), S*(x))")
        right.set_title("Semantic fidelity at the median sequence length")
        left.legend(loc="best", framealpha=0.9)
        if right.get_legend_handles_labels()[1]:
            right.legend(loc="best", framealpha=0.9)
        fig.suptitle(f"Does training on longer sequences pay? ({CI_NOTE.split(';')[0]})", fontsize=10)
    return fig


def memory_length_figure(study, table: pd.DataFrame) -> Figure:
    """ML(0.5) and ML(0.1) against training length per unit; seeds past the range count as D + 1.

    The y axis is fitted to the values drawn; only when some seed did not reach tau within the
    measured range does it extend to that range (D + 1), marked by a dashed line.
    """
    e = study.estimator
    with matplotlib.rc_context(STYLE):
        fig = new_figure(10.0, 4.4)
        panels = fig.subplots(1, 2)
        for ax, tau, name in zip(panels, (0.5, 0.1), ("half-life", "horizon")):
            metric = f"{e}.ML({tau:g})"
            values = _by_length_axes(ax, study, table, metric, f"ML({tau:g}) (tokens)")
            ax.set_title(f"Memory length ML({tau:g}), {name}")
            rows = table[table["metric"] == metric]
            limits = rows["max_distance"].dropna()
            top = max(values, default=1.0)
            if len(limits) and rows["n_beyond"].fillna(0).gt(0).any():  # some seed never fell below tau
                beyond = int(limits.min()) + 1
                ax.axhline(beyond, color="0.4", ls="--", lw=1.0)
                ax.annotate(f"{memory_length_text(None, beyond - 1)}: not reached within the measured range", (0.02, beyond),
                            xycoords=("axes fraction", "data"), xytext=(0, -12), textcoords="offset points",
                            fontsize=8, color="0.3")
                top = max(top, beyond)
            elif len(limits):
                ax.annotate(f"measured up to d = {int(limits.min())}", (0.98, 0.02), xycoords="axes fraction",
                            ha="right", fontsize=8, color="0.4")
            ax.set_ylim(0, top * 1.12 + 0.5)
        if panels[0].get_legend_handles_labels()[1]:
            panels[0].legend(loc="upper left", framealpha=0.9)
        else:
            for ax in panels:
                _say_no_competent_model(ax)
        fig.suptitle(f"How far back each unit remembers, by training length ({e} estimator; "
                     "mean over seeds, 95% t-interval)", fontsize=10)
    return fig


def ses_figure(study) -> Figure:
    """The SES of the best-accuracy model: where its sequences end, class means, typical trajectories, named words."""
    cell = study.best_cell()
    ses, config = cell["result"]["ses"], cell["config"]
    words = ses.get("trajectory_words", [])
    trajectories = ses.get("trajectories", [])
    captions = [words_caption(words[i] if i < len(words) else []) for i in range(len(trajectories))]
    accuracy = cell["result"]["metrics"].get("accuracy")
    heading = (f"Best-accuracy model: {config['unit']}, L = {config['max_len']}, seed {config['seed']} "
               f"(accuracy {number(accuracy)})")
    return ses_figure_from_arrays(np.asarray(ses["points"], float), ses["counts"], ses["words"],
                                  ses.get("label_names") or [], trajectories, captions, heading=heading,
                                  sequence_points=ses.get("sequence_points"),
                                  sequence_labels=ses.get("sequence_labels"))


def write_figures(study, table: pd.DataFrame, out_dir: Path) -> dict[str, Path]:
    return {
        "retention_by_unit": save_figure(retention_figure(study), out_dir / "retention_by_unit.png"),
        "accuracy_fidelity_by_length": save_figure(accuracy_fidelity_figure(study, table),
                                                   out_dir / "accuracy_fidelity_by_length.png"),
        "memory_length_by_length": save_figure(memory_length_figure(study, table),
                                               out_dir / "memory_length_by_length.png"),
        "ses": save_figure(ses_figure(study), out_dir / "ses.png"),
    }
