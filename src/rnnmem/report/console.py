"""The plain-text summaries the command line prints (tables as text, one line per fact)."""

from __future__ import annotations

import pandas as pd

from rnnmem.report.format import memory_length


def run_summary(report, unit: str, history) -> str:
    """What `rnnmem assess` prints: the headline table with baselines and floor, the recommendation, the verdict."""
    summary = report.summary()
    floor = summary["floor"]["estimators"] if summary.get("floor") else {}
    rows = []
    for name, values in summary["estimators"].items():
        untrained = floor.get(name, {})
        rows.append({
            "unit": unit, "estimator": name,
            "accuracy": f"{history.final_accuracy:.3f}" if history else "-",
            "majority": f"{history.majority_baseline:.3f}" if history else "-",
            "bag-of-words": f"{history.bag_of_words_baseline:.3f}" if history else "-",
            "ML(0.5)": memory_length(values["ML(0.5)"], report.last_measured_distance(name)),
            "ML(0.1)": memory_length(values["ML(0.1)"], report.last_measured_distance(name)),
            "retention_capacity": f"{values['retention_capacity']:.2f}",
            "floor ML(0.1)": memory_length(untrained["ML(0.1)"], report.last_measured_distance(name)) if untrained else "-",
            "floor capacity": f"{untrained['retention_capacity']:.2f}" if untrained else "-",
        })
    table = pd.DataFrame(rows).to_string(index=False)
    rec = summary["recommended_length"]
    lines = [table, f"recommended training length: {rec['length']} tokens ({rec['rule']})"]
    if history:
        on_pieces = history.stage.count("pieces")
        lines.append(f"training: {history.verdict} (accuracy {history.final_accuracy:.3f} vs bag-of-words "
                     f"{history.bag_of_words_baseline:.3f}; epoch {history.best_epoch} of {len(history.loss)} kept"
                     f"{f', the first {on_pieces} on single pieces' if on_pieces else ''}: {history.stopped})")
        if history.verdict == "not yet competent":
            lines.append("  (more than 10 points below bag-of-words: these memory numbers describe where training "
                         "stopped, not what the unit can learn to keep)")
    return "\n".join(lines)


def sweep_summary(summary: dict, store) -> str:
    """What `rnnmem sweep` prints when it ends: cells done and failed, and how to retry."""
    lines = [f"{summary['done']} of {summary['total']} cells done, {summary['failed']} failed (store {store})"]
    if summary["running"]:
        lines.append(f"{summary['running']} cells are being run by another sweep on this store")
    for cell in summary["failures"]:
        error = (cell["error"] or "unknown error").splitlines()[0]
        lines.append(f"  failed: unit={cell['unit']} max_len={cell['max_len']} seed={cell['seed']}: {error}")
    if summary["failed"]:
        lines.append("re-run the same command to retry the failed cells (finished cells are kept)")
    return "\n".join(lines)
