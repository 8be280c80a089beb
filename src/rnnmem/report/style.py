"""The one plot style of rnnmem: sizes, colours, the threshold lines and how a figure is made and saved.

Figures are made with ``matplotlib.figure.Figure`` directly, never through pyplot, so no
global state, no GUI backend and nothing left open. Draw inside ``matplotlib.rc_context(STYLE)``.
"""

from __future__ import annotations

import functools
from pathlib import Path

import matplotlib.ticker
import numpy as np
from matplotlib import patheffects
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Annotation, Text
from matplotlib.transforms import Bbox

from rnnmem.fileio import save_png
from rnnmem.indicators.estimators import registered

DPI = 120
TRAJECTORY_COLORS = ["#CC79A7", "#E69F00", "#56B4E9", "#000000"]
# Units of a study and classes of a corpus (Okabe-Ito).
OKABE_ITO = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]
UNIT_MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
PILLAR_COLOR = "#D55E00"
THRESHOLDS = ((0.5, "half-life"), (0.1, "horizon"))
N_TRAJECTORIES = 4

LEADER = dict(arrowstyle="-", color="0.45", lw=0.6, shrinkA=0, shrinkB=2)
BOX = dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.85)
HALO = [patheffects.withStroke(linewidth=2.5, foreground="white")]
NEAR_RANGE = 20  # the distances a retention axis keeps linear; past it the axis is logarithmic
DISTANCE_TICKS = (0, 5, 10, 15, 20, 50, 100, 200, 500, 1000, 2000, 5000)
# Where a label may go around its point (points right, up), tried in this order, nearest first.
LABEL_OFFSETS = tuple((dx * r, dy * r) for r in (1, 2, 3.5, 5.5)
                      for dx, dy in ((5, 4), (5, -4), (-5, 4), (-5, -4), (0, 6), (0, -6)))
STYLE = {"font.size": 10, "axes.titlesize": 11, "axes.labelsize": 10, "legend.fontsize": 8.5}


MISSING_GLYPH = "□"


@functools.lru_cache(maxsize=1)
def _drawable_code_points() -> frozenset[int]:
    """The code points the plots' font (matplotlib's default sans-serif, DejaVu Sans) has glyphs for."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    return frozenset(FT2Font(font_manager.findfont(font_manager.FontProperties())).get_charmap())


def drawable(text: str) -> str:
    """``text`` with every character the plots' font has no glyph for (emoji, scripts it lacks) shown as □: the
    figure marks where a character was, where matplotlib would warn "Glyph missing" and leave a gap."""
    known = _drawable_code_points()
    return "".join(c if ord(c) in known or c.isspace() else MISSING_GLYPH for c in text)


def new_figure(width: float = 7.5, height: float = 4.8) -> Figure:
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def save_figure(fig: Figure, path: str | Path) -> Path:
    return save_png(fig, path, DPI)


def estimator_color(estimator: str) -> str:
    """The estimator's colour in every figure, from the registry (`indicators.estimators`); grey for another name."""
    entry = registered(estimator)
    return "#444444" if entry is None else entry.color


def draw_thresholds(ax) -> None:
    """The tau lines of the half-life and the horizon, named at the right edge, and the zero line."""
    for tau, name in THRESHOLDS:
        ax.axhline(tau, color="0.35", ls=":", lw=1.2)
        ax.annotate(f"{name} (τ = {tau:g})", (1.0, tau), xycoords=("axes fraction", "data"),
                    xytext=(-4, 3), textcoords="offset points", ha="right", va="bottom",
                    fontsize=8.5, color="0.3", bbox=BOX, zorder=6)
    ax.axhline(0.0, color="0.75", lw=0.8, zorder=0)


def label_retention_axes(ax) -> None:
    ax.set_xlabel("distance from the end d (tokens; d = 0 is the last token)")
    ax.set_ylabel("retention r(d)")


def distance_axis(ax, distance: np.ndarray) -> None:
    """Linear up to NEAR_RANGE, logarithmic past it (symlog) when the range is much longer."""
    if not len(distance):
        return
    last = float(distance[-1])
    if last > 1.5 * NEAR_RANGE:
        ax.set_xscale("symlog", linthresh=NEAR_RANGE, linscale=1.0)
        ax.set_xticks([t for t in DISTANCE_TICKS if t <= last])
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda value, _: f"{value:g}"))
        ax.set_xlim(distance[0] - 0.3, last * 1.03)
        ax.annotate(f"linear to d = {NEAR_RANGE}, logarithmic beyond", (0.99, 0.01), xycoords="axes fraction",
                    ha="right", va="bottom", fontsize=7.5, color="0.4")
    else:
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.set_xlim(distance[0] - 0.3, last + 0.3)


def legend_below(ax, ncol: int = 1) -> None:
    """The legend under the axes, where it can hide no curve."""
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=ncol, framealpha=0.9)


def _marker_box(ax, xy, size_points: float) -> Bbox:
    """The display-space box a marker of ``size_points`` drawn at data point ``xy`` covers."""
    x, y = ax.transData.transform(xy)
    half = size_points * ax.figure.dpi / 72 / 2
    return Bbox.from_extents(x - half, y - half, x + half, y + half)


def place_labels(ax, labels, markers=(), required: bool = True) -> list:
    """Annotate each (text, xy, text style) beside its point where it overlaps no other text and no marker.

    Greedy: a label takes the first of LABEL_OFFSETS around its point whose box is inside the axes
    and clear of every box taken so far: the texts already in the axes, the labels placed
    before it and the ``markers``, (data point, marker size in points) pairs. A label with no
    free place is put at the first offset when ``required``, else left out (word labels in a
    crowded plot). Call it once the axes limits are final; the layout is fixed first and the
    labels kept out of it, so saving moves nothing.

    Returns the annotations drawn, in the order of ``labels``.
    """
    fig = ax.figure
    renderer = (fig.canvas if hasattr(fig.canvas, "get_renderer") else FigureCanvasAgg(fig)).get_renderer()
    fig.draw_without_rendering()  # constrained layout settles the axes before boxes are measured
    # ... and keeps them there: saving would run the layout a second time, which moves nothing a reader can see
    fig.set_layout_engine("none")
    taken = [_text_box(text, renderer) for text in ax.texts if text.get_text()]
    taken += [_marker_box(ax, xy, size) for xy, size in markers]
    drawn = []
    for text, xy, text_style in labels:
        text, chosen = drawable(text), None
        for dx, dy in LABEL_OFFSETS:
            far = abs(dx) + abs(dy) > sum(map(abs, LABEL_OFFSETS[0]))  # a thin leader line ties it to its point
            note = ax.annotate(text, xy, xytext=(dx, dy), textcoords="offset points", ha=_align(dx, "left", "right"),
                               va=_align(dy, "bottom", "top"), arrowprops=LEADER if far else None, **text_style)
            note.set_in_layout(False)
            box = _text_box(note, renderer)
            if _inside(box, ax.bbox) and not any(box.overlaps(other) for other in taken):
                chosen = note
                break
            note.remove()
        if chosen is None and required:
            dx, dy = LABEL_OFFSETS[0]
            chosen = ax.annotate(text, xy, xytext=(dx, dy), textcoords="offset points", ha="left", va="bottom",
                                 **text_style)
            chosen.set_in_layout(False)
            box = _text_box(chosen, renderer)
        if chosen is not None:
            taken.append(box)
            drawn.append(chosen)
    return drawn


def _text_box(text: Text, renderer) -> Bbox:
    """The box of a text's letters with a small margin; an annotation's leader line is left out."""
    if isinstance(text, Annotation):
        text.update_positions(renderer)
    return Text.get_window_extent(text, renderer).padded(2)


def _align(offset: float, positive: str, negative: str) -> str:
    return "center" if offset == 0 else positive if offset > 0 else negative


def _inside(box: Bbox, frame: Bbox) -> bool:
    return box.x0 >= frame.x0 and box.x1 <= frame.x1 and box.y0 >= frame.y0 and box.y1 <= frame.y1
