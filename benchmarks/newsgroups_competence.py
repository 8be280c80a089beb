"""20 Newsgroups: do srn, lstm and gru learn it? Their test accuracy against the bag-of-words baseline, with curves.

    python benchmarks/newsgroups_competence.py               # srn, lstm, gru in turn; writes docs/newsgroups.md
    python benchmarks/newsgroups_competence.py --units gru --no-reference   # one unit, merged into the JSON
    python benchmarks/newsgroups_competence.py --units       # only the reference baselines, merged into the JSON
    python benchmarks/newsgroups_competence.py --quick       # a tiny configuration, to check that the script runs
    python benchmarks/newsgroups_competence.py --render-only # the doc again from benchmarks/results/newsgroups.json

Each unit is trained with `rnnmem.train` (validation split, early stopping restoring the best
epoch) on the documents' first ``--max-len`` tokens, seed 0. Beside it: the baselines that
`rnnmem.train` prints (majority class; bag-of-words logistic regression on binary word counts of
the tokens the network sees), the same bag of words on the full documents (this script's
reference: how close a unit comes to what the whole document gives), and, to show where in a
document the class is decided, the networks' accuracy after reading the first k tokens against
the bag of words of those k tokens. Several invocations with different
``--units`` merge their units into one JSON file (under a lock), so the units can run side by side.
"""

from __future__ import annotations

import argparse
import dataclasses
import fcntl
import inspect
import json
import math
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from matplotlib import rc_context

from rnnmem.baselines import baselines
from rnnmem.cli import assess as assess_command
from rnnmem.data import load_corpus
from rnnmem.data.text import tokenize
from rnnmem.fileio import json_safe, write_atomically
from rnnmem.model import build_model
from rnnmem.report.style import OKABE_ITO, STYLE, new_figure, save_figure
from rnnmem.train import train, validation_split

ROOT = Path(__file__).resolve().parent.parent
VALIDATION_FRACTION = 0.1  # rnnmem.train's default, which every run here uses
COMPETENCE_SHARE = 0.8  # the bar: at least 80% of the bag-of-words accuracy
UNITS = ("srn", "lstm", "gru")
LAST_TOKENS = 8  # the findings say what the last few tokens of the window add to the accuracy
GRADIENT_DISTANCE = 32  # and how much training signal reaches this far back
SIGNAL_SHARE = 0.01  # a token whose gradient is below this share of the last token's gets next to no training signal
SETTINGS = ("max_len", "keep", "hidden", "embedding", "lr", "dropout", "weight_decay", "epochs", "patience",
            "batch_size", "schedule", "seed", "quick")


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", nargs="*", default=list(UNITS),
                        help="units to train; none: only the reference baselines")
    # the defaults are the settings of the committed run (docs/newsgroups.md says which differ from rnnmem's)
    parser.add_argument("--max-len", type=int, default=128)
    parser.add_argument("--keep", choices=("first", "last"), default="last")
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--embedding", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--dropout", type=float, default=0.4)
    parser.add_argument("--weight-decay", type=float, default=0.01)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--schedule", default="plateau")
    parser.add_argument("--suffixes", type=int, nargs="*", default=[8, 16, 32, 64],
                        help="k of the bag-of-words baselines on the last k tokens shown: a short memory's reference")
    parser.add_argument("--prefixes", type=int, nargs="*", default=[16, 64],
                        help="k of the bag-of-words baselines on the first k tokens (max_len is always added)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-reference", action="store_true",
                        help="skip the truncated bag-of-words baselines (another invocation computes them)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny configuration: checks the script, numbers mean nothing")
    parser.add_argument("--out", type=Path, default=None, help="the doc (default docs/newsgroups.md)")
    parser.add_argument("--json", type=Path, default=None,
                        help="the raw numbers (default benchmarks/results/newsgroups.json)")
    parser.add_argument("--also", type=Path, nargs="*", default=[],
                        help="JSON files of other runs of this script (a longer budget), shown as extra table rows")
    parser.add_argument("--render-only", action="store_true", help="rewrite the doc from --json without measuring")
    args = parser.parse_args()
    # a quick run never overwrites the committed results
    folder = Path(tempfile.gettempdir()) / "rnnmem-newsgroups-quick" if args.quick else None
    args.out = args.out or (folder / "newsgroups.md" if folder else ROOT / "docs" / "newsgroups.md")
    results = folder or ROOT / "benchmarks" / "results"
    args.json = args.json or results / "newsgroups.json"
    if args.quick:
        args.max_len, args.hidden, args.embedding, args.epochs, args.prefixes, args.suffixes = 32, 8, 8, 2, [8], [8]
    return args


def first_tokens(corpus, k: int, args, end: bool = False):
    """``corpus`` with every text cut to the first (``end``: last) k of the tokens the network is shown
    (``--keep``, ``--max-len``)."""
    def cut(text: str) -> str:
        words = tokenize(text)
        shown = words[: args.max_len] if args.keep == "first" else words[-args.max_len:]
        return " ".join(shown[-k:] if end else shown[:k])
    return dataclasses.replace(corpus, train_texts=[cut(t) for t in corpus.train_texts],
                               test_texts=[cut(t) for t in corpus.test_texts], pieces=None)


def reference(corpus, args) -> dict:
    """The bag of words on the full documents, and on the tokens the networks see: on the test split for the first
    k of them (each k of ``--prefixes`` and max_len) and the last k (each k of ``--suffixes``), and on
    `rnnmem.train`'s validation split, fitted on the rest of the training split."""
    shown = first_tokens(corpus, args.max_len, args)
    fit, validation = validation_split(len(shown.train_texts), VALIDATION_FRACTION, args.seed)
    held_out = dataclasses.replace(shown, train_texts=[shown.train_texts[i] for i in fit],
                                   train_labels=[shown.train_labels[i] for i in fit],
                                   test_texts=[shown.train_texts[i] for i in validation],
                                   test_labels=[shown.train_labels[i] for i in validation])
    return {"full_document_bag_of_words": baselines(corpus).bag_of_words,
            "prefix_bag_of_words": {str(k): baselines(first_tokens(corpus, k, args)).bag_of_words
                                    for k in sorted({*args.prefixes, args.max_len})},
            "suffix_bag_of_words": {str(k): baselines(first_tokens(corpus, k, args, end=True)).bag_of_words
                                    for k in args.suffixes},
            "validation_bag_of_words": baselines(held_out).bag_of_words}


@torch.no_grad()
def prefix_accuracy(model, tokens: torch.Tensor, lengths: torch.Tensor, labels: torch.Tensor,
                    batch_size: int = 256) -> list[float]:
    """Test accuracy of the readout after the first k tokens, k = 1..T (a shorter text is read whole)."""
    model.eval()
    width = tokens.shape[1]
    correct = torch.zeros(width)
    for i in range(0, len(tokens), batch_size):
        rows = slice(i, i + batch_size)
        hits = model(tokens[rows]).argmax(-1) == labels[rows, None]  # [B, T]: right after reading t + 1 tokens
        positions = torch.minimum(torch.arange(width)[None], lengths[rows, None] - 1)
        correct += hits.gather(1, positions).sum(0)
    return (correct / len(tokens)).tolist()


def gradient_by_distance(model, tokens: torch.Tensor, lengths: torch.Tensor, labels: torch.Tensor,
                         n_texts: int = 128) -> list[float]:
    """Mean norm of the loss's gradient at the embedding of the token d steps before the readout, d = 0..T-1.

    The training signal that reaches a token d steps back: read on the first ``n_texts`` test
    texts that fill the whole window (so every distance has every text), in eval mode.
    """
    model.eval()
    rows = torch.nonzero(lengths == tokens.shape[1])[:n_texts, 0]
    emb = model.embed(tokens[rows]).detach().requires_grad_(True)
    loss = torch.nn.functional.cross_entropy(model.forward_embedded(emb)[:, -1], labels[rows], reduction="sum")
    loss.backward()
    model.zero_grad(set_to_none=True)
    return emb.grad.norm(dim=-1).mean(0).flip(0).tolist()


def measure_unit(unit: str, corpus, args) -> dict:
    start = time.time()
    model = build_model(unit, len(corpus.vocabulary), corpus.num_classes, hidden_size=args.hidden,
                        embedding_dim=args.embedding, dropout=args.dropout, seed=args.seed)
    test = corpus.encode(corpus.vocabulary, "test", max_len=args.max_len, keep=args.keep)
    gradient_at_start = gradient_by_distance(model, *test)
    history = train(model, corpus, max_len=args.max_len, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                    seed=args.seed, validation_fraction=VALIDATION_FRACTION, keep=args.keep,
                    weight_decay=args.weight_decay, patience=args.patience,
                    schedule=args.schedule)
    by_prefix = prefix_accuracy(model, *test)
    # the readout the training loss saw: at each text's last token, which the prefix curve reaches at max_len
    assert math.isclose(by_prefix[-1], history.final_accuracy, abs_tol=1e-6), (by_prefix[-1], history.final_accuracy)
    return {"unit": unit, "history": {k: v for k, v in vars(history).items() if k != "settings"},
            "train_settings": history.settings, "final_accuracy": history.final_accuracy,
            "prefix_accuracy": by_prefix, "seconds": time.time() - start,
            "gradient_by_distance": {"initial": gradient_at_start, "trained": gradient_by_distance(model, *test)}}


@contextmanager
def locked(path: Path):
    """Hold an exclusive lock on ``path`` while reading and rewriting it (parallel invocations merge).

    The lock file lives in the temporary folder, so nothing is left beside the results.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = Path(tempfile.gettempdir()) / f"rnnmem-{path.resolve().as_posix().replace('/', '_')}.lock"
    with open(lock, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def merge(path: Path, config: dict, update: dict) -> dict:
    """The JSON at ``path`` with ``update`` merged in; a file from other settings is replaced, not mixed."""
    with locked(path):
        data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        if data.get("config") != config:
            data = {"config": config}
        for key, value in update.items():  # a table (units, baselines by k) gains entries, it is not replaced
            if isinstance(value, dict) and isinstance(data.get(key), dict):
                data[key].update(value)
            else:
                data[key] = value
        write_atomically(path, json.dumps(json_safe(data), indent=1))
    return data


# this script's settings by the names of `rnnmem assess`'s options, and of `rnnmem.train`'s arguments for the rest
CLI_NAMES = {"max_len": "max_len", "keep": "keep", "hidden": "hidden_size", "embedding": "embedding_dim", "lr": "lr",
             "dropout": "dropout", "epochs": "epochs", "batch_size": "batch_size"}
TRAIN_NAMES = {"weight_decay": "weight_decay", "patience": "patience", "schedule": "schedule"}


def differences_from_defaults(cfg: dict) -> list[str]:
    """'name: ours (default theirs)' for each setting that differs from `rnnmem assess` or `rnnmem.train` defaults."""
    cli = {name: parameter.default.default for name, parameter in inspect.signature(assess_command).parameters.items()
           if hasattr(parameter.default, "default")}  # typer options; not the click context
    library = {name: parameter.default for name, parameter in inspect.signature(train).parameters.items()}
    out = []
    names = {**{k: (v, cli, "`rnnmem assess`") for k, v in CLI_NAMES.items()},
             **{k: (v, library, "`rnnmem.train`") for k, v in TRAIN_NAMES.items()}}
    for ours, (theirs, defaults, where) in names.items():
        if cfg[ours] != defaults[theirs]:
            out.append(f"{ours.replace('_', ' ')} {cfg[ours]} ({where} default: {defaults[theirs]})")
    return out


def tokens_shown(cfg: dict) -> str:
    return f"{cfg['keep']} {cfg['max_len']} tokens"


def summary(record: dict, bag_of_words: float, same_tokens: float | None) -> dict:
    """The numbers of a unit's table row and findings, read off its record."""
    h = record["history"]
    best = h["best_epoch"] - 1
    curve = record["prefix_accuracy"]
    peak = int(np.argmax(curve))
    return {"epochs_run": len(h["loss"]), "best_epoch": h["best_epoch"], "accuracy": record["final_accuracy"],
            "ratio": record["final_accuracy"] / bag_of_words,
            "ratio_same_tokens": None if same_tokens is None else record["final_accuracy"] / same_tokens,
            "train_at_best": h["train_accuracy"][best], "validation_at_best": h["validation_accuracy"][best],
            "best_test": max(h["test_accuracy"]), "test_loss_low": int(np.argmin(h["test_loss"])) + 1,
            "last_train": h["train_accuracy"][-1], "last_validation": h["validation_accuracy"][-1],
            "test_at_best": h["test_accuracy"][best], "peak_k": peak + 1, "peak_accuracy": curve[peak],
            "at_max_len": curve[-1], "before_last_tokens": curve[-1 - LAST_TOKENS],
            "still_rising": h["best_epoch"] == len(h["loss"]) and "budget" in h["stopped"],
            "signal_reach": signal_reach(record["gradient_by_distance"]["trained"]),
            **{f"gradient_{where}_{stage}": norms[at] / norms[0]
               for stage, norms in record["gradient_by_distance"].items()
               for where, at in (("near", min(GRADIENT_DISTANCE, len(norms) - 1)), ("far", -1))}}


def signal_reach(norms: list[float], share: float = SIGNAL_SHARE) -> int | None:
    """First distance d at which the gradient norm falls below ``share`` of its value at d = 0 (None: never)."""
    below = np.nonzero(np.asarray(norms) < share * norms[0])[0]
    return int(below[0]) if len(below) else None


def findings(units: dict, rows: dict, data: dict) -> list[str]:
    """Sentences read off the numbers: who reaches the bar, how far each overfits, where reading stops helping."""
    cfg, bow = data["config"], data["full_document_bag_of_words"]
    seen = tokens_shown(cfg)
    bar = COMPETENCE_SHARE * bow
    reach = [u for u in units if rows[u]["accuracy"] >= bar]
    sentences = [f"{len(reach)} of {len(units)} units reach {COMPETENCE_SHARE:.0%} of the bag-of-words accuracy "
                 f"({bar:.3f}): {', '.join(reach) or 'none'}."]
    for u in units:
        r = rows[u]
        sentences.append(
            f"{u}: kept epoch {r['best_epoch']} of {r['epochs_run']}; there its running training accuracy is "
            f"{r['train_at_best']:.3f} against validation {r['validation_at_best']:.3f} "
            f"(gap {r['train_at_best'] - r['validation_at_best']:+.3f}) and test {r['test_at_best']:.3f}; at the last "
            f"epoch training {r['last_train']:.3f}, validation {r['last_validation']:.3f}. Its test loss is lowest at "
            f"epoch {r['test_loss_low']}, its test accuracy highest ({r['best_test']:.3f}) at epoch "
            f"{1 + int(np.argmax(units[u]['history']['test_accuracy']))}. Its accuracy after reading the first k "
            f"of the {seen} peaks at k = {r['peak_k']} ({r['peak_accuracy']:.3f}) and is {r['at_max_len']:.3f} at "
            f"k = {cfg['max_len']}"
            + (f": reading on past k = {r['peak_k']} costs it {r['peak_accuracy'] - r['at_max_len']:.3f}."
               if r["peak_accuracy"] - r["at_max_len"] >= 0.01 else ".")
            + f" Read {LAST_TOKENS} tokens before the end of the window its accuracy is {r['before_last_tokens']:.3f}: "
            f"the last {LAST_TOKENS} tokens add {r['at_max_len'] - r['before_last_tokens']:+.3f}."
            + (" Validation accuracy was still rising when the epoch budget ran out." if r["still_rising"] else "")
            + f" The gradient of the loss at the token {GRADIENT_DISTANCE} (and {cfg['max_len'] - 1}) steps before "
            f"the readout is {r['gradient_near_initial']:.1e} ({r['gradient_far_initial']:.1e}) of that at the last "
            f"token at initialisation and {r['gradient_near_trained']:.1e} ({r['gradient_far_trained']:.1e}) "
            "after training.")
    prefix = sorted((int(k), v) for k, v in (data.get("prefix_bag_of_words") or {}).items())
    for u in units:
        shares = ", ".join(f"{units[u]['prefix_accuracy'][k - 1] / value:.2f} at k = {k}" for k, value in prefix)
        if shares:
            sentences.append(f"{u} after reading the first k of the {seen}, as a share of the bag of words on the "
                             f"same k tokens: {shares} (a share that falls as k grows: the network gains less "
                             "than the bag of words from the further tokens, it forgets or fails to combine them; a "
                             "level share: a shortfall that does not grow with the distance to cover).")
    suffix = sorted((int(k), v) for k, v in (data.get("suffix_bag_of_words") or {}).items())
    if suffix:
        reach = ", ".join(f"{u} " + (f"d = {rows[u]['signal_reach']}" if rows[u]["signal_reach"] is not None
                                     else f"none within {cfg['max_len']}") for u in units)
        sentences.append(
            "The bag of words on only the last k tokens of the window (what a linear readout of which words occur "
            "there gets, a reference for a unit that holds only its last k tokens): "
            + ", ".join(f"{value:.3f} at k = {k}" for k, value in suffix)
            + f" (the bar is {bar:.3f}). Distance at which the kept model's gradient first falls below "
            f"{SIGNAL_SHARE:.0%} of its value at d = 0: {reach}.")
    if "validation_bag_of_words" in data and prefix:
        test_bow = dict(prefix)[cfg["max_len"]]
        gaps = ", ".join(f"{u} {rows[u]['validation_at_best'] - rows[u]['test_at_best']:+.3f}" for u in units)
        harder = "harder" if data["validation_bag_of_words"] > test_bow else "not harder"
        sentences.append(f"For the bag of words the test split is {harder} than the validation split: on the "
                         f"{seen} it gets {data['validation_bag_of_words']:.3f} on validation and {test_bow:.3f} "
                         f"on test ({data['validation_bag_of_words'] - test_bow:+.3f}); the networks' validation "
                         f"minus test accuracy at the kept epoch: {gaps}.")
    return sentences


def draw(data: dict, path: Path) -> None:
    cfg, units, bow = data["config"], data["units"], data["full_document_bag_of_words"]
    with rc_context(STYLE):
        fig = new_figure(12, 8)
        (by_epoch, losses), (by_prefix, gradients) = fig.subplots(2, 2)
        for color, (unit, record) in zip(OKABE_ITO, units.items()):
            h = record["history"]
            epochs = np.arange(1, len(h["loss"]) + 1)
            by_epoch.plot(epochs, h["test_accuracy"], color=color, marker="o", ms=3, label=f"{unit} test")
            by_epoch.plot(epochs, h["validation_accuracy"], color=color, ls=":", label=f"{unit} validation")
            by_epoch.plot(epochs, h["train_accuracy"], color=color, ls="--", lw=1, label=f"{unit} train (running)")
            by_epoch.axvline(h["best_epoch"], color=color, lw=0.6, alpha=0.5)
            losses.plot(epochs, h["test_loss"], color=color, marker="o", ms=3, label=f"{unit} test")
            losses.plot(epochs, h["validation_loss"], color=color, ls=":", label=f"{unit} validation")
            losses.plot(epochs, h["loss"], color=color, ls="--", lw=1, label=f"{unit} train (running)")
            k = np.arange(1, len(record["prefix_accuracy"]) + 1)
            by_prefix.plot(k, record["prefix_accuracy"], color=color, label=unit)
            for stage, style in (("initial", ":"), ("trained", "-")):
                norms = np.asarray(record["gradient_by_distance"][stage])
                gradients.plot(np.arange(len(norms)), norms / norms[0], color=color, ls=style, label=f"{unit} {stage}")
        prefix = sorted((int(k), v) for k, v in (data.get("prefix_bag_of_words") or {}).items())
        if prefix:
            by_prefix.plot(*zip(*prefix), color="0.2", ls="none", marker="s", label="bag of words on the same k")
        for ax in (by_epoch, by_prefix):
            ax.axhline(bow, color="0.2", lw=1, label="bag of words (full documents)")
            ax.axhline(COMPETENCE_SHARE * bow, color="0.2", lw=1, ls="--", label=f"{COMPETENCE_SHARE:.0%} of it")
            ax.axhline(data["majority"], color="0.6", lw=1, ls="-.", label="majority")
            ax.set_ylabel("accuracy")
        by_epoch.set(xlabel="epoch (vertical line: the kept epoch)", title="accuracy by epoch")
        losses.set(xlabel="epoch", ylabel="cross-entropy (nats)", title="loss by epoch")
        by_prefix.set(xlabel=f"k: tokens read of the {tokens_shown(cfg)}", title="test accuracy after reading k tokens")
        by_epoch.legend(fontsize=6.5, ncol=2)
        losses.legend(fontsize=6.5, ncol=1)
        by_prefix.legend(fontsize=7)
        gradients.set(xlabel="distance d from the readout (tokens)", ylabel="gradient norm / its value at d = 0",
                      title="training signal reaching a token d steps back", yscale="log")
        gradients.legend(fontsize=7)
        save_figure(fig, path)


def shown_path(path: str) -> str:
    """A results path as a reader of the repository finds it (relative to its root), else its name."""
    path = Path(path) if Path(path).is_absolute() else ROOT / path
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name


def other_run_rows(data: dict, others: list[dict], same: float | None) -> list[str]:
    """Table rows of other runs of this script (e.g. a longer epoch budget), named by the settings that differ;
    measured against this run's references (the same corpus and split)."""
    rows, bow = [], data["full_document_bag_of_words"]
    for other in others:
        changed = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in other["config"].items() if data["config"][k] != v)
        for u, record in other["units"].items():
            r = summary(record, bow, same)
            same_cells = "- | -" if same is None else f"{same:.3f} | {r['ratio_same_tokens']:.2f}"
            rows.append(f"| {u} ({changed}; `{shown_path(other['json'])}`) | {r['epochs_run']} ({r['best_epoch']}) | "
                        f"{r['accuracy']:.3f} | {bow:.3f} | {r['ratio']:.2f} | {same_cells} | "
                        f"{other['majority']:.3f} | {'yes' if r['ratio'] >= COMPETENCE_SHARE else 'no'} |")
    return rows


def other_run_findings(data: dict, others: list[dict]) -> list[str]:
    """One sentence per unit of another run: its accuracy against the bar, and whether it was still improving."""
    sentences = []
    for other in others:
        changed = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in other["config"].items() if data["config"][k] != v)
        for u, record in other["units"].items():
            r = summary(record, data["full_document_bag_of_words"], None)
            sentences.append(f"With {changed} (all else as above), {u} reaches {r['accuracy']:.3f} at epoch "
                             f"{r['best_epoch']} of {r['epochs_run']}, {r['ratio']:.0%} of the bag of words: "
                             + ("above" if r["ratio"] >= COMPETENCE_SHARE else "below") + " the bar"
                             + ("; validation accuracy was still rising when the budget ran out." if r["still_rising"]
                                else "."))
    return sentences


def write_doc(data: dict, out: Path, others: list[dict] = ()) -> None:
    # runs side by side finish in any order; the doc lists the units in the order of UNITS
    data = {**data, "units": dict(sorted(data["units"].items(), key=lambda item: UNITS.index(item[0])
                                         if item[0] in UNITS else len(UNITS)))}
    cfg, units, bow = data["config"], data["units"], data["full_document_bag_of_words"]
    same = (data.get("prefix_bag_of_words") or {}).get(str(cfg["max_len"]))
    rows = {u: summary(record, bow, same) for u, record in units.items()}
    figure = out.with_name(out.stem + "_curves.png")
    draw(data, figure)
    raw_name = shown_path(data["json"])
    seen = tokens_shown(cfg)
    settings = data["units"][next(iter(units))]["train_settings"]
    timing = ", ".join(f"{u} {r['seconds'] / 60:.0f} min" for u, r in units.items())
    lines = [
        "# 20 Newsgroups: do the classic units learn it?",
        "",
        "Generated by `python benchmarks/newsgroups_competence.py" + (" --quick" if cfg["quick"] else "")
        + "".join(f" --also {shown_path(o['json'])}" for o in others) + "`"
        f" (raw numbers in `{raw_name}`; training took {timing} "
        "on 2 shared CPU cores, one thread each; the units ran side by side as `--units srn`, `--units lstm "
        "--no-reference` and `--units gru --no-reference`, which gives the numbers of one run, as each unit's "
        "training is seeded on its own"
        + ("; each other run of the table with the settings named in its row and `--json` its file" if others else "")
        + "). Corpus `newsgroups` (20 classes): "
        f"{data['train_texts']} training documents, 10% of them carved off (seeded) for validation, "
        f"{data['test_texts']} test documents. Each network sees the {seen} of a document and is read at its last "
        f"token; embedding {cfg['embedding']}, hidden {cfg['hidden']}, AdamW lr {cfg['lr']:g}, weight decay "
        f"{cfg['weight_decay']:g}, dropout {cfg['dropout']:g}, batch {cfg['batch_size']}, schedule "
        f"`{cfg['schedule']}`, at most {cfg['epochs']} epochs, early stopping with patience {cfg['patience']} "
        f"restoring the best validation epoch, gradient clip {settings['grad_clip']:g}, seed {cfg['seed']}.",
        "",
        f"The reference is rnnmem's bag-of-words baseline (logistic regression on binary word counts) on the "
        f"**full** documents ({bow:.3f}): what the whole document gives; the bar is {COMPETENCE_SHARE:.0%} of it "
        f"({COMPETENCE_SHARE * bow:.3f}). Beside it, the same bag of words on only the {seen} the networks see, "
        "the one `rnnmem.train` prints and its competence verdict reads"
        + (f" ({same:.3f})." if same is not None else " (not measured in this run)."),
        "",
        "| unit | epochs run (kept) | test accuracy | bag-of-words (full documents) | ratio | "
        f"bag-of-words ({seen}) | ratio | majority | reaches {COMPETENCE_SHARE:.0%} |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for u, r in rows.items():
        same_cells = "- | -" if same is None else f"{same:.3f} | {r['ratio_same_tokens']:.2f}"
        lines.append(f"| {u} | {r['epochs_run']} ({r['best_epoch']}) | {r['accuracy']:.3f} | {bow:.3f} | "
                     f"{r['ratio']:.2f} | {same_cells} | {data['majority']:.3f} | "
                     f"{'yes' if r['ratio'] >= COMPETENCE_SHARE else 'no'} |")
    lines += other_run_rows(data, list(others), same)
    lines += [
        "",
        "Settings that differ from the defaults: " + ("; ".join(differences_from_defaults(cfg)) or "none") + ". "
        "These were chosen to fit the CPU time available (three units side by side on 2 shared cores), not "
        "tuned. To train as here, pass the `rnnmem assess` ones as options to `rnnmem assess --corpus newsgroups`; "
        "the `rnnmem.train` ones are arguments of the library call only.",
        "",
        "## Findings (computed from the numbers)",
        "",
        *[f"- {sentence}" for sentence in findings(units, rows, data) + other_run_findings(data, list(others))],
        "",
        f"![accuracy and loss by epoch, and accuracy after reading k tokens]({figure.name})",
        "",
        "Top left: test (solid), validation (dotted) and running training accuracy (dashed, with dropout on, "
        "averaged over the epoch) by epoch. Top right: the same for the cross-entropy. Bottom left: test accuracy "
        f"of the kept model's readout after the first k of the {seen} (a shorter document is read whole), which is "
        "where "
        "in a document the class is decided and whether the unit still holds it at the end. Bottom right: the "
        "norm of the loss's gradient at the embedding of the token d steps before the readout, relative to "
        "d = 0, averaged over 128 test documents that fill the window, at initialisation (dotted) and for the "
        "kept model (solid): how much training signal a far token receives (a curve that drops out of the plot, "
        "and a ratio of 0 in the findings, has fallen below float32's smallest number).",
        "",
    ]
    write_atomically(out, "\n".join(lines))


def main() -> None:
    args = arguments()
    config = {name: getattr(args, name) for name in SETTINGS}
    others = [json.loads(path.read_text(encoding="utf-8")) for path in args.also]
    if args.render_only:  # the doc again from the numbers of the last run, e.g. after its text changed
        write_doc(json.loads(args.json.read_text(encoding="utf-8")), args.out, others)
        return
    torch.set_num_threads(1)
    corpus = load_corpus("newsgroups")
    if args.quick:
        corpus = dataclasses.replace(corpus, train_texts=corpus.train_texts[::40],
                                     train_labels=corpus.train_labels[::40],
                                     test_texts=corpus.test_texts[::40], test_labels=corpus.test_labels[::40])
    update = {"json": str(args.json), "train_texts": len(corpus.train_texts), "test_texts": len(corpus.test_texts)}
    if not args.no_reference:
        update.update(reference(corpus, args))
        print(f"bag of words on the tokens shown: {update}", flush=True)
    data = merge(args.json, config, update)
    for unit in args.units:
        record = measure_unit(unit, corpus, args)
        h = record["history"]
        print(f"{unit}: test accuracy {record['final_accuracy']:.3f} (epoch {h['best_epoch']} of {len(h['loss'])}), "
              f"bag of words {h['bag_of_words_baseline']:.3f}, {record['seconds'] / 60:.1f} min", flush=True)
        data = merge(args.json, config, {"units": {unit: record}, "bag_of_words": h["bag_of_words_baseline"],
                                         "majority": h["majority_baseline"]})
    if all(unit in data.get("units", {}) for unit in UNITS) or args.quick:
        write_doc(data, args.out, others)
        print(f"wrote {args.out} and {args.json}")


if __name__ == "__main__":
    main()
