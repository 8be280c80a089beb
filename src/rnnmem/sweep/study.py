"""The study comparison report: how units and training lengths compare across a sweep.

`write_study_report(store_path, out_dir)` reads a results store (see `rnnmem.sweep`) and
writes, for the grid unit x training length x seed:

* ``comparison.csv`` — tidy: one row per unit x training length x metric, with the mean
  over seeds, its 95% t-interval (lo, hi) and the number of seeds n;
* ``comparison.md`` — one pipe table per metric (rows: unit, columns: training length)
  and the failed cells;
* four figures (``retention_by_unit.png``, ``accuracy_fidelity_by_length.png``,
  ``memory_length_by_length.png``, ``ses.png``);
* ``report.md`` and ``report.html`` (self-contained: images inlined, no external links).

Seeds are the replicates: intervals are across seeds, because the question a study asks
is whether the difference between units survives a different initialisation, which the
per-model bootstrap intervals cannot say.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from rnnmem.errors import DataError
from rnnmem.indicators.curve import last_measured_distance
from rnnmem.report import plots
from rnnmem.report.markdown import _num, pipe_table
from rnnmem.fileio import write_atomically

# Settings that define the grid; any other setting that varies between cells is reported.
GRID = ("unit", "max_len", "seed")
IGNORED_SETTINGS = {"key", "status", "attempts", "error"}
UNIT_COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]
UNIT_MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
CI_NOTE = ("mean over seeds ± half-width of the 95% t-interval across seeds; a cell with one seed "
           "shows no interval")


@dataclass
class Study:
    """The finished cells of a store, with the grid they span."""

    results: list[dict]
    cells: pd.DataFrame
    estimator: str
    units: list[str]
    lengths: list[int]
    seeds: list[int]

    def group(self, unit: str, length: int) -> list[dict]:
        """Finished cells of one unit at one training length (one per seed)."""
        return [r for r in self.results if r["config"]["unit"] == unit and int(r["config"]["max_len"]) == length]

    def metrics(self) -> list[tuple[str, str]]:
        """(metric key in result.metrics, human name), in table order."""
        e = self.estimator
        return [("accuracy", "Test accuracy"),
                (f"{e}.ML(0.5)", f"Memory length ML(0.5), half-life ({e})"),
                (f"{e}.ML(0.1)", f"Memory length ML(0.1), horizon ({e})"),
                (f"{e}.capacity", f"Memory capacity MC ({e})"),
                ("fidelity_at_median_length", "Semantic fidelity at the median length (cosine)"),
                ("recency_bias", f"Recency bias ({e})"),
                ("recommended_length", "Recommended training length")]


# -- reading -----------------------------------------------------------------------------
def load_study(store_path: str | Path) -> Study:
    """Read a results store; DataError when it does not exist or holds no finished cell."""
    from rnnmem.sweep.store import ResultsStore

    path = Path(store_path)
    if not path.is_file():  # ResultsStore would create an empty store here, hiding the typo
        raise DataError(f"no results store at {path}; run `rnnmem sweep ...` first or pass the store's path.")
    store = ResultsStore(path)
    results = store.results()
    if not results:
        counts = store.counts()
        found = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no cells"
        raise DataError(f"{path} has no finished cells ({found}); run `rnnmem sweep ...` first.")
    units = list(dict.fromkeys(r["config"]["unit"] for r in results))  # sweep order, not alphabetical
    lengths = sorted({int(r["config"]["max_len"]) for r in results})
    seeds = sorted({int(r["config"]["seed"]) for r in results})
    return Study(results, store.cells(), _estimator(results), units, lengths, seeds)


def _estimator(results: list[dict]) -> str:
    """Occlusion when every cell has it (model-agnostic, the headline estimator); else the first common one."""
    common = None
    for r in results:
        names = list(r["result"]["report"]["summary"].get("estimators", {}))
        common = [n for n in (common if common is not None else names) if n in names]
    if not common:
        return "occlusion"
    return "occlusion" if "occlusion" in common else common[0]


def measured_distance(result: dict, estimator: str) -> int:
    """Largest distance D with a measured r(d) (a missing value ends the range): the D of "> D"."""
    retention = result["report"]["retention"]
    return last_measured_distance(retention.get("distance", []), retention.get(estimator, []))


# -- statistics --------------------------------------------------------------------------
def t_interval(values) -> tuple[float, float, float]:
    """Mean and 95% Student-t interval of the mean; (mean, nan, nan) for a single value."""
    x = np.asarray(values, float)
    if not len(x):
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if len(x) < 2:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))
    return mean, mean - half, mean + half


def metric_values(group: list[dict], metric: str, estimator: str) -> tuple[list[float], int, int | None]:
    """Values of one metric over seeds: (values, how many were past the measured range, smallest D).

    ML None means r(d) never fell below tau within 0..D; it counts as D + 1, so a mean
    holding such seeds is a lower bound. Other missing values (e.g. an undefined recency
    bias) are left out.
    """
    values, beyond, limits = [], 0, []
    for r in group:
        value = r["result"]["metrics"].get(metric)
        if ".ML(" in metric:
            limit = measured_distance(r["result"], estimator)
            limits.append(limit)
            if value is None:
                value, beyond = limit + 1, beyond + 1
        if value is not None and math.isfinite(float(value)):
            values.append(float(value))
    return values, beyond, (min(limits) if limits else None)


def comparison_table(study: Study) -> pd.DataFrame:
    """Tidy table: unit, max_len, metric, mean, lo, hi, n, n_beyond (seeds past the range), max_distance."""
    rows = []
    for unit in study.units:
        for length in study.lengths:
            group = study.group(unit, length)
            if not group:
                continue
            for metric, _ in study.metrics():
                values, beyond, limit = metric_values(group, metric, study.estimator)
                mean, lo, hi = t_interval(values)
                rows.append({"unit": unit, "max_len": length, "metric": metric, "mean": mean, "lo": lo, "hi": hi,
                             "n": len(values), "n_beyond": beyond, "max_distance": limit})
    return pd.DataFrame(rows, columns=["unit", "max_len", "metric", "mean", "lo", "hi", "n", "n_beyond",
                                       "max_distance"])


def format_cell(row) -> str:
    """One table cell: "mean ± half", "> D" when every seed was past the range, "≥ ..." when some were."""
    if row is None or row["n"] == 0:
        return "—"
    if row["n_beyond"] and row["n_beyond"] == row["n"]:
        return f"> {int(row['max_distance'])}"
    text = _num(row["mean"])
    if not math.isnan(row["lo"]):
        text += f" ± {_num((row['hi'] - row['lo']) / 2)}"
    if row["n_beyond"]:
        text = "≥ " + text
    return text


def metric_tables(study: Study, table: pd.DataFrame) -> list[dict]:
    """One table per metric, rows unit, columns training length: {metric, title, header, rows}."""
    out = []
    full = len(study.seeds)
    for metric, title in study.metrics():
        sub = table[table["metric"] == metric]
        rows = []
        for unit in study.units:
            row = [unit]
            for length in study.lengths:
                match = sub[(sub["unit"] == unit) & (sub["max_len"] == length)]
                cell = format_cell(match.iloc[0] if len(match) else None)
                if len(match) and 0 < match.iloc[0]["n"] < full:
                    cell += f" (n={int(match.iloc[0]['n'])})"  # fewer seeds than the grid: say so
                row.append(cell)
            rows.append(row)
        out.append({"metric": metric, "title": title, "header": ["unit"] + [f"L = {n}" for n in study.lengths],
                    "rows": rows})
    return out


# -- guidance and context ----------------------------------------------------------------
def recommendations(study: Study) -> dict[str, dict]:
    """Per unit: the median recommended length over seeds at each training length, and the rules applied.

    The unit's recommendation is the median at its longest training length, rounded up to a
    whole token (rounding down would drop a token the unit can still use): those models saw
    the most context, so their horizon is the least clipped by the training length itself.
    """
    out = {}
    for unit in study.units:
        by_length, accuracy = {}, {}
        for length in study.lengths:
            group = study.group(unit, length)
            recs = [r["result"]["metrics"].get("recommended_length") for r in group]
            recs = [v for v in recs if v is not None]
            if recs:
                by_length[length] = float(np.median(recs))
                accuracy[length] = t_interval(metric_values(group, "accuracy", study.estimator)[0])
        if not by_length:
            continue
        longest = max(by_length)
        rules = [r["result"]["report"]["summary"]["recommended_length"].get("rule", "")
                 for r in study.group(unit, longest)]
        out[unit] = {"length": math.ceil(by_length[longest]), "median": by_length[longest],
                     "from_length": longest, "by_length": by_length,
                     "accuracy": accuracy, "rules": list(dict.fromkeys(x for x in rules if x))}
    return out


def failures(study: Study) -> list[dict]:
    """Failed cells: unit, max_len, seed, key and the first line of the error."""
    cells = study.cells
    if not len(cells) or "status" not in cells:
        return []
    failed = cells[cells["status"] == "failed"]
    return [{"unit": row.get("unit"), "max_len": row.get("max_len"), "seed": row.get("seed"), "key": row["key"],
             "error": _first_line(row.get("error"))} for _, row in failed.iterrows()]


def _first_line(error) -> str:
    if not isinstance(error, str) or not error.strip():
        return "(no error message recorded)"
    return error.strip().splitlines()[0]


def summary(study: Study) -> dict:
    """What the study is: counts by status, the grid, corpora, compute time and settings that vary."""
    counts = Counter(study.cells["status"]) if len(study.cells) else Counter()
    seconds = sum(float(r["result"].get("timings", {}).get(k) or 0.0) for r in study.results
                  for k in ("train_s", "assess_s"))
    settings = [c for c in study.cells.columns if c not in IGNORED_SETTINGS and c not in GRID]
    done = study.cells[study.cells["status"] == "done"]
    varying = [c for c in settings if done[c].astype(str).nunique() > 1]
    return {"done": counts.get("done", 0), "failed": counts.get("failed", 0),
            "other": sum(n for s, n in counts.items() if s not in ("done", "failed")),
            "units": study.units, "lengths": study.lengths, "seeds": study.seeds,
            "corpora": sorted({str(r["config"].get("corpus")) for r in study.results}),
            "compute_s": seconds, "estimator": study.estimator, "varying": varying}


def duration(seconds: float) -> str:
    """Seconds as "42 s", "3.5 min" or "2.1 h"."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


# -- figures -----------------------------------------------------------------------------
def _unit_style(study: Study, unit: str) -> dict:
    i = study.units.index(unit)
    return {"color": UNIT_COLORS[i % len(UNIT_COLORS)], "marker": UNIT_MARKERS[i % len(UNIT_MARKERS)]}


def retention_length(study: Study) -> int | None:
    """Longest training length every unit has a finished cell at; None when they share none."""
    common = set(study.lengths)
    for unit in study.units:
        common &= {int(r["config"]["max_len"]) for r in study.results if r["config"]["unit"] == unit}
    return max(common) if common else None


def _curves(group: list[dict], estimator: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """distance, r(d) per seed [S, D], and each seed's bootstrap lo/hi [S, D], cut to the shortest curve."""
    tables = [g["result"]["report"]["retention"] for g in group]
    size = min(len(t["distance"]) for t in tables)

    def as_array(column: str) -> np.ndarray:  # stored None (NaN in the assessment) back to NaN
        return np.array([[np.nan if v is None else v for v in t[column][:size]] for t in tables], float)

    return (np.asarray(tables[0]["distance"][:size]), as_array(estimator), as_array(f"{estimator}_lo"),
            as_array(f"{estimator}_hi"))


def retention_figure(study: Study) -> Figure:
    """Mean r(d) over seeds of every unit at the longest common training length, with a band.

    Band: the range across seeds (lowest to highest seed's r(d)): it shows how much a new
    initialisation moves the curve without the very wide t-intervals that 2-3 seeds give
    (the tables carry those). A unit with a single seed gets that model's bootstrap 95% CI.
    """
    length = retention_length(study)
    with matplotlib.rc_context(plots._STYLE):
        fig = plots._figure(8.0, 5.0)
        ax = fig.add_subplot()
        for unit in study.units:
            group = study.group(unit, length) if length is not None else _longest_group(study, unit)
            if not group:
                continue
            distance, r, lo_boot, hi_boot = _curves(group, study.estimator)
            mean, lo, hi = _band(r, lo_boot, hi_boot)
            style = _unit_style(study, unit)
            where = "" if length is not None else f", L = {group[0]['config']['max_len']}"
            ax.fill_between(distance, lo, hi, color=style["color"], alpha=0.18, linewidth=0)
            ax.plot(distance, mean, lw=1.8, ms=4, label=f"{unit} ({len(group)} seed{'s' * (len(group) > 1)}{where})",
                    **style)
        for tau, name in plots.THRESHOLDS:
            ax.axhline(tau, color="0.35", ls=":", lw=1.2)
            ax.annotate(f"{name} (τ = {tau:g})", (1.0, tau), xycoords=("axes fraction", "data"), xytext=(-4, 3),
                        textcoords="offset points", ha="right", va="bottom", fontsize=8.5, color="0.3",
                        bbox=plots._BOX)
        ax.axhline(0.0, color="0.75", lw=0.8, zorder=0)
        at = f"training length L = {length}" if length is not None else "each unit's longest training length"
        ax.set_title(f"Retention r(d) by unit ({study.estimator}) at {at}\n"
                     "line: mean over seeds; band: range across seeds (one seed: its bootstrap 95% CI)")
        ax.set_xlabel("distance from the end d (tokens; d = 0 is the last token)")
        ax.set_ylabel("retention r(d)")
        ax.set_ylim(bottom=min(-0.05, ax.get_ylim()[0]), top=max(1.1, ax.get_ylim()[1]))
        ax.grid(True, alpha=0.25)
        ax.legend(loc="upper right", bbox_to_anchor=(1.0, 0.9), framealpha=0.9)
    return fig


def _longest_group(study: Study, unit: str) -> list[dict]:
    lengths = [int(r["config"]["max_len"]) for r in study.results if r["config"]["unit"] == unit]
    return study.group(unit, max(lengths)) if lengths else []


def _band(r: np.ndarray, lo_boot: np.ndarray, hi_boot: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean curve and its band: range across seeds, or the bootstrap CI of a single seed."""
    if r.shape[0] == 1:
        return r[0], lo_boot[0], hi_boot[0]
    with warnings.catch_warnings():  # an all-NaN distance (past every seed's range) stays NaN, quietly
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(r, axis=0), np.nanmin(r, axis=0), np.nanmax(r, axis=0)


def _by_length_axes(ax, study: Study, table: pd.DataFrame, metric: str, ylabel: str) -> None:
    """One line per unit of a metric against training length (log2 x axis), 95% t-interval error bars."""
    sub = table[table["metric"] == metric]
    n_units = len(study.units)
    for i, unit in enumerate(study.units):
        rows = sub[(sub["unit"] == unit) & (sub["n"] > 0)].sort_values("max_len")
        if not len(rows):
            continue
        # Nudge units sideways (in log2 units) so error bars at one length do not hide each other.
        x = rows["max_len"].to_numpy(float) * 2 ** (0.04 * (i - (n_units - 1) / 2))
        mean = rows["mean"].to_numpy(float)
        err = np.vstack([mean - rows["lo"].to_numpy(float), rows["hi"].to_numpy(float) - mean])
        err = np.nan_to_num(err, nan=0.0)
        ax.errorbar(x, mean, yerr=err, capsize=3, lw=1.6, ms=5, label=unit, **_unit_style(study, unit))
    ax.set_xscale("log", base=2)
    ax.set_xticks(study.lengths, [str(n) for n in study.lengths])
    ax.minorticks_off()
    ax.set_xlabel("training length L (tokens, log₂ scale)")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.25)


def accuracy_fidelity_figure(study: Study, table: pd.DataFrame) -> Figure:
    """Test accuracy and fidelity at the median length against training length, one line per unit."""
    with matplotlib.rc_context(plots._STYLE):
        fig = plots._figure(10.0, 4.4)
        left, right = fig.subplots(1, 2)
        _by_length_axes(left, study, table, "accuracy", "test accuracy")
        left.set_title("Test accuracy")
        _by_length_axes(right, study, table, "fidelity_at_median_length", "cosine(S(x), S*(x))")
        right.set_title("Semantic fidelity at the median sequence length")
        left.legend(loc="best", framealpha=0.9)
        fig.suptitle(f"Does training on longer sequences pay? ({CI_NOTE.split(';')[0]})", fontsize=10)
    return fig


def memory_length_figure(study: Study, table: pd.DataFrame) -> Figure:
    """ML(0.5) and ML(0.1) against training length per unit; seeds past the range count as D + 1."""
    e = study.estimator
    with matplotlib.rc_context(plots._STYLE):
        fig = plots._figure(10.0, 4.4)
        panels = fig.subplots(1, 2)
        for ax, tau, name in zip(panels, (0.5, 0.1), ("half-life", "horizon")):
            metric = f"{e}.ML({tau:g})"
            _by_length_axes(ax, study, table, metric, f"ML({tau:g}) (tokens)")
            ax.set_title(f"Memory length ML({tau:g}), {name}")
            limits = table.loc[table["metric"] == metric, "max_distance"].dropna()
            if len(limits):  # values on this line never fell below tau within the measured range
                top = int(limits.min()) + 1
                ax.axhline(top, color="0.4", ls="--", lw=1.0)
                ax.annotate(f"> {top - 1}: not reached within the measured range", (0.02, top),
                            xycoords=("axes fraction", "data"), xytext=(0, -12), textcoords="offset points",
                            fontsize=8, color="0.3")
                ax.set_ylim(0, top * 1.08)
        panels[0].legend(loc="center right", framealpha=0.9)
        fig.suptitle(f"How far back each unit remembers, by training length ({e} estimator; "
                     "mean over seeds, 95% t-interval)", fontsize=10)
    return fig


def best_cell(study: Study) -> dict:
    """The finished cell with the highest test accuracy (first in sweep order on ties)."""
    return max(study.results, key=lambda r: r["result"]["metrics"].get("accuracy") or -math.inf)


def ses_figure(study: Study) -> Figure:
    """The SES of the best-accuracy model: word points, the frequent words named, its trajectories."""
    cell = best_cell(study)
    ses, config = cell["result"]["ses"], cell["config"]
    words = ses.get("trajectory_words", [])
    trajectories = ses.get("trajectories", [])[:plots.N_TRAJECTORIES]
    captions = [plots.words_caption(words[i] if i < len(words) else []) for i in range(len(trajectories))]
    accuracy = cell["result"]["metrics"].get("accuracy")
    heading = (f"Best-accuracy model: {config['unit']}, L = {config['max_len']}, seed {config['seed']} "
               f"(accuracy {_num(accuracy)})")
    return plots.ses_figure_from_arrays(np.asarray(ses["points"], float), ses["counts"], ses["words"],
                                        ses.get("label_names") or [], trajectories, captions, heading=heading)


def write_figures(study: Study, table: pd.DataFrame, out_dir: Path) -> dict[str, Path]:
    return {
        "retention_by_unit": plots._save(retention_figure(study), out_dir / "retention_by_unit.png"),
        "accuracy_fidelity_by_length": plots._save(accuracy_fidelity_figure(study, table),
                                                   out_dir / "accuracy_fidelity_by_length.png"),
        "memory_length_by_length": plots._save(memory_length_figure(study, table),
                                               out_dir / "memory_length_by_length.png"),
        "ses": plots._save(ses_figure(study), out_dir / "ses.png"),
    }


# -- text --------------------------------------------------------------------------------
FIGURE_TEXT = {
    "retention_by_unit": (
        "Retention by unit",
        "How much of a token's meaning is still present at the end of the sequence, by its distance from the end. "
        "Curves that stay above the dotted half-life line (τ = 0.5) longer remember longer; where a curve drops "
        "below the horizon line (τ = 0.1), tokens that far back barely reach the final state. Lines are the mean "
        "over seeds; bands span the lowest to the highest seed (a unit with one seed shows that model's own "
        "bootstrap 95% interval)."),
    "accuracy_fidelity_by_length": (
        "Accuracy and fidelity by training length",
        "Whether training on longer sequences pays off. A line that rises with the training length means the unit "
        "uses the extra context; a flat line means the extra tokens were wasted compute. Fidelity near 1 means the "
        "final state still expresses the whole sequence as the sum of its words; error bars are 95% t-intervals "
        "across seeds."),
    "memory_length_by_length": (
        "Memory length by training length",
        "How many tokens back each unit remembers (half-life on the left, horizon on the right), by training "
        "length. Higher is longer memory; points on the dashed line never fell below τ within the measured "
        "distances, so the true value is larger. Memory that grows with L means the unit learns to use longer "
        "context when it is trained on it."),
    "ses": (
        "Semantic Euclidean Space of the best model",
        "Each grey point is a word read alone (larger = more frequent); words far from the origin along an axis "
        "carry strong evidence for that class. Coloured paths are sentences read word by word from the origin; "
        "the star is the sentence's final meaning. Steps that shrink as the path goes on show older words "
        "being overwritten."),
}


def recommendation_lines(recs: dict[str, dict]) -> list[str]:
    """One sentence of evidence per unit (plain text, escaped by the renderer)."""
    lines = []
    for unit, rec in recs.items():
        per_length = "; ".join(f"L = {n}: {_num(v)}" for n, v in rec["by_length"].items())
        rounded = f": {_num(rec['median'])}, rounded up" if rec["median"] != rec["length"] else ""
        lines.append(f"{unit}: {rec['length']} tokens (median over seeds of the models trained at "
                     f"L = {rec['from_length']}{rounded}). Median recommendation by training length: {per_length}.")
    return lines


def study_markdown(study: Study, tables: list[dict], fails: list[dict]) -> str:
    """comparison.md: one pipe table per metric and the failed cells."""
    out = ["# Study comparison", "", f"Cells: {CI_NOTE}. \"> D\": every seed's r(d) stayed above τ over the measured "
           "distances 0..D; \"≥\": some seeds did and count as D + 1, so the mean is a lower bound.", ""]
    for t in tables:
        out += [f"## {t['title']}", "", pipe_table(t["header"], t["rows"]), ""]
    out += ["## Failed cells", ""]
    if fails:
        out += [pipe_table(["unit", "L", "seed", "key", "error"],
                           [[f["unit"], f["max_len"], f["seed"], f["key"], f["error"]] for f in fails],
                           ["l", "r", "r", "l", "l"]), ""]
    else:
        out += ["None.", ""]
    return "\n".join(out)


def report_markdown(study: Study, info: dict, recs: dict, comparison_md: str, figures: dict[str, Path]) -> str:
    """report.md: summary, recommendations, the comparison tables and the figures (relative links)."""
    out = ["# rnnmem study report", "", *[f"- {line}" for line in summary_lines(info)], "",
           "## Recommended training length", ""]
    for line, rec in zip(recommendation_lines(recs), recs.values()):
        out += [f"- {line}"] + [f"  - rule applied: {rule}" for rule in rec["rules"]]
    out += [""]
    for name, path in figures.items():
        title, text = FIGURE_TEXT[name]
        out += [f"## {title}", "", text, "", f"![{title}]({path.name})", ""]
    body = comparison_md.split("\n", 1)[1]  # drop its own top-level title
    out += ["## Comparison tables", body.replace("\n## ", "\n### ")]
    return "\n".join(out)


def summary_lines(info: dict) -> list[str]:
    """The study summary as short plain-text lines."""
    lines = [f"Cells: {info['done']} done, {info['failed']} failed"
             + (f", {info['other']} pending or running" if info["other"] else ""),
             f"Units: {', '.join(info['units'])}",
             f"Training lengths: {', '.join(map(str, info['lengths']))}",
             f"Seeds: {', '.join(map(str, info['seeds']))}",
             f"Corpus: {', '.join(info['corpora'])}",
             f"Total compute time (training + assessment): {duration(info['compute_s'])}",
             f"Retention estimator for the memory numbers: {info['estimator']}"]
    if info["varying"]:
        lines.append(f"Settings that also vary between finished cells (pooled within a unit and length): "
                     f"{', '.join(info['varying'])}")
    return lines


# -- entry point -------------------------------------------------------------------------
def write_study_report(store_path: str | Path, out_dir: str | Path) -> dict[str, Path]:
    """Write the comparison report of a sweep's results store into ``out_dir``.

    Parameters
    ----------
    store_path : path of the SQLite results store a sweep wrote.
    out_dir : directory for the report (created if needed).

    Returns
    -------
    dict of name -> path: comparison_csv, comparison_md, the four figures, report_md, report_html.

    Raises
    ------
    DataError when the store does not exist or has no finished cells.
    """
    from rnnmem.report.html import render_study_html

    study = load_study(store_path)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    table = comparison_table(study)
    tables = metric_tables(study, table)
    fails = failures(study)
    recs = recommendations(study)
    info = summary(study)

    paths = {"comparison_csv": out / "comparison.csv"}
    write_atomically(paths["comparison_csv"], table.to_csv(index=False))
    comparison_md = study_markdown(study, tables, fails)
    paths["comparison_md"] = write_atomically(out / "comparison.md", comparison_md)
    figures = write_figures(study, table, out)
    paths.update(figures)
    paths["report_md"] = write_atomically(out / "report.md", report_markdown(study, info, recs, comparison_md,
                                                                              figures))
    html = render_study_html(summary_lines(info), recs, recommendation_lines(recs), tables, fails,
                             [(FIGURE_TEXT[name][0], FIGURE_TEXT[name][1], path) for name, path in figures.items()],
                             CI_NOTE)
    paths["report_html"] = write_atomically(out / "report.html", html)
    return paths
