"""The interactive page of one assessment: one self-contained HTML file (Plotly inlined, opens offline).

A reader picks an example sequence and sees each token coloured by its share r_i(d) = e_i(d) / y_i(d)
(`rnnmem.indicators.token_effects`), hovers a token for its numbers, scrubs the state's path
through the SES plane of the report's SES figure, and switches estimator. Every control is a
Plotly dropdown or slider: the page has no JavaScript of its own. Reads a `MemoryReport`
through its attributes (``trajectories``, ``trajectory_tokens``, ``token_effects``, ...). What each
token's cell shows is `rnnmem.report.token_grid`; this module lays out the page, the state's path
and the controls.
"""

from __future__ import annotations

import math
from html import escape

import numpy as np
import plotly.graph_objects as go
import plotly.io
from plotly.subplots import make_subplots

from rnnmem.indicators.estimators import registered
from rnnmem.report.html import page
from rnnmem.report.style import THRESHOLDS, estimator_color
from rnnmem.report.token_grid import TOKENS_PER_ROW, hover_template, share_grid, token_heatmap, token_title
from rnnmem.ses import project_2d
from rnnmem.validation import counted

SHOWN_WORD_POINTS = 300
LABELLED_WORD_POINTS = 12
DONE, CURRENT, FUTURE = "#0072B2", "#D55E00", "rgba(120,120,120,0.18)"
# the figure is laid out at a fixed width that fits the page (report.html.CSS: max-width 1100px)
PAGE_WIDTH = 1060
PLAY_STEP_MS = 150


def standalone_page(title: str, introduction: list[str], figure: go.Figure | dict, notes: list[str],
                    links: dict[str, str] | None = None) -> str:
    """A complete HTML document: the ``introduction`` paragraphs, the figure with plotly.js inlined, the notes;
    ``links`` (text -> address) lead to the pages written beside it. A figure given as a dict is written as it is,
    unvalidated (see `run_figure`)."""
    intro = "".join(f"<p>{escape(text)}</p>" for text in introduction)
    plot = plotly.io.to_html(figure, full_html=False, include_plotlyjs=True, config={"displaylogo": False},
                             auto_play=False, validate=False)
    listed = "".join(f"<li>{escape(text)}</li>" for text in notes)
    return page(title, f"{intro}\n{plot}\n" + (f"<h2>Notes</h2><ul>{listed}</ul>" if notes else ""), links)


def band(x: np.ndarray, low: np.ndarray, high: np.ndarray, color: str, **options) -> go.Scatter:
    """A shaded interval from ``low`` to ``high`` over ``x`` (no hover, no legend entry)."""
    return go.Scatter(x=np.r_[x, x[::-1]], y=np.r_[high, low[::-1]], fill="toself", mode="lines", fillcolor=color,
                      opacity=0.15, line=dict(width=0), hoverinfo="skip", showlegend=False, **options)


def render_run_page(report, title: str, links: dict[str, str] | None = None) -> str:
    """The interactive page of one `MemoryReport` as HTML text (``links``: see `standalone_page`)."""
    return standalone_page(title, _introduction(report, len(report.trajectory_tokens)), run_figure(report),
                           _notes(report, dict(report.token_effects)), links)


def run_figure(report) -> dict:
    """The run page's figure as a Plotly figure dict: the token grid, the state's path with its slider and play
    buttons, r(d).

    The traces are built and checked by Plotly; the animation frames (one per token of every example sequence,
    thousands) and the layout's menus and sliders are added as plain dicts, unvalidated: validating them took
    longer than the rest of the report's pages together.
    """
    sequences = [_decode(report, ids) for ids in report.trajectory_tokens]
    effects = dict(report.token_effects)
    rows = max(1, math.ceil(max(map(len, sequences), default=1) / TOKENS_PER_ROW))
    fig = make_subplots(rows=2, cols=2, specs=[[{"colspan": 2}, None], [{}, {}]], vertical_spacing=0.12,
                        row_heights=[0.12 + 0.04 * rows, 0.55], subplot_titles=(
                            token_title(next(iter(effects), None)), "State path in the SES plane",
                            "Retention r(d), all sequences"))
    plane, axis_names = _plane(report)
    for trace in _word_traces(report, plane):
        fig.add_trace(trace, row=2, col=1)
    fig.add_trace(go.Scatter(x=[0], y=[0], mode="markers", marker=dict(symbol="cross", size=12, color="black"),
                             name="origin o₀", hovertemplate="origin o₀ (empty sequence)<extra></extra>"), row=2, col=1)
    for trace in _retention_traces(report):
        fig.add_trace(trace, row=2, col=2)
    for tau, name in THRESHOLDS:
        fig.add_hline(y=tau, line=dict(color="grey", dash="dot", width=1), row=2, col=2,
                      annotation_text=f"{name} τ = {tau}", annotation_position="top right")

    window = max(map(len, sequences), default=1) + 1
    sequence_traces, sliders, frames = [], [], []
    for i, words in enumerate(sequences):
        first = len(fig.data)
        fig.add_trace(token_heatmap(i, words, effects, next(iter(effects), None), rows, visible=i == 0), row=1, col=1)
        fig.add_trace(_token_cursor(words, window, visible=i == 0), row=1, col=1)
        steps = np.asarray(report.trajectories[i], float) @ plane.T
        path = np.vstack([np.zeros((1, steps.shape[1])), steps])
        if plane.shape[0] == 1:  # a 1-D SES: the coordinate against the step
            path = np.column_stack([path[:, 0], np.arange(len(path))])
        fig.add_trace(_path(path, words, window, visible=i == 0), row=2, col=1)
        sequence_traces.append(list(range(first, len(fig.data))))
        frames += _frames(i, words, window, [first + 1, first + 2])
        sliders.append(_slider(i, words))
    # grey behind the tokens: a cell without a share (not measured, undefined) shows it, unlike a share of 0
    fig.add_shape(type="rect", x0=-0.5, x1=TOKENS_PER_ROW - 0.5, y0=-0.5, y1=rows - 0.5, fillcolor="#d9d9d9",
                  line_width=0, layer="below", row=1, col=1)
    fig.update_xaxes(visible=False, range=[-0.5, TOKENS_PER_ROW - 0.5], row=1, col=1)
    fig.update_yaxes(visible=False, range=[rows - 0.5, -0.5], row=1, col=1)
    fig.update_xaxes(title_text=axis_names[0], zeroline=True, row=2, col=1)
    fig.update_yaxes(title_text=axis_names[1], zeroline=True, row=2, col=1)
    fig.update_xaxes(title_text="distance from the end d", row=2, col=2)
    curves = report.retention[report.estimators].to_numpy(float) if report.estimators else np.zeros(1)
    # fitted to the curves, not their bands: a noisy regression band would squeeze them (double-click: autoscale)
    fig.update_yaxes(title_text="r(d)", row=2, col=2,
                     range=[min(-0.05, np.nanmin(curves) - 0.05), max(1.1, np.nanmax(curves) + 0.05)])
    figure = fig.to_dict()
    figure["layout"].update(_layout(report, sequences, sequence_traces, sliders, effects, rows))
    figure["frames"] = frames
    return figure


def _decode(report, ids: list[int]) -> list[str]:
    return report.vocabulary.decode(ids) if report.vocabulary is not None else [str(i) for i in ids]


def _plane(report) -> tuple[np.ndarray, list[str]]:
    """Axes [2, K] (K = 1: [1, 1]) of the SES plane the report's SES figure draws, and their names."""
    points = report.ses_points()
    k = points.shape[1]
    names = list(report.label_names) or [f"dim {i}" for i in range(k)]
    if k == 1:
        return np.eye(1), [f"SES coordinate: {names[0]}", "step t (tokens read)"]
    if k == 2:
        return np.eye(2), [f"{names[0]} (SES axis 1)", f"{names[1]} (SES axis 2)"]
    return project_2d(points)[1], [f"PC1 of the K = {k} SES", f"PC2 of the K = {k} SES"]


def _word_traces(report, plane: np.ndarray) -> list[go.Scatter]:
    """The most frequent word points (hover for the word), the very most frequent named."""
    order = np.argsort(-report.word_points["count"].to_numpy(float), kind="stable")[:SHOWN_WORD_POINTS]
    coords = _projected(report.ses_points()[order], plane)
    every = report.words()
    words = [every[i] for i in order]
    named = slice(0, LABELLED_WORD_POINTS)
    return [go.Scatter(x=coords[:, 0], y=coords[:, 1], mode="markers", text=words, name="word points s(w)",
                       marker=dict(color="rgba(140,140,140,0.45)", size=6),
                       hovertemplate="word %{text}: s(w) = (%{x:.3g}, %{y:.3g})<extra></extra>"),
            go.Scatter(x=coords[named, 0], y=coords[named, 1], mode="text", text=words[named],
                       textposition="top center", textfont=dict(size=10, color="#444"), hoverinfo="skip",
                       showlegend=False)]


def _projected(points: np.ndarray, plane: np.ndarray) -> np.ndarray:
    coords = points @ plane.T
    return np.column_stack([coords[:, 0], np.zeros(len(coords))]) if plane.shape[0] == 1 else coords


def _retention_traces(report) -> list[go.Scatter]:
    distance = report.retention["distance"].to_numpy()
    traces = []
    for name in report.estimators:
        color = estimator_color(name)
        low, high = report.retention[f"{name}_lo"].to_numpy(), report.retention[f"{name}_hi"].to_numpy()
        traces.append(band(distance, low, high, color))
        traces.append(go.Scatter(x=distance, y=report.retention[name].to_numpy(), mode="lines", name=f"r(d) {name}",
                                 line=dict(color=color, width=2),
                                 hovertemplate=f"{name}: r(%{{x}}) = %{{y:.3f}}<extra></extra>"))
    return traces


def _step_colours(window: int, done: str, current: str, future: str) -> list:
    """A colour scale that, with cmin = t - window and cmax = t + window, paints the values below t, at t and
    above t in three colours: a slider moves t by restyling two numbers, not every point."""
    edge = 0.25 / window
    return [[0.0, done], [0.5 - edge, done], [0.5 - edge, current], [0.5 + edge, current], [0.5 + edge, future],
            [1.0, future]]


def _at_step(step: int, window: int) -> dict:
    """The marker colour range that paints step ``step`` as the current one (see `_step_colours`)."""
    return {"cmin": step - window, "cmax": step + window}


def _token_cursor(words: list[str], window: int, visible: bool) -> go.Scatter:
    """An outline on the token read at the slider's step (token p is read at step p + 1); the others transparent."""
    positions = np.arange(len(words))
    return go.Scatter(x=positions % TOKENS_PER_ROW, y=positions // TOKENS_PER_ROW, mode="markers", hoverinfo="skip",
                      showlegend=False, visible=visible, marker=dict(
                          symbol="square-open", size=26, line=dict(width=3), color=positions + 1,
                          colorscale=_step_colours(window, "rgba(0,0,0,0)", CURRENT, "rgba(0,0,0,0)"),
                          **_at_step(len(words), window)))


def _path(path: np.ndarray, words: list[str], window: int, visible: bool) -> go.Scatter:
    """The state's path from the origin (step 0) through every prefix; read steps blue, the current one orange."""
    labels = ["step 0: the empty sequence"] + [f"step {t + 1}: after <b>{escape(w)}</b>" for t, w in enumerate(words)]
    return go.Scatter(x=path[:, 0], y=path[:, 1], mode="lines+markers", text=labels, name="state path S(x₁..t)",
                      visible=visible, line=dict(color="rgba(0,114,178,0.35)", width=1.5),
                      hovertemplate="%{text}<br>(%{x:.3g}, %{y:.3g})<extra></extra>",
                      marker=dict(size=8, color=np.arange(len(path)), colorscale=_step_colours(window, DONE, CURRENT,
                                                                                              FUTURE),
                                  **_at_step(len(words), window)))


def _frame_name(index: int, step: int) -> str:
    return f"{index}:{step}"


def _frames(index: int, words: list[str], window: int, traces: list[int]) -> list[dict]:
    """Steps 0..T of sequence ``index`` as animation frames: each restyles its token outline and path (``traces``),
    so that both the slider and the play button move through them."""
    return [{"name": _frame_name(index, step), "data": [{"type": "scatter", "marker": _at_step(step, window)}] * 2,
             "traces": traces} for step in range(len(words) + 1)]


def _animate(step_ms: int) -> dict:
    return {"mode": "immediate", "fromcurrent": True, "frame": {"duration": step_ms, "redraw": True},
            "transition": {"duration": 0}}


def _slider(index: int, words: list[str]) -> dict:
    """The slider over steps 0..T of sequence ``index``, as wide as the page (one step per token)."""
    steps = [{"method": "animate", "label": f"{t}: " + ("start" if t == 0 else words[t - 1][:24]),
              "args": [[_frame_name(index, t)], _animate(0)]} for t in range(len(words) + 1)]
    return {"active": len(words), "steps": steps, "currentvalue": {"prefix": "step ", "font": {"size": 13, "color": "#222"}},
            "font": {"color": "rgba(0,0,0,0)"}, "pad": {"t": 40}, "len": 0.8, "x": 0.2, "y": 0.0,
            "yanchor": "top"}


def _play_buttons(index: int, words: list[str], visible: bool) -> dict:
    """Play (from the slider's step to the end, a step every PLAY_STEP_MS) and pause, for sequence ``index``: one
    pair per sequence, shown while it is chosen."""
    frames = [_frame_name(index, t) for t in range(len(words) + 1)]
    return dict(type="buttons", direction="left", x=0.0, y=0.0, xanchor="left", yanchor="top", pad={"t": 48},
                showactive=False, visible=visible, name=f"play {index + 1}", buttons=[
                    {"label": "▶ play", "method": "animate", "args": [frames, _animate(PLAY_STEP_MS)]},
                    {"label": "❚❚ pause", "method": "animate",
                     "args": [[None], {"mode": "immediate", "frame": {"duration": 0, "redraw": False}}]}])


def _sequence_label(report, index: int, words: list[str]) -> str:
    """'sequence 3 (134 tokens; true positive, predicted negative)': the menu entry of an example sequence."""
    label = f"sequence {index + 1} ({counted(len(words), 'token')}"
    if report.sequence_labels is not None:
        label += f"; true {report.label_names[int(report.sequence_labels[index])]}"
        if report.predicted_labels is not None:
            label += f", predicted {report.label_names[int(report.predicted_labels[index])]}"
    return label + ")"


def _layout(report, sequences, sequence_traces, sliders, effects, rows) -> dict:
    every = [t for traces in sequence_traces for t in traces]
    fixed_menus = 2 if effects else 1
    choose_sequence = [{"method": "update", "label": _sequence_label(report, i, words),
                        "args": [{"visible": [t in sequence_traces[i] for t in every]},
                                 {"sliders": [sliders[i]], **{f"updatemenus[{fixed_menus + j}].visible": j == i
                                                              for j in range(len(sequences))}},
                                 every]} for i, words in enumerate(sequences)]
    heatmaps = [traces[0] for traces in sequence_traces]
    choose_estimator = []
    for name in effects:
        shares = [share_grid(words, effects, name, i, rows) for i, words in enumerate(sequences)]
        choose_estimator.append({"method": "update", "label": name, "args": [
            {"z": shares, "hovertemplate": hover_template(effects, name)},
            {"annotations[0].text": token_title(name)}, heatmaps]})
    menus = [dict(buttons=choose_sequence, x=0.0, y=1.09, xanchor="left", yanchor="bottom", direction="down",
                  showactive=True, name="sequence")]
    if effects:
        # beside the sequence menu, whose header is as wide as its longest label (about 7 px a character at
        # Plotly's 12 px font, and its arrow): placed by paper x, a fixed offset puts it over that header
        header = 7 * max(len(entry["label"]) for entry in choose_sequence) + 40
        menus.append(dict(buttons=choose_estimator, x=0.0, y=1.09, xanchor="left", yanchor="bottom",
                          pad={"l": header}, direction="down", showactive=True, name="estimator"))
    menus += [_play_buttons(i, words, visible=i == 0) for i, words in enumerate(sequences)]
    # the slider spans the page below both panels, so the legend goes below the slider
    return dict(width=PAGE_WIDTH, height=620 + 34 * rows, margin=dict(t=90, l=60, r=30, b=190), updatemenus=menus,
                sliders=sliders[:1], plot_bgcolor="white", hoverlabel=dict(align="left"),
                legend=dict(orientation="h", x=0.0, y=-0.3, xanchor="left", yanchor="top"))


def _introduction(report, examples: int) -> list[str]:
    return [f"The first {examples} sequences of this assessment, token by token. Choose a sequence (left menu): each "
            "token is coloured by the share of it the final state still holds, r_i(d) = e_i(d) / y_i(d), its effect "
            "on the final state S(x) over the same estimator's yardstick; the curve r(d) on the right is the "
            "yardstick-weighted mean of these shares over all measured sequences. Hover a token for its numbers.",
            "Choose the estimator (right menu). Drag the slider below the SES plane to follow the state through the "
            "sequence: orange marks the step and the token just read, blue the path so far. " + _plane_note(report)]


def _plane_note(report) -> str:
    k = report.num_dimensions
    if k > 2:
        return f"The plane is the top two principal directions of the word points (K = {k}), as in ses.png."
    return "The plane is the SES itself." if k == 2 else "The SES has one axis: the path is drawn against the step."


def _notes(report, effects: dict) -> list[str]:
    notes = []
    missing = [name for name in report.estimators if not any(key.startswith(name) for key in effects)]
    for name in missing:
        entry = registered(name)
        if entry is not None and not entry.per_token:
            notes.append(f"{name} has no per-token value: it fits its r(d) over all sequences ({entry.help}); "
                         "its r(d) is the curve on the right.")
    if not effects:
        notes.append("no per-token effects were measured (no per-token estimator ran): tokens are shown uncoloured.")
    notes.append(f"Colours saturate at r = 1: a token can move the final state more than its yardstick (hover for the "
                 "value). Grey: no share — the token lies farther than the measured distance D = "
                 f"{int(report.retention['distance'].max())} from the end, or its yardstick is zero.")
    return notes
