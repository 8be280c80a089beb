"""The token grid of the interactive run page: one example sequence laid out TOKENS_PER_ROW tokens to a row, each
cell coloured by the token's share r_i(d) = e_i(d) / y_i(d) under one estimator, its hover naming the token, its
distance and, per estimator, its share, effect and yardstick (`rnnmem.indicators.token_effects.TokenEffects`).

`rnnmem.report.interactive` places the grid on the page and switches the estimator by restyling the
grid's ``z`` and hover template; everything about what a cell shows lives here.
"""

from __future__ import annotations

from html import escape

import numpy as np
import plotly.graph_objects as go

from rnnmem.report.format import number

TOKENS_PER_ROW = 16
SHARE_SCALE = "Blues"
TOKEN_CHARACTERS = 10


def token_title(estimator: str | None) -> str:
    if estimator is None:
        return "Tokens (no per-token effects were measured)"
    return f"Share of each token the final state still holds: {estimator}"


def grid(values: list, rows: int, fill=None) -> list[list]:
    """Values in token order laid out TOKENS_PER_ROW to a row, ``rows`` rows, padded with ``fill``."""
    cells = list(values) + [fill] * (rows * TOKENS_PER_ROW - len(values))
    return [cells[r * TOKENS_PER_ROW : (r + 1) * TOKENS_PER_ROW] for r in range(rows)]


def share_grid(words: list[str], effects, estimator: str, index: int, rows: int) -> list[list]:
    """The grid of one sequence's token shares under one estimator (None where there is none)."""
    share = effects[estimator].share()[index]
    values = [share[d] if d < len(share) else np.nan for d in range(len(words) - 1, -1, -1)]
    return grid([None if np.isnan(v) else round(float(v), 3) for v in values], rows)


def hover_data(words: list[str], effects, index: int, rows: int) -> list[list]:
    """Per token: [token, d, then per estimator its share and its effect and yardstick], as text; the estimator
    menu only switches which of them the hover template reads (`hover_template`)."""
    length, cells = len(words), []
    shares = {name: numbers.share()[index] for name, numbers in effects.items()}
    for position, word in enumerate(words):
        d = length - 1 - position
        cell = [escape(word), d]
        for name, numbers in effects.items():
            effect = numbers.effect[index, d] if d < numbers.effect.shape[1] else np.nan
            share = shares[name][d] if d < numbers.effect.shape[1] else np.nan
            cell.append("not measured (d > D)" if np.isnan(effect) else
                        "undefined (zero yardstick)" if np.isnan(share) else number(share))
            cell.append("" if np.isnan(effect) else f"effect {number(effect)}, yardstick "
                                                    f"{number(numbers.yardstick[index, d])}")
        cells.append(cell)
    return grid(cells, rows, [])


def hover_template(effects, estimator: str | None) -> str:
    where = "<b>%{customdata[0]}</b><br>distance from the end d = %{customdata[1]}"
    if estimator is None:
        return where + "<extra></extra>"
    k = 2 + 2 * list(effects).index(estimator)
    return f"{where}<br>share held r = %{{customdata[{k}]}}<br>%{{customdata[{k + 1}]}}<extra></extra>"


def token_heatmap(index: int, words, effects, estimator, rows, visible) -> go.Heatmap:
    z = share_grid(words, effects, estimator, index, rows) if estimator else grid([], rows)
    return go.Heatmap(z=z, text=grid([w[:TOKEN_CHARACTERS] for w in words], rows, ""),
                      customdata=hover_data(words, effects, index, rows), texttemplate="%{text}",
                      hovertemplate=hover_template(effects, estimator), zmin=0.0, zmax=1.0,
                      colorscale=SHARE_SCALE, xgap=2, ygap=2, visible=visible, showscale=True, name="tokens",
                      colorbar=dict(title="share r", len=0.3, y=1.0, yanchor="top", xref="container", x=0.99,
                                    xanchor="right"))
