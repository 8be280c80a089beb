"""Per-run tables for papers and spreadsheets: every headline indicator beside its untrained floor, per estimator.

``indicators.csv`` holds the numbers (one row per estimator and catalogue indicator, see
`rnnmem.indicators.catalogue`); ``indicators.tex`` the same rows as a booktabs tabular, formatted
as the Markdown report formats them. Censoring is explicit: an ML(τ) whose r(d) did not fall to τ
within the measured distances 0..max_distance has ``trained_censored`` (``floor_censored``) true and
its value is the lower bound max_distance + 1; the LaTeX reads it "> max_distance". A value outside
its own interval (`catalogue.OUTSIDE_INTERVAL`) is kept as measured: the CSV's bounds show it, the
LaTeX marks it † with the reason under the table.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from rnnmem.fileio import write_atomically
from rnnmem.indicators.catalogue import OUTSIDE_INTERVAL
from rnnmem.report.format import OUTSIDE_MARK, indicator_value, with_ci

COLUMNS = ["estimator", "indicator", "trained", "trained_low", "trained_high", "trained_censored", "floor", "floor_low",
           "floor_high", "floor_censored", "max_distance"]
_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
                  "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", ">": r"$>$", "<": r"$<$",
                  "—": "--", "ρ": r"$\rho$", "τ": r"$\tau$", OUTSIDE_MARK: r"\textdagger{}"}


def indicator_table(report) -> pd.DataFrame:
    """The numbers: one row per (estimator, indicator), the trained model's value and 95% CI beside the floor's.

    Semantic validity (when measured) is one more row, estimator "SES". Floor columns are NaN
    (censored None) when the report has no untrained floor.
    """
    rows = [[name, trained.indicator.label, *_numbers(trained), *_numbers(untrained), trained.last_measured]
            for name, trained, untrained in indicator_readings(report)]
    views = report.semantic_validity or {}
    if views.get("trained") is not None:
        rows.append(["SES", "semantic validity (Spearman ρ)", *_validity(views["trained"]), False,
                     *_validity(views.get("untrained")), None if views.get("untrained") is None else False, None])
    table = pd.DataFrame(rows, columns=COLUMNS)
    # a whole distance (empty for validity, which has none); censored is empty where there is no value
    return table.astype({"max_distance": "Int64", "trained_censored": "boolean", "floor_censored": "boolean"})


def indicators_csv(report) -> str:
    return indicator_table(report).to_csv(index=False)


def indicators_latex(report) -> str:
    """The rows of `indicator_table` as a booktabs tabular (needs ``\\usepackage{booktabs}``)."""
    lines = [r"\begin{tabular}{llrr}", r"\toprule",
             r"Estimator & Indicator & Trained [95\% CI] & Untrained floor [95\% CI] \\", r"\midrule"]
    marked = False
    for name, trained, untrained in indicator_readings(report):
        marked |= trained.outside_interval or (untrained is not None and untrained.outside_interval)
        cells = [name, trained.indicator.label, indicator_value(trained),
                 "—" if untrained is None else indicator_value(untrained)]
        lines.append(" & ".join(_latex_escape(cell) for cell in cells) + r" \\")
    views = report.semantic_validity or {}
    if views.get("trained") is not None:
        cells = ["SES", "semantic validity (Spearman ρ)", _validity_shown(views["trained"]),
                 _validity_shown(views.get("untrained"))]
        lines.append(" & ".join(_latex_escape(cell) for cell in cells) + r" \\")
    if marked:  # the note spans the table's width as a paragraph column
        lines.append(r"\multicolumn{4}{p{0.9\linewidth}}{\footnotesize " + _latex_escape(f"{OUTSIDE_MARK} {OUTSIDE_INTERVAL}")
                     + r"} \\")
    lines += [r"\bottomrule", r"\end{tabular}", ""]
    return "\n".join(lines)


def write_tables(report, directory: str | Path) -> dict[str, Path]:
    """indicators.csv and indicators.tex in ``directory``, by name."""
    directory = Path(directory)
    return {"indicators_csv": write_atomically(directory / "indicators.csv", indicators_csv(report)),
            "indicators_tex": write_atomically(directory / "indicators.tex", indicators_latex(report))}


def indicator_readings(report):
    """(estimator, the trained model's `IndicatorValue`, the floor's or None) for every estimator and indicator."""
    for name in report.estimators:
        trained = report.indicator_values(name)
        has_floor = report.floor is not None and name in report.floor.estimators
        yield from ((name, *pair) for pair in zip(trained, report.floor.indicator_values(name) if has_floor
                                                  else [None] * len(trained)))


def _numbers(reading) -> list:
    """value (a censored one as its lower bound D + 1), low, high, censored; NaN and None without a reading."""
    if reading is None:
        return [math.nan] * 3 + [None]
    return [reading.number, reading.low, reading.high, reading.censored]


def _validity(view) -> list[float]:
    return [math.nan] * 3 if view is None else [view.rho, view.low, view.high]


def _validity_shown(view) -> str:
    return "—" if view is None else with_ci(view.rho, (view.low, view.high))


def _latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(char, char) for char in text)
