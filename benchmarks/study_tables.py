"""The numbers and tables of the reproduction study (benchmarks/reproduce.py) read from a study's cells.

Accuracy and baselines count every seed; every memory number counts only the competent seeds (the library's
verdict, `rnnmem.sweep.study.Study.competent`), as `rnnmem report` does. An ML past the measured range 0..D counts
as D + 1 (`rnnmem.sweep.study.metric_values`) and reads "> D"; a declined estimator reads "declined".
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from rnnmem.report.blocks import pipe_table
from rnnmem.sweep.study import cell_verdict, metric_values

# replacement is the reference the SES estimators are read against; gradient is opt-in (it reads key-k 4-6 tokens
# too far, docs/known_memory.md) and stays out. Named here, not left to the default, so the study keeps its set.
ESTIMATORS = ("occlusion", "replacement", "regression")
SES_AND_REFERENCE = ("occlusion", "replacement")
MEMORY = {"ML(0.5)": "ML(0.5)", "ML(0.1)": "ML(0.1)", "retention_capacity": "capacity"}


def fmt(value, digits: int = 2) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def spearman(x, y) -> float:
    """Spearman's rho over the pairs where both are finite; NaN with fewer than 3 or a constant side."""
    pairs = [(a, b) for a, b in zip(x, y) if math.isfinite(a) and math.isfinite(b)]
    if len(pairs) < 3 or len({a for a, _ in pairs}) < 2 or len({b for _, b in pairs}) < 2:
        return math.nan
    return float(stats.spearmanr(*zip(*pairs)).statistic)


def reading(group: list[dict], metric: str) -> dict:
    """Mean of one metric over ``group``'s seeds; for an ML also how many seeds lay past the range 0..D (counted as
    D + 1 by `metric_values`) and D. A seed that did not record the metric (a declined estimator) is not counted."""
    estimator = metric.removeprefix("floor.").split(".")[0]
    values, beyond, limit = metric_values(group, metric, estimator if estimator in ESTIMATORS else "occlusion")
    return {"mean": float(np.mean(values)) if values else math.nan, "n": len(values), "beyond": beyond,
            "limit": limit, "ml": ".ML(" in metric}


def shown(r: dict, digits: int = 1) -> str:
    """A reading as the tables show it: "> D" when every seed lay past the measured range, "≥ mean" when some did."""
    if not r["n"]:
        return "—"
    if r["ml"] and r["beyond"] == r["n"]:
        return f"> {r['limit']}"
    return ("≥ " if r["beyond"] else "") + fmt(r["mean"], digits)


def declined(group: list[dict], estimator: str, prefix: str = "") -> int:
    """Cells of ``group`` that ran ``estimator`` and recorded no number for it: it declined there (its note says why)."""
    return sum(estimator in r["config"]["estimators"] and f"{prefix}{estimator}.ML(0.1)" not in r["result"]["metrics"]
               for r in group)


def difference(group: list[dict], estimator: str, key: str) -> dict | None:
    """Trained minus floor (the report's paired-bootstrap `trained_minus_floor`) over the group's seeds: mean, how
    many seeds' intervals exclude 0, and which side a censored ML bounds (trained past the range: at least)."""
    found = [(r["result"]["report"]["summary"].get("trained_minus_floor") or {}).get(estimator, {}).get(key)
             for r in group]
    found = [(r, d) for r, d in zip(group, found) if d is not None and d["difference"] is not None]
    if not found:
        return None
    metrics = [r["result"]["metrics"] for r, _ in found]
    trained_past = any(m.get(f"{estimator}.{key}", 0) is None for m in metrics)
    floor_past = any(m.get(f"floor.{estimator}.{key}", 0) is None for m in metrics)
    beyond_noise = sum(d["low"] is not None and (d["low"] > 0 or d["high"] < 0) for _, d in found)
    return {"mean": float(np.mean([d["difference"] for _, d in found])), "n": len(found),
            "beyond_noise": beyond_noise, "low": found[0][1]["low"], "high": found[0][1]["high"],
            "bound": "?" if trained_past and floor_past else "≥ " if trained_past else "≤ " if floor_past else ""}


def difference_text(d: dict | None) -> str:
    if d is None:
        return "—"
    if d["bound"] == "?":
        return "both past the range"
    value = f"{d['bound']}{d['mean']:+.3g}"
    if d["n"] == 1:
        return value + ("" if d["low"] is None else f" [{d['low']:+.3g}, {d['high']:+.3g}]")
    return f"{value} ({d['beyond_noise']} of {d['n']} beyond noise)"


def group_numbers(study, unit: str, length: int) -> dict:
    """Everything the document reads about one unit at one training length: accuracy and baselines over every seed,
    the rest over the competent seeds only (`Study.competent`, the library's verdict), as the study report does."""
    group = study.group(unit, length)
    able = study.competent(group)
    out = {"seeds": len(group), "competent": len(able),
           "verdicts": [(int(r["config"]["seed"]), cell_verdict(r["result"]), r["result"]["metrics"]) for r in group]}
    for name in ("accuracy", "majority_baseline", "bag_of_words_baseline"):
        out[name] = reading(group, name)["mean"]
    for name in ("validity", "validity_low", "validity_high", "floor.validity", "floor.validity_low",
                 "floor.validity_high", "fidelity_at_median_length", "floor.fidelity_at_median_length"):
        out[name] = reading(able, name)["mean"]
    for estimator in ESTIMATORS:
        for key in MEMORY:
            for prefix in ("", "floor."):
                out[f"{prefix}{estimator}.{key}"] = reading(able, f"{prefix}{estimator}.{key}")
            out[f"{estimator}.{key} difference"] = difference(able, estimator, key)
        out[f"{estimator} declined"] = declined(able, estimator)
        out[f"floor.{estimator} declined"] = declined(able, estimator, "floor.")
    return out


def memory_text(c: dict, estimator: str, key: str) -> str:
    """"trained (floor)"; a declined estimator says so instead of a number."""
    def side(prefix: str) -> str:
        gone, n = c[f"{prefix}{estimator} declined"], c["competent"]
        value = shown(c[f"{prefix}{estimator}.{key}"], 2 if key == "retention_capacity" else 1)
        return "declined" if n and gone == n else value + (f", {gone} of {n} declined" if gone else "")

    return f"{side('')} ({side('floor.')})"


def unfinished(study) -> list[str]:
    """The cells the store was given but holds no result for (pending, running, failed): "unit@length seed s (status)".

    A study rendered before its sweep ended says which cells its tables lack instead of looking complete."""
    cells = study.cells
    rest = cells[cells["status"] != "done"] if len(cells) else cells
    return [f"{row['unit']}@{int(row['max_len'])} seed {int(row['seed'])} ({row['status']})" for _, row in rest.iterrows()]


def absent(c: dict) -> str | None:
    """Why a unit x length group has no memory numbers: no finished cell, or no competent one; None when it has."""
    return "not run" if not c["seeds"] else "not competent" if not c["competent"] else None


def competence_table(cells, units, length, recommended) -> str:
    header = ["unit", "accuracy", "majority", "bag-of-words", "competent seeds", "validity ρ [95% CI] (floor)",
              "fidelity (cos) (floor)", "recommended length"]
    rows = []
    for u in units:
        c, rec = cells[(u, length)], recommended.get(u)
        if not c["seeds"]:
            rows.append([u] + ["not run"] * (len(header) - 1))
            continue
        rows.append([u, fmt(c["accuracy"], 3), fmt(c["majority_baseline"], 3), fmt(c["bag_of_words_baseline"], 3),
                     f"{c['competent']} of {c['seeds']}",
                     f"{fmt(c['validity'])} [{fmt(c['validity_low'])}, {fmt(c['validity_high'])}] "
                     f"({fmt(c['floor.validity'])})",
                     f"{fmt(c['fidelity_at_median_length'], 3)} ({fmt(c['floor.fidelity_at_median_length'], 3)})",
                     "—" if rec is None else ("at least " if rec["at_least"] else "") + str(rec["length"])])
    return pipe_table(header, rows)


def memory_table(cells, units, length) -> str:
    columns = [(e, k) for e in SES_AND_REFERENCE for k in MEMORY] + [("regression", "ML(0.1)")]
    header = ["unit"] + [f"{e} {MEMORY[k]}" for e, k in columns]
    return pipe_table(header, [[u] + ([absent(cells[(u, length)])] * len(columns) if absent(cells[(u, length)]) else
                                      [memory_text(cells[(u, length)], e, k) for e, k in columns]) for u in units])


def difference_table(cells, units, length) -> str:
    columns = [(e, k) for e in SES_AND_REFERENCE for k in MEMORY]
    header = ["unit"] + [f"{e} {MEMORY[k]}" for e, k in columns]
    return pipe_table(header, [[u] + ([absent(cells[(u, length)])] * len(columns) if absent(cells[(u, length)]) else
                                      [difference_text(cells[(u, length)][f"{e}.{k} difference"]) for e, k in columns])
                               for u in units])


def mean_of(cells, key, metric: str) -> float:
    return cells[key][metric]["mean"] if cells[key][metric]["n"] else math.nan
