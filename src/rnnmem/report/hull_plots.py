"""The semantic hull of one sequence: its word points, their convex hull, the pillar words named, and S(x)."""

from __future__ import annotations

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from rnnmem.indicators.hull import hull_vertices
from rnnmem.report.ses_plots import plane
from rnnmem.report.style import HALO, PILLAR_COLOR, STYLE, TRAJECTORY_COLORS, legend_below, new_figure, place_labels


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
            coords, axes, kind = plane(ax, points, names)
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
        ax.plot(*end, marker="*", ms=17, color=TRAJECTORY_COLORS[0], mec="black", mew=0.8, ls="none", zorder=7,
                label="final point S(x)")
        ax.set_title(f"Semantic hull of one sequence ({len(points)} words, hull route {example['route']}; "
                     f"retained = r ≥ τ = {report.hull.tau:g})\n{kind}", fontsize=10)
        ax.grid(True, alpha=0.2)
        legend_below(ax, ncol=2)
        at_point: dict[tuple, list[int]] = {}  # a repeated word sits on one point: one label with all its distances
        for i in np.flatnonzero(pillars):
            at_point.setdefault((words[i], *coords[i]), []).append(i)
        text_style = dict(fontsize=8.5, color="0.1", zorder=6, path_effects=HALO)
        place_labels(ax, [(f"{word} (d={', '.join(str(distances[i]) for i in rows)})", tuple(coords[rows[0]]),
                           text_style) for (word, *_), rows in at_point.items()],
                     markers=[(tuple(end), 17)] + [(tuple(c), 9) for c in coords])
    return fig


def _draw_polygon(ax, coords: np.ndarray, label: str, ls: str = "-", fill: bool = True) -> None:
    """The convex hull of 2-D points as a filled polygon (a segment when they are collinear)."""
    ring = coords[hull_vertices(coords)]  # a polygon in order, or the segment between the extremes when collinear
    if fill:
        ax.fill(ring[:, 0], ring[:, 1], color=PILLAR_COLOR, alpha=0.1, zorder=1)
    closed = np.vstack([ring, ring[:1]])
    ax.plot(closed[:, 0], closed[:, 1], color=PILLAR_COLOR if fill else "0.25", lw=1.3, ls=ls, zorder=2, label=label)
