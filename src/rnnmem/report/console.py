"""The plain-text summaries the command line prints (tables as text, one line per fact)."""

from __future__ import annotations

import pandas as pd

from rnnmem.guidance import next_steps, recommendation_text
from rnnmem.report.format import indicator_value, missing, number
from rnnmem.report.tables import indicator_readings
from rnnmem.validation import counted


def run_summary(report, unit: str) -> str:
    """What `rnnmem assess` prints: the verdict, accuracy beside its baselines, one row per estimator and indicator
    (trained, untrained floor, difference), validity beside its floor, the recommendation and the training record
    (from training, or from the checkpoint's model.json)."""
    summary = report.summary()
    record = summary["training"]
    lines = [f"verdict: {statement}" for statement in summary["verdict"]["statements"]]
    if "test_perplexity" not in record:  # a language model's perplexity has its own line
        lines.append(f"{unit}: held-out accuracy {_share(record.get('test_accuracy'))} (majority "
                     f"{_share(record.get('majority_baseline'))}, bag-of-words "
                     f"{_share(record.get('bag_of_words_baseline'))})")
    rows = [{"estimator": name, "indicator": trained.indicator.label, "trained": indicator_value(trained, interval=False),
             "floor": "-" if untrained is None else indicator_value(untrained, interval=False),
             "difference": _difference(trained, untrained)} for name, trained, untrained in indicator_readings(report)]
    if rows:
        lines.append(pd.DataFrame(rows).to_string(index=False))
    views = report.semantic_validity or {}
    if views.get("trained") is not None:
        lines.append(f"semantic validity: Spearman rho {_rho(views['trained'])} (untrained floor "
                     f"{_rho(views.get('untrained'))})")
    rec = summary["recommended_length"]
    if rec["length"] is None:
        lines.append(f"recommended training length: none, this report has {rec['rule']}")
    else:
        lines.append(f"recommended training length: {recommendation_text(rec)} ({rec['rule']})")
    if record:
        pieces = record.get("epochs_on_pieces")
        source = " (from the checkpoint's record)" if report.meta.get("model", {}).get("checkpoint") else ""
        lines.append(f"training{source}: {record.get('competence')} ({against_baseline(record)}; epoch {record.get('best_epoch')} "
                     f"of {record.get('epochs_run')} kept{f', the first {pieces} on single pieces' if pieces else ''}: "
                     f"{record.get('stopped')})")
        versions = ", ".join(f"{name} {version}" for name, version in (record.get("versions") or {}).items())
        lines.append(f"  training length {record.get('train_max_len')}; data fingerprint "
                     f"{(record.get('data_fingerprint') or 'unknown')[:16]}; trained with {versions or 'unknown versions'}")
    else:
        lines.append("training: unknown (the checkpoint keeps no training record)")
    lines += ["next steps:"] + [f"  - {step}" for step in next_steps(summary) or ["none: the numbers ask for no rerun"]]
    return "\n".join(lines)


def against_baseline(record: dict) -> str:
    """A training record's held-out score beside its baseline: accuracy vs bag-of-words, or an LM's perplexity vs
    the unigram model's."""
    if "test_perplexity" in record:
        return f"perplexity {number(record['test_perplexity'])} vs unigram {number(record.get('unigram_perplexity'))}"
    return f"accuracy {_share(record.get('test_accuracy'))} vs bag-of-words {_share(record.get('bag_of_words_baseline'))}"


def _share(value) -> str:
    return "-" if missing(value) else f"{value:.3f}"


def _difference(trained, untrained) -> str:
    """Trained minus floor; a value past the measured range counts as its lower bound D + 1, so the difference is a
    bound (">=" or "<="), and unknown ("-") when both are past it."""
    if untrained is None or (trained.censored and untrained.censored):
        return "-"
    difference = trained.number - untrained.number
    if missing(difference):
        return "-"
    bound = ">= " if trained.censored else "<= " if untrained.censored else ""
    return bound + number(difference)


def _rho(view) -> str:
    return "-" if view is None else f"{view.rho:.2f} [{view.low:.2f}, {view.high:.2f}]"


def sweep_summary(summary: dict, store) -> str:
    """What `rnnmem sweep` prints when it ends: cells done and failed, and how to retry."""
    lines = [f"{summary['done']} of {counted(summary['total'], 'cell')} done, {summary['failed']} failed (store {store})"]
    if summary.get("reclaimed"):
        lines.append(f"{summary['reclaimed']} cell(s) left 'running' by a sweep or worker that no longer exists "
                     "(killed?) went back to pending; this sweep runs those of its grid")
    if summary["running"]:
        lines.append(f"{summary['running']} cells are being run by another sweep on this store")
    for cell in summary["failures"]:
        error = (cell["error"] or "unknown error").splitlines()[0]
        lines.append(f"  failed: unit={cell['unit']} max_len={cell['max_len']} seed={cell['seed']}: {error}")
    if summary["failed"]:
        lines.append("re-run the same command to retry the failed cells (finished cells are kept)")
    return "\n".join(lines)
