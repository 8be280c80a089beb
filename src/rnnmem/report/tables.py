"""Per-run tables for papers and spreadsheets: every headline indicator beside its untrained floor, per estimator.

``indicators.csv`` holds the numbers (one row per estimator and indicator); ``indicators.tex``
the same rows as a booktabs tabular, formatted as the Markdown report formats them. An ML(τ)
above ``max_distance`` means r(d) did not fall to τ within the measured distances 0..max_distance
(it is stored as max_distance + 1, the convention of the bootstrap intervals).
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from rnnmem.fileio import write_atomically
from rnnmem.report.format import memory_length_with_ci, with_ci

# summary key -> name in the tables
INDICATORS = (("ML(0.5)", "ML(0.5)"), ("ML(0.1)", "ML(0.1)"), ("retention_capacity", "retention capacity"),
              ("recent_share", "recent share"))
COLUMNS = ["estimator", "indicator", "trained", "trained_low", "trained_high", "floor", "floor_low", "floor_high",
           "max_distance"]
_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
                  "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", ">": r"$>$", "<": r"$<$",
                  "—": "--", "ρ": r"$\rho$", "τ": r"$\tau$"}


def indicator_table(report) -> pd.DataFrame:
    """The numbers: one row per (estimator, indicator), the trained model's value and 95% CI beside the floor's.

    Semantic validity (when measured) is one more row, estimator "SES". Floor columns are NaN
    when the report has no untrained floor.
    """
    summary = report.summary()
    floor = (summary.get("floor") or {}).get("estimators", {})
    rows = []
    for name, values in summary["estimators"].items():
        last = report.last_measured_distance(name)
        for key, label in INDICATORS:
            untrained = floor.get(name, {})
            rows.append([name, label, *_value_and_ci(values, key, last), *_value_and_ci(untrained, key, last), last])
    views = report.semantic_validity or {}
    if views.get("trained") is not None:
        untrained = views.get("untrained")
        rows.append(["SES", "semantic validity (Spearman ρ)", *_validity(views["trained"]), *_validity(untrained),
                     None])
    table = pd.DataFrame(rows, columns=COLUMNS)
    return table.astype({"max_distance": "Int64"})  # a whole distance; empty for validity, which has none


def indicators_csv(report) -> str:
    return indicator_table(report).to_csv(index=False)


def indicators_latex(report) -> str:
    """The rows of `indicator_table` as a booktabs tabular (needs ``\\usepackage{booktabs}``)."""
    lines = [r"\begin{tabular}{llrr}", r"\toprule",
             r"Estimator & Indicator & Trained [95\% CI] & Untrained floor [95\% CI] \\", r"\midrule"]
    for row in indicator_table(report).itertuples(index=False):
        cells = [row.estimator, row.indicator, _shown(row, "trained"), _shown(row, "floor")]
        lines.append(" & ".join(_latex_escape(str(cell)) for cell in cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", ""]
    return "\n".join(lines)


def write_tables(report, directory: str | Path) -> dict[str, Path]:
    """indicators.csv and indicators.tex in ``directory``, by name."""
    directory = Path(directory)
    return {"indicators_csv": write_atomically(directory / "indicators.csv", indicators_csv(report)),
            "indicators_tex": write_atomically(directory / "indicators.tex", indicators_latex(report))}


def _value_and_ci(values: dict, key: str, last: int) -> list[float]:
    if key not in values:
        return [math.nan] * 3
    value, (low, high) = values[key], values[f"{key} CI"]
    if key.startswith("ML(") and value is None:
        value = last + 1
    return [math.nan if v is None else float(v) for v in (value, low, high)]


def _validity(view) -> list[float]:
    return [math.nan] * 3 if view is None else [view.rho, view.low, view.high]


def _shown(row, side: str) -> str:
    """One side ("trained" or "floor") of a row as the Markdown report writes it."""
    value, low, high = (getattr(row, side + part) for part in ("", "_low", "_high"))
    if row.indicator.startswith("ML(") and pd.notna(row.max_distance):
        return "—" if math.isnan(value) else memory_length_with_ci(value, (low, high), int(row.max_distance))
    return with_ci(value, (low, high))


def _latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(char, char) for char in text)
