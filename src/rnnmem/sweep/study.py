"""The numbers of a study: the finished cells of a results store, intervals across seeds, tables as DataFrames.

`load_study(store_path)` reads a store (see `rnnmem.sweep.store`); `comparison_table` gives,
for the grid unit x training length, the mean of each metric over seeds with its 95%
t-interval. Seeds are the replicates: intervals are across seeds, because the question a
study asks is whether the difference between units survives a different initialisation,
which the per-model bootstrap intervals cannot say. `write_study_report` hands these
numbers to `rnnmem.report.study_figures` and `rnnmem.report.study_text`.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from rnnmem.baselines import COMPETENT, Baselines, competence_verdict
from rnnmem.errors import DataError
from rnnmem.fileio import check_regular_file, write_atomically
from rnnmem.guidance import recommend_for_unit
from rnnmem.indicators import catalogue
from rnnmem.indicators.catalogue import beyond_range
from rnnmem.indicators.curve import last_measured_distance
from rnnmem.indicators.estimators import HEADLINE_ESTIMATOR, headline_estimator
from rnnmem.progress import stage
from rnnmem.report import interactive_study, study_figures, study_text
from rnnmem.report.blocks import to_html, to_markdown
from rnnmem.sweep.store import ResultsStore

# Settings that define the grid; any other setting that varies between cells is reported.
GRID = ("unit", "max_len", "seed")
IGNORED_SETTINGS = {"key", "status", "attempts", "error"}


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

    def competent(self, group: list[dict]) -> list[dict]:
        """The cells of ``group`` whose model learned its task (`cell_verdict`): the only ones memory findings use."""
        return [r for r in group if cell_verdict(r["result"]) == COMPETENT]

    def counted(self, group: list[dict], metric: str) -> list[dict]:
        """The cells of ``group`` a metric is read over: every one for accuracy, the competent ones for the rest."""
        return group if metric == "accuracy" else self.competent(group)

    def metrics(self) -> list[tuple[str, str]]:
        """(metric key in result.metrics, human name), in table order."""
        e = self.estimator
        out = [("accuracy", "Test accuracy")]
        for entry in catalogue.CURVE_INDICATORS:
            out.append((f"{e}.{entry.key}", f"{entry.title} ({e})"))
            if entry.floor_in_study:
                out.append((f"floor.{e}.{entry.key}", f"Untrained floor of {entry.label} ({e})"))
        return out + [("fidelity_at_median_length", "Semantic fidelity at the median length (cosine)"),
                      ("floor.fidelity_at_median_length", "Untrained floor of the semantic fidelity at the median length"),
                      ("recommended_length", "Recommended training length")]

    def retention_length(self) -> int | None:
        """Longest training length every unit has a finished cell at; None when they share none."""
        common = set(self.lengths)
        for unit in self.units:
            common &= {int(r["config"]["max_len"]) for r in self.results if r["config"]["unit"] == unit}
        return max(common) if common else None

    def longest_group(self, unit: str) -> list[dict]:
        """Finished cells of a unit at its own longest training length."""
        lengths = [int(r["config"]["max_len"]) for r in self.results if r["config"]["unit"] == unit]
        return self.group(unit, max(lengths)) if lengths else []

    def retention_band(self, group: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """distance, mean r(d) over the group's seeds and its band, cut to the shortest curve.

        Band: the range across seeds (lowest to highest seed's r(d)); a single seed gets that
        model's bootstrap 95% CI.
        """
        tables = [g["result"]["report"]["retention"] for g in group]
        size = min(len(t["distance"]) for t in tables)

        def as_array(column: str) -> np.ndarray:  # stored None (NaN in the assessment) back to NaN
            return np.array([[np.nan if v is None else v for v in t[column][:size]] for t in tables], float)

        distance, r = np.asarray(tables[0]["distance"][:size]), as_array(self.estimator)
        if r.shape[0] == 1:
            return distance, r[0], as_array(f"{self.estimator}_lo")[0], as_array(f"{self.estimator}_hi")[0]
        with warnings.catch_warnings():  # an all-NaN distance (past every seed's range) stays NaN, quietly
            warnings.simplefilter("ignore", RuntimeWarning)
            return distance, np.nanmean(r, axis=0), np.nanmin(r, axis=0), np.nanmax(r, axis=0)

    def mean_by_length(self, metric: str) -> list[tuple[int, float]]:
        """(training length, mean of ``metric`` over every cell at that length), for the lengths where a cell has it."""
        out = []
        for length in self.lengths:
            values = [r["result"]["metrics"].get(metric) for r in self.results if int(r["config"]["max_len"]) == length]
            values = [float(v) for v in values if v is not None]
            if values:
                out.append((length, float(np.mean(values))))
        return out

    def best_cell(self) -> dict:
        """The finished cell with the highest test accuracy (first in sweep order on ties)."""
        return max(self.results, key=lambda r: r["result"]["metrics"].get("accuracy") or -math.inf)


# -- reading -----------------------------------------------------------------------------
def load_study(store_path: str | Path) -> Study:
    """Read a results store; DataError when it does not exist or holds no finished cell."""
    path = Path(store_path)
    check_regular_file(path, "results store", "pass the store `rnnmem sweep` wrote")  # a FIFO is not "no store"
    if not path.is_file() and not path.is_symlink():  # ResultsStore would create an empty store here, hiding the typo
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
    """The headline estimator (`indicators.estimators.headline_estimator`) among those every cell has."""
    common = None
    for r in results:
        names = list(r["result"]["report"]["summary"].get("estimators", {}))
        common = [n for n in (common if common is not None else names) if n in names]
    return headline_estimator(common or ()) or HEADLINE_ESTIMATOR


def measured_distance(result: dict, estimator: str) -> int:
    """Largest distance D with a measured r(d) (a missing value ends the range): the D of "> D"."""
    retention = result["report"]["retention"]
    return last_measured_distance(retention.get("distance", []), retention.get(estimator, []))


def cell_verdict(result: dict) -> str:
    """`rnnmem.baselines.competence_verdict` of a stored cell, from its accuracy, baselines and held-out count."""
    stored = result["metrics"]

    def value(name: str) -> float:
        return math.nan if stored.get(name) is None else float(stored[name])

    return competence_verdict(value("accuracy"), Baselines(value("majority_baseline"), value("bag_of_words_baseline"),
                                                           stored.get("test_size")))


def verdicts(study: Study) -> list[dict]:
    """Every finished cell's verdict: unit, max_len, seed, accuracy, majority, bag_of_words, verdict."""
    return [{"unit": r["config"]["unit"], "max_len": int(r["config"]["max_len"]), "seed": int(r["config"]["seed"]),
             "accuracy": r["result"]["metrics"].get("accuracy"),
             "majority": r["result"]["metrics"].get("majority_baseline"),
             "bag_of_words": r["result"]["metrics"].get("bag_of_words_baseline"), "verdict": cell_verdict(r["result"])}
            for r in study.results]


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

    A censored indicator's None (an ML whose r(d) never fell below tau within 0..D) counts as
    D + 1 (`catalogue.beyond_range`), so a mean holding such seeds is a lower bound. Other missing
    values (e.g. an undefined recent share, or a metric a store's older cells did not record) are left out.
    """
    values, beyond, limits = [], 0, []
    censored = any(metric.endswith(f".{entry.key}") for entry in catalogue.CURVE_INDICATORS if entry.censored)
    # stores written before the retention capacity got its name keep it under "<estimator>.capacity"
    legacy = metric.replace(".retention_capacity", ".capacity")
    for r in group:
        stored = r["result"]["metrics"]
        if metric not in stored and legacy not in stored:  # e.g. the floor, in a store written before it was measured
            continue
        value = stored.get(metric, stored.get(legacy))
        if censored:
            limit = measured_distance(r["result"], estimator)
            limits.append(limit)
            beyond += value is None
            value = beyond_range(value, limit)
        if value is not None and math.isfinite(float(value)):
            values.append(float(value))
    return values, beyond, (min(limits) if limits else None)


def comparison_table(study: Study) -> pd.DataFrame:
    """Tidy table: unit, max_len, metric, mean, lo, hi, n, n_beyond (seeds past the range), max_distance.

    Accuracy is over every finished cell; every other metric only over the competent ones (`Study.competent`): the
    memory of a model that has not learned its task is not a finding about its unit. n says how many seeds count.
    """
    rows = []
    for unit in study.units:
        for length in study.lengths:
            group = study.group(unit, length)
            if not group:
                continue
            for metric, _ in study.metrics():
                values, beyond, limit = metric_values(study.counted(group, metric), metric, study.estimator)
                mean, lo, hi = t_interval(values)
                rows.append({"unit": unit, "max_len": length, "metric": metric, "mean": mean, "lo": lo, "hi": hi,
                             "n": len(values), "n_beyond": beyond, "max_distance": limit})
    return pd.DataFrame(rows, columns=["unit", "max_len", "metric", "mean", "lo", "hi", "n", "n_beyond",
                                       "max_distance"])


# -- guidance and context ----------------------------------------------------------------
def recommendations(study: Study) -> dict[str, dict]:
    """Per unit: its recommendation by `rnnmem.guidance.recommend_for_unit` from its competent models only, with
    their accuracy by training length (mean, lo, hi over seeds) and the rules they applied. A unit with no competent
    model has none."""
    out = {}
    for unit in study.units:
        recommended, lower_bounds, accuracy = {}, {}, {}
        for length in study.lengths:
            group = [r for r in study.competent(study.group(unit, length))
                     if r["result"]["metrics"].get("recommended_length") is not None]
            recommended[length] = [r["result"]["metrics"]["recommended_length"] for r in group]
            lower_bounds[length] = [bool(r["result"]["metrics"].get("recommended_at_least")) for r in group]
            if recommended[length]:
                accuracy[length] = t_interval(metric_values(group, "accuracy", study.estimator)[0])
        rec = recommend_for_unit(recommended, lower_bounds)
        if rec is None:
            continue
        rules = [r["result"]["report"]["summary"]["recommended_length"].get("rule", "")
                 for r in study.competent(study.group(unit, rec.from_length))]
        out[unit] = {"length": rec.length, "at_least": rec.at_least, "median": rec.median, "from_length": rec.from_length,
                     "by_length": rec.by_length, "accuracy": accuracy, "rules": list(dict.fromkeys(x for x in rules if x))}
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


def study_summary(study: Study) -> dict:
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



# -- entry point -------------------------------------------------------------------------
def write_study_report(store_path: str | Path, out_dir: str | Path) -> dict[str, Path]:
    """Write the comparison report of a sweep's results store into ``out_dir``.

    Writes ``comparison.csv`` (tidy: one row per unit x training length x metric, with the
    mean over seeds, its 95% t-interval lo, hi and the number of seeds n), ``comparison.md``
    (one pipe table per metric and the failed cells), four figures
    (``retention_by_unit.png``, ``accuracy_fidelity_by_length.png``, ``memory_length_by_length.png``,
    ``ses.png``), ``report.md`` / ``report.html`` (self-contained: images inlined, no external links) and
    ``interactive.html`` (self-contained Plotly page: pick training lengths, metrics and units).

    Parameters
    ----------
    store_path : path of the SQLite results store a sweep wrote.
    out_dir : directory for the report (created if needed).

    Returns
    -------
    dict of name -> path: comparison_csv, comparison_md, the four figures, report_md, report_html, interactive_html.

    Raises
    ------
    DataError when the store does not exist or has no finished cells.
    """
    study = load_study(store_path)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    table = comparison_table(study)
    paths = {"comparison_csv": write_atomically(out / "comparison.csv", table.to_csv(index=False))}
    tables = study_text.metric_tables(study, table)
    fails = failures(study)
    paths["comparison_md"] = write_atomically(out / "comparison.md", study_text.comparison_markdown(tables, fails))
    with stage("figures"):
        figures = study_figures.write_figures(study, table, out)
    paths.update(figures)
    blocks = study_text.report_blocks(study_summary(study), recommendations(study), tables, fails, figures,
                                      verdicts(study))
    paths["report_md"] = write_atomically(out / "report.md", to_markdown(blocks, study_text.TITLE))
    paths["report_html"] = write_atomically(out / "report.html", to_html(blocks, study_text.TITLE, out,
                                                                          {"interactive page": "interactive.html"}))
    paths["interactive_html"] = write_atomically(out / "interactive.html", interactive_study.render_study_page(
        study, table, {"report": "report.html"}))
    return paths
