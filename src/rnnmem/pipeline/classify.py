"""A classifier's run: train a unit on a corpus's labels and assess it, or assess a saved checkpoint.

`rnnmem assess` runs one; every cell of `rnnmem sweep` is one (`rnnmem.sweep.cell`). The
provenance a training record keeps (settings, data fingerprint, versions) is written here for
every task (`rnnmem.pipeline.lm` uses it too).
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from rnnmem._version import library_versions
from rnnmem.assessment import assess
from rnnmem.data import Vocabulary, load_corpus
from rnnmem.errors import ModelProtocolError
from rnnmem.fileio import json_safe
from rnnmem.model import build_model, load_model
from rnnmem.pipeline.config import ASSESS_LENGTH_FACTOR, RunConfig, assessed_length, corpus_options
from rnnmem.progress import showing_progress, stage
from rnnmem.train import train
from rnnmem.validation import check_resample_memory


def corpus_for(config: RunConfig):
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


def training_record(config: RunConfig, corpus, history) -> dict:
    """The training record a checkpoint keeps (model.json) and a report shows: `History.record` (held-out accuracy,
    baselines, verdict, settings, versions) with the corpus options and the data fingerprint."""
    return json_safe({
        **history.record(),
        **provenance(config, corpus, history.settings),
    })


def provenance(config: RunConfig, corpus, settings: dict) -> dict:
    """What every training record keeps of where a model came from: settings, data fingerprint, library versions."""
    return {"settings": {**settings, "corpus": config.corpus, **corpus_options(config)},
            "data_fingerprint": data_fingerprint(corpus, corpus_options(config)),
            "versions": library_versions()}


def cut_notes(corpus, config: RunConfig, splits: tuple[str, ...] = ("training", "test")) -> list[str]:
    """What truncation cut, in words: training texts beyond max_len, test texts beyond the assessed length."""
    notes = []
    for split, part, limit, why in (
            ("training", "train", config.max_len, f"max_len {config.max_len}"),
            ("test", "test", assessed_length(config),
             f"the assessed length {assessed_length(config)} ({ASSESS_LENGTH_FACTOR} x max(max_len, max_distance + 1))")):
        if split not in splits:
            continue
        lengths = [len(tokens) for tokens in corpus.tokens(part)]
        longer = [n for n in lengths if n > limit]
        if longer:
            kept = "first" if split == "test" or config.keep == "first" else "last"
            notes.append(f"{len(longer)} of {len(lengths)} {split} texts are longer than {why} and were cut to their "
                         f"{kept} {limit} tokens (the longest had {max(longer):,}; {sum(longer) - limit * len(longer):,} "
                         f"of {sum(lengths):,} {split} tokens were not used).")
    return notes


def train_and_assess(config: RunConfig, progress: bool = False, device: str = "cpu"):
    """Build, train and assess the model a run config describes. Returns (model, corpus, history, report, timings)."""
    with showing_progress(progress):
        corpus = corpus_for(config)
    longest = max(map(len, corpus.tokens("test")))  # assess checks it too, after training
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


def assess_checkpoint(checkpoint: str | Path, config: RunConfig, progress: bool = True, device: str = "cpu"):
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


def assess_with_config(model, data, config: RunConfig, progress: bool, vocabulary=None, lengths=None):
    """`assess` with the run's settings, for every task; the report's recommendation uses the run's tau."""
    report = assess(model, data, max_distance=config.max_distance, estimators=config.estimators,
                    vocabulary=vocabulary, max_sequences=config.max_sequences, n_resamples=config.n_resamples,
                    seed=config.seed, max_len=assessed_length(config), progress=progress, lengths=lengths)
    report.recommendation_tau = config.tau
    return report
