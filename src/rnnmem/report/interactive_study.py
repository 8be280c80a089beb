"""The interactive page of a study: retention curves by unit and training length, each metric by training length.

One self-contained HTML file (plotly.js inlined). A reader picks a training length (or all) for
the retention curves, a metric for the right panel, and clicks units in the legend to hide or
show them. Reads a `rnnmem.sweep.study.Study` through its attributes and methods and the tidy
comparison table (unit, max_len, metric, mean, lo, hi, n, n_beyond, max_distance).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from rnnmem.report.format import number
from rnnmem.report.interactive import PAGE_WIDTH, band, standalone_page
from rnnmem.report.style import OKABE_ITO, THRESHOLDS

DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
TITLE = "Study: memory by unit and training length (interactive)"
# the accuracy panel's baselines: result metric -> name (the same data for every unit, so one line each)
BASELINES = (("majority_baseline", "majority class"), ("bag_of_words_baseline", "bag-of-words"))


def render_study_page(study, table: pd.DataFrame, links: dict[str, str] | None = None) -> str:
    """The interactive page of a study as HTML text."""
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1, subplot_titles=(
        f"Retention r(d) ({study.estimator}), mean over seeds", "By training length (mean, 95% t-interval)"))
    retention = {length: _retention_traces(fig, study, length) for length in study.lengths}
    metrics = [(key, name) for key, name in study.metrics()
               if not key.startswith("floor.") and (table["metric"] == key).any()]
    by_metric = {key: _metric_traces(fig, study, table, key, visible=i == 0) for i, (key, _) in enumerate(metrics)}
    for unit in study.units:  # one legend entry per unit, whatever the menus hide: clicking it toggles the unit
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines+markers", name=unit, legendgroup=unit,
                                 line=dict(color=_color(study, unit))), row=1, col=1)
    for tau, name in THRESHOLDS:
        fig.add_hline(y=tau, line=dict(color="grey", dash="dot", width=1), row=1, col=1,
                      annotation_text=f"{name} τ = {tau}", annotation_position="top right")

    curves = [t for traces in retention.values() for t in traces]
    lengths_menu = [_show("all training lengths", curves, curves)] + [
        _show(f"L = {length}", retention[length], curves) for length in study.lengths]
    bars = [t for traces in by_metric.values() for t in traces]
    metric_menu = [_show(name, by_metric[key], bars, {"yaxis2.title.text": name}) for key, name in metrics]
    fig.update_layout(
        width=PAGE_WIDTH, height=620, margin=dict(t=110, l=60, r=30, b=60), plot_bgcolor="white",
        legend=dict(title="unit (click to hide or show)", groupclick="togglegroup"), hoverlabel=dict(align="left"),
        # the menus sit below the height of Plotly's toolbar (top right), which would cover the right-hand one
        updatemenus=[dict(buttons=lengths_menu, x=0.0, y=1.08, xanchor="left", yanchor="bottom", direction="down"),
                     dict(buttons=metric_menu, x=0.55, y=1.08, xanchor="left", yanchor="bottom", direction="down")])
    fig.update_xaxes(title_text="distance from the end d", row=1, col=1)
    fig.update_yaxes(title_text="r(d)", row=1, col=1)
    fig.update_xaxes(title_text="training length L (tokens, log₂ scale)", type="log", tickvals=study.lengths,
                     ticktext=[str(n) for n in study.lengths], row=1, col=2)
    fig.update_yaxes(title_text=metrics[0][1] if metrics else "", row=1, col=2)
    return standalone_page(TITLE, _introduction(study), fig, _notes(study), links)


def _color(study, unit: str) -> str:
    return OKABE_ITO[study.units.index(unit) % len(OKABE_ITO)]


def _show(label: str, shown: list[int], among: list[int], layout: dict | None = None) -> dict:
    """A menu button that shows the traces ``shown`` and hides the rest of ``among`` (other traces untouched)."""
    return {"method": "update", "label": label, "args": [{"visible": [t in shown for t in among]}, layout or {}, among]}


def _retention_traces(fig, study, length: int) -> list[int]:
    """Mean r(d) over seeds and its band, per unit at one training length; the indices of the traces added."""
    first = len(fig.data)
    dash = DASHES[study.lengths.index(length) % len(DASHES)]
    for unit in study.units:
        group = study.competent(study.group(unit, length))
        if not group:
            continue
        distance, mean, low, high = study.retention_band(group)
        color = _color(study, unit)
        fig.add_trace(band(distance, low, high, color, legendgroup=unit), row=1, col=1)
        fig.add_trace(go.Scatter(x=distance, y=mean, mode="lines", line=dict(color=color, dash=dash, width=2),
                                 legendgroup=unit, showlegend=False, name=f"{unit}, L = {length}",
                                 hovertemplate=f"{unit}, L = {length} ({len(group)} seeds): r(%{{x}}) = %{{y:.3f}}"
                                               "<extra></extra>"), row=1, col=1)
    return list(range(first, len(fig.data)))


def _metric_traces(fig, study, table: pd.DataFrame, metric: str, visible: bool) -> list[int]:
    """One line per unit of ``metric`` against training length with its t-interval, and its untrained floor
    (dotted) where the study has one; the indices of the traces added."""
    first = len(fig.data)
    for unit in study.units:
        for key, dash, what in ((metric, "solid", ""), (f"floor.{metric}", "dot", "untrained floor, ")):
            rows = table[(table["metric"] == key) & (table["unit"] == unit) & (table["n"] > 0)].sort_values("max_len")
            if not len(rows):
                continue
            mean = rows["mean"].to_numpy(float)
            error = dict(type="data", symmetric=False, array=np.nan_to_num(rows["hi"].to_numpy(float) - mean),
                         arrayminus=np.nan_to_num(mean - rows["lo"].to_numpy(float)), visible=not what)
            hover = [f"{unit}, {what}L = {int(r.max_len)}: {number(r.mean)} [{number(r.lo)}, {number(r.hi)}], "
                     f"{int(r.n)} seeds" + (f", {int(r.n_beyond)} past the measured range (a lower bound)"
                                            if r.n_beyond else "") for r in rows.itertuples()]
            # a mean with seeds past the measured range is a lower bound: drawn as an upward triangle, as in the PNG
            beyond = rows["n_beyond"].to_numpy(float) > 0
            fig.add_trace(go.Scatter(x=rows["max_len"].to_numpy(float), y=mean, error_y=error, text=hover,
                                     mode="lines+markers", line=dict(color=_color(study, unit), dash=dash),
                                     marker=dict(symbol=np.where(beyond, "triangle-up", "circle"),
                                                 size=np.where(beyond, 11, 6)),
                                     legendgroup=unit, showlegend=False, visible=visible,
                                     hovertemplate="%{text}<extra></extra>"), row=1, col=2)
    if metric == "accuracy":
        for key, name in BASELINES:
            _add_baseline(fig, study, key, name, visible)
    return list(range(first, len(fig.data)))


def _add_baseline(fig, study, key: str, name: str, visible: bool) -> None:
    """A grey line of one baseline's mean over the cells at each training length (none when no cell has it)."""
    points = study.mean_by_length(key)
    if points:
        lengths, means = zip(*points)
        fig.add_trace(go.Scatter(x=lengths, y=means, mode="lines", name=name, visible=visible,
                                 line=dict(color="grey", dash="dash" if key.startswith("majority") else "dot"),
                                 hovertemplate=f"{name} baseline, L = %{{x}}: %{{y:.3f}}<extra></extra>"), row=1, col=2)


def _introduction(study) -> list[str]:
    return [f"{len(study.results)} finished models: units {', '.join(study.units)}; training lengths "
            f"{', '.join(map(str, study.lengths))}; seeds {', '.join(map(str, study.seeds))}. Left: the retention "
            "curve r(d) of each unit (colour) and training length (dash), averaged over seeds; the band is the range "
            "across seeds. Choose one training length or all in the left menu.",
            "Right: the metric chosen in the right menu against the training length, mean over seeds with its 95% "
            "t-interval, the untrained floor (dotted) where it was measured, and for accuracy the majority-class and "
            "bag-of-words baselines (grey). Click a unit in the legend to hide or "
            "show it in both panels; double-click to show it alone. Hover a point for its numbers."]


def _notes(study) -> list[str]:
    return [f"Memory lengths that never fell below τ within the measured distances count as D + 1, so a mean that "
            f"includes such seeds is a lower bound, drawn as an upward triangle ▲ (the hover says how many seeds). "
            f"Estimator: {study.estimator}."]
