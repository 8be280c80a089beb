"""Figures of the Semantic Euclidean Space: word points with a few trajectories, and one sequence's semantic hull.

K = 2 draws the SES itself, K > 2 its first two principal directions, K = 1 the SES
coordinate against a second, named quantity.
"""

from __future__ import annotations

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from rnnmem.indicators.hull import hull_vertices
from rnnmem.report.style import HALO, N_TRAJECTORIES, PILLAR_COLOR, STYLE, TRAJECTORY_COLORS, new_figure
from rnnmem.ses import project_2d

N_LABELLED_WORDS = 25


def ses_figure(report) -> Figure:
    """Word points (size = count), the most frequent words named, and a few trajectories from the origin.

    K > 2: the first two principal directions of the word points (trajectories projected on
    the same axes); K = 2: the SES itself; K = 1: the SES coordinate on x, with the words
    ranked by frequency on y in one panel and the trajectories against the step t in another.
    """
    points = report.ses_points()
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

    with matplotlib.rc_context(STYLE):
        if k == 1:
            fig = _ses_1d(points[:, 0], counts, sizes, words, labelled, trajectories, captions, names)
            if heading:
                fig.suptitle(f"{heading}\n{fig.get_suptitle()}", fontsize=11)
            return fig
        fig = new_figure(8.0, 6.4)
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
                        fontsize=8, color="0.1", zorder=6, path_effects=HALO)
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
    fig = new_figure(8.0, 7.0)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    rank = np.empty(len(counts), int)
    rank[np.argsort(-counts, kind="stable")] = np.arange(1, len(counts) + 1)
    top.scatter(x, rank, s=sizes, color="0.55", alpha=0.45, edgecolors="0.35", linewidths=0.4,
                label="word points s(w) (size = count)")
    for i in labelled:
        top.annotate(words[i], (x[i], rank[i]), xytext=(3, 2), textcoords="offset points", fontsize=8, color="0.1",
                     path_effects=HALO)
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



# -- the hull view -----------------------------------------------------------------------


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
    with matplotlib.rc_context(STYLE):
        fig = new_figure(8.0, 6.4)
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
                        textcoords="offset points", fontsize=8.5, color="0.1", zorder=6, path_effects=HALO)
        ax.plot(*end, marker="*", ms=17, color=TRAJECTORY_COLORS[0], mec="black", mew=0.8, ls="none", zorder=7,
                label="final point S(x)")
        ax.set_title(f"Semantic hull of one sequence ({len(points)} words, hull route {example['route']}; "
                     f"retained = r ≥ τ = {report.hull.tau:g})\n{kind}", fontsize=10)
        ax.grid(True, alpha=0.2)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=2, framealpha=0.9)
    return fig


def _draw_polygon(ax, coords: np.ndarray, label: str, ls: str = "-", fill: bool = True) -> None:
    """The convex hull of 2-D points as a filled polygon (a segment when they are collinear)."""
    ring = coords[hull_vertices(coords)]  # a polygon in order, or the segment between the extremes when collinear
    if fill:
        ax.fill(ring[:, 0], ring[:, 1], color=PILLAR_COLOR, alpha=0.1, zorder=1)
    closed = np.vstack([ring, ring[:1]])
    ax.plot(closed[:, 0], closed[:, 1], color=PILLAR_COLOR if fill else "0.25", lw=1.3, ls=ls, zorder=2, label=label)
