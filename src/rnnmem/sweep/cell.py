"""One cell of a study: one run (`rnnmem.pipeline`) of one unit at one training length with one seed, kept as
the flat metrics and JSON the results store holds.

`rnnmem sweep` runs a grid of cells; `rnnmem assess` runs the same pipeline once.
"""

from __future__ import annotations

from rnnmem.fileio import json_safe
from rnnmem.pipeline.classify import train_and_assess
from rnnmem.pipeline.config import RunConfig


def cell_metrics(report, history) -> dict:
    """The headline numbers of a cell, flat, for comparison tables."""
    summary = report.summary()
    metrics = {"accuracy": history.final_accuracy, "test_size": history.test_size,
               "majority_baseline": history.majority_baseline,
               "bag_of_words_baseline": history.bag_of_words_baseline, "best_epoch": history.best_epoch,
               "fidelity_knee": summary["fidelity_knee"], "fidelity_at_median_length": summary["fidelity_at_median_length"],
               "recommended_length": summary["recommended_length"]["length"],
               "recommended_at_least": summary["recommended_length"]["at_least"]}
    for prefix, measured in (("", report), ("floor.", report.floor)):
        for name in measured.estimators if measured is not None else ():
            for reading in measured.indicator_values(name):  # every catalogue indicator, as <estimator>.<key>
                metrics[f"{prefix}{name}.{reading.indicator.key}"] = reading.value
    if summary["floor"]:
        metrics["floor.fidelity_at_median_length"] = summary["floor"]["fidelity_at_median_length"]
    for prefix, name in (("", "trained"), ("floor.", "untrained")):
        validity = (report.semantic_validity or {}).get(name)
        if validity is not None:
            metrics[f"{prefix}validity"] = validity.rho
            metrics[f"{prefix}validity_low"], metrics[f"{prefix}validity_high"] = validity.low, validity.high
    return metrics


def run_cell(config: RunConfig) -> dict:
    """Train and assess one cell; returns JSON-safe results for the store.

    Keys: metrics (flat headline numbers), report (MemoryReport.to_dict()), ses (word
    points with their words and a few trajectories, for plotting one model's SES),
    history (loss and accuracy per epoch), timings (seconds).
    """
    _, _, history, report, timings = train_and_assess(config)
    words = report.words()
    ses = {"words": words, "counts": report.word_points["count"].tolist(), "points": report.ses_points().tolist(),
           "trajectories": [t.tolist() for t in report.trajectories[:4]],
           "trajectory_words": [report.vocabulary.decode(ids) if report.vocabulary else [str(i) for i in ids]
                                for ids in report.trajectory_tokens[:4]],
           "label_names": report.label_names, "sequence_points": report.sequence_points,
           "sequence_labels": report.sequence_labels}
    return json_safe({"metrics": cell_metrics(report, history), "report": report.to_dict(), "ses": ses,
                   "history": vars(history),
                   "timings": timings})

