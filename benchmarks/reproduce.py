"""Reproduction study on models that learned their task: units x training lengths x seeds on real text.

    python benchmarks/reproduce.py                  # tweets-docs, 7 units x 4 lengths x seed 0, and seeds 1, 2 at
                                                    # length 128: 42 cells, the subset run on 2 cores (~1.5 h)
    python benchmarks/reproduce.py --seeds 0 1 2    # the full grid: 84 cells (a machine with more cores)
    python benchmarks/reproduce.py --quick          # 3 units, 2 lengths, 1 seed, tiny models (< 5 min)
    python benchmarks/reproduce.py --render-only    # docs/study.md again from the store and the results files

Each cell trains a classifier to competence (validation split, early stopping, the tweet curriculum)
and assesses it beside its untrained floor with three estimators. Writes docs/study.md
(docs/study-quick.md with --quick) and its figures under docs/study/ (docs/study-quick/); the
newsgroups and language-model sections are read from benchmarks/results/newsgroups.json and
benchmarks/results/lm_context.json, written by benchmarks/newsgroups_competence.py and
benchmarks/lm_context.py. The sweep is resumable: the store (runs/study.sqlite) keeps every
finished cell, so an interrupted study picks up where it stopped.
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
from scipy import stats

import rnnmem
from rnnmem.fileio import write_atomically
from rnnmem.indicators.planted import accuracy_by_planted_distance, memory_distance
from rnnmem.report.blocks import pipe_table
from rnnmem.sweep import ResultsStore, expand_grid, run_sweep
from rnnmem.sweep.study import load_study, metric_values, write_study_report

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
UNITS = ["srn", "lstm", "gru", "mgu", "indrnn", "mingru", "lru"]
# 128 sequences and 300 resamples per cell (instead of the CLI's 256 and 1000) keep a cell near
# two minutes on one core; the intervals are correspondingly wider.
FULL = {"units": UNITS, "lengths": [16, 32, 64, 128],
        "base": {"max_sequences": 128, "n_resamples": 300}, "planted": {"length": 64, "size": 4000, "epochs": 4}}
QUICK = {"units": ["srn", "lstm", "gru"], "lengths": [16, 32],
         "base": {"epochs": 1, "piece_epochs": 1, "hidden_size": 32, "embedding_dim": 32, "doc_tokens": 64,
                  "max_distance": 40, "max_sequences": 64, "n_resamples": 200},
         "planted": {"length": 24, "size": 1200, "epochs": 2}}
ESTIMATORS = ("occlusion", "regression", "gradient")


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


def mean_over_seeds(study, unit: str, length: int, metric: str) -> float:
    values, _, _ = metric_values(study.group(unit, length), metric, study.estimator)
    return float(np.mean(values)) if values else math.nan


def fmt(value, digits: int = 2) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def spearman(x, y) -> float:
    """Spearman's rho over the pairs where both are finite; NaN with fewer than 3 or a constant side."""
    pairs = [(a, b) for a, b in zip(x, y) if math.isfinite(a) and math.isfinite(b)]
    if len(pairs) < 3 or len({a for a, _ in pairs}) < 2 or len({b for _, b in pairs}) < 2:
        return math.nan
    return float(stats.spearmanr(*zip(*pairs)).statistic)


def cell_table(study) -> dict[tuple[str, int], dict[str, float]]:
    """(unit, training length) -> metric -> mean over seeds, for every metric the study reads."""
    names = ["accuracy", "majority_baseline", "bag_of_words_baseline", "validity", "validity_low", "validity_high",
             "floor.validity", "floor.validity_low", "floor.validity_high", "fidelity_at_median_length",
             "floor.fidelity_at_median_length", "recommended_length", "best_epoch"]
    names += [f"{prefix}{e}.{m}" for prefix in ("", "floor.") for e in ESTIMATORS
              for m in ("ML(0.5)", "ML(0.1)", "retention_capacity")]
    return {(u, L): {n: mean_over_seeds(study, u, L, n) for n in names} for u in study.units for L in study.lengths}


def competent(row: dict) -> bool:
    """Within 10 points of bag-of-words (rnnmem.baselines.competence_verdict's margin)."""
    return row["accuracy"] >= row["bag_of_words_baseline"] - 0.10


def main_table(cells, units, length) -> str:
    header = ["unit", "accuracy", "majority", "bag-of-words", "validity ρ [95% CI]", "floor validity ρ",
              "occlusion ML(0.1)", "occlusion capacity", "regression ML(0.1)", "gradient ML(0.1)",
              "fidelity (cos)", "recommended length"]
    rows = []
    for u in units:
        c = cells[(u, length)]
        rows.append([u, fmt(c["accuracy"], 3), fmt(c["majority_baseline"], 3), fmt(c["bag_of_words_baseline"], 3),
                     f"{fmt(c['validity'])} [{fmt(c['validity_low'])}, {fmt(c['validity_high'])}]",
                     fmt(c["floor.validity"]),
                     f"{fmt(c['occlusion.ML(0.1)'], 1)} ({fmt(c['floor.occlusion.ML(0.1)'], 1)})",
                     f"{fmt(c['occlusion.retention_capacity'])} ({fmt(c['floor.occlusion.retention_capacity'])})",
                     f"{fmt(c['regression.ML(0.1)'], 1)} ({fmt(c['floor.regression.ML(0.1)'], 1)})",
                     f"{fmt(c['gradient.ML(0.1)'], 1)} ({fmt(c['floor.gradient.ML(0.1)'], 1)})",
                     f"{fmt(c['fidelity_at_median_length'], 3)} ({fmt(c['floor.fidelity_at_median_length'], 3)})",
                     fmt(c["recommended_length"], 1)])
    return pipe_table(header, rows)


def seeds_by_length(study) -> dict[int, list[int]]:
    """Training length -> the seeds finished at it."""
    return {L: sorted({r["config"]["seed"] for r in study.results if r["config"]["max_len"] == L}) for L in study.lengths}


def study_document(study, plan, planted, elapsed: float | None, figures_dir: str, store_path: Path) -> str:
    longest = max(study.lengths)
    units = study.units
    cells = cell_table(study)
    compute = sum(r["result"]["timings"]["train_s"] + r["result"]["timings"]["assess_s"] for r in study.results)
    quick = plan is QUICK
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
           "This is the subset that fits a 2-core machine in about 1.5 hours; `--seeds 0 1 2` runs the full grid of "
           "84 cells on a machine with more cores, into the same resumable store. ")
        + "Every number in this section comes from this run.",
        f"- Compute: {compute / 60:.1f} minutes of training and assessment summed over cells, on {os.cpu_count()} "
        "cores shared with other work; "
        + (f"this document was rendered from the cells in `{store_path.name}`." if elapsed is None else
           f"this run took {elapsed / 60:.1f} min of wall time (cells already in `{store_path.name}` are reused)."),
        "- Each indicator is shown beside its **untrained floor** (in parentheses): the same architecture and seed "
        "at initialisation, assessed on the same sequences. The difference is what training added.",
        f"- Planted-signal task: one of 4 class words planted at a controlled distance in {plan['planted']['length']} "
        "filler words; memory distance = first distance where accuracy falls halfway to chance.",
        "",
        f"## Main table (training length {longest}, mean over seeds; untrained floor in parentheses)",
        "",
        main_table(cells, units, longest),
        "",
        "ML values are distances in tokens; \"101\" means r(d) stayed above 0.1 over the whole measured range "
        "(0..100), so the mean is a lower bound. Capacity is the retention capacity sum_d r(d). "
        "Per-length tables with 95% intervals across seeds are in "
        f"[{figures_dir}/comparison.md]({figures_dir}/comparison.md).",
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
    lines += findings(units, cells, study, planted, plan["planted"]["length"])
    lines += external_sections()
    return "\n".join(lines) + "\n"


def findings(units, cells, study, planted, planted_length: int) -> list[str]:
    """Statements computed from the numbers, so the text can never disagree with the tables."""
    longest = max(study.lengths)
    out = []
    grid = [(u, L) for u in units for L in study.lengths]
    able = [key for key in grid if competent(cells[key])]
    out.append(f"- **Competence**: {len(able)} of {len(grid)} cells reach within 10 points of bag-of-words. "
               "Not competent: " + (", ".join(f"{u}@{L} ({fmt(cells[(u, L)]['accuracy'], 3)} vs "
                                            f"{fmt(cells[(u, L)]['bag_of_words_baseline'], 3)})"
                                            for u, L in grid if (u, L) not in able) or "none") + ".")
    above = [key for key in grid if cells[key]["validity_low"] > cells[key]["floor.validity_high"]]
    out.append(f"- **Semantic validity above its floor** (the interval of ρ lies above the floor's interval): "
               f"{len(above)} of {len(grid)} cells; at length {longest}: "
               + ", ".join(u for u in units if (u, longest) in above) + ".")
    gain = {u: cells[(u, longest)]["occlusion.retention_capacity"] / cells[(u, longest)]["floor.occlusion.retention_capacity"]
            for u in units}
    out.append(f"- **What training added** (occlusion retention capacity, trained ÷ floor, length {longest}): "
               + "; ".join(f"{u} {fmt(gain[u], 1)}×" for u in sorted(units, key=lambda u: -gain[u])) + ".")
    for measure in ("ML(0.1)", "retention_capacity"):
        agreement = []
        for i, a in enumerate(ESTIMATORS):
            for b in ESTIMATORS[i + 1:]:
                x = [cells[k][f"{a}.{measure}"] for k in able]
                y = [cells[k][f"{b}.{measure}"] for k in able]
                agreement.append(f"{a}–{b} ρ = {fmt(spearman(x, y))}")
        out.append(f"- **Do the estimators agree?** Rank correlation of {measure} over the {len(able)} competent "
                   f"cells: {'; '.join(agreement)}.")
    order = {e: sorted(units, key=lambda u: -cells[(u, longest)][f"{e}.retention_capacity"]) for e in ESTIMATORS}
    for e in ESTIMATORS:
        out.append(f"- **{e}**, units by retention capacity at length {longest}: "
                   + " > ".join(f"{u} ({fmt(cells[(u, longest)][f'{e}.retention_capacity'], 1)})" for u in order[e]) + ".")
    if "srn" in units:
        gated = [u for u in units if u in ("lstm", "gru", "mgu", "mingru")]
        srn = cells[("srn", longest)]["occlusion.retention_capacity"]
        longer = [u for u in gated if cells[(u, longest)]["occlusion.retention_capacity"] > srn]
        shorter = [u for u in gated if u not in longer]
        verdict = "holds for every gated unit" if not shorter else (
            f"holds for {', '.join(longer) or 'none'} but **not** for {', '.join(shorter)}")
        out.append(f"- **The paper's claim** that gated units remember longer than the vanilla SRN (occlusion "
                   f"retention capacity at length {longest}, SRN {fmt(srn, 1)}) {verdict}.")
    trend = []
    for u in units:
        by_length = [cells[(u, L)]["occlusion.retention_capacity"] for L in study.lengths]
        trend.append(f"{u} ρ = {fmt(spearman(study.lengths, by_length))}")
    out.append(f"- **External factor**: rank correlation of occlusion retention capacity with training length per "
               f"unit: {'; '.join(trend)} (positive: longer training sequences teach longer memory).")
    out.append("- **Recommended training length** (ML(0.1) capped by the data, length "
               f"{longest}): " + "; ".join(f"{u} {fmt(cells[(u, longest)]['recommended_length'], 1)}" for u in units) + ".")
    pairs = [(u, planted[u]["memory_distance"], cells[(u, longest)]["occlusion.ML(0.1)"]) for u in units]
    out.append("- **Planted signal vs SES memory length** (planted memory distance vs occlusion ML(0.1)): "
               + "; ".join(f"{u} {md if md is not None else '> measured'} vs {fmt(h, 1)}" for u, md, h in pairs)
               + f"; rank correlation {fmt(spearman([md if md is not None else planted_length for _, md, _ in pairs], [h for _, _, h in pairs]))}. "
                 "The planted task asks whether one token can still be recognised among neutral fillers; the SES "
                 "horizon asks how much of each token's meaning survives among other meaningful words.")
    return out


def external_sections() -> list[str]:
    """The newsgroups and language-model sections, from the numbers their scripts wrote (not rerun here)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import lm_context
    import newsgroups_competence as newsgroups

    out = []
    path = RESULTS / "newsgroups.json"
    if path.exists():
        data = json.loads(path.read_text(encoding="utf-8"))
        bow, same = data["bag_of_words"], (data.get("prefix_bag_of_words") or {}).get(str(data["config"]["max_len"]))
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
                f"{newsgroups.COMPETENCE_SHARE:.0%} of it.", "",
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
    plan = QUICK if args.quick else FULL
    suffix = "-quick" if args.quick else ""
    store_path = args.store or ROOT / "runs" / f"study{suffix}.sqlite"
    started = time.perf_counter()
    if not args.render_only:
        # the longest training length first (the main table), then the shortest (the widest contrast), then the
        # rest: a study cut short still has what matters most
        lengths = sorted(plan["lengths"], reverse=True)
        configs = expand_grid(plan["base"], {"max_len": [lengths[0], lengths[-1], *lengths[1:-1]], "seed": args.seeds,
                                             "unit": plan["units"]})
        extra = [seed for seed in args.seeds_at_longest if seed not in args.seeds]
        if extra and not args.quick:
            configs += expand_grid(plan["base"], {"max_len": [lengths[0]], "seed": extra, "unit": plan["units"]})
        run_sweep(ResultsStore(store_path), configs, workers=args.workers)
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
