"""Language models on real text: the SES horizon (occlusion ML(0.1)) against the context the model uses.

    python benchmarks/lm_context.py            # newsgroups, 9 units one after another; writes docs/lm_context.md
    python benchmarks/lm_context.py --measure srn lru &  python benchmarks/lm_context.py --measure gru mgu & ...
                                               # units in parallel processes; the last to finish writes the doc
    python benchmarks/lm_context.py --quick    # a tiny configuration, to check that the script runs
    python benchmarks/lm_context.py --render-only   # the doc again from benchmarks/results/lm_context.json

For each unit a next-token LM (hidden 64, vocabulary capped) is trained with a validation split
and early stopping; then on held-out text: (1) the rise in next-token loss when the context is
cut, shuffled or replaced beyond the last k tokens (Khandelwal et al., ACL 2018), read as an
effective context, on the grid and interpolated, and as the area under the cut curve; (2)
`rnnmem.assess` on the LM, whose SES is its readout (and, beside it, log p of the next word),
giving occlusion ML(0.1), its fractional reading and the retention capacity. Every measure has
a bootstrap interval (targets for the context curve, sequences for occlusion), and the units'
orders are compared by Spearman's rho with an interval over paired resamples. For one unit the
sketched gradient estimator is checked against the exact one. Each unit's numbers are kept
beside the JSON (lm_context.UNIT.json) so units can run in separate processes.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
from scipy import stats

from rnnmem.assessment import assess
from rnnmem.data import load_corpus
from rnnmem.fileio import json_safe, write_atomically
from rnnmem.indicators.bootstrap import peak_relative
from rnnmem.indicators.context import context_area, effective_context
from rnnmem.indicators.curve import fractional_memory_length, retention_capacity
from rnnmem.indicators.retention import SKETCH_DIMENSIONS, gradient_effects
from rnnmem.language_model import FINE_KS, context_loss_rise, train_language_model, unigram_log_probs
from rnnmem.model import build_model

ROOT = Path(__file__).resolve().parent.parent
PERTURBATIONS = ("cut", "shuffle", "replace")
COARSE_KS = [1, 2, 5, 10, 20, 50, 200]  # shuffle and replace: each k reads the whole context again
# the continuous measures compared, by the names their point values and resamples have in the JSON
MEASURES = {"ml_frac": "fractional ML(0.1)", "capacity": "retention capacity", "logprob_ml_frac":
            "fractional ML(0.1), log-prob SES", "logprob_capacity": "retention capacity, log-prob SES",
            "k_eff": "k_eff (cut, interpolated)", "area": "context area (cut)"}
PAIRS = (("ml_frac", "k_eff"), ("capacity", "area"), ("logprob_ml_frac", "k_eff"), ("logprob_capacity", "area"))


DEFAULT_UNITS = ("srn", "lstm", "gru", "mgu", "mingru", "indrnn", "lru", "mamba", "transformer")


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="newsgroups")
    parser.add_argument("--units", nargs="+", default=list(DEFAULT_UNITS))
    parser.add_argument("--measure", nargs="+", default=None,
                        help="measure only these units now (each is kept beside --json and reused by later runs); "
                             "the doc is written once every unit of --units has been measured")
    parser.add_argument("--vocabulary", type=int, default=2000, help="vocabulary cap (with <pad>, <unk>)")
    parser.add_argument("--train-texts", type=int, default=2000, help="training texts used (a seeded subset)")
    parser.add_argument("--train-max-len", type=int, default=128, help="tokens of each training text used")
    parser.add_argument("--max-len", type=int, default=256, help="tokens of each test text the context curve reads")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--ks", type=int, nargs="+", default=list(FINE_KS), help="cut points of the cut curve")
    parser.add_argument("--coarse-ks", type=int, nargs="+", default=COARSE_KS, help="cut points of shuffle, replace")
    parser.add_argument("--targets", type=int, default=300, help="held-out target positions of the context curve")
    parser.add_argument("--assess-sequences", type=int, default=64)
    parser.add_argument("--assess-max-len", type=int, default=160)
    parser.add_argument("--max-distance", type=int, default=100)
    parser.add_argument("--resamples", type=int, default=500, help="bootstrap resamples (targets and sequences)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true",
                        help="tiny configuration: checks the script, numbers mean nothing")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "lm_context.md")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "lm_context.json",
                        help="where the raw numbers go")
    parser.add_argument("--render-only", action="store_true", help="rewrite the doc from --json without measuring")
    args = parser.parse_args()
    if args.quick:
        args.units, args.train_texts, args.epochs, args.targets = args.units[:2], 200, 1, 20
        args.ks, args.coarse_ks, args.assess_sequences, args.max_distance = [1, 2, 5, 20], [1, 20], 12, 20
        args.vocabulary, args.resamples, args.max_len, args.train_max_len = 300, 50, 64, 64
    return args


class LogProbReadout(torch.nn.Module):
    """The LM with log p(next word) as its readout: the SES without the logits' shift, which no probability sees."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, tokens):
        return torch.log_softmax(self.model(tokens), dim=-1)

    # the prefix-cache protocol of SequenceModel, so occlusion reruns only the steps after each token
    def embed(self, tokens):
        return self.model.embed(tokens)

    def states_before(self, tokens):
        return self.model.states_before(tokens)

    def readout_from(self, tokens, state):
        return torch.log_softmax(self.model.readout_from(tokens, state), dim=-1)


def occlusion_numbers(model, corpus, vocab, args) -> dict:
    """ML(0.1), its fractional reading and the retention capacity of one SES, with their bootstrap resamples."""
    report = assess(model, corpus, max_distance=args.max_distance, estimators=("occlusion",), vocabulary=vocab,
                    max_len=args.assess_max_len, max_sequences=args.assess_sequences, n_resamples=args.resamples,
                    seed=args.seed, probes=False, floor=False, progress=False)
    resamples = report.resamples["occlusion"].T  # [R, D+1]: the same sequence draws for every unit (same seed)
    beyond = report.last_measured_distance("occlusion") + 1
    return {"ml_0.1": report.memory_length(0.1, "occlusion"), "ml_0.5": report.memory_length(0.5, "occlusion"),
            "ml_frac": fractional_memory_length(report.curve("occlusion"), 0.1), "last_distance": beyond - 1,
            "capacity": report.retention_capacity("occlusion"),
            "resampled": {"ml_frac": [or_beyond(fractional_memory_length(c, 0.1), beyond) for c in resamples],
                          "capacity": [retention_capacity(c) for c in resamples]}}


def measure_unit(unit: str, corpus, vocab, test, unigram, args) -> tuple[dict, torch.nn.Module]:
    start = time.time()
    model = build_model(unit, len(vocab), len(vocab), hidden_size=args.hidden, embedding_dim=args.hidden,
                        seed=args.seed)
    record = train_language_model(model, corpus, max_len=args.train_max_len, epochs=args.epochs, seed=args.seed,
                                  vocabulary=vocab, patience=1)
    # both curves draw the same targets: the draw depends only on the seed and the largest k
    cut = context_loss_rise(model, *test, unigram, ks=args.ks, perturbations=("cut",), n_targets=args.targets,
                            seed=args.seed)
    coarse = context_loss_rise(model, *test, unigram, ks=args.coarse_ks, perturbations=("shuffle", "replace"),
                               n_targets=args.targets, seed=args.seed)
    full, rise = cut.resampled("cut", args.resamples, args.seed)
    beyond = 2 * args.ks[-1]
    readout, logprob = (occlusion_numbers(m, corpus, vocab, args) for m in (model, LogProbReadout(model)))
    result = {
        "unit": unit, "epochs_run": len(record.validation_loss), "best_epoch": record.best_epoch,
        "train_loss": record.train_loss, "validation_loss": record.validation_loss,
        "test_perplexity": record.test_perplexity, "unigram_perplexity": record.unigram_perplexity,
        "full_loss": cut.full_loss, "targets": cut.n_targets, "ks": cut.ks, "coarse_ks": coarse.ks,
        "rise": {**cut.rise, **coarse.rise},
        "effective_context": {"cut": cut.effective_context("cut"),
                              **{name: coarse.effective_context(name) for name in ("shuffle", "replace")}},
        "k_eff": cut.effective_context("cut", interpolate=True), "area": context_area(cut.ks, cut.rise["cut"]),
        **{k: v for k, v in readout.items() if k != "resampled"},
        "logprob_ml_0.1": logprob["ml_0.1"], "logprob_ml_frac": logprob["ml_frac"],
        "logprob_capacity": logprob["capacity"],
        "resampled": {**readout["resampled"], **{f"logprob_{k}": v for k, v in logprob["resampled"].items()},
                      "k_eff": [or_beyond(effective_context(cut.ks, r, f, interpolate=True), beyond)
                                for f, r in zip(full, rise)],
                      "area": [context_area(cut.ks, r) for r in rise]},
        "seconds": time.time() - start,
    }
    return result, model


def or_beyond(value, beyond: float) -> float:
    return beyond if value is None else float(value)


def sketch_error(model, test, args) -> dict:
    """The sketched gradient estimator against the exact one (K backward passes) on a few held-out sequences."""
    tokens, lengths = test
    rows = torch.nonzero(lengths >= 60)[:8, 0]
    tokens, lengths = tokens[rows, :60], torch.full((len(rows),), 60)
    exact = gradient_effects(model, tokens, lengths, 40, sketch_dimensions=model.config.num_classes)
    sketched = gradient_effects(model, tokens, lengths, 40)
    r_exact, r_sketch = (peak_relative(e, 10, args.seed).value for e in (exact, sketched))
    return {"sequences": len(rows), "max_distance": 40, "sketch_dimensions": SKETCH_DIMENSIONS,
            "median_norm_error": float(np.median(np.abs(sketched / exact - 1)[np.isfinite(exact)])),
            "max_curve_error": float(np.max(np.abs(r_sketch / r_exact - 1)))}


def spearman(a, b) -> float:
    return float(stats.spearmanr(a, b).statistic) if len(set(a)) > 1 and len(set(b)) > 1 else math.nan


def compare(units: list[dict]) -> dict:
    """Spearman rho of each pair of measures over the units, with a 95% interval from the paired resamples.

    Resample b of every unit draws the same targets (context curve) and the same sequences
    (occlusion), so rho_b is the correlation a fresh sample of held-out text would give.
    """
    out = {}
    for a, b in PAIRS:
        point = spearman([or_beyond(u[a], u["last_distance"] + 1) for u in units],
                         [or_beyond(u[b], 2 * u["ks"][-1]) for u in units])
        draws = np.array([[u["resampled"][m] for u in units] for m in (a, b)])  # [2, units, R]
        rhos = np.array([spearman(draws[0, :, r], draws[1, :, r]) for r in range(draws.shape[2])])
        finite = rhos[np.isfinite(rhos)]
        low, high = np.percentile(finite, [2.5, 97.5]) if len(finite) else (math.nan, math.nan)
        out[f"{a}~{b}"] = {"rho": point, "low": float(low), "high": float(high)}
    return out


def pair_orders(units: list[dict], measure: str) -> dict[tuple[str, str], int]:
    """+1 / -1 for each pair of units that ``measure`` orders the same way in >= 95% of the resamples, else 0."""
    orders = {}
    for i, u in enumerate(units):
        for v in units[i + 1 :]:
            above = np.mean(np.array(u["resampled"][measure]) > np.array(v["resampled"][measure]))
            orders[u["unit"], v["unit"]] = 1 if above >= 0.95 else -1 if above <= 0.05 else 0
    return orders


def findings(units: list[dict], rho: dict) -> list[str]:
    """Sentences read off the numbers: competence, agreement of the orders, resolution and the recommendation."""
    beats = [u["unit"] for u in units if u["test_perplexity"] < u["unigram_perplexity"]]
    worst = max(u["test_perplexity"] / u["unigram_perplexity"] for u in units)
    main, logprob = rho["ml_frac~k_eff"], rho["logprob_ml_frac~k_eff"]
    warm = {name: spearman([or_beyond(u["ml_frac"], u["last_distance"] + 1) for u in units],
                           [or_beyond(effective_context(u["coarse_ks"], u["rise"][name], u["full_loss"],
                                                        interpolate=True), 2 * u["coarse_ks"][-1]) for u in units])
            for name in ("shuffle", "replace")}
    confirmed = max(warm.values()) >= 0.7
    cold = [u["unit"] for u in units if u["rise"]["cut"][0] > 10 * max(u["rise"]["shuffle"][0], u["rise"]["replace"][0])]
    cut_longer = [u["unit"] for u in units if u["ml_frac"] is not None and u["k_eff"] is not None
                  and u["k_eff"] > u["ml_frac"]]
    orders = {m: pair_orders(units, m) for m in MEASURES}
    n_pairs = len(orders["k_eff"])
    resolved = {m: sum(v != 0 for v in o.values()) for m, o in orders.items()}
    against = [f"{a} vs {b}" for (a, b), o in orders["ml_frac"].items() if o and o == -orders["k_eff"][a, b]]
    together = [f"{a} vs {b}" for (a, b), o in orders["ml_frac"].items() if o and o == orders["k_eff"][a, b]]
    best_ses = max(("ml_frac~k_eff", "logprob_ml_frac~k_eff", "capacity~area", "logprob_capacity~area"),
                   key=lambda pair: -math.inf if math.isnan(rho[pair]["rho"]) else rho[pair]["rho"])
    ratio = [u["ml_frac"] / u["k_eff"] for u in units if u["ml_frac"] is not None and u["k_eff"] is not None]
    agree = main["rho"] >= 0.7
    sentences = [
        f"{len(beats)} of {len(units)} units beat the unigram model's perplexity ({', '.join(beats) or 'none'}); "
        f"the weakest reaches {worst:.0%} of the unigram perplexity.",
        f"Fractional occlusion ML(0.1) against the cut test's interpolated k_eff: Spearman rho "
        f"{main['rho']:.2f} (95% interval over resampled targets and sequences {main['low']:.2f} to "
        f"{main['high']:.2f}); retention capacity against context area: {rho['capacity~area']['rho']:.2f} "
        f"({rho['capacity~area']['low']:.2f} to {rho['capacity~area']['high']:.2f}).",
        "Resolution: of the " + str(n_pairs) + " pairs of units, "
        + ", ".join(f"{MEASURES[m]} orders {resolved[m]}" for m in MEASURES)
        + " the same way in at least 95% of the resamples; the rest are ties within the noise.",
        f"Pairs ordered confidently by both fractional ML(0.1) and k_eff: {len(together)} in the same direction"
        + (f" ({', '.join(together)})" if together else "") + f", {len(against)} in opposite directions"
        + (f" ({', '.join(against)})" if against else "") + ".",
        (f"ML(0.1) / k_eff ranges from {min(ratio):.2f} to {max(ratio):.2f} over the units: "
         + ("the SES horizon and the context the LM uses are on the same scale."
            if 0.5 <= min(ratio) and max(ratio) <= 2 else "the two are not on the same scale, so one cannot stand "
            "in for the other as a number of tokens.")) if ratio else
        "ML(0.1) or k_eff lies beyond the measured range for every unit, so their scales are not compared.",
        ("The orders agree (rho >= 0.7)." if agree else
         "The orders do not agree (rho < 0.7)" + (" and the interval excludes 0.7: the disagreement is not the "
                                                  "sampling noise of the held-out targets and sequences."
                                                  if main["high"] < 0.7 else
                                                  ", but the interval reaches 0.7: the sample cannot tell.")),
        f"Removing the logits' common shift (log-prob SES) moves rho from {main['rho']:.2f} to "
        f"{logprob['rho']:.2f}: " + ("the shift, which no probability sees, is part of the disagreement."
                                     if logprob["rho"] - main["rho"] >= 0.2 else
                                     "the shift, which no probability sees, is not what separates the two."),
        f"Of the SES readings, {MEASURES[best_ses.split('~')[0]]} follows the context the model uses best "
        f"(rho {rho[best_ses]['rho']:.2f} with {MEASURES[best_ses.split('~')[1]]}).",
        f"Against the perturbations that keep the model's running state, fractional ML(0.1) has Spearman rho "
        f"{warm['shuffle']:.2f} with the interpolated k_eff of shuffle and {warm['replace']:.2f} with that of "
        f"replace (point values on their grid k = {', '.join(map(str, units[0]['coarse_ks']))}; no interval, as "
        "only their mean rises are kept).",
        f"For {len(cold)} of {len(units)} units ({', '.join(cold) or 'none'}) cutting to the last token costs more "
        "than ten times what shuffling or replacing everything before it costs: their cut rise is mostly the cost "
        "of restarting from the initial state, not of the words that are gone. Occlusion, shuffle and replace "
        "change words inside a running sequence; the cut also changes where the state starts.",
        "Recommendation: " + (
            "for a language model either order may be reported; the cut test's k_eff stays the reference, as it "
            "needs no SES." if agree else
            "occlusion ML(0.1) measures the memory of the running state, which the shuffle and replace tests "
            "confirm; check it against those, not against the cut test alone. A window or training length for a "
            "language model, which starts each window from the initial state, should be read from the cut test's "
            f"k_eff, which is the longer of the two for {len(cut_longer)} of {len(units)} units." if confirmed else
            "for how far back a language model uses its context, report the cut test's k_eff (the loss the model "
            "is trained on, no SES involved); occlusion ML(0.1) on the readout answers another question, how much "
            "of a token's own effect on the readout survives, and orders these units differently."),
    ]
    return sentences


def lm_section(results: dict) -> list[str]:
    """The Markdown lines of the main table, the rank correlations and the findings, from the JSON's numbers."""
    units = results["units"]
    rho = compare(units)
    shown = lambda v, beyond: f"> {beyond}" if v is None else str(v)  # noqa: E731

    def with_interval(u, name, digits=1):
        low, high = np.percentile(u["resampled"][name], [2.5, 97.5])
        value = u[name]
        return "none" if value is None else f"{value:.{digits}f} ({low:.{digits}f}-{high:.{digits}f})"

    lines = [
        "| unit | epochs (best) | test ppl | unigram ppl | rise cut@1 | k_eff cut | k_eff cut, interpolated | "
        "context area | k_eff shuffle | k_eff replace | ML(0.1) | fractional ML(0.1) | retention capacity | "
        "fractional ML(0.1), log-prob SES |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for u in units:
        k_eff = u["effective_context"]
        lines.append(
            f"| {u['unit']} | {u['epochs_run']} ({u['best_epoch']}) | {u['test_perplexity']:.0f} | "
            f"{u['unigram_perplexity']:.0f} | {u['rise']['cut'][0]:.3f} | {shown(k_eff['cut'], u['ks'][-1])} | "
            f"{with_interval(u, 'k_eff')} | {with_interval(u, 'area', 2)} | "
            f"{shown(k_eff['shuffle'], u['coarse_ks'][-1])} | {shown(k_eff['replace'], u['coarse_ks'][-1])} | "
            f"{shown(u['ml_0.1'], u['last_distance'])} | {with_interval(u, 'ml_frac', 2)} | "
            f"{with_interval(u, 'capacity', 2)} | {with_interval(u, 'logprob_ml_frac', 2)} |")
    lines += [
        "",
        f"Spearman rank correlation over the {len(units)} units (point value, and 95% interval over "
        f"{len(units[0]['resampled']['k_eff'])} paired resamples of the targets and the assessed sequences): "
        + "; ".join(f"{MEASURES[a]} vs {MEASURES[b]} {rho[f'{a}~{b}']['rho']:.2f} "
                    f"({rho[f'{a}~{b}']['low']:.2f} to {rho[f'{a}~{b}']['high']:.2f})" for a, b in PAIRS) + ".",
        "",
        "### Findings (computed from the table)",
        "",
        *[f"- {sentence}" for sentence in findings(units, rho)],
    ]
    return lines


def write_doc(data: dict, out: Path) -> None:
    cfg, units, sketch = data["config"], data["units"], data["sketch"]
    raw = Path(cfg["json"])
    raw_name = raw.relative_to(ROOT) if raw.is_relative_to(ROOT) else raw.name
    lines = [
        "# Language models: the SES horizon against the context the model uses",
        "",
        "Generated by `python benchmarks/lm_context.py" + (" --quick" if cfg["quick"] else "")
        + ("" if tuple(cfg["units"]) == DEFAULT_UNITS[:2 if cfg["quick"] else None] else
           f" --units {' '.join(cfg['units'])}") + "`"
        f" ({data['minutes']:.0f} min summed over the units, each on 1 thread of a shared 2-core machine; raw "
        f"numbers in `{raw_name}`). Corpus "
        f"`{cfg['corpus']}`: {cfg['train_texts']} training texts (a seeded subset of the training split; 10% of "
        f"them carved off for validation), the first {cfg['train_max_len']} tokens of each, vocabulary capped at "
        f"{cfg['vocabulary']} words (the rest are `<unk>`); hidden size {cfg['hidden']}, at most {cfg['epochs']} "
        f"epochs with early stopping (patience 1, best epoch restored), seed {cfg['seed']}. A smaller "
        "configuration than the full training split, sized to the shared machine it ran on.",
        "",
        "- **Perplexity**: exp of the mean next-token loss on the test texts, beside an add-one unigram model "
        "fitted on the same training texts.",
        f"- **Effective context** (Khandelwal et al., ACL 2018): on {units[0]['targets']} held-out target "
        f"positions with more than {cfg['ks'][-1]} tokens before them (test texts read up to {cfg['max_len']} "
        "tokens), the rise in mean loss when the context is cut to the last k tokens, shuffled beyond them, or "
        "replaced beyond them by unigram draws. k_eff is the smallest k of the grid from which the rise stays "
        "within 1% of the full-context loss (`rnnmem.indicators.context.effective_context`; \"> K\" when it "
        "never does); *interpolated*, the same crossing read between grid points, linear in log k. The cut "
        f"curve is measured at k = {', '.join(map(str, cfg['ks']))}, shuffle and replace at "
        f"k = {', '.join(map(str, cfg['coarse_ks']))}. *Context area* = the integral of the cut curve's rise "
        "over k (nats x tokens, `context_area`): the loss the far context saves, with no tolerance.",
        f"- **ML(0.1)**: `rnnmem.assess` on the LM (its SES is the {cfg['vocabulary']}-dimensional readout), "
        f"occlusion estimator (`word` normalisation), {cfg['assess_sequences']} test texts cut to "
        f"{cfg['assess_max_len']} tokens, max_distance {cfg['max_distance']}; *fractional*, where the envelope "
        "of r(d) crosses 0.1 read between distances (`fractional_memory_length`). *Retention capacity* = "
        "sum_d r(d). *Log-prob SES*: the same on log p(next word), the logits less their log-sum-exp.",
        "- Intervals (in brackets) are 95% percentile intervals over resamples of the held-out targets (context "
        "measures) and of the assessed sequences (occlusion measures).",
        "",
        *lm_section(data),
        "",
        "## What the two numbers ask",
        "",
        "Occlusion ML(0.1) asks how far the whole readout (all V logits, Euclidean) still moves when one far "
        "token is replaced by the neutral token inside the running sequence, relative to what that word does read "
        "alone. The shuffle and replace tests also change far words while the state keeps running. The cut test "
        "instead starts the model from its initial state k tokens before the target, so its rise adds the cost of "
        "a cold start to the cost of the missing words: the cost a model pays at the start of every truncated "
        "window. The log-prob SES removes the logits' common shift, which changes no probability. The findings "
        "above say, from the numbers, which of these orders agree.",
        "",
        "## Loss rise by k (nats)",
        "",
    ]
    for name, ks_name in (("cut", "ks"), ("shuffle", "coarse_ks"), ("replace", "coarse_ks")):
        ks = units[0][ks_name]
        lines += ["| unit | perturbation | " + " | ".join(f"k={k}" for k in ks) + " |", "|---|---|" + "---|" * len(ks)]
        lines += [f"| {u['unit']} | {name} | " + " | ".join(f"{v:.4f}" for v in u["rise"][name]) + " |"
                  for u in units]
        lines.append("")
    lines += [
        "## The sketched gradient estimator on a trained LM",
        "",
        f"The {units[0]['unit']} LM's gradient estimator, exact ({cfg['vocabulary']} backward passes per batch) "
        f"against the sketch through {sketch['sketch_dimensions']} random Gaussian directions, on "
        f"{sketch['sequences']} test texts of 60 tokens, distances 0..{sketch['max_distance']}: the median relative "
        f"error of a Jacobian norm is {sketch['median_norm_error']:.1%}, the largest relative error of r(d) "
        f"{sketch['max_curve_error']:.1%}.",
        "",
    ]
    write_atomically(out, "\n".join(lines))


def unit_file(args, unit: str) -> Path:
    return args.json.with_name(f"{args.json.stem}.{unit}.json")


def main() -> None:
    args = arguments()
    if args.render_only:  # the doc again from the numbers of the last run, e.g. after its text changed
        write_doc(json.loads(args.json.read_text(encoding="utf-8")), args.out)
        return
    torch.set_num_threads(1)
    corpus = load_corpus(args.corpus)
    keep = np.random.default_rng(args.seed).permutation(len(corpus.train_texts))[: args.train_texts]
    corpus = dataclasses.replace(corpus, train_texts=[corpus.train_texts[i] for i in keep],
                                 train_labels=[corpus.train_labels[i] for i in keep])
    vocab = corpus.build_vocabulary(max_size=args.vocabulary)
    train_tokens, train_lengths, _ = corpus.encode(vocab, "train", max_len=args.train_max_len)
    unigram = unigram_log_probs(train_tokens, train_lengths, len(vocab))
    test = corpus.encode(vocab, "test", max_len=args.max_len)[:2]
    for unit in args.measure or args.units:
        start = time.time()
        result, model = measure_unit(unit, corpus, vocab, test, unigram, args)
        if unit == args.units[0]:
            result["sketch"] = sketch_error(model, test, args)
        result["seconds"] = time.time() - start
        write_atomically(unit_file(args, unit), json.dumps(json_safe(result)))
        print(f"{unit}: ppl {result['test_perplexity']:.1f} (unigram {result['unigram_perplexity']:.1f}), k_eff "
              f"{result['k_eff']}, fractional ML(0.1) {result['ml_frac']}, {result['seconds']:.0f} s", flush=True)
    missing = [unit for unit in args.units if not unit_file(args, unit).exists()]
    if missing:
        print(f"measured; still to measure before the doc is written: {', '.join(missing)}")
        return
    units = [json.loads(unit_file(args, unit).read_text(encoding="utf-8")) for unit in args.units]
    data = json_safe({"config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()
                                 if k != "measure"},
                      "units": [{k: v for k, v in u.items() if k != "sketch"} for u in units],
                      "sketch": units[0]["sketch"], "minutes": sum(u["seconds"] for u in units) / 60})
    write_atomically(args.json, json.dumps(data, indent=1))
    write_doc(data, args.out)
    print(f"wrote {args.out} and {args.json}")


if __name__ == "__main__":
    main()
