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

from rnnmem.report.format import memory_length, number
from rnnmem.report.ses_plots import ses_figure_from_arrays, words_caption
from rnnmem.report.study_text import CI_NOTE
from rnnmem.report.style import (N_TRAJECTORIES, STYLE, UNIT_COLORS, UNIT_MARKERS, draw_thresholds,
                                 label_retention_axes, new_figure, save_figure)


def _unit_style(study, unit: str) -> dict:
    i = study.units.index(unit)
    return {"color": UNIT_COLORS[i % len(UNIT_COLORS)], "marker": UNIT_MARKERS[i % len(UNIT_MARKERS)]}



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
        for unit in study.units:
            group = study.group(unit, length) if length is not None else study.longest_group(unit)
            if not group:
                continue
            distance, mean, lo, hi = study.retention_band(group)
            style = _unit_style(study, unit)
            where = "" if length is not None else f", L = {group[0]['config']['max_len']}"
            ax.fill_between(distance, lo, hi, color=style["color"], alpha=0.18, linewidth=0)
            ax.plot(distance, mean, lw=1.8, ms=4, label=f"{unit} ({len(group)} seed{'s' * (len(group) > 1)}{where})",
                    **style)
        draw_thresholds(ax)
        at = f"training length L = {length}" if length is not None else "each unit's longest training length"
        ax.set_title(f"Retention r(d) by unit ({study.estimator}) at {at}\n"
                     "line: mean over seeds; band: range across seeds (one seed: its bootstrap 95% CI)")
        label_retention_axes(ax)
        ax.set_ylim(bottom=min(-0.05, ax.get_ylim()[0]), top=max(1.1, ax.get_ylim()[1]))
        ax.grid(True, alpha=0.25)
        ax.legend(loc="upper right", bbox_to_anchor=(1.0, 0.9), framealpha=0.9)
    return fig


def _by_length_axes(ax, study, table: pd.DataFrame, metric: str, ylabel: str) -> None:
    """One line per unit of a metric against training length (log2 x axis), 95% t-interval error bars."""
    sub = table[table["metric"] == metric]
    n_units = len(study.units)
    for i, unit in enumerate(study.units):
        rows = sub[(sub["unit"] == unit) & (sub["n"] > 0)].sort_values("max_len")
        if not len(rows):
            continue
        # Nudge units sideways (in log2 units) so error bars at one length do not hide each other.
        x = rows["max_len"].to_numpy(float) * 2 ** (0.04 * (i - (n_units - 1) / 2))
        mean = rows["mean"].to_numpy(float)
        err = np.vstack([mean - rows["lo"].to_numpy(float), rows["hi"].to_numpy(float) - mean])
        err = np.nan_to_num(err, nan=0.0)
        ax.errorbar(x, mean, yerr=err, capsize=3, lw=1.6, ms=5, label=unit, **_unit_style(study, unit))
    ax.set_xscale("log", base=2)
    ax.set_xticks(study.lengths, [str(n) for n in study.lengths])
    ax.minorticks_off()
    ax.set_xlabel("training length L (tokens, log₂ scale)")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.25)


def accuracy_fidelity_figure(study, table: pd.DataFrame) -> Figure:
    """Test accuracy and fidelity at the median length against training length, one line per unit."""
    with matplotlib.rc_context(STYLE):
        fig = new_figure(10.0, 4.4)
        left, right = fig.subplots(1, 2)
        _by_length_axes(left, study, table, "accuracy", "test accuracy")
        left.set_title("Test accuracy")
        _by_length_axes(right, study, table, "fidelity_at_median_length", "cosine(S(x), S*(x))")
        right.set_title("Semantic fidelity at the median sequence length")
        left.legend(loc="best", framealpha=0.9)
        fig.suptitle(f"Does training on longer sequences pay? ({CI_NOTE.split(';')[0]})", fontsize=10)
    return fig


def memory_length_figure(study, table: pd.DataFrame) -> Figure:
    """ML(0.5) and ML(0.1) against training length per unit; seeds past the range count as D + 1."""
    e = study.estimator
    with matplotlib.rc_context(STYLE):
        fig = new_figure(10.0, 4.4)
        panels = fig.subplots(1, 2)
        for ax, tau, name in zip(panels, (0.5, 0.1), ("half-life", "horizon")):
            metric = f"{e}.ML({tau:g})"
            _by_length_axes(ax, study, table, metric, f"ML({tau:g}) (tokens)")
            ax.set_title(f"Memory length ML({tau:g}), {name}")
            limits = table.loc[table["metric"] == metric, "max_distance"].dropna()
            if len(limits):  # values on this line never fell below tau within the measured range
                top = int(limits.min()) + 1
                ax.axhline(top, color="0.4", ls="--", lw=1.0)
                ax.annotate(f"{memory_length(None, top - 1)}: not reached within the measured range", (0.02, top),
                            xycoords=("axes fraction", "data"), xytext=(0, -12), textcoords="offset points",
                            fontsize=8, color="0.3")
                ax.set_ylim(0, top * 1.08)
        panels[0].legend(loc="center right", framealpha=0.9)
        fig.suptitle(f"How far back each unit remembers, by training length ({e} estimator; "
                     "mean over seeds, 95% t-interval)", fontsize=10)
    return fig


def ses_figure(study) -> Figure:
    """The SES of the best-accuracy model: word points, the frequent words named, its trajectories."""
    cell = study.best_cell()
    ses, config = cell["result"]["ses"], cell["config"]
    words = ses.get("trajectory_words", [])
    trajectories = ses.get("trajectories", [])[:N_TRAJECTORIES]
    captions = [words_caption(words[i] if i < len(words) else []) for i in range(len(trajectories))]
    accuracy = cell["result"]["metrics"].get("accuracy")
    heading = (f"Best-accuracy model: {config['unit']}, L = {config['max_len']}, seed {config['seed']} "
               f"(accuracy {number(accuracy)})")
    return ses_figure_from_arrays(np.asarray(ses["points"], float), ses["counts"], ses["words"],
                                        ses.get("label_names") or [], trajectories, captions, heading=heading)


def write_figures(study, table: pd.DataFrame, out_dir: Path) -> dict[str, Path]:
    return {
        "retention_by_unit": save_figure(retention_figure(study), out_dir / "retention_by_unit.png"),
        "accuracy_fidelity_by_length": save_figure(accuracy_fidelity_figure(study, table),
                                                   out_dir / "accuracy_fidelity_by_length.png"),
        "memory_length_by_length": save_figure(memory_length_figure(study, table),
                                               out_dir / "memory_length_by_length.png"),
        "ses": save_figure(ses_figure(study), out_dir / "ses.png"),
    }
