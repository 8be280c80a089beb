"""The report of one assessment: its blocks (for Markdown and HTML) and its figures.

Reads a `MemoryReport` through its attributes and methods only; formats numbers with
`rnnmem.report.format` and draws with `rnnmem.report.plots` / `rnnmem.report.ses_plots`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnmem.guidance import next_steps, recommendation_text
from rnnmem.indicators import catalogue, estimators
from rnnmem.progress import progress_bar
from rnnmem.report import hull_plots, plots, ses_plots
from rnnmem.report.blocks import Bullets, Heading, Image, Paragraph, Table, html_body, to_html, to_markdown
from rnnmem.report.console import against_baseline
from rnnmem.report.format import OUTSIDE_MARK, indicator_value, memory_length_text, number, powers_of_two, with_ci
from rnnmem.report.language_model import language_model_blocks
from rnnmem.report.style import save_figure

NAMED_AXES = 10  # the SES axes the context line names; a language model's readout has one per vocabulary word
IMAGES = (("retention", "Retention curves r(d)"), ("fidelity", "Semantic fidelity F(L)"), ("ses", "Semantic Euclidean Space"),
          ("hull", "Semantic hull of one sequence"), ("validity", "Semantic validity: SES axis against human valence"),
          ("training", "Training curves per epoch"))

# What the indicators mean, beside r(d) (its estimators from `indicators.estimators`) and the catalogue's indicators
# (`indicators.catalogue`), which come first.
EXPLANATIONS = (
    ("Semantic fidelity F(L)", "mean cosine (and R²) between the sequence point S(x) and the full-memory "
     "reference S*(x) = Σ s(x_t) for sequences of length L; its knee is the length past which the final "
     "state stops expressing the whole sequence."),
    ("Recommended length", "the shortest training length that keeps every token the unit can still use "
     "(by default ML(0.1), capped by the data's own lengths); its 95% interval is the same rule on each bootstrap "
     "resample of r(d)."),
    ("Probe accuracy by distance", "held-out accuracy of a linear classifier that reads, from the final hidden "
     "state, which of the 10 most frequent tokens stood d steps before the end (or the class of the segment "
     "covering it); far above chance = the state still carries that token."),
    ("Pillar words and retention", "a sequence's pillar words are the vertices of the convex hull of its word "
     "points; pillar retention is the share of them whose occlusion still moves S(x) by at least τ times their "
     "own effect, and retained volume the share of the hull's volume spanned by the retained words."),
    ("Semantic validity", "Spearman rank correlation between each word's SES coordinate along positive minus "
     "negative, s(w)[positive] − s(w)[negative], and its mean human valence rating in the VADER lexicon (Hutto & "
     "Gilbert 2014); beside it the same for an untrained model of the same configuration, the floor. Well above "
     "the floor = the axes mean what they are named for."),
)

def render_markdown(report, title: str = "Memory assessment") -> str:
    """The report as Markdown: headline table, guidance, retention and fidelity tables, notes, images."""
    return to_markdown(report_blocks(report), title)


def render_html(report, title: str, figures: dict[str, Path], links: dict[str, str] | None = None) -> str:
    """The report as one self-contained HTML page, with the ``figures`` (from `write_figures`) inlined and
    ``links`` (text -> address) to the pages written beside it."""
    image_dir = next(iter(figures.values())).parent if figures else Path(".")
    return to_html(report_blocks(report), title, image_dir, links)


def render_notebook_html(report) -> str:
    """The report's text and tables as an HTML fragment for a notebook cell; its images section says where the
    figures are (``report.plot(folder)``, ``report.to_html(path)``) instead of inlining them."""
    blocks = [block for block in report_blocks(report) if not isinstance(block, Image)]
    blocks.append(Paragraph("report.plot(folder) writes the figures; report.to_html(path) writes this report "
                            "with them, and report.to_interactive_html(path) the interactive page.", note=True))
    return f"<div class='rnnmem-report'>{html_body(blocks, None)}</div>"


def write_figures(report, directory: str | Path) -> dict[str, Path]:
    """retention.png, fidelity.png, ses.png (and hull.png, validity.png when measured, training.png when the run's
    training record has its curves) in ``directory``, by name."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    figures = {"retention": plots.retention_figure, "fidelity": plots.fidelity_figure, "ses": ses_plots.ses_figure}
    if report.hull is not None and report.hull.example:
        figures["hull"] = hull_plots.hull_figure
    if _validity_views(report):
        figures["validity"] = plots.validity_figure
    if "curves" in report.training_record():
        figures["training"] = plots.training_figure
    return {name: save_figure(draw(report), directory / f"{name}.png")
            for name, draw in progress_bar(figures.items(), "figures", total=len(figures))}


def report_blocks(report) -> list:
    summary = report.summary()
    out = _verdict_section(report, summary) + [Paragraph(_setup_text(report)), Heading("Headline")]
    if report.estimators:
        labels = [entry.label for entry in catalogue.CURVE_INDICATORS]
        header, rows = ["estimator"] + [f"{label} [95% CI]" for label in labels], []
        for name in report.estimators:
            row = [name] + [indicator_value(reading) for reading in report.indicator_values(name)]
            if report.floor is not None:
                row.append(" / ".join(indicator_value(reading, interval=False)
                                      for reading in report.floor.indicator_values(name))
                           if name in report.floor.estimators else "-")
            rows.append(row)
        if report.floor is not None:
            header.append("untrained floor: " + " / ".join(labels))
        out.append(Table(header, rows))
        if any(reading.outside_interval for name in report.estimators for reading in report.indicator_values(name)):
            out.append(Paragraph(f"{OUTSIDE_MARK} {catalogue.OUTSIDE_INTERVAL}", note=True))
    else:
        out.append(Paragraph(f"This report has {report.no_curve_reason()}"))
    out.append(Bullets(_headline_items(report, summary)))
    out += _training_section(report, summary["training"])
    out += language_model_blocks(report)
    out += [Heading("Retention r(d)"), Paragraph("Share of a token's semantics still present at the end of the "
            "sequence, by its distance from the end d (d = 0 is the last token); 95% bootstrap intervals in brackets."),
            _retention_table(report)]
    out += [Heading("Semantic fidelity"), Paragraph("Agreement of the sequence point S(x) with the full-memory "
            "reference S*(x) = Σ s(x_t), by sequence length (every prefix counts as a sequence of its length)."),
            _fidelity_table(report, summary["fidelity_knee"])]
    out += _probe_section(report) + _hull_section(report) + _validity_section(report)
    out += [Heading("What the indicators mean"), Bullets(_explanations()),
            Heading("Notes"), Bullets(list(report.notes) or ["none"]), Heading("Images")]
    shown = {"hull": report.hull is not None and bool(report.hull.example), "validity": bool(_validity_views(report)),
             "training": "curves" in report.training_record()}
    out += [Image(f"{name}.png", alt) for name, alt in IMAGES if shown.get(name, True)]
    steps = next_steps(summary)
    return out + [Heading("Next steps"), Bullets(steps or ["none: the numbers ask for no rerun."])]


def _explanations() -> list[tuple[str, str]]:
    ways = [f"{entry.name} ({entry.help})" for entry in estimators.ESTIMATORS]
    retention = ("Retention r(d)", "how much of the semantics of the token d steps before the end is still present at "
                 "the end (1 = all of it, 0 = none); estimated by " + ", ".join(ways[:-1])
                 + (" and " if len(ways) > 1 else "") + ways[-1] + ".")
    return [retention, *((entry.title, entry.explanation) for entry in catalogue.CURVE_INDICATORS), *EXPLANATIONS]


def _headline_items(report, summary: dict) -> list[tuple[str, str]]:
    items = []
    knee = summary["fidelity_knee"]
    if knee is None:
        items.append(("Fidelity knee", "none — the cosine between S(x) and S*(x) does not fall with length over the "
                                       "measured lengths."))
    else:
        cos = report.fidelity_at(int(knee))
        items.append(("Fidelity knee", f"length {number(knee)}" + (f" (cosine there {number(cos)})" if cos is not None
                                                                    else "")))
    if summary.get("fidelity_at_median_length") is not None:
        floor_fidelity = (summary.get("floor") or {}).get("fidelity_at_median_length")
        items.append((f"Fidelity at the median length ({number(float(np.median(report.lengths)))} tokens)",
                      f"cosine {number(summary['fidelity_at_median_length'])}"
                      + (f" (untrained floor {number(floor_fidelity)})" if floor_fidelity is not None else "")))
    rec = summary["recommended_length"]
    if rec["length"] is None:
        return items + [("Recommended training length", "none — no estimator gave the retention curve it is read from "
                                                        "(see above).")]
    last = report.last_measured_distance(report.default_estimator())
    evidence = "; ".join(f"{key} = {_evidence_value(key, value, last)}" for key, value in rec["evidence"].items())
    items.append(("Recommended training length", f"{recommendation_text(rec)} — {rec['rule']}. Evidence: {evidence}."))
    return items


def _retention_table(report) -> str:
    distance = report.retention["distance"].to_numpy()
    if not len(distance) or not report.estimators:
        return Paragraph("No retention curve was measured (see the headline).")
    wanted = set(powers_of_two(int(distance[-1]))) | {0}
    rows = []
    for i, d in enumerate(distance):
        if int(d) not in wanted:
            continue
        row = [int(d)]
        for name in report.estimators:
            row.append(with_ci(report.retention[name].iloc[i],
                                (report.retention[f"{name}_lo"].iloc[i], report.retention[f"{name}_hi"].iloc[i])))
        rows.append(row)
    return Table(["d"] + [f"{name} [95% CI]" for name in report.estimators], rows)


def _fidelity_table(report, knee) -> str:
    table = report.fidelity
    if not len(table):
        return Paragraph("No fidelity was measured.")
    lengths = table["length"].to_numpy()
    wanted = set(powers_of_two(int(lengths[-1]))) | {int(lengths[-1])}
    if knee is not None:
        wanted.add(int(knee))
    rows = []
    for _, row in table.iterrows():
        length = int(row["length"])
        if length not in wanted:
            continue
        mark = " (knee)" if knee is not None and length == int(knee) else ""
        rows.append([f"{length}{mark}", int(row["sequences"]),
                     with_ci(row["cosine"], (row["cosine_lo"], row["cosine_hi"])), number(row["r2"])])
    return Table(["length", "sequences", "cosine [95% CI]", "R²"], rows)


def _probe_section(report) -> list:
    if report.probes is None:
        return []
    table = report.probes
    wanted = set(powers_of_two(int(table["distance"].iloc[-1]))) if len(table) else set()
    header = ["d", "token probe", "chance", "n"]
    segment = "segment_accuracy" in table
    if segment:
        header += ["segment probe", "chance", "n"]
    rows = []
    for _, row in table[table["distance"].isin(wanted)].iterrows():
        cells = [int(row["distance"]), number(row["token_accuracy"]), number(row["token_chance"]), int(row["token_n"])]
        if segment:
            cells += [number(row["segment_accuracy"]), number(row["segment_chance"]), int(row["segment_n"])]
        rows.append(cells)
    return [Heading("Probes by distance"), Paragraph(
        "Held-out accuracy of a linear probe on the final hidden state that recovers the token at distance d (among "
        "the 10 most frequent tokens)" + (" and the class of the segment covering it" if segment else "")
        + "; chance = always answering the most frequent class; n = held-out sequences."), Table(header, rows)]


def _hull_section(report) -> list:
    hull = report.hull
    if hull is None:
        return []
    table = hull.by_distance
    wanted = set(powers_of_two(int(table["distance"].iloc[-1]))) if len(table) else set()
    rows = [[int(row["distance"]), with_ci(row["pillar_retention"], (row["lo"], row["hi"])), int(row["n"])]
            for _, row in table[table["distance"].isin(wanted)].iterrows()]
    volume = hull.retained_volume
    return [Heading("Hull view"), Paragraph(
        f"Pillar words are the vertices of the convex hull of a sequence's word points; one counts as retained when "
        f"occluding it still moves S(x) by at least τ = {number(hull.tau)} times its own effect. Retention of pillar "
        "words by distance from the end (n = pillar words):"),
        Table(["d", "pillar retention [95% CI]", "n"], rows),
        Bullets([("Retained volume", f"{with_ci(volume.mean, (volume.lo, volume.hi))} of the hull's volume is spanned "
                                     f"by the retained words (mean over {volume.n} sequences).")])]


def _verdict_section(report, summary: dict) -> list:
    """The top of the report: the plain-words verdict, accuracy beside its baselines, validity beside its floor."""
    record = summary["training"]
    accuracy = record.get("test_accuracy")
    rows = [["held-out accuracy", "unknown (no training record)" if accuracy is None else number(accuracy),
             f"majority class {number(record.get('majority_baseline'))}; bag-of-words "
             f"{number(record.get('bag_of_words_baseline'))}"]]
    if "test_perplexity" in record:  # a language model
        rows = [["test perplexity", number(record["test_perplexity"]),
                 f"unigram model {number(record.get('unigram_perplexity'))}"]]
    views = dict(_validity_views(report))
    trained, untrained = views.get("trained (this model)"), views.get("untrained (floor)")
    if trained is not None:
        rows.append(["semantic validity (Spearman ρ)", with_ci(trained.rho, (trained.low, trained.high)),
                     "no untrained floor" if untrained is None else
                     f"untrained floor {with_ci(untrained.rho, (untrained.low, untrained.high))}"])
    return [Heading("Verdict"), Bullets(list(summary["verdict"]["statements"]), emphasis=True),
            Table(["", "this model", "reference"], rows, align=["l", "r", "l"]),
            Paragraph("Each memory indicator stands beside its untrained floor in the headline table below. The floor "
                      "is a reference, not a lower bound (a trained model may keep less than its initialisation); "
                      "report.json keeps trained − floor with its paired-bootstrap interval.", note=True)]


def _training_section(report, record: dict) -> list:
    """How the model was trained, from the training run or the checkpoint's model.json; nothing when unknown."""
    if not record:
        return []
    pieces = record.get("epochs_on_pieces")
    items = [("Training", f"training length {number(record.get('train_max_len'))} tokens; epoch "
                          f"{number(record.get('best_epoch'))} of {number(record.get('epochs_run'))} kept"
                          + (f" (the first {pieces} on single pieces)" if pieces else "")
                          + (f": {record['stopped']}" if record.get("stopped") else "")),
             ("Competence", f"{record.get('competence') or 'unknown'} ("
                            + (against_baseline(record) if "test_perplexity" in record else
                               f"accuracy {number(record.get('test_accuracy'))}, majority "
                               f"{number(record.get('majority_baseline'))}, bag-of-words "
                               f"{number(record.get('bag_of_words_baseline'))}") + ")")]
    if record.get("settings"):
        items.append(("Settings", ", ".join(f"{key} = {value}" for key, value in record["settings"].items())))
    if record.get("data_fingerprint"):
        items.append(("Data fingerprint", f"SHA-256 {record['data_fingerprint']} (corpus name, options, texts, labels)"))
    if record.get("versions"):
        items.append(("Library versions at training", ", ".join(f"{k} {v}" for k, v in record["versions"].items())))
    source = report.meta.get("model", {}).get("checkpoint")
    return [Heading("Training record"), Paragraph(f"Read from the checkpoint's model.json ({source})." if source else
                                                  "Recorded when the model was trained (`rnnmem assess` keeps it in model/model.json)."), Bullets(items)]


def _validity_views(report) -> list:
    views = getattr(report, "semantic_validity", None) or {}
    return [(name, views.get(key)) for key, name in (("trained", "trained (this model)"),
                                                     ("untrained", "untrained (floor)")) if views.get(key) is not None]


def _validity_section(report) -> list:
    views = _validity_views(report)
    if not views:
        return []
    rows = [[name, with_ci(v.rho, (v.low, v.high)), v.n_matched] for name, v in views]
    out = [Heading("Semantic validity"), Paragraph(
        "Spearman ρ between each vocabulary word's SES coordinate s(w)[positive] − s(w)[negative] and its mean human "
        "valence rating (VADER lexicon, ten raters, −4 … 4); 95% bootstrap intervals over words; n = words rated in "
        "the lexicon."), Table(["model", "Spearman ρ [95% CI]", "n"], rows)]
    if len(views) == 1:
        out.append(Paragraph("No untrained floor: see the notes."))
    return out


def _setup_text(report) -> str:
    meta = report.meta
    parts = []
    n = meta.get("n_sequences")
    if n is not None:
        parts.append(f"Measured on {n} sequences")
    lengths = meta.get("sequence_length")
    if lengths:
        parts.append(f"of {lengths['min']}–{lengths['max']} tokens (median {number(lengths['median'])})")
    text = " ".join(parts) + "." if parts else ""
    extra = []
    if report.estimators:
        extra.append(f"Retention estimators: {', '.join(report.estimators)}")
    if meta.get("max_distance") is not None:
        extra.append(f"distances 0..{meta['max_distance']}")
    if meta.get("n_resamples") is not None:
        extra.append(f"95% bootstrap intervals from {meta['n_resamples']} resamples of the sequences"
                     + (f" (seed {meta['seed']})" if meta.get("seed") is not None else ""))
    if extra:
        text += " " + "; ".join(extra) + "."
    k = report.num_dimensions
    if report.label_names:
        names = report.label_names
        shown = ", ".join(names[:NAMED_AXES]) + (f", … ({len(names)} in all)" if len(names) > NAMED_AXES else "")
        text += f" SES axes (K = {k}): {shown}."
    if meta.get("origin"):
        text += f" SES origin: {meta['origin']}."
    return text.strip()


def _evidence_value(key: str, value, last: int) -> str:
    if key.startswith("ML("):
        return memory_length_text(value, last)
    if value is None:
        return "none"
    return number(value) if isinstance(value, (int, float, np.number)) else str(value)
