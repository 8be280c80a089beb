"""The plain-text summaries the command line prints (tables as text, one line per fact)."""

from __future__ import annotations

import pandas as pd

from rnnmem.report.format import memory_length, missing
from rnnmem.validation import counted


def run_summary(report, unit: str) -> str:
    """What `rnnmem assess` prints: the verdict, the headline table with baselines and floor, validity beside its
    floor, the recommendation and the training record (from training, or from the checkpoint's model.json)."""
    summary = report.summary()
    record = summary["training"]
    floor = summary["floor"]["estimators"] if summary.get("floor") else {}
    rows = []
    for name, values in summary["estimators"].items():
        untrained = floor.get(name, {})
        last = report.last_measured_distance(name)
        rows.append({
            "unit": unit, "estimator": name,
            "accuracy": _share(record.get("test_accuracy")), "majority": _share(record.get("majority_baseline")),
            "bag-of-words": _share(record.get("bag_of_words_baseline")),
            "ML(0.5)": memory_length(values["ML(0.5)"], last), "ML(0.1)": memory_length(values["ML(0.1)"], last),
            "retention_capacity": f"{values['retention_capacity']:.2f}", "recent_share": _share(values["recent_share"]),
            "floor ML(0.1)": memory_length(untrained["ML(0.1)"], last) if untrained else "-",
            "floor capacity": f"{untrained['retention_capacity']:.2f}" if untrained else "-",
            "floor recent_share": _share(untrained.get("recent_share")),
        })
    lines = [f"verdict: {statement}" for statement in summary["verdict"]["statements"]]
    lines.append(pd.DataFrame(rows).to_string(index=False))
    views = report.semantic_validity or {}
    if views.get("trained") is not None:
        lines.append(f"semantic validity: Spearman rho {_rho(views['trained'])} (untrained floor "
                     f"{_rho(views.get('untrained'))})")
    rec = summary["recommended_length"]
    lines.append(f"recommended training length: {counted(rec['length'], 'token')} ({rec['rule']})")
    if record:
        pieces = record.get("epochs_on_pieces")
        source = " (from the checkpoint's record)" if report.meta.get("model", {}).get("checkpoint") else ""
        lines.append(f"training{source}: {record.get('competence')} (accuracy {_share(record.get('test_accuracy'))} "
                     f"vs bag-of-words {_share(record.get('bag_of_words_baseline'))}; epoch {record.get('best_epoch')} "
                     f"of {record.get('epochs_run')} kept{f', the first {pieces} on single pieces' if pieces else ''}: "
                     f"{record.get('stopped')})")
        versions = ", ".join(f"{name} {version}" for name, version in (record.get("versions") or {}).items())
        lines.append(f"  training length {record.get('train_max_len')}; data fingerprint "
                     f"{(record.get('data_fingerprint') or 'unknown')[:16]}; trained with {versions or 'unknown versions'}")
    else:
        lines.append("training: unknown (the checkpoint keeps no training record)")
    return "\n".join(lines)


def _share(value) -> str:
    return "-" if missing(value) else f"{value:.3f}"


def _rho(view) -> str:
    return "-" if view is None else f"{view.rho:.2f} [{view.low:.2f}, {view.high:.2f}]"


def sweep_summary(summary: dict, store) -> str:
    """What `rnnmem sweep` prints when it ends: cells done and failed, and how to retry."""
    lines = [f"{summary['done']} of {counted(summary['total'], 'cell')} done, {summary['failed']} failed (store {store})"]
    if summary["running"]:
        lines.append(f"{summary['running']} cells are being run by another sweep on this store")
    for cell in summary["failures"]:
        error = (cell["error"] or "unknown error").splitlines()[0]
        lines.append(f"  failed: unit={cell['unit']} max_len={cell['max_len']} seed={cell['seed']}: {error}")
    if summary["failed"]:
        lines.append("re-run the same command to retry the failed cells (finished cells are kept)")
    return "\n".join(lines)
