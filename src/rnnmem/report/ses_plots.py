"""Figures of the Semantic Euclidean Space: where sequences end, class means, typical trajectories, named words.

K = 2 draws the SES itself, K > 2 its first two principal directions, K = 1 the SES
coordinate against a second, named quantity.
"""

from __future__ import annotations

import matplotlib
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from rnnmem.report.style import (HALO, N_TRAJECTORIES, OKABE_ITO, STYLE, TRAJECTORY_COLORS, drawable, legend_below,
                                  new_figure, place_labels)
from rnnmem.ses import project_2d
from rnnmem.validation import counted

N_FREQUENT_WORDS = 8  # words named for being frequent ...
N_EXTREME_WORDS = 10  # ... and, among the more frequent quarter, for lying furthest from the origin
DENSITY_CMAP = "Purples"  # no class colour is purple
MANY_CLASSES = 6  # past this many classes, the legend names the class means once, not one entry each


def ses_figure(report) -> Figure:
    """Where sequences end in the SES (density), each class's mean end point, a typical trajectory per class, named words.

    K > 2: the first two principal directions of the word points (everything projected on
    the same axes); K = 2: the SES itself; K = 1: the SES coordinate on x, with the words
    ranked by frequency on y in one panel and the trajectories against the step t in another.
    """
    trajectories = list(report.trajectories)
    captions = [_caption(report, i) for i in range(len(trajectories))]
    return ses_figure_from_arrays(report.ses_points(), report.word_points["count"].to_numpy(float), report.words(),
                                  report.label_names, trajectories, captions,
                                  sequence_points=report.sequence_points, sequence_labels=report.sequence_labels)


def plane(ax, points: np.ndarray, names: list[str]):
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


def typical_trajectories(trajectories: list, sequence_points, sequence_labels, n: int = N_TRAJECTORIES) -> list[int]:
    """Which kept trajectories to draw: for each of the ``n`` most populous classes, the one ending nearest its class mean.

    Trajectory i is that of sequence i (the first sequences are kept). Without labels or end
    points: the first ``n``.
    """
    if sequence_labels is None or sequence_points is None or not len(trajectories):
        return list(range(min(n, len(trajectories))))
    labels = np.asarray(sequence_labels)
    points = np.asarray(sequence_points, float)
    ends = np.array([np.asarray(t, float)[-1] for t in trajectories])
    kept_labels = labels[: len(trajectories)]
    classes, sizes = np.unique(labels, return_counts=True)
    chosen = []
    for c in classes[np.argsort(-sizes, kind="stable")]:
        candidates = np.flatnonzero(kept_labels == c)
        if len(candidates) and len(chosen) < n:
            mean = points[labels == c].mean(axis=0)
            chosen.append(int(candidates[np.argmin(np.linalg.norm(ends[candidates] - mean, axis=1))]))
    return chosen


def ses_figure_from_arrays(points: np.ndarray, counts: np.ndarray, words: list[str], label_names: list[str],
                           trajectories: list, captions: list[str], heading: str | None = None,
                           sequence_points=None, sequence_labels=None) -> Figure:
    """`ses_figure` drawn from plain arrays, for SES data kept without a MemoryReport (e.g. in a results store).

    points [V, K] word points, counts [V], words [V], trajectories: arrays [L, K] of the first
    sequences with one caption each; ``heading`` (optional) is put above the title;
    sequence_points [N, K] and sequence_labels [N] (optional): every sequence's end point S(x)
    and class, drawn as a density with the class means, and used to pick a typical trajectory per class.
    """
    points = np.asarray(points, float).reshape(len(words), -1)
    counts = np.asarray(counts, float)
    k = points.shape[1]
    names = list(label_names) or [f"dim {i}" for i in range(k)]
    sizes = 6 + 90 * np.sqrt(counts / max(counts.max(), 1.0)) if len(counts) else counts
    ends = None if sequence_points is None else np.asarray(sequence_points, float).reshape(-1, k)
    labels = None if sequence_labels is None or ends is None or len(sequence_labels) != len(ends) \
        else np.asarray(sequence_labels)
    chosen = typical_trajectories(trajectories, ends, labels)
    trajectories = [trajectories[i] for i in chosen]
    captions = [(f"{_class_name(names, labels[i])}: " if labels is not None else "") + captions[i] for i in chosen]

    with matplotlib.rc_context(STYLE):
        if k == 1:
            fig = _ses_1d(points[:, 0], counts, sizes, words, _frequent_words(words, counts), trajectories, captions,
                          names, ends, labels)
            if heading:
                fig.suptitle(f"{heading}\n{fig.get_suptitle()}", fontsize=11)
            return fig
        fig = new_figure(8.0, 7.6)
        ax = fig.add_subplot()
        coords, axes, kind = plane(ax, points, names)
        if kind is None:
            share = _explained(points, axes)
            ax.set_xlabel(f"PC1 of the SES ({share[0]:.0%} of word-point variance)")
            ax.set_ylabel(f"PC2 of the SES ({share[1]:.0%} of word-point variance)")
            kind = f"first two principal directions of the K = {k} SES"
        marks = []
        ends_2d = None if ends is None else ends @ axes.T
        if ends_2d is not None and len(ends_2d) > 1:
            cmap = ListedColormap(matplotlib.colormaps[DENSITY_CMAP](np.linspace(0.3, 1.0, 256)))
            density = ax.hexbin(ends_2d[:, 0], ends_2d[:, 1], gridsize=16, mincnt=1, cmap=cmap, linewidths=0.3,
                                edgecolors="white", alpha=0.8, zorder=3)  # above the trajectories: where they end
            ax.scatter([], [], marker="h", s=90, color=cmap(0.5),
                       label=f"end points S(x) of {len(ends_2d)} sequences (density)")
            fig.colorbar(density, ax=ax, shrink=0.7, pad=0.01, label="sequences ending in the cell",
                         ticks=MaxNLocator(integer=True))
        ax.scatter(coords[:, 0], coords[:, 1], s=sizes, color="0.6", alpha=0.3, edgecolors="none",
                   label="word points s(w) (size = count)", zorder=1)
        for j, (traj, caption) in enumerate(zip(trajectories, captions)):
            color = TRAJECTORY_COLORS[j % len(TRAJECTORY_COLORS)] if labels is None else _class_color(labels[chosen[j]])
            path = np.vstack([np.zeros((1, 2)), np.asarray(traj, float) @ axes.T])
            ax.plot(path[:, 0], path[:, 1], color=color, lw=0.9, alpha=0.8, zorder=2, label=caption)
            ax.annotate("", path[-1], path[-2], arrowprops=dict(arrowstyle="-|>", color=color, lw=1.3, shrinkA=0,
                                                               shrinkB=0, mutation_scale=14), zorder=4)
            ax.plot(*path[-1], marker="*", ms=15, color=color, mec="black", mew=0.8, zorder=7)
            marks.append((path[-1], 15))
        class_labels = _draw_class_means(ax, ends_2d, labels, names, marks)
        ax.plot(0, 0, marker="P", ms=11, color="black", ls="none", zorder=8, label="origin o₀ (empty sequence)")
        marks.append(((0, 0), 14))
        ax.axhline(0, color="0.8", lw=0.8, zorder=0)
        ax.axvline(0, color="0.8", lw=0.8, zorder=0)
        what = f"{len(trajectories)} typical trajectories (★ = final point S(x))" if labels is not None else \
            f"{len(trajectories)} trajectories (★ = final point S(x))"
        ax.set_title((f"{heading}\n" if heading else "") +
                     f"Semantic Euclidean Space: {kind}\naxes {', '.join(names)}; {len(points)} word points, {what}")
        ax.grid(True, alpha=0.2)
        legend_below(ax)
        place_labels(ax, class_labels, markers=marks)
        word_style = dict(fontsize=8, color="0.1", zorder=6, path_effects=HALO)
        place_labels(ax, [(words[i], tuple(coords[i]), word_style) for i in _words_to_label(words, counts, coords)],
                     markers=marks, required=False)
    return fig


def _draw_class_means(ax, ends, labels, names, marks: list) -> list:
    """Each class's mean end point as a large cross; returns their labels for `place_labels`."""
    if ends is None or labels is None:
        return []
    classes = np.unique(labels)
    out = []
    for c in classes:
        mean = ends[labels == c].mean(axis=0)
        name = _class_name(names, c)
        legend = (f"mean end point of class {name} ({int((labels == c).sum())} sequences)"
                  if len(classes) <= MANY_CLASSES else ("mean end point of each class" if c == classes[0] else None))
        ax.plot(*mean, marker="X", ms=13, color=_class_color(c), mec="black", mew=1.0, ls="none", zorder=7,
                label=legend)
        marks.append((mean, 13))
        out.append((name, tuple(mean), dict(fontsize=9, fontweight="bold", color=_class_color(c), zorder=8,
                                            path_effects=HALO)))
    return out


def _class_name(names: list[str], label) -> str:
    index = int(label)
    return names[index] if 0 <= index < len(names) else f"class {index}"


def _class_color(label) -> str:
    return OKABE_ITO[int(label) % len(OKABE_ITO)]


def _ses_1d(x, counts, sizes, words, labelled, trajectories, captions, names, ends, labels) -> Figure:
    """K = 1: words by frequency rank, the trajectories against the step t and, when known, where sequences end."""
    with_ends = ends is not None and len(ends) > 1
    fig = new_figure(8.0, 9.0 if with_ends else 7.0)
    panels = fig.subplots(3 if with_ends else 2, 1, sharex=True, height_ratios=[3, 2, 1.6][: 3 if with_ends else 2])
    top, middle = panels[:2]
    rank = np.empty(len(counts), int)
    rank[np.argsort(-counts, kind="stable")] = np.arange(1, len(counts) + 1)
    top.scatter(x, rank, s=sizes, color="0.55", alpha=0.45, edgecolors="0.35", linewidths=0.4,
                label="word points s(w) (size = count)")
    top.axvline(0, color="black", lw=1.0, label="origin o₀ (empty sequence)")
    top.invert_yaxis()
    top.set_ylabel("word frequency rank (1 = most frequent)")
    top.legend(loc="best", framealpha=0.9)
    for j, (traj, caption) in enumerate(zip(trajectories, captions)):
        color = TRAJECTORY_COLORS[j % len(TRAJECTORY_COLORS)]
        values = np.concatenate([[0.0], np.asarray(traj, float)[:, 0]])
        steps = np.arange(len(values))
        middle.plot(values, steps, color=color, lw=1.4, marker="o", ms=2.5, label=caption)
        middle.plot(values[-1], steps[-1], marker="*", ms=15, color=color, mec="black", mew=0.8)
    middle.axvline(0, color="black", lw=1.0)
    middle.invert_yaxis()
    middle.set_ylabel("step t (tokens read)")
    if trajectories:
        middle.legend(loc="best", framealpha=0.9)
    if with_ends:
        _end_histogram(panels[2], ends[:, 0], labels, names)
    for ax in panels:
        ax.set_xlabel(f"SES coordinate: {names[0]}")
        ax.tick_params(labelbottom=True)
        ax.grid(True, alpha=0.2)
    fig.suptitle(f"Semantic Euclidean Space (K = 1): x = the SES coordinate\ny = word frequency rank (top), "
                 f"step t of {len(trajectories)} trajectories (★ = final point S(x))"
                 + ("\nand how many sequences end there (bottom)" if with_ends else ""), fontsize=11)
    place_labels(top, [(words[i], (x[i], rank[i]), dict(fontsize=8, color="0.1", path_effects=HALO)) for i in labelled],
                 required=False)
    return fig


def _end_histogram(ax, ends: np.ndarray, labels, names) -> None:
    """How many sequences end at each SES coordinate, per class when known, with each class's mean as a line."""
    bins = np.histogram_bin_edges(ends, bins=30)
    groups = [(None, np.ones(len(ends), bool))] if labels is None else [(c, labels == c) for c in np.unique(labels)]
    for c, members in groups:
        color = "0.3" if c is None else _class_color(c)
        name = "all sequences" if c is None else f"class {_class_name(names, c)}"
        ax.hist(ends[members], bins=bins, histtype="step", lw=1.6, color=color,
                label=f"{name}: {int(members.sum())} end points S(x)")
        ax.axvline(ends[members].mean(), color=color, ls="--", lw=1.2)
    ax.axvline(0, color="black", lw=1.0)
    ax.set_ylabel("sequences\n(dashed: mean)")
    ax.legend(loc="best", framealpha=0.9, fontsize=7.5)


def _frequent_words(words: list[str], counts: np.ndarray, n: int = N_FREQUENT_WORDS) -> list[int]:
    """Indices of the most frequent nameable words (see `_nameable`)."""
    order = np.argsort(-counts, kind="stable")
    return [int(i) for i in order if _nameable(words[i])][:n]


def _words_to_label(words: list[str], counts: np.ndarray, coords: np.ndarray) -> list[int]:
    """The most frequent words, then the most extreme: furthest from the origin in the drawn plane.

    Extremes are taken among the more frequent quarter of the words, whose points rest on many
    occurrences in training, not on a word seen once.
    """
    frequent = _frequent_words(words, counts)
    common = counts >= np.quantile(counts, 0.75) if len(counts) else np.zeros(0, bool)
    far = [int(i) for i in np.argsort(-np.linalg.norm(coords, axis=1), kind="stable")
           if common[i] and _nameable(words[i]) and int(i) not in frequent][:N_EXTREME_WORDS]
    return frequent + far


def _nameable(word) -> bool:
    """A word worth a label: it has a letter or digit and is no pad/unk-like token ('<...')."""
    word = str(word)
    return not word.startswith("<") and any(ch.isalnum() for ch in word)


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
    return f"“{drawable(shown)}” ({counted(n_tokens, 'token')})"
