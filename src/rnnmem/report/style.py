"""The one plot style of rnnmem: sizes, colours, the threshold lines and how a figure is made and saved.

Figures are made with ``matplotlib.figure.Figure`` directly, never through pyplot, so no
global state, no GUI backend and nothing left open. Draw inside ``matplotlib.rc_context(STYLE)``.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib import patheffects
from matplotlib.figure import Figure

from rnnmem.fileio import save_png

DPI = 120
# One colour per estimator, the same in every figure (Okabe-Ito, colour-blind safe).
ESTIMATOR_COLORS = {"occlusion": "#0072B2", "regression": "#D55E00", "gradient": "#009E73"}
TRAJECTORY_COLORS = ["#CC79A7", "#E69F00", "#56B4E9", "#000000"]
UNIT_COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]
UNIT_MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
PILLAR_COLOR = "#D55E00"
THRESHOLDS = ((0.5, "half-life"), (0.1, "horizon"))
N_TRAJECTORIES = 3

BOX = dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.85)
HALO = [patheffects.withStroke(linewidth=2.5, foreground="white")]
STYLE = {"font.size": 10, "axes.titlesize": 11, "axes.labelsize": 10, "legend.fontsize": 8.5}


def new_figure(width: float = 7.5, height: float = 4.8) -> Figure:
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def save_figure(fig: Figure, path: str | Path) -> Path:
    return save_png(fig, path, DPI)


def estimator_color(estimator: str) -> str:
    return ESTIMATOR_COLORS.get(estimator, "#444444")


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
