"""One cell of a study: train one unit at one training length with one seed, then assess it.

`rnnmem assess` runs one cell; `rnnmem sweep` runs a grid of them.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from rnnmem._version import library_versions
from rnnmem.assessment import assess, check_estimators
from rnnmem.data import Vocabulary, load_corpus, tokenize
from rnnmem.data.registry import corpus_loader
from rnnmem.errors import ConfigError, ModelProtocolError
from rnnmem.fileio import json_safe
from rnnmem.indicators.estimators import default_estimators
from rnnmem.model import build_model, load_model
from rnnmem.progress import showing_progress, stage
from rnnmem.train import train
from rnnmem.units import check_unit_name
from rnnmem.validation import MAX_RESAMPLES, check_int, check_resample_memory, check_tau


# CellConfig fields added after stores were written (see CellConfig.to_json)
ADDED_LATER = ("tau",)


@dataclass(frozen=True)
class CellConfig:
    """Everything that determines a cell's numbers (two equal configs give equal results)."""

    unit: str = "lstm"
    max_len: int = 128
    seed: int = 0
    corpus: str = "tweets-docs"
    doc_tokens: int = 128
    text_column: str = "text"
    label_column: str = "label"
    hidden_size: int = 64
    embedding_dim: int = 64
    epochs: int = 12  # a budget: validation picks the epoch kept
    batch_size: int = 64
    lr: float = 3e-3
    dropout: float = 0.0
    piece_epochs: int = 2  # curriculum epochs on the labelled pieces of tweets-docs
    keep: str = "first"
    bptt_window: int | None = None
    max_distance: int = 100
    estimators: tuple[str, ...] = default_estimators()
    max_sequences: int = 256
    n_resamples: int = 1000
    tau: float = 0.1  # retention threshold of the recommended training length, ML(tau)

    @property
    def key(self) -> str:
        """Stable identity of the cell: a hash of its canonical JSON."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]

    def to_json(self) -> str:
        """Canonical JSON; a setting added since stores were first written is left out while it holds its default,
        so every cell stored before it keeps its key (and is not run again)."""
        values = asdict(self)
        for name in ADDED_LATER:
            if values[name] == CellConfig.__dataclass_fields__[name].default:
                del values[name]
        return json.dumps(values, sort_keys=True)

    def check(self) -> CellConfig:
        """Refuse, before any loading or training, the choices that would otherwise fail only after them."""
        check_unit_name(self.unit)
        corpus_loader(self.corpus)
        check_estimators(self.estimators)
        check_tau(self.tau)
        check_int("n_resamples", self.n_resamples, low=1, high=MAX_RESAMPLES)
        return self

    @classmethod
    def from_dict(cls, values: dict) -> CellConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown cell setting(s) {', '.join(unknown)}; valid settings: {', '.join(sorted(known))}.")
        if "estimators" in values:
            values = dict(values, estimators=tuple(values["estimators"]))
        return replace(cls(), **values)


def corpus_options(config: CellConfig) -> dict:
    """The options `load_corpus` is given for the config's corpus."""
    options = {"seed": config.seed}
    if config.corpus == "tweets-docs":
        options["doc_tokens"] = config.doc_tokens
    if config.corpus.endswith((".csv", ".jsonl")):
        options.update(text_column=config.text_column, label_column=config.label_column)
    return options


def corpus_for(config: CellConfig):
    with stage(f"loading {config.corpus}"):
        return load_corpus(config.corpus, **corpus_options(config))


def data_fingerprint(corpus, options: dict) -> str:
    """SHA-256 of what a model was trained and tested on: the corpus name, its options, every text and label.

    Two runs with the same fingerprint saw the same data, whatever the files were called.
    """
    digest = hashlib.sha256(json.dumps({"name": corpus.name, "options": options}, sort_keys=True).encode())
    for texts, labels in ((corpus.train_texts, corpus.train_labels), (corpus.test_texts, corpus.test_labels)):
        digest.update(json.dumps([list(texts), [int(label) for label in labels]]).encode())
    return digest.hexdigest()


def training_record(config: CellConfig, corpus, history) -> dict:
    """The training record a checkpoint keeps (model.json) and a report shows: `History.record` (held-out accuracy,
    baselines, verdict, settings, versions) with the corpus options and the data fingerprint."""
    return json_safe({
        **history.record(),
        **provenance(config, corpus, history.settings),
    })


def provenance(config: CellConfig, corpus, settings: dict) -> dict:
    """What every training record keeps of where a model came from: settings, data fingerprint, library versions."""
    return {"settings": {**settings, "corpus": config.corpus, **corpus_options(config)},
            "data_fingerprint": data_fingerprint(corpus, corpus_options(config)),
            "versions": library_versions()}


# Test texts are assessed up to this many times the longer of the training length and the
# measured distances: memory beyond the training length stays visible, while a file of
# 100,000-token texts cannot turn a 16-token study into minutes and gigabytes.
ASSESS_LENGTH_FACTOR = 2


def assessed_length(config: CellConfig) -> int:
    """Tokens of each test text that are assessed: 2 x max(max_len, max_distance + 1)."""
    return ASSESS_LENGTH_FACTOR * max(config.max_len, config.max_distance + 1)


def cut_notes(corpus, config: CellConfig, splits: tuple[str, ...] = ("training", "test")) -> list[str]:
    """What truncation cut, in words: training texts beyond max_len, test texts beyond the assessed length."""
    notes = []
    for split, texts, limit, why in (
            ("training", corpus.train_texts, config.max_len, f"max_len {config.max_len}"),
            ("test", corpus.test_texts, assessed_length(config),
             f"the assessed length {assessed_length(config)} ({ASSESS_LENGTH_FACTOR} x max(max_len, max_distance + 1))")):
        if split not in splits:
            continue
        lengths = [len(tokenize(text)) for text in texts]
        longer = [n for n in lengths if n > limit]
        if longer:
            kept = "first" if split == "test" or config.keep == "first" else "last"
            notes.append(f"{len(longer)} of {len(lengths)} {split} texts are longer than {why} and were cut to their "
                         f"{kept} {limit} tokens (the longest had {max(longer):,}; {sum(longer) - limit * len(longer):,} "
                         f"of {sum(lengths):,} {split} tokens were not used).")
    return notes


def train_and_assess(config: CellConfig, progress: bool = False, device: str = "cpu"):
    """Build, train and assess the model a cell describes. Returns (model, corpus, history, report, timings)."""
    with showing_progress(progress):
        corpus = corpus_for(config)
    longest = max(len(tokenize(text)) for text in corpus.test_texts)  # assess checks it too, after training
    check_resample_memory(config.n_resamples, min(longest, assessed_length(config)))
    started = time.perf_counter()
    model = build_model(config.unit, len(corpus.vocabulary), corpus.num_classes,
                        hidden_size=config.hidden_size, embedding_dim=config.embedding_dim,
                        pad_id=corpus.vocabulary.pad_id, seed=config.seed, dropout=config.dropout).to(device)
    history = train(model, corpus, max_len=config.max_len, epochs=config.epochs, batch_size=config.batch_size,
                    lr=config.lr, seed=config.seed, keep=config.keep, bptt_window=config.bptt_window,
                    piece_epochs=config.piece_epochs, progress=progress)
    trained = time.perf_counter()
    report = assess_with_config(model, corpus, config, progress)
    report.notes.extend(cut_notes(corpus, config))
    report.meta["model"] = {"unit": config.unit, "hidden_size": config.hidden_size, "corpus": corpus.name,
                            **training_record(config, corpus, history)}
    report.meta["corpus_notes"] = corpus.notes
    timings = {"train_s": trained - started, "assess_s": time.perf_counter() - trained}
    return model, corpus, history, report, timings


def assess_checkpoint(checkpoint: str | Path, config: CellConfig, progress: bool = True, device: str = "cpu"):
    """Assess a saved model on the config's corpus, encoded with the model's own vocabulary."""
    model, meta = load_model(checkpoint)
    model.to(device)
    with showing_progress(progress):
        data = corpus_for(config)
    trained_on = [str(name) for name in meta.get("label_names") or []]
    if trained_on and trained_on != list(data.label_names):
        unknown = [name for name in data.label_names if name not in trained_on]
        missing = [name for name in trained_on if name not in data.label_names]
        what = "; ".join(part for part in (
            f"{', '.join(map(repr, unknown))} in {data.name} but not in training" if unknown else "",
            f"{', '.join(map(repr, missing))} in training but not in {data.name}" if missing else "",
        ) if part) or "the same names in another order"
        raise ModelProtocolError(
            f"the checkpoint was trained on labels {', '.join(trained_on)} but {data.name} has "
            f"{', '.join(data.label_names)} ({what}); its readout axes would be read as the wrong classes. "
            "Assess it on a corpus with the labels it was trained on (or check --label-column).")
    if model.config.num_classes != data.num_classes:  # checkpoints saved without label names
        raise ModelProtocolError(
            f"the checkpoint predicts {model.config.num_classes} classes but {data.name} has "
            f"{data.num_classes}; assess it on the corpus it was trained for.")
    vocabulary = Vocabulary.from_dict(meta["vocabulary"]) if meta.get("vocabulary") else data.vocabulary
    report = assess_with_config(model, data, config, progress, vocabulary)
    report.notes.extend(cut_notes(data, config, splits=("test",)))  # the checkpoint was trained elsewhere
    # the record of its training when the checkpoint keeps one (model.json files saved before it was kept do not)
    record = meta.get("training") or {}
    report.meta["model"] = {**record, "unit": model.config.unit, "hidden_size": model.config.hidden_size,
                            "corpus": data.name, "checkpoint": str(checkpoint)}
    assessed_on = data_fingerprint(data, corpus_options(config))
    if record.get("data_fingerprint") not in (None, assessed_on):
        report.notes.append(f"the checkpoint was trained on other data than it is assessed on (data fingerprint "
                            f"{record['data_fingerprint'][:16]} in its record, {assessed_on[:16]} now: another corpus, "
                            "options or --seed): its recorded accuracy is for that data, and the texts assessed here "
                            "may include texts it was trained on.")
    report.meta["corpus_notes"] = data.notes
    return report


def assess_with_config(model, data, config: CellConfig, progress: bool, vocabulary=None, lengths=None):
    """`assess` with the cell's settings, for every task; the report's recommendation uses the cell's tau."""
    report = assess(model, data, max_distance=config.max_distance, estimators=config.estimators,
                    vocabulary=vocabulary, max_sequences=config.max_sequences, n_resamples=config.n_resamples,
                    seed=config.seed, max_len=assessed_length(config), progress=progress, lengths=lengths)
    report.recommendation_tau = config.tau
    return report


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


def run_cell(config: CellConfig) -> dict:
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

