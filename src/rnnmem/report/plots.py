"""Figures of a MemoryReport: retention curves, semantic fidelity, the Semantic Euclidean Space and semantic validity.

Each figure is built by a ``*_figure(report) -> Figure`` function (handy in notebooks and
tests) and written by the matching ``plot_*(report, path) -> Path``. Figures are made
with ``matplotlib.figure.Figure`` directly, never through pyplot, so no global state,
no GUI backend and nothing left open.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
from matplotlib import patheffects
from scipy.spatial import ConvexHull, QhullError
from matplotlib.figure import Figure

from rnnmem.fileio import save_png
from rnnmem.indicators.curve import last_measured_distance
from rnnmem.ses import project_2d

DPI = 120
# One colour per estimator, the same in every figure (Okabe-Ito, colour-blind safe).
ESTIMATOR_COLORS = {"occlusion": "#0072B2", "regression": "#D55E00", "gradient": "#009E73"}
TRAJECTORY_COLORS = ["#CC79A7", "#E69F00", "#56B4E9", "#000000"]
THRESHOLDS = ((0.5, "half-life"), (0.1, "horizon"))
N_LABELLED_WORDS = 25
N_TRAJECTORIES = 3
FEW_SEQUENCES = 10

_BOX = dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.85)
_HALO = [patheffects.withStroke(linewidth=2.5, foreground="white")]
_STYLE = {"font.size": 10, "axes.titlesize": 11, "axes.labelsize": 10, "legend.fontsize": 8.5}


def _figure(width: float = 7.5, height: float = 4.8) -> Figure:
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _save(fig: Figure, path: str | Path) -> Path:
    return save_png(fig, path, DPI)


def _color(estimator: str) -> str:
    return ESTIMATOR_COLORS.get(estimator, "#444444")


def _n_sequences(report) -> str:
    n = report.meta.get("n_sequences")
    return f"{n} sequences" if n is not None else "sequences"


# -- retention -------------------------------------------------------------------------
def retention_figure(report) -> Figure:
    """r(d) of every computed estimator with its 95% band, the tau lines and each ML(0.5)."""
    with matplotlib.rc_context(_STYLE):
        fig = _figure()
        ax = fig.add_subplot()
        distance = report.retention["distance"].to_numpy()
        many = len(distance) > 40
        for j, name in enumerate(report.estimators):
            color = _color(name)
            r = report.retention[name].to_numpy(float)
            lo = report.retention[f"{name}_lo"].to_numpy(float)
            hi = report.retention[f"{name}_hi"].to_numpy(float)
            ml = report.memory_length(0.5, name)
            label = f"{name}: ML(0.5) = {ml}" if ml is not None else f"{name}: ML(0.5) > {last_measured_distance(distance, r)}"
            label += f", MC = {report.capacity(name):.3g}"
            ax.fill_between(distance, lo, hi, color=color, alpha=0.18, linewidth=0)
            ax.plot(distance, r, color=color, lw=1.8, marker=None if many else "o", ms=3.5, label=label)
            if ml is not None:
                ax.plot([ml], [r[ml]], marker="D", ms=8, mfc="white", mec=color, mew=2, zorder=5)
                ax.annotate(f"ML(0.5)={ml}", (ml, r[ml]), xytext=(9, 6 + 14 * j), textcoords="offset points",
                            color=color, fontsize=8.5, fontweight="bold", bbox=_BOX, zorder=6)
        for tau, name in THRESHOLDS:
            ax.axhline(tau, color="0.35", ls=":", lw=1.2)
            ax.annotate(f"{name} (τ = {tau:g})", (1.0, tau), xycoords=("axes fraction", "data"),
                        xytext=(-4, 3), textcoords="offset points", ha="right", va="bottom",
                        fontsize=8.5, color="0.3", bbox=_BOX, zorder=6)
        ax.axhline(0.0, color="0.75", lw=0.8, zorder=0)
        if len(distance):
            ax.set_xlim(distance[0] - 0.3, distance[-1] + 0.3)
        ax.set_ylim(*_retention_limits(report))
        ax.set_xlabel("distance from the end d (tokens; d = 0 is the last token)")
        ax.set_ylabel("retention r(d)")
        ax.set_title(f"Retention r(d) of a token's semantics at the end — {_n_sequences(report)}, 95% CI bands")
        ax.grid(True, alpha=0.25)
        if report.estimators:
            ax.legend(loc="upper right", bbox_to_anchor=(1.0, 0.93), framealpha=0.9)
        else:
            ax.text(0.5, 0.5, "no retention estimator was computed", transform=ax.transAxes, ha="center")
    return fig


def _retention_limits(report) -> tuple[float, float]:
    """y range holding every band, never narrower than [-0.05, 1.08] so the tau lines show."""
    cols = [f"{n}_{side}" for n in report.estimators for side in ("lo", "hi")]
    values = report.retention[cols].to_numpy(float) if cols else np.empty(0)
    values = values[np.isfinite(values)]
    if not len(values):
        return -0.05, 1.08
    return min(-0.05, float(values.min()) - 0.05), max(1.08, float(values.max()) * 1.05)


def plot_retention(report, path: str | Path) -> Path:
    return _save(retention_figure(report), path)


# -- fidelity --------------------------------------------------------------------------
def fidelity_figure(report) -> Figure:
    """cos(S, S*) by sequence length with its 95% band, R^2 beside it, and the knee."""
    with matplotlib.rc_context(_STYLE):
        fig = _figure()
        ax = fig.add_subplot()
        table = report.fidelity
        length = table["length"].to_numpy(float)
        cosine = table["cosine"].to_numpy(float)
        r2 = table["r2"].to_numpy(float)
        ax.fill_between(length, table["cosine_lo"].to_numpy(float), table["cosine_hi"].to_numpy(float),
                        color="#0072B2", alpha=0.18, linewidth=0)
        ax.plot(length, cosine, color="#0072B2", lw=1.8, marker="o" if len(length) <= 40 else None, ms=3.5,
                label="cosine(S(x), S*(x)), 95% CI")
        floor = -1.0  # R^2 is unbounded below; past -1 the line leaves the axes rather than squash the cosine
        below = bool(np.any(r2[np.isfinite(r2)] < floor))
        ax.plot(length, r2, color="#D55E00", lw=1.5, ls="--",
                label="R² of S*(x) for S(x)" + (" (below −1 off the axes)" if below else ""))
        sparse = length[table["sequences"].to_numpy() < FEW_SEQUENCES]
        if len(sparse):  # the tail where only a handful of sequences are that long: read with care
            ax.axvspan(sparse.min() - 0.5, length[-1] + 0.5, color="0.9", zorder=0,
                       label=f"fewer than {FEW_SEQUENCES} sequences this long")
        knee = report.fidelity_knee()
        if knee is not None:
            ax.axvline(knee, color="0.3", ls="-.", lw=1.2, label=f"knee: length {knee:g}")
            ax.annotate(f"knee = {knee:g}", (knee, 1.0), xycoords=("data", "axes fraction"), xytext=(4, -14),
                        textcoords="offset points", fontsize=8.5, color="0.25")
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
        ax.legend(loc="lower left", framealpha=0.9)
    return fig


def plot_fidelity(report, path: str | Path) -> Path:
    return _save(fidelity_figure(report), path)


# -- the Semantic Euclidean Space --------------------------------------------------------
def ses_figure(report) -> Figure:
    """Word points (size = count), the most frequent words named, and a few trajectories from the origin.

    K > 2: the first two principal directions of the word points (trajectories projected on
    the same axes); K = 2: the SES itself; K = 1: the SES coordinate on x, with the words
    ranked by frequency on y in one panel and the trajectories against the step t in another.
    """
    k = report.num_dimensions
    points = report.word_points[[f"s{i}" for i in range(k)]].to_numpy(float)
    trajectories = list(report.trajectories)[:N_TRAJECTORIES]
    captions = [_caption(report, i) for i in range(len(trajectories))]
    return ses_figure_from_arrays(points, report.word_points["count"].to_numpy(float), report.words(),
                                  report.label_names, trajectories, captions)


def _plane(ax, points: np.ndarray, names: list[str]):
    """(coords [N, 2], axes [2, K], kind) of points drawn in a plane of the SES.

    For K = 2 that is the SES itself, with its axes labelled and its kind named; for K > 2
    the top two principal directions, which the caller labels (kind None).
    """
    if points.shape[1] == 2:
        ax.set_xlabel(f"{names[0]} (SES axis 1)")
        ax.set_ylabel(f"{names[1]} (SES axis 2)")
        return points, np.eye(2), "the SES itself (K = 2)"
    coords, axes = project_2d(points)
    return coords, axes, None


def ses_figure_from_arrays(points: np.ndarray, counts: np.ndarray, words: list[str], label_names: list[str],
                           trajectories: list, captions: list[str], heading: str | None = None) -> Figure:
    """`ses_figure` drawn from plain arrays, for SES data kept without a MemoryReport (e.g. in a results store).

    points [V, K] word points, counts [V], words [V], trajectories: up to N_TRAJECTORIES arrays [L, K]
    with one caption each; ``heading`` (optional) is put above the title.
    """
    points = np.asarray(points, float).reshape(len(words), -1)
    counts = np.asarray(counts, float)
    k = points.shape[1]
    names = list(label_names) or [f"dim {i}" for i in range(k)]
    sizes = 12 + 140 * np.sqrt(counts / max(counts.max(), 1.0)) if len(counts) else counts
    labelled = _words_to_label(words, counts)
    trajectories = list(trajectories)[:N_TRAJECTORIES]

    with matplotlib.rc_context(_STYLE):
        if k == 1:
            fig = _ses_1d(points[:, 0], counts, sizes, words, labelled, trajectories, captions, names)
            if heading:
                fig.suptitle(f"{heading}\n{fig.get_suptitle()}", fontsize=11)
            return fig
        fig = _figure(8.0, 6.4)
        ax = fig.add_subplot()
        coords, axes, kind = _plane(ax, points, names)
        if kind is None:
            share = _explained(points, axes)
            ax.set_xlabel(f"PC1 of the SES ({share[0]:.0%} of word-point variance)")
            ax.set_ylabel(f"PC2 of the SES ({share[1]:.0%} of word-point variance)")
            kind = f"first two principal directions of the K = {k} SES"
        ax.scatter(coords[:, 0], coords[:, 1], s=sizes, color="0.55", alpha=0.45, edgecolors="0.35",
                   linewidths=0.4, label="word points s(w) (size = count)", zorder=2)
        for i in labelled:
            ax.annotate(words[i], (coords[i, 0], coords[i, 1]), xytext=(3, 3), textcoords="offset points",
                        fontsize=8, color="0.1", zorder=6, path_effects=_HALO)
        for j, (traj, caption) in enumerate(zip(trajectories, captions)):
            color = TRAJECTORY_COLORS[j % len(TRAJECTORY_COLORS)]
            path = np.vstack([np.zeros((1, 2)), np.asarray(traj, float) @ axes.T])
            ax.plot(path[:, 0], path[:, 1], color=color, lw=1.2, marker="o", ms=2.5, alpha=0.85, zorder=3, label=caption)
            for a, b in zip(path[:-1], path[1:]):
                if np.linalg.norm(b - a) > 0:
                    ax.annotate("", b, a, arrowprops=dict(arrowstyle="-|>", color=color, lw=1.0, shrinkA=0, shrinkB=0,
                                                          mutation_scale=9), zorder=3)
            ax.plot(*path[-1], marker="*", ms=16, color=color, mec="black", mew=0.8, zorder=7)
        ax.plot(0, 0, marker="P", ms=11, color="black", ls="none", zorder=8, label="origin o₀ (empty sequence)")
        ax.axhline(0, color="0.8", lw=0.8, zorder=1)
        ax.axvline(0, color="0.8", lw=0.8, zorder=1)
        ax.set_title((f"{heading}\n" if heading else "") +
                     f"Semantic Euclidean Space: {kind}\naxes {', '.join(names)}; {len(points)} word points, "
                     f"{len(trajectories)} trajectories (★ = final point S(x))")
        ax.grid(True, alpha=0.2)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=1, framealpha=0.9)
    return fig


def _ses_1d(x, counts, sizes, words, labelled, trajectories, captions, names) -> Figure:
    fig = _figure(8.0, 7.0)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    rank = np.empty(len(counts), int)
    rank[np.argsort(-counts, kind="stable")] = np.arange(1, len(counts) + 1)
    top.scatter(x, rank, s=sizes, color="0.55", alpha=0.45, edgecolors="0.35", linewidths=0.4,
                label="word points s(w) (size = count)")
    for i in labelled:
        top.annotate(words[i], (x[i], rank[i]), xytext=(3, 2), textcoords="offset points", fontsize=8, color="0.1",
                     path_effects=_HALO)
    top.axvline(0, color="black", lw=1.0, label="origin o₀ (empty sequence)")
    top.invert_yaxis()
    top.set_xlabel(f"SES coordinate: {names[0]}")
    top.set_ylabel("word frequency rank (1 = most frequent)")
    top.tick_params(labelbottom=True)
    top.legend(loc="best", framealpha=0.9)
    top.grid(True, alpha=0.2)
    for j, (traj, caption) in enumerate(zip(trajectories, captions)):
        color = TRAJECTORY_COLORS[j % len(TRAJECTORY_COLORS)]
        values = np.concatenate([[0.0], np.asarray(traj, float)[:, 0]])
        steps = np.arange(len(values))
        bottom.plot(values, steps, color=color, lw=1.4, marker="o", ms=2.5, label=caption)
        bottom.plot(values[-1], steps[-1], marker="*", ms=15, color=color, mec="black", mew=0.8)
    bottom.axvline(0, color="black", lw=1.0)
    bottom.invert_yaxis()
    bottom.set_xlabel(f"SES coordinate: {names[0]}")
    bottom.set_ylabel("step t (tokens read)")
    if trajectories:
        bottom.legend(loc="best", framealpha=0.9)
    bottom.grid(True, alpha=0.2)
    fig.suptitle(f"Semantic Euclidean Space (K = 1): x = the SES coordinate\ny = word frequency rank (top); "
                 f"step t of {len(trajectories)} trajectories (bottom, ★ = final point S(x))", fontsize=11)
    return fig


def _words_to_label(words: list[str], counts: np.ndarray) -> list[int]:
    """Indices of the most frequent words, skipping pad/unk-like tokens that start with '<'."""
    order = np.argsort(-counts, kind="stable")
    return [int(i) for i in order if not str(words[i]).startswith("<")][:N_LABELLED_WORDS]


def _explained(points: np.ndarray, axes: np.ndarray) -> np.ndarray:
    centred = points - points.mean(axis=0)
    total = float((centred ** 2).sum())
    return ((centred @ axes.T) ** 2).sum(axis=0) / total if total > 0 else np.zeros(len(axes))


def _caption(report, i: int, n_words: int = 8) -> str:
    ids = list(report.trajectory_tokens[i]) if i < len(report.trajectory_tokens) else []
    if report.vocabulary is not None:
        try:
            shown = " ".join(report.vocabulary.decode(ids[:n_words]))
        except (IndexError, KeyError, TypeError):
            shown = "ids " + " ".join(map(str, ids[:n_words]))
    else:
        shown = "ids " + " ".join(map(str, ids[:n_words]))
    return _format_caption(shown, len(ids), n_words)


def words_caption(words: list[str], n_words: int = 8) -> str:
    """Legend caption of a trajectory from its decoded words, in the form `_caption` gives."""
    return _format_caption(" ".join(map(str, words[:n_words])), len(words), n_words)


def _format_caption(shown: str, n_tokens: int, n_words: int) -> str:
    if n_tokens > n_words or len(shown) > 60:
        shown = (shown[:58] if len(shown) > 60 else shown) + " …"
    return f"“{shown}” ({n_tokens} tokens)"


def plot_ses(report, path: str | Path) -> Path:
    return _save(ses_figure(report), path)


# -- the hull view -----------------------------------------------------------------------
PILLAR_COLOR = "#D55E00"


def hull_figure(report) -> Figure:
    """One sequence's word points, their convex hull, the pillar words named, and its final point S(x).

    Filled markers are words still retained at the end (occluding them moves S(x) by at least
    tau times their own effect), hollow ones are forgotten; the dashed outline is the hull of
    the retained words, whose share of the whole is the retained volume.

    K = 2: the SES itself; K > 2: the first two principal directions of the sequence's word
    points, where the polygon is the hull of the projection while the pillars marked are those
    of the hull in (up to) three dimensions; K = 1: the SES coordinate on x against the word's
    distance from the end on y, the hull being the interval between the extreme words.
    """
    example = report.hull.example
    points = np.asarray(example["points"], float)
    final = np.asarray(example["final"], float)
    pillars = np.asarray(example["pillars"], bool)
    retained = np.asarray(example["retained"], bool)
    distances = np.asarray(example["distances"])
    words = report.vocabulary.decode(example["tokens"]) if report.vocabulary is not None else [str(t) for t in example["tokens"]]
    k = points.shape[1]
    names = report.label_names or [f"dim {i}" for i in range(k)]
    with matplotlib.rc_context(_STYLE):
        fig = _figure(8.0, 6.4)
        ax = fig.add_subplot()
        if k == 1:
            coords, end = np.column_stack([points[:, 0], distances]), np.array([final[0], -1.0])
            ax.axvspan(points[:, 0].min(), points[:, 0].max(), color=PILLAR_COLOR, alpha=0.08, label="hull (interval)")
            ax.set_xlabel(f"SES coordinate: {names[0]}")
            ax.set_ylabel("distance from the end d (S(x) drawn at d = −1)")
            ax.invert_yaxis()
            kind = "the SES (K = 1) against the distance from the end"
        else:
            coords, axes, kind = _plane(ax, points, names)
            if kind is None:
                ax.set_xlabel("PC1 of the sequence's word points")
                ax.set_ylabel("PC2 of the sequence's word points")
                kind = f"first two principal directions of its word points (K = {k}; polygon = hull of the projection)"
            end = final @ axes.T
            _draw_polygon(ax, coords, label="convex hull of all words")
            if retained.sum() >= 2:
                _draw_polygon(ax, coords[retained], label="hull of the retained words", ls="--", fill=False)
        for name, chosen, color, size in (("pillar word", pillars, PILLAR_COLOR, 64), ("word", ~pillars, "0.55", 28)):
            for kept in (True, False):  # filled = retained, hollow = forgotten
                pick = chosen & (retained == kept)
                if pick.any():
                    ax.scatter(coords[pick, 0], coords[pick, 1], s=size, facecolors=color if kept else "white",
                               edgecolors="black" if kept else color, linewidths=0.6 if kept else 1.4,
                               zorder=5 if kept else 4,  # a repeated word retained at one distance shows as retained
                               label=f"{name}, {'retained' if kept else 'forgotten'}")
        at_point: dict[tuple, list[int]] = {}  # a repeated word sits on one point: one label with all its distances
        for i in np.flatnonzero(pillars):
            at_point.setdefault((words[i], *coords[i]), []).append(i)
        for (word, *_), rows in at_point.items():
            ax.annotate(f"{word} (d={', '.join(str(distances[i]) for i in rows)})", coords[rows[0]], xytext=(4, 4),
                        textcoords="offset points", fontsize=8.5, color="0.1", zorder=6, path_effects=_HALO)
        ax.plot(*end, marker="*", ms=17, color=TRAJECTORY_COLORS[0], mec="black", mew=0.8, ls="none", zorder=7,
                label="final point S(x)")
        ax.set_title(f"Semantic hull of one sequence ({len(points)} words, hull route {example['route']}; "
                     f"retained = r ≥ τ = {report.hull.tau:g})\n{kind}", fontsize=10)
        ax.grid(True, alpha=0.2)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=2, framealpha=0.9)
    return fig


def _draw_polygon(ax, coords: np.ndarray, label: str, ls: str = "-", fill: bool = True) -> None:
    """The convex hull of 2-D points as a filled polygon (a segment when they are collinear)."""
    try:
        ring = coords[ConvexHull(coords).vertices]
    except (QhullError, ValueError):  # collinear or too few points: the hull is the segment between the extremes
        along = (coords - coords.mean(axis=0)) @ np.linalg.svd(coords - coords.mean(axis=0))[2][0]
        ring = coords[[np.argmin(along), np.argmax(along)]]
    if fill:
        ax.fill(ring[:, 0], ring[:, 1], color=PILLAR_COLOR, alpha=0.1, zorder=1)
    closed = np.vstack([ring, ring[:1]])
    ax.plot(closed[:, 0], closed[:, 1], color=PILLAR_COLOR if fill else "0.25", lw=1.3, ls=ls, zorder=2, label=label)


def plot_hull(report, path: str | Path) -> Path:
    return _save(hull_figure(report), path)


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
    with matplotlib.rc_context(_STYLE):
        fig = _figure(6.0 * len(views) + 1.0, 5.8)
        axes = np.atleast_1d(fig.subplots(1, len(views), squeeze=False)[0])
        for ax, (v, title, color) in zip(axes, views):
            x, y = np.asarray(v.valence, float), np.asarray(v.axis, float)
            ax.scatter(x, y, s=9, color=color, alpha=0.35, edgecolors="none", label="one rated word", zorder=2)
            centres = np.arange(-4, 5)
            medians = [np.median(y[np.abs(x - c) <= 0.5]) if np.any(np.abs(x - c) <= 0.5) else np.nan for c in centres]
            ax.plot(centres, medians, color="black", lw=1.4, marker="o", ms=3.5, zorder=4,
                    label="median per unit of valence")
            order = np.argsort(y, kind="stable")
            for i in dict.fromkeys([*order[:N_EXTREME_WORDS], *order[::-1][:N_EXTREME_WORDS]]):
                right = x[i] > 2  # named on the left of the point, so the name stays inside the panel
                ax.annotate(v.words[i], (x[i], y[i]), xytext=(-3 if right else 3, 2), textcoords="offset points",
                            ha="right" if right else "left", fontsize=8, color="0.1", zorder=6, path_effects=_HALO)
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
    return fig


def plot_validity(report, path: str | Path) -> Path:
    return _save(validity_figure(report), path)
