"""The words of a study report: its tables as text, the reading of each figure, and its blocks (Markdown and HTML)."""

from __future__ import annotations

import math
from pathlib import Path

from rnnmem.baselines import COMPETENCE_ALPHA, COMPETENCE_MARGIN
from rnnmem.report.blocks import Bullets, Heading, Image, Paragraph, Table, to_markdown
from rnnmem.report.format import duration, memory_length_text, number
from rnnmem.validation import counted

TITLE = "rnnmem study report"
CI_NOTE = ("mean over seeds ± half-width of the 95% t-interval across seeds; a cell with one seed "
           "shows no interval")
BEYOND_NOTE = ("\"> D\": every seed's r(d) stayed above τ over the measured distances 0..D; \"≥\": some seeds did "
               "and count as D + 1, so the mean is a lower bound.")
RULE_NOTE = ("Each model recommends the shortest training length that keeps the tokens it can still use; the unit's "
             "recommendation is the median over seeds of the models trained at its longest training length, which "
             "saw the most context, rounded up.")

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



def format_cell(row) -> str:
    """One table cell: "mean ± half", "> D" when every seed was past the range, "≥ ..." when some were."""
    if row is None or row["n"] == 0:
        return "—"
    if row["n_beyond"] and row["n_beyond"] == row["n"]:
        return memory_length_text(None, int(row["max_distance"]))
    text = number(row["mean"])
    if not math.isnan(row["lo"]):
        text += f" ± {number((row['hi'] - row['lo']) / 2)}"
    if row["n_beyond"]:
        text = "≥ " + text
    return text


def metric_tables(study, table) -> list[dict]:
    """One table per metric, rows unit, columns training length: {metric, title, header, rows}."""
    out = []
    full = len(study.seeds)
    for metric, title in study.metrics():
        sub = table[table["metric"] == metric]
        if not (sub["n"] > 0).any():  # not measured in this store (e.g. the floor, before it existed)
            continue
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


def recommendation_lines(recs: dict[str, dict]) -> list[str]:
    """One sentence of evidence per unit (plain text, escaped by the renderer)."""
    lines = []
    for unit, rec in recs.items():
        per_length = "; ".join(f"L = {n}: {number(v)}" for n, v in rec["by_length"].items())
        rounded = f": {number(rec['median'])}, rounded up" if rec["median"] != rec["length"] else ""
        lines.append(f"{unit}: {_tokens(rec)} (median over seeds of the models trained at "
                     f"L = {rec['from_length']}{rounded}). Median recommendation by training length: {per_length}.")
    return lines



def verdict_blocks(verdicts: list[dict], recs: dict[str, dict]) -> list:
    """Every cell's verdict (`rnnmem.sweep.study.verdicts`), the rule, and the units left without a recommendation."""
    if not verdicts:
        return []
    rule = (f"A model is competent when its held-out accuracy is clearly above the majority baseline (one-sided "
            f"binomial test on the held-out count, alpha {COMPETENCE_ALPHA:g}) and at most "
            f"{100 * COMPETENCE_MARGIN:g} points below bag-of-words. Memory tables and recommendations use "
            "competent models only (n in a table cell counts them), and so do the retention and memory-length "
            "figures; accuracy is shown for every finished model.")
    rows = [[v["unit"], v["max_len"], v["seed"], number(v["accuracy"]), number(v["majority"]), number(v["bag_of_words"]),
             v["verdict"]] for v in verdicts]
    out = [Heading("Verdicts"), Paragraph(rule, note=True),
           Table(["unit", "L", "seed", "accuracy", "majority", "bag-of-words", "verdict"], rows,
                 ["l", "r", "r", "r", "r", "r", "l"])]
    if any(v["verdict"] == "unknown" for v in verdicts):
        out.append(Paragraph("\"unknown\": the cell was stored without its accuracy, baselines or held-out count (a "
                             "sweep of an earlier version): re-run the sweep into a new --store to judge it."))
    return out + [Paragraph(f"No recommendation for {unit}: none of its models is competent.")
                  for unit in dict.fromkeys(v["unit"] for v in verdicts) if unit not in recs]


def summary_lines(info: dict) -> list[str]:
    """The study summary (`rnnmem.sweep.study.study_summary`) as short plain-text lines."""
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


def comparison_blocks(tables: list[dict], fails: list[dict], level: int = 2) -> list:
    """One table per metric (rows: unit, columns: training length) and the failed cells."""
    out = [Paragraph(f"Rows: unit; columns: training length L. Cells: {CI_NOTE}. {BEYOND_NOTE}", note=True)]
    for t in tables:
        out += [Heading(t["title"], level), Table(t["header"], t["rows"])]
    out.append(Heading("Failed cells", level))
    if fails:
        out.append(Table(["unit", "L", "seed", "key", "error (first line)"],
                         [[f["unit"], f["max_len"], f["seed"], f["key"], f["error"]] for f in fails],
                         ["l", "r", "r", "l", "l"]))
    else:
        out.append(Paragraph("None."))
    return out


def comparison_markdown(tables: list[dict], fails: list[dict]) -> str:
    """comparison.md: the comparison tables alone."""
    return to_markdown(comparison_blocks(tables, fails), "Study comparison")


def report_blocks(info: dict, recs: dict[str, dict], tables: list[dict], fails: list[dict],
                  figures: dict[str, Path], verdicts: list[dict] = ()) -> list:
    """report.md / report.html: summary, each cell's verdict, recommendations, figures with their reading, the
    comparison tables."""
    out = [Heading("Study"), Bullets(summary_lines(info)), *verdict_blocks(verdicts, recs),
           Heading("Recommended training length"), Bullets(recommendation_lines(recs), emphasis=True)]
    rows = []
    for unit, rec in recs.items():
        evidence = "; ".join(f"L = {n}: {number(v)}" + _accuracy(rec["accuracy"].get(n))
                             for n, v in rec["by_length"].items())
        rows.append([unit, _tokens(rec), rec["from_length"], evidence, " / ".join(rec["rules"])])
    out += [Table(["unit", "recommended length", "from models trained at L", "median recommendation by training "
                   "length (test accuracy)", "rule applied"], rows, ["l", "r", "r", "l", "l"]),
            Paragraph(RULE_NOTE, note=True), Heading("Figures")]
    for name, path in figures.items():
        title, reading = FIGURE_TEXT[name]
        out += [Heading(title, 3), Paragraph(reading), Image(Path(path).name, title)]
    return out + [Heading("Comparison tables")] + comparison_blocks(tables, fails, level=3)


def _tokens(rec: dict) -> str:
    return f"{'at least ' if rec.get('at_least') else ''}{counted(rec['length'], 'token')}"


def _accuracy(interval) -> str:
    if not interval:
        return ""
    mean, lo, hi = interval
    return f" (acc. {number(mean)})" if math.isnan(lo) else f" (acc. {number(mean)} ± {number((hi - lo) / 2)})"
