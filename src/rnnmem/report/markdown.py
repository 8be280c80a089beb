"""A Markdown rendering of a MemoryReport that can be pasted into a paper or a README.

Tables are GitHub pipe tables written by `pipe_table` (no dependency on ``tabulate``).
"""

from __future__ import annotations

import math

import numpy as np

from rnnmem.indicators.curve import last_measured_distance

IMAGES = (("retention.png", "Retention curves r(d)"), ("fidelity.png", "Semantic fidelity F(L)"),
          ("ses.png", "Semantic Euclidean Space"))

EXPLANATIONS = (
    ("ML(0.5) — half-life", "the first distance from the end d at which a token keeps at most half of its "
     "semantics in the final state; “> D” means it never fell that far within the measured distances 0..D."),
    ("ML(0.1) — horizon", "the first distance at which a token keeps at most a tenth of its semantics: "
     "tokens farther back barely reach the final state."),
    ("Memory capacity MC", "the sum of r(d) over the measured distances: the effective number of tokens remembered."),
    ("Retention r(d)", "how much of the semantics of the token d steps before the end is still present at the end "
     "(1 = all of it, 0 = none); estimated by occlusion (replace the token by a neutral one), regression "
     "(least-squares weight of each distance) and gradient (how far error signals flow back)."),
    ("Recency bias", "r(0) divided by the mean r(d) over the older half of a median-length sequence: 1 = no "
     "preference for recent tokens, large = the last tokens dominate."),
    ("Semantic fidelity F(L)", "mean cosine (and R²) between the sequence point S(x) and the full-memory "
     "reference S*(x) = Σ s(x_t) for sequences of length L; its knee is the length past which the final "
     "state stops expressing the whole sequence."),
    ("Recommended length", "the shortest training length that keeps every token the unit can still use "
     "(by default ML(0.1), capped by the data's own lengths)."),
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
    summary = report.summary()
    default = report.default_estimator() if report.estimators else None
    out = [f"# {title}", "", _context(report), ""]

    out += ["## Headline", ""]
    if report.estimators:
        rows = []
        for name, values in summary["estimators"].items():
            last = _last_measured(report, name)
            rows.append([name,
                         _ml(values["ML(0.5)"], values["ML(0.5) CI"], last),
                         _ml(values["ML(0.1)"], values["ML(0.1) CI"], last),
                         _with_ci(values["capacity"], values["capacity CI"])])
        out += [pipe_table(["estimator", "ML(0.5) [95% CI]", "ML(0.1) [95% CI]", "capacity MC [95% CI]"], rows), ""]
    else:
        out += ["No retention estimator was computed.", ""]

    out += [f"- **Recency bias** ({default}): {_recency(summary['recency_bias'], summary['recency_bias CI'])}"]
    knee = summary["fidelity_knee"]
    if knee is None:
        out += ["- **Fidelity knee**: none — the cosine between S(x) and S*(x) does not fall with length "
                "over the measured lengths."]
    else:
        cos = report.fidelity_at(int(knee))
        at = f" (cosine there {_num(cos)})" if cos is not None else ""
        out += [f"- **Fidelity knee**: length {_num(knee)}{at}"]
    median_fid = summary.get("fidelity_at_median_length")
    if median_fid is not None:
        out += [f"- **Fidelity at the median length** ({_num(float(np.median(report.lengths)))} tokens): "
                f"cosine {_num(median_fid)}"]
    rec = summary["recommended_length"]
    last = _last_measured(report, default) if default else 0
    evidence = "; ".join(f"{key} = {_evidence_value(key, value, last)}" for key, value in rec["evidence"].items())
    out += [f"- **Recommended training length**: **{rec['length']} tokens** — {rec['rule']}.",
            f"  Evidence: {evidence}.", ""]

    out += ["## Retention r(d)", "", "Share of a token's semantics still present at the end of the sequence, "
            "by its distance from the end d (d = 0 is the last token); 95% bootstrap intervals in brackets.", ""]
    out += [_retention_table(report), ""]

    out += ["## Semantic fidelity", "", "Agreement of the sequence point S(x) with the full-memory reference "
            "S*(x) = Σ s(x_t), by sequence length (every prefix counts as a sequence of its length).", ""]
    out += [_fidelity_table(report, knee), ""]

    out += _probe_section(report) + _hull_section(report) + _validity_section(report)

    out += ["## What the indicators mean", ""]
    out += [f"- **{name}**: {text}" for name, text in EXPLANATIONS]
    out += [""]

    out += ["## Notes", ""]
    out += [f"- {note}" for note in report.notes] if report.notes else ["- none"]
    out += [""]

    out += ["## Images", ""]
    out += [f"![{alt}]({path})" for path, alt in IMAGES]
    if report.hull is not None and report.hull.example:
        out += ["![Semantic hull of one sequence](hull.png)"]
    if _validity_views(report):
        out += ["![Semantic validity: SES axis against human valence](validity.png)"]
    out += [""]
    return "\n".join(out)


# -- tables ------------------------------------------------------------------------------
def pipe_table(header: list[str], rows: list[list], align: list[str] | None = None) -> str:
    """A GitHub pipe table; ``align`` per column is "l" or "r" (default: first column left, others right)."""
    align = align or ["l"] + ["r"] * (len(header) - 1)
    rule = [":---" if a == "l" else "---:" for a in align]
    lines = [_row(header), _row(rule)]
    lines += [_row(row) for row in rows]
    return "\n".join(lines)


def _row(cells) -> str:
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def _cell(value) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _retention_table(report) -> str:
    distance = report.retention["distance"].to_numpy()
    if not len(distance) or not report.estimators:
        return "No retention curve was measured."
    wanted = set(_powers_of_two(int(distance[-1]))) | {0}
    rows = []
    for i, d in enumerate(distance):
        if int(d) not in wanted:
            continue
        row = [int(d)]
        for name in report.estimators:
            row.append(_with_ci(report.retention[name].iloc[i],
                                (report.retention[f"{name}_lo"].iloc[i], report.retention[f"{name}_hi"].iloc[i])))
        rows.append(row)
    return pipe_table(["d"] + [f"{name} [95% CI]" for name in report.estimators], rows)


def _fidelity_table(report, knee) -> str:
    table = report.fidelity
    if not len(table):
        return "No fidelity was measured."
    lengths = table["length"].to_numpy()
    wanted = set(_powers_of_two(int(lengths[-1]))) | {int(lengths[-1])}
    if knee is not None:
        wanted.add(int(knee))
    rows = []
    for _, row in table.iterrows():
        length = int(row["length"])
        if length not in wanted:
            continue
        mark = " (knee)" if knee is not None and length == int(knee) else ""
        rows.append([f"{length}{mark}", int(row["sequences"]),
                     _with_ci(row["cosine"], (row["cosine_lo"], row["cosine_hi"])), _num(row["r2"])])
    return pipe_table(["length", "sequences", "cosine [95% CI]", "R²"], rows)


def _probe_section(report) -> list[str]:
    if report.probes is None:
        return []
    table = report.probes
    wanted = set(_powers_of_two(int(table["distance"].iloc[-1]))) if len(table) else set()
    header = ["d", "token probe", "chance", "n"]
    segment = "segment_accuracy" in table
    if segment:
        header += ["segment probe", "chance", "n"]
    rows = []
    for _, row in table[table["distance"].isin(wanted)].iterrows():
        cells = [int(row["distance"]), _num(row["token_accuracy"]), _num(row["token_chance"]), int(row["token_n"])]
        if segment:
            cells += [_num(row["segment_accuracy"]), _num(row["segment_chance"]), int(row["segment_n"])]
        rows.append(cells)
    return ["## Probes by distance", "", "Held-out accuracy of a linear probe on the final hidden state that recovers "
            "the token at distance d (among the 10 most frequent tokens)" + (" and the class of the segment covering "
            "it" if segment else "") + "; chance = always answering the most frequent class; n = held-out sequences.",
            "", pipe_table(header, rows), ""]


def _hull_section(report) -> list[str]:
    hull = report.hull
    if hull is None:
        return []
    table = hull.by_distance
    wanted = set(_powers_of_two(int(table["distance"].iloc[-1]))) if len(table) else set()
    rows = [[int(row["distance"]), _with_ci(row["pillar_retention"], (row["lo"], row["hi"])), int(row["n"])]
            for _, row in table[table["distance"].isin(wanted)].iterrows()]
    volume = hull.retained_volume
    return ["## Hull view", "", f"Pillar words are the vertices of the convex hull of a sequence's word points; one "
            f"counts as retained when occluding it still moves S(x) by at least τ = {_num(hull.tau)} times its own "
            "effect. Retention of pillar words by distance from the end (n = pillar words):", "",
            pipe_table(["d", "pillar retention [95% CI]", "n"], rows), "",
            f"- **Retained volume**: {_with_ci(volume.mean, (volume.lo, volume.hi))} of the hull's volume is spanned "
            f"by the retained words (mean over {volume.n} sequences).", ""]


def _validity_views(report) -> list:
    views = getattr(report, "semantic_validity", None) or {}
    return [(name, views.get(key)) for key, name in (("trained", "trained (this model)"),
                                                     ("untrained", "untrained (floor)")) if views.get(key) is not None]


def _validity_section(report) -> list[str]:
    views = _validity_views(report)
    if not views:
        return []
    rows = [[name, _with_ci(v.rho, (v.low, v.high)), v.n_matched] for name, v in views]
    text = ["## Semantic validity", "", "Spearman ρ between each vocabulary word's SES coordinate s(w)[positive] − "
            "s(w)[negative] and its mean human valence rating (VADER lexicon, ten raters, −4 … 4); 95% bootstrap "
            "intervals over words; n = words rated in the lexicon.", "",
            pipe_table(["model", "Spearman ρ [95% CI]", "n"], rows), ""]
    if len(views) == 1:
        text += ["No untrained floor: see the notes.", ""]
    return text


def _powers_of_two(last: int) -> list[int]:
    """0, 1, 2, 4, 8, ... up to ``last``, and ``last`` itself."""
    out, d = [0], 1
    while d <= last:
        out.append(d)
        d *= 2
    if last not in out:
        out.append(last)
    return out


# -- numbers -----------------------------------------------------------------------------
def _num(value) -> str:
    """Short human form: integers as such, floats to 3 significant digits, missing as an em dash."""
    if value is None:
        return "—"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    value = float(value)
    if math.isnan(value):
        return "—"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if value == int(value) and abs(value) < 1e6:
        return str(int(value))
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _with_ci(value, ci) -> str:
    low, high = ci
    if _missing(low) or _missing(high):
        return _num(value)
    return f"{_num(value)} [{_num(low)}, {_num(high)}]"


def _ml(value, ci, last: int) -> str:
    """ML(tau) with its CI; a value that never fell within 0..D reads "> D" (the interval counts it as D + 1)."""
    shown = f"> {last}" if value is None else _num(value)
    low, high = ci
    if _missing(low) or _missing(high):
        return shown
    bound = lambda x: f"> {last}" if x > last else _num(x)  # noqa: E731
    return f"{shown} [{bound(low)}, {bound(high)}]"


def _recency(value, ci) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "not defined (the sequences are too short to have an older half)"
    text = _with_ci(value, ci)
    if math.isinf(value):
        text += " (the older half of the sequence is forgotten entirely)"
    return text


def _evidence_value(key: str, value, last: int) -> str:
    if value is None:
        return f"> {last}" if key.startswith("ML(") else "none"
    return _num(value) if isinstance(value, (int, float, np.number)) else str(value)


def _missing(value) -> bool:
    return value is None or (isinstance(value, (float, np.floating)) and math.isnan(value))


def _last_measured(report, estimator: str) -> int:
    """Largest measured distance for this estimator (D of "> D")."""
    return last_measured_distance(report.retention["distance"], report.retention[estimator])


def _context(report) -> str:
    meta = report.meta
    parts = []
    n = meta.get("n_sequences")
    if n is not None:
        parts.append(f"Measured on **{n} sequences**")
    lengths = meta.get("sequence_length")
    if lengths:
        parts.append(f"of {lengths['min']}–{lengths['max']} tokens (median {_num(lengths['median'])})")
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
        text += f" SES axes (K = {k}): {', '.join(report.label_names)}."
    if meta.get("origin"):
        text += f" SES origin: {meta['origin']}."
    return text.strip()
