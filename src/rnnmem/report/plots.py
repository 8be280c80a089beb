"""Figures of one assessment: retention curves, semantic fidelity and semantic validity.

Each figure is built by a ``*_figure(report) -> Figure`` function (handy in notebooks and
tests); `rnnmem.report.single.write_figures` saves them. The SES and hull figures are in
`rnnmem.report.ses_plots`; the style (colours, sizes, threshold lines) in `rnnmem.report.style`.
"""

from __future__ import annotations

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from rnnmem.report.format import memory_length_text
from rnnmem.report.style import (BOX, HALO, STYLE, distance_axis, draw_thresholds, estimator_color,
                                  label_retention_axes, legend_below, new_figure, place_labels)

FEW_SEQUENCES = 10


def _n_sequences(report) -> str:
    n = report.meta.get("n_sequences")
    return f"{n} sequences" if n is not None else "sequences"


# -- retention -------------------------------------------------------------------------
def retention_figure(report) -> Figure:
    """r(d) of every computed estimator with its 95% band, its untrained floor (dotted), the tau lines and each ML(0.5).

    The distance axis is linear up to style.NEAR_RANGE and logarithmic beyond, so the near range,
    where most memory lives, is not squeezed by a long measured range. The ML(0.5) labels are
    placed where they overlap neither each other nor the threshold names.
    """
    with matplotlib.rc_context(STYLE):
        fig = new_figure(7.5, 5.6)
        ax = fig.add_subplot()
        distance = report.retention["distance"].to_numpy()
        many = len(distance) > 40
        labels, markers = [], []
        for name in report.estimators:
            color = estimator_color(name)
            r = report.retention[name].to_numpy(float)
            lo = report.retention[f"{name}_lo"].to_numpy(float)
            hi = report.retention[f"{name}_hi"].to_numpy(float)
            ml = report.memory_length(0.5, name)
            label = (f"{name}: ML(0.5) {'= ' if ml is not None else ''}"
                     f"{memory_length_text(ml, report.last_measured_distance(name))}, "
                     f"retention capacity = {report.retention_capacity(name):.3g}")
            ax.fill_between(distance, lo, hi, color=color, alpha=0.18, linewidth=0)
            ax.plot(distance, r, color=color, lw=1.8, marker=None if many else "o", ms=3.5, label=label)
            if report.floor is not None and name in report.floor.estimators:
                ax.plot(distance, report.floor.retention[name].to_numpy(float), color=color, lw=1.1, ls=":",
                        label=f"{name}, untrained floor")
            if ml is not None:
                ax.plot([ml], [r[ml]], marker="D", ms=8, mfc="white", mec=color, mew=2, zorder=5)
                markers.append((ml, r[ml]))
                labels.append((f"ML(0.5)={ml}", (ml, r[ml]),
                               dict(color=color, fontsize=8.5, fontweight="bold", bbox=BOX, zorder=6)))
        draw_thresholds(ax)
        distance_axis(ax, distance)
        ax.set_ylim(*_retention_limits(report))
        label_retention_axes(ax)
        ax.set_title(f"Retention r(d) of a token's semantics at the end — {_n_sequences(report)}, 95% CI bands")
        ax.grid(True, alpha=0.25)
        if report.estimators:
            legend_below(ax, ncol=2 if len(ax.get_legend_handles_labels()[1]) > 3 else 1)
        else:
            ax.text(0.5, 0.5, "no estimator gave a retention curve:\nsee the report's notes", transform=ax.transAxes,
                    ha="center")
        place_labels(ax, labels, markers=[(xy, 10) for xy in markers])
    return fig


def _retention_limits(report) -> tuple[float, float]:
    """y range holding every band, never narrower than [-0.05, 1.08] so the tau lines show."""
    cols = [f"{n}_{side}" for n in report.estimators for side in ("lo", "hi")]
    values = report.retention[cols].to_numpy(float) if cols else np.empty(0)
    values = values[np.isfinite(values)]
    if not len(values):
        return -0.05, 1.08
    return min(-0.05, float(values.min()) - 0.05), max(1.08, float(values.max()) * 1.05)



# -- fidelity --------------------------------------------------------------------------
def fidelity_figure(report) -> Figure:
    """cos(S, S*) by sequence length with its 95% band, R^2 beside it, and the knee."""
    with matplotlib.rc_context(STYLE):
        fig = new_figure(7.5, 5.4)
        ax = fig.add_subplot()
        table = report.fidelity
        length = table["length"].to_numpy(float)
        cosine = table["cosine"].to_numpy(float)
        r2 = table["r2"].to_numpy(float)
        ax.fill_between(length, table["cosine_lo"].to_numpy(float), table["cosine_hi"].to_numpy(float),
                        color="#0072B2", alpha=0.18, linewidth=0)
        ax.plot(length, cosine, color="#0072B2", lw=1.8, marker="o" if len(length) <= 40 else None, ms=3.5,
                label="cosine(S(x), S*(x)), 95% CI")
        if report.floor is not None:
            ax.plot(report.floor.fidelity["length"].to_numpy(float), report.floor.fidelity["cosine"].to_numpy(float),
                    color="#0072B2", lw=1.1, ls=":", label="cosine, untrained floor")
        floor = -1.0  # R^2 is unbounded below; past -1 the line leaves the axes rather than squash the cosine
        below = bool(np.any(r2[np.isfinite(r2)] < floor))
        ax.plot(length, r2, color="#D55E00", lw=1.5, ls="--",
                label="R² of S*(x) for S(x)" + (" (below −1 off the axes)" if below else ""))
        sparse = length[table["sequences"].to_numpy() < FEW_SEQUENCES]
        if len(sparse):  # the tail where only a handful of sequences are that long: read with care
            ax.axvspan(sparse.min() - 0.5, length[-1] + 0.5, color="0.9", zorder=0,
                       label=f"fewer than {FEW_SEQUENCES} sequences this long")
        knee = report.fidelity_knee()
        knee_label = []
        if knee is not None:
            measured = np.isfinite(cosine)
            at_knee = float(np.interp(knee, length[measured], cosine[measured]))
            ax.axvline(knee, color="0.3", ls="-.", lw=1.0, zorder=1)
            ax.plot([knee], [at_knee], ls="none", marker="o", ms=11, mfc="none", mec="black", mew=2, zorder=6,
                    label=f"knee: length {knee:g}, cosine {at_knee:.2f}")
            knee_label = [(f"knee: L = {knee:g}\ncosine = {at_knee:.2f}", (knee, at_knee),
                           dict(fontsize=8.5, fontweight="bold", color="0.1", bbox=BOX, zorder=7))]
        values = np.concatenate([table["cosine_lo"].to_numpy(float), np.clip(r2, floor, None)])
        values = values[np.isfinite(values)]
        ax.set_ylim(min(-0.05, float(values.min()) - 0.05) if len(values) else -0.05, 1.05)
        if len(length):
            ax.set_xlim(length[0] - 0.5, length[-1] + 0.5)
        ax.axhline(0.0, color="0.75", lw=0.8, zorder=0)
        ax.set_xlabel("sequence length L (tokens)")
        ax.set_ylabel("agreement of S(x) with the full-memory S*(x)")
        ax.set_title(f"Semantic fidelity F(L) — {_n_sequences(report)} (prefixes of every length)")
        ax.grid(True, alpha=0.25)
        legend_below(ax, ncol=2)
        place_labels(ax, knee_label, markers=[(label[1], 14) for label in knee_label])
    return fig



# -- semantic validity -------------------------------------------------------------------
N_EXTREME_WORDS = 4
VALIDITY_PANELS = (("trained", "trained model", "#0072B2"), ("untrained", "untrained model (floor)", "0.45"))


def validity_figure(report) -> Figure:
    """Human valence (x) against the SES coordinate s(w)[positive] − s(w)[negative] (y), one panel per model.

    Left: the assessed (trained) model; right, when there is one: an untrained model of the same
    configuration, the floor. Each panel gives Spearman ρ with its 95% CI and the number of words,
    the median coordinate per unit of valence as a line, and names the words at both ends of the axis.
    """
    views = [(report.semantic_validity.get(key), title, color) for key, title, color in VALIDITY_PANELS]
    views = [view for view in views if view[0] is not None]
    with matplotlib.rc_context(STYLE):
        fig = new_figure(6.0 * len(views) + 1.0, 5.8)
        axes = np.atleast_1d(fig.subplots(1, len(views), squeeze=False)[0])
        names = []
        for ax, (v, title, color) in zip(axes, views):
            x, y = np.asarray(v.valence, float), np.asarray(v.axis, float)
            ax.scatter(x, y, s=9, color=color, alpha=0.35, edgecolors="none", label="one rated word", zorder=2)
            centres = np.arange(-4, 5)
            medians = [np.median(y[np.abs(x - c) <= 0.5]) if np.any(np.abs(x - c) <= 0.5) else np.nan for c in centres]
            ax.plot(centres, medians, color="black", lw=1.4, marker="o", ms=3.5, zorder=4,
                    label="median per unit of valence")
            order = np.argsort(y, kind="stable")
            word_style = dict(fontsize=8, color="0.1", zorder=6, path_effects=HALO)
            names.append((ax, [(v.words[i], (x[i], y[i]), word_style)
                               for i in dict.fromkeys([*order[:N_EXTREME_WORDS], *order[::-1][:N_EXTREME_WORDS]])]))
            ax.axhline(0, color="0.75", lw=0.8, zorder=1)
            ax.axvline(0, color="0.75", lw=0.8, zorder=1)
            ci = "" if not np.isfinite(v.low) else f" [{v.low:.2f}, {v.high:.2f}]"
            rho = "—" if not np.isfinite(v.rho) else f"{v.rho:.2f}"
            ax.set_title(f"{title}\nSpearman ρ = {rho}{ci} (95% CI), {v.n_matched} words")
            ax.set_xlabel("human valence (VADER lexicon, −4 … 4)")
            ax.set_ylabel("SES coordinate s(w)[positive] − s(w)[negative]")
            ax.grid(True, alpha=0.2)
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, framealpha=0.9)
        fig.suptitle("Semantic validity: does the positive − negative axis of the SES order words as people do?",
                     fontsize=11)
        for ax, labels in names:  # once the whole figure is laid out
            place_labels(ax, labels)
    return fig


# -- training --------------------------------------------------------------------------
def training_figure(report) -> Figure:
    """The training run's per-epoch curves from its record (as TensorBoard shows a run's scalars): loss on the
    left, accuracy on the right with the majority and bag-of-words baselines; the epoch kept is marked, and the
    curriculum epochs on single pieces are shaded."""
    record = report.training_record()
    curves = {name: np.asarray(values, dtype=float) if name != "stage" else values  # null (NaN in JSON) -> nan
              for name, values in record["curves"].items()}
    epochs = np.arange(1, len(curves["loss"]) + 1)
    with matplotlib.rc_context(STYLE):
        fig = new_figure(9.0, 4.2)
        loss_ax, accuracy_ax = fig.subplots(1, 2)
        loss_ax.plot(epochs, curves["loss"], marker="o", ms=3.5, label="training (running mean)")
        loss_ax.plot(epochs, curves["validation_loss"], marker="o", ms=3.5, label="validation")
        accuracy_ax.plot(epochs, curves["train_accuracy"], marker="o", ms=3.5, label="training (running)")
        accuracy_ax.plot(epochs, curves["validation_accuracy"], marker="o", ms=3.5, label="validation")
        for key, name, style in (("majority_baseline", "majority", "--"), ("bag_of_words_baseline", "bag-of-words", ":")):
            if np.isfinite(record.get(key, np.nan)):
                accuracy_ax.axhline(record[key], color="grey", ls=style, lw=1, label=f"{name} baseline")
        pieces = curves["stage"].count("pieces")
        for ax, what in ((loss_ax, "loss"), (accuracy_ax, "accuracy")):
            if pieces:
                ax.axvspan(0.5, pieces + 0.5, color="0.92", zorder=0, label="epochs on single pieces")
            if record.get("best_epoch"):
                ax.axvline(record["best_epoch"], color="black", lw=1, ls="-.", label=f"epoch kept ({record['best_epoch']})")
            ax.set_xlabel("epoch")
            ax.set_ylabel(what)
            ax.grid(True, alpha=0.2)
            legend_below(ax)
        fig.suptitle(f"Training: {record.get('stopped') or 'curves per epoch'}", fontsize=11)
    return fig
