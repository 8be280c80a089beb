"""Reproduction study on models that learned their task: units x training lengths x seeds on real text.

    python benchmarks/reproduce.py                  # tweets-docs, 9 units x 4 lengths x seed 0, and seeds 1, 2 at
                                                    # length 128: 54 cells, the subset run on 2 cores
    python benchmarks/reproduce.py --seeds 0 1 2    # the full grid: 108 cells (a machine with more cores)
    python benchmarks/reproduce.py --quick          # 3 units, 2 lengths, 1 seed, tiny models (< 5 min)
    python benchmarks/reproduce.py --render-only    # docs/study.md again from the store and the results files

Each cell trains a classifier (validation split, early stopping, the tweet curriculum) and assesses it
beside its untrained floor with occlusion, the replacement reference and regression (which declines on
a negative weight); the library's competence verdict decides which models the memory numbers count
(benchmarks/study_tables.py reads the cells into the tables). Writes docs/study.md (docs/study-quick.md
with --quick) and its figures under docs/study/ (docs/study-quick/); the
newsgroups and language-model sections are read from benchmarks/results/newsgroups.json and
benchmarks/results/lm_context.json, written by benchmarks/newsgroups_competence.py and
benchmarks/lm_context.py. The sweep is resumable: the store (runs/study.sqlite, or --store PATH) keeps
every finished cell, so an interrupted (or terminated: SIGTERM to this process unwinds like Ctrl-C) study picks
up where it stopped, cells first in the order that loses least when cut short (`sweep_order`). With
--sweep-only it only runs the cells; --render-only then writes the document from the store.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

import rnnmem
import rnnmem.units
from rnnmem.baselines import COMPETENCE_ALPHA, COMPETENCE_MARGIN, COMPETENT
from rnnmem.fileio import exit_on_sigterm, write_atomically
from rnnmem.indicators.planted import accuracy_by_planted_distance, memory_distance
from rnnmem.report.blocks import pipe_table
from rnnmem.sweep import ResultsStore, expand_grid, run_sweep
from rnnmem.sweep.study import load_study, recommendations, write_study_report
from study_tables import (ESTIMATORS, MEMORY, SES_AND_REFERENCE, competence_table, difference_table, difference_text,
                          fmt, group_numbers, mean_of, memory_table, shown, spearman, unfinished)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
# the 7 recurrent units, then attention and a selective state space at matched parameter counts (`cost_table`)
UNITS = ["srn", "lstm", "gru", "mgu", "indrnn", "mingru", "lru", "transformer", "mamba"]
# 128 sequences and 300 resamples per cell (instead of the CLI's 256 and 1000) keep a cell near
# two minutes on one core; the intervals are correspondingly wider.
FULL = {"units": UNITS, "lengths": [16, 32, 64, 128],
        "base": {"max_sequences": 128, "n_resamples": 300, "estimators": list(ESTIMATORS)},
        "planted": {"length": 64, "size": 4000, "epochs": 4}}
QUICK = {"units": ["srn", "lstm", "gru"], "lengths": [16, 32],
         "base": {"epochs": 1, "piece_epochs": 1, "hidden_size": 32, "embedding_dim": 32, "doc_tokens": 64,
                  "max_distance": 40, "max_sequences": 64, "n_resamples": 200, "estimators": list(ESTIMATORS)},
         "planted": {"length": 24, "size": 1200, "epochs": 2}}


def planted_distances(plan: dict, units: list[str], hidden: int) -> dict[str, dict]:
    """Train each unit on the planted-signal task; its memory distance and accuracy by distance."""
    corpus = rnnmem.load_corpus("planted", num_classes=4, length=plan["length"], size=plan["size"], seed=0)
    out = {}
    for unit in units:
        model = rnnmem.build_model(unit, len(corpus.vocabulary), corpus.num_classes, hidden_size=hidden,
                                   embedding_dim=hidden, seed=0)
        rnnmem.train(model, corpus, max_len=plan["length"], epochs=plan["epochs"], seed=0, progress=False)
        frame = accuracy_by_planted_distance(model, corpus)
        out[unit] = {"memory_distance": memory_distance(frame, chance=1 / corpus.num_classes),
                     "accuracy_near": float(frame[frame["distance"] < 4]["accuracy"].mean()),
                     "accuracy_far": float(frame[frame["distance"] >= plan["length"] // 2]["accuracy"].mean())}
    return out


def seeds_by_length(study) -> dict[int, list[int]]:
    """Training length -> the seeds finished at it."""
    return {L: sorted({r["config"]["seed"] for r in study.results if r["config"]["max_len"] == L}) for L in study.lengths}


def study_document(study, plan, planted, elapsed: float | None, figures_dir: str, store_path: Path) -> str:
    longest = max(study.lengths)
    units = study.units
    cells = {(u, L): group_numbers(study, u, L) for u in units for L in study.lengths}
    recommended = recommendations(study)
    compute = sum(r["result"]["timings"]["train_s"] + r["result"]["timings"]["assess_s"] for r in study.results)
    quick = plan is QUICK
    missing = unfinished(study)
    lines = [
        "# Reproduction study: how far back do recurrent units remember real text?",
        "",
        f"Generated by `python benchmarks/reproduce.py{' --quick' if quick else ''}` "
        f"({time.strftime('%Y-%m-%d')}); rerunning it regenerates every number and figure here.",
        "",
        "## Setup",
        "",
        "- Corpus: `tweets-docs` — documents of concatenated real tweets labelled by their majority sentiment "
        "(negative / neutral / positive); to classify one a model must remember the whole document.",
        "- Training: the defaults of `rnnmem assess` — two curriculum epochs on the single tweets, then documents "
        "with a 10% validation split carved from the training data and early stopping (patience 3, best epoch "
        "restored) within a budget of 12 epochs.",
        f"- Grid run here: units {', '.join(units)} × training lengths {', '.join(map(str, study.lengths))}; "
        + "; ".join(f"at length {L} seeds {', '.join(map(str, seeds))}" for L, seeds in seeds_by_length(study).items())
        + f" = {len(study.results)} trained and assessed models (settings beyond the defaults: {plan['base']}). "
        + ("" if quick or all(len(seeds) >= 3 for seeds in seeds_by_length(study).values()) else
           f"`--seeds 0 1 2` runs the full grid of {len(units) * len(study.lengths) * 3} cells, into the same "
           "resumable store. ")
        + "Every number in this section comes from this run.",
        *([f"- **Not finished** when this document was rendered: {len(missing)} of the {len(study.cells)} cells the "
           f"store was given ({'; '.join(missing)}). Every table and finding below is over the "
           f"{len(study.results)} finished cells only; a unit × length with none reads \"not run\"."]
          if missing else []),
        f"- Compute: {compute / 60:.1f} minutes of training and assessment summed over cells; "
        + (f"this document was rendered from the cells in `{store_path.name}`." if elapsed is None else
           f"this run took {elapsed / 60:.1f} min of wall time on {os.cpu_count()} cores (cells already in "
           f"`{store_path.name}` are reused)."),
        "- Estimators ([estimators.md](estimators.md)): r(d) is the share of the model's own largest token effect "
        "that the token d steps before the end still has. **replacement** is the reference: the readout's move when "
        "the token is replaced by tokens drawn from the data, no SES needed; **occlusion** replaces it by a neutral "
        "token and measures the move in the SES; **regression** fits one weight per distance and declines (no "
        "number, shown as \"declined\") when a weight is negative. The gradient estimator is opt-in and not run here.",
        f"- Competence is the library's verdict (`rnnmem.baselines.competence_verdict`): held-out accuracy above the "
        f"majority baseline by a one-sided binomial test at α = {COMPETENCE_ALPHA}, and at most "
        f"{COMPETENCE_MARGIN * 100:.0f} points below bag-of-words. Accuracy is averaged over every seed; every other "
        "number only over the competent seeds, as in `rnnmem report`: the memory of a model that did not learn its "
        "task is not a finding about its unit.",
        "- Each indicator is shown beside its **untrained floor** (in parentheses): the same architecture and seed "
        "at initialisation, assessed on the same sequences. The floor is a reference, not a lower bound; what "
        "training changed is the difference, with its paired-bootstrap interval.",
        f"- Planted-signal task: one of 4 class words planted at a controlled distance in {plan['planted']['length']} "
        "filler words; memory distance = first distance where accuracy falls halfway to chance.",
        "",
        f"## Competence and validity (training length {longest}, mean over seeds)",
        "",
        competence_table(cells, units, longest, recommended),
        "",
        f"## Main table: memory (training length {longest}, mean over competent seeds; untrained floor in parentheses)",
        "",
        memory_table(cells, units, longest),
        "",
        "ML values are distances in tokens; \"> D\" means r(d) stayed above τ over the whole measured range 0..D "
        "for every seed, \"≥ x\" that it did for some (counted as D + 1, so the mean is a lower bound). Capacity is "
        "the retention capacity Σ_d r(d). \"declined\": regression gave no number (a negative weight; see "
        "[estimators.md](estimators.md)). Per-length tables with 95% intervals across seeds are in "
        f"[{figures_dir}/comparison.md]({figures_dir}/comparison.md).",
        "",
        f"## Cost (training length {longest}, mean over seeds)",
        "",
        cost_table(study, units, longest, plan["base"].get("hidden_size", 64), plan["base"].get("embedding_dim", 64)),
        "",
        "Parameters of the unit alone: the embedding and the readout are the same for every unit. Seconds are one "
        "core's wall time per cell (training; assessment of the trained model and its floor), measured while the "
        "other worker ran.",
        "",
        f"### Trained minus floor (training length {longest})",
        "",
        difference_table(cells, units, longest),
        "",
        "One seed: the difference with its 95% paired-bootstrap interval; several: the mean difference and how many "
        "seeds' intervals exclude 0. \"≥\" (\"≤\"): the trained model's (the floor's) ML lay past the measured "
        "range, so the difference is a bound.",
        "",
        "## Figures",
        "",
        f"![Retention by unit]({figures_dir}/retention_by_unit.png)",
        f"![Accuracy and fidelity by training length]({figures_dir}/accuracy_fidelity_by_length.png)",
        f"![Memory length by training length]({figures_dir}/memory_length_by_length.png)",
        "",
        "## What the numbers say",
        "",
    ]
    lines += findings(units, cells, study, recommended, planted, plan["planted"]["length"])
    lines += external_sections()
    return "\n".join(lines) + "\n"


def cost_table(study, units, length: int, hidden: int, embedding: int) -> str:
    """Each unit's parameters at the study's sizes and its mean training and assessment seconds per cell."""
    rows = []
    for unit in units:
        timings = [r["result"]["timings"] for r in study.group(unit, length)]
        parameters = sum(p.numel() for p in rnnmem.units.build_unit(unit, embedding, hidden).parameters())
        rows.append([unit, f"{parameters:,}"] + ([f"{np.mean([t[key] for t in timings]):.0f}"
                                                    for key in ("train_s", "assess_s")] if timings else ["not run"] * 2))
    return pipe_table(["unit", "unit parameters", "training s", "assessment s"], rows)


def findings(units, cells, study, recommended, planted, planted_length: int) -> list[str]:
    """Statements computed from the numbers, so the text can never disagree with the tables."""
    longest = max(study.lengths)
    grid = [(u, L) for u in units for L in study.lengths]
    verdicts = [(u, L, seed, verdict, m) for u, L in grid for seed, verdict, m in cells[(u, L)]["verdicts"]]
    failing = [f"{u}@{L} seed {seed}: {verdict} ({fmt(m.get('accuracy'), 3)}; majority "
               f"{fmt(m.get('majority_baseline'), 3)}, bag-of-words {fmt(m.get('bag_of_words_baseline'), 3)})"
               for u, L, seed, verdict, m in verdicts if verdict != COMPETENT]
    out = [f"- **Competence**: {len(verdicts) - len(failing)} of {len(verdicts)} trained models are competent. "
           f"Not competent: {'; '.join(failing) or 'none'}."]
    able = [key for key in grid if cells[key]["competent"]]
    above = [key for key in able if cells[key]["validity_low"] > cells[key]["floor.validity_high"]]
    out.append(f"- **Semantic validity above its floor** (the interval of ρ lies above the floor's interval): "
               f"{len(above)} of the {len(able)} unit × length groups with a competent model; at length {longest}: "
               + (", ".join(u for u in units if (u, longest) in above) or "none") + ".")
    out.append(f"- **Regression declined** (a negative weight) on {sum(cells[k]['regression declined'] for k in able)} "
               f"of {sum(cells[k]['competent'] for k in able)} competent models, and on "
               f"{sum(cells[k]['floor.regression declined'] for k in able)} of their untrained floors.")
    for e in SES_AND_REFERENCE:
        added = {u: cells[(u, longest)][f"{e}.retention_capacity difference"] for u in units}
        ranked = sorted((u for u in units if added[u]), key=lambda u: -added[u]["mean"])
        out.append(f"- **What training added** ({e} retention capacity, trained − floor, length {longest}): "
                   + ("; ".join(f"{u} {difference_text(added[u])}" for u in ranked) or "no competent model") + ".")
    for e in ("occlusion", "regression"):
        parts = []
        for key in ("ML(0.1)", "retention_capacity"):
            pairs = [(mean_of(cells, k, f"{e}.{key}"), mean_of(cells, k, f"replacement.{key}")) for k in able]
            pairs = [(a, b) for a, b in pairs if math.isfinite(a) and math.isfinite(b)]
            if pairs:
                parts.append(f"{MEMORY[key]} Spearman ρ = {fmt(spearman(*zip(*pairs)))} over {len(pairs)} groups" + (
                    "" if key != "ML(0.1)" else f", within 2 tokens of it in {sum(abs(a - b) <= 2 for a, b in pairs)}, "
                    f"median |difference| {fmt(float(np.median([abs(a - b) for a, b in pairs])), 1)}"))
        out.append(f"- **{e} against the replacement reference** (unit × length groups where both have a number): "
                   + ("; ".join(parts) or "no such group") + ".")
    for e in ESTIMATORS:
        ranked = sorted((u for u in units if cells[(u, longest)][f"{e}.retention_capacity"]["n"]),
                        key=lambda u: -mean_of(cells, (u, longest), f"{e}.retention_capacity"))
        out.append(f"- **{e}**, units by retention capacity at length {longest}: "
                   + (" > ".join(f"{u} ({fmt(mean_of(cells, (u, longest), f'{e}.retention_capacity'), 1)})"
                                 for u in ranked) or "no number (declined or not competent)") + ".")
    out += families(units, cells, study, longest)
    if "srn" in units:
        for e in SES_AND_REFERENCE:
            srn = mean_of(cells, ("srn", longest), f"{e}.retention_capacity")
            gated = [u for u in units if u in ("lstm", "gru", "mgu", "mingru")
                     and math.isfinite(mean_of(cells, (u, longest), f"{e}.retention_capacity"))]
            longer = [u for u in gated if mean_of(cells, (u, longest), f"{e}.retention_capacity") > srn]
            shorter = [u for u in gated if u not in longer]
            verdict = ("cannot be judged: the SRN has no competent model" if not math.isfinite(srn) else
                       "holds for every gated unit with a competent model" if not shorter else
                       f"holds for {', '.join(longer) or 'none'} but **not** for {', '.join(shorter)}")
            out.append(f"- **The paper's claim** that gated units remember longer than the vanilla SRN ({e} "
                       f"retention capacity at length {longest}, SRN {fmt(srn, 1)}) {verdict}.")
    trend = []
    for u in units:
        by_length = [mean_of(cells, (u, L), "occlusion.retention_capacity") for L in study.lengths]
        trend.append(f"{u} ρ = {fmt(spearman(study.lengths, by_length))}")
    out.append(f"- **External factor**: rank correlation of occlusion retention capacity with training length per "
               f"unit: {'; '.join(trend)} (positive: longer training sequences teach longer memory).")
    missing = [u for u in units if u not in recommended]
    out.append("- **Recommended training length** (`rnnmem.guidance.recommend_for_unit` over the competent models "
               "at the unit's longest training length): "
               + "; ".join([f"{u} {'at least ' if r['at_least'] else ''}{r['length']}"
                            + ("" if r["from_length"] == longest else f" (from length {r['from_length']})")
                            for u, r in recommended.items()]
                           + ([f"none for {', '.join(missing)} (no competent model)"] if missing else [])) + ".")
    pairs = [(u, planted[u]["memory_distance"]) for u in units]
    for e in SES_AND_REFERENCE:
        horizon = [mean_of(cells, (u, longest), f"{e}.ML(0.1)") for u in units]
        out.append(f"- **Planted signal vs {e} ML(0.1)** (planted memory distance vs ML(0.1) at length {longest}): "
                   + "; ".join(f"{u} {md if md is not None else '> measured'} vs "
                               f"{shown(cells[(u, longest)][f'{e}.ML(0.1)'])}" for u, md in pairs)
                   + f"; rank correlation {fmt(spearman([md if md is not None else planted_length for _, md in pairs], horizon))}.")
    out.append("- The planted task asks whether one token can still be recognised among neutral fillers; the retention "
               "horizon asks how far back a token of real text still moves the model's readout among other meaningful "
               "words.")
    return out


FAMILIES = {"attention": ("transformer",), "selective state space": ("mamba",)}


def families(units, cells, study, length: int) -> list[str]:
    """Which family remembers farthest by the reference, and at what cost: each family's unit with the largest
    replacement retention capacity at ``length`` (recurrent: the best of the recurrent units), its ML(0.1), and
    its seconds per cell against the best recurrent unit's."""
    special = {u for members in FAMILIES.values() for u in members}
    groups = {"recurrent": tuple(u for u in units if u not in special), **FAMILIES}
    best = {}
    for family, members in groups.items():
        scored = [u for u in members if u in units
                  and math.isfinite(mean_of(cells, (u, length), "replacement.retention_capacity"))]
        if scored:
            best[family] = max(scored, key=lambda u: mean_of(cells, (u, length), "replacement.retention_capacity"))
    if not best:
        return []

    def seconds(unit):
        return float(np.mean([sum(r["result"]["timings"].values()) for r in study.group(unit, length)]))

    baseline = seconds(best["recurrent"]) if "recurrent" in best else None
    parts = [f"{family} ({unit}): capacity {fmt(mean_of(cells, (unit, length), 'replacement.retention_capacity'), 1)}, "
             f"ML(0.1) {shown(cells[(unit, length)]['replacement.ML(0.1)'])}, {seconds(unit):.0f} s per cell"
             + (f" ({seconds(unit) / baseline:.1f}x the best recurrent unit's)" if baseline and family != "recurrent"
                else "")
             for family, unit in sorted(best.items(), key=lambda item: -mean_of(cells, (item[1], length),
                                                                              "replacement.retention_capacity"))]
    missing = [family for family in groups if family not in best]
    return [f"- **Which family remembers farthest** (the replacement reference at length {length}, each family's "
            f"unit with the largest capacity among competent models; parameters in the cost table): "
            + "; ".join(parts) + (f"; no competent model for {', '.join(missing)}" if missing else "") + "."]


def external_sections() -> list[str]:
    """The newsgroups and language-model sections, from the numbers their scripts wrote (not rerun here)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import lm_context
    import newsgroups_competence as newsgroups

    out = []
    path = RESULTS / "newsgroups.json"
    if path.exists():
        data = json.loads(path.read_text(encoding="utf-8"))
        bow = data["full_document_bag_of_words"]
        same = (data.get("prefix_bag_of_words") or {}).get(str(data["config"]["max_len"]))
        rows = {u: newsgroups.summary(record, bow, same) for u, record in data["units"].items()}
        longer = RESULTS / "newsgroups_lstm_20_epochs.json"  # the same settings with a 20-epoch budget
        if longer.exists():
            other = json.loads(longer.read_text(encoding="utf-8"))
            rows |= {f"{u} ({other['config']['epochs']} epochs)": newsgroups.summary(record, bow, same)
                     for u, record in other["units"].items()}
        out += ["", "## Long documents: 20 Newsgroups classification", "",
                "From `python benchmarks/newsgroups_competence.py` (raw numbers in `benchmarks/results/newsgroups.json`; "
                "settings, curves and the 20-epoch LSTM in [newsgroups.md](newsgroups.md)). The reference is rnnmem's "
                f"bag-of-words baseline on the full documents ({bow:.3f}); the bar is "
                f"{newsgroups.COMPETENCE_SHARE:.0%} of it (that script's own question, how close a unit comes to "
                "bag-of-words on long documents; not the competence verdict above).", "",
                pipe_table(["unit", "test accuracy", "bag-of-words", "ratio", "majority"],
                           [[u, fmt(r["accuracy"], 3), fmt(bow, 3), fmt(r["ratio"]), fmt(data["majority"], 3)]
                            for u, r in rows.items()]), ""]
        out += [f"- {sentence}" for sentence in newsgroups.findings(data["units"], rows, data)]
    path = RESULTS / "lm_context.json"
    if path.exists():
        out += ["", "## Language models: the SES horizon against the context the model uses", "",
                "From `python benchmarks/lm_context.py` (raw numbers in `benchmarks/results/lm_context.json`; the "
                "setup, the loss-rise curves and the sketch's error in [lm_context.md](lm_context.md)). ML(0.1) is "
                "occlusion on the LM's readout; k_eff is the context length from which cutting (or shuffling, or "
                "replacing) the farther context raises the held-out loss by less than 1% (Khandelwal et al., 2018).", ""]
        out += lm_context.lm_section(json.loads(path.read_text(encoding="utf-8")))
    return out


def sweep_order(plan: dict, seeds: list[int], seeds_at_longest: list[int]) -> list:
    """The cells in the order a study cut short (a time limit; the store resumes) loses least: the first seed at every
    length, the longest (the main table) first and then the shortest (the widest contrast); then the further seeds at
    the longest length (the main table's spread); then the further seeds at the other lengths."""
    lengths = sorted(plan["lengths"], reverse=True)
    lengths = [lengths[0], lengths[-1], *lengths[1:-1]] if len(lengths) > 1 else lengths

    def cells(seed_list: list[int], length_list: list[int]) -> list:
        if not seed_list or not length_list:
            return []
        return expand_grid(plan["base"], {"seed": seed_list, "max_len": length_list, "unit": plan["units"]})

    further = list(dict.fromkeys(seed for seed in [*seeds[1:], *seeds_at_longest] if seed != seeds[0]))
    return cells(seeds[:1], lengths) + cells(further, lengths[:1]) + cells(seeds[1:], lengths[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small study for CI (< 5 minutes)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="training seeds of every cell (default: 0)")
    parser.add_argument("--seeds-at-longest", type=int, nargs="*", default=[1, 2],
                        help="further seeds at the longest training length only, for the main table's spread (default: 1 2)")
    parser.add_argument("--store", type=Path, default=None, help="results store (default runs/study[-quick].sqlite)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: one per core)")
    parser.add_argument("--docs", type=Path, default=ROOT / "docs", help="where study.md and its figures go")
    parser.add_argument("--sweep-only", action="store_true", help="run the cells, write no document")
    parser.add_argument("--render-only", action="store_true", help="write the document from the store, run no cell")
    args = parser.parse_args()
    exit_on_sigterm()  # a terminated study unwinds like Ctrl-C: its cells in flight go back to pending
    plan = QUICK if args.quick else FULL
    suffix = "-quick" if args.quick else ""
    store_path = args.store or ROOT / "runs" / f"study{suffix}.sqlite"
    started = time.perf_counter()
    if not args.render_only:
        run_sweep(ResultsStore(store_path), sweep_order(plan, args.seeds, [] if args.quick else args.seeds_at_longest),
                  workers=args.workers)
    if args.sweep_only:
        return
    figures = args.docs / f"study{suffix}"
    write_study_report(store_path, figures)
    planted_path = store_path.with_suffix(".planted.json")  # kept beside the cells, as a cell is
    if args.render_only and planted_path.exists():
        planted = json.loads(planted_path.read_text())
    else:
        planted = planted_distances(plan["planted"], plan["units"], plan["base"].get("hidden_size", 64))
        write_atomically(planted_path, json.dumps(planted, indent=1))
    study = load_study(store_path)
    elapsed = None if args.render_only else time.perf_counter() - started
    text = study_document(study, plan, planted, elapsed, figures.name, store_path)
    write_atomically(args.docs / f"study{suffix}.md", text)
    print(f"wrote {args.docs / f'study{suffix}.md'} in {(time.perf_counter() - started) / 60:.1f} min")


if __name__ == "__main__":
    main()
