"""A language model's run: train a unit to predict the next token of a corpus's texts, assess it, and measure
the context it uses (`rnnmem assess --task lm`).

The SES of a language model is its readout, one dimension per vocabulary word; the gradient
estimator sketches it through `SKETCH_DIMENSIONS` random directions when the vocabulary is
larger. Beside ML(0.1) stands the reference that needs no SES: the rise in held-out loss when
the context is cut to the last k tokens, shuffled or replaced beyond them (Khandelwal et al.,
ACL 2018), read as an effective context over the same range as the retention curve.
"""

from __future__ import annotations

import json
import time

from rnnmem.errors import ConfigError, DataError
from rnnmem.fileio import json_safe, write_atomically
from rnnmem.indicators.context import PERTURBATIONS, context_area
from rnnmem.indicators.retention import SKETCH_DIMENSIONS
from rnnmem.language_model import (FINE_KS, LanguageModelResult, context_loss_rise, train_language_model,
                                   unigram_log_probs)
from rnnmem.model import build_model, save_model
from rnnmem.pipeline.classify import assess_with_config, corpus_for, cut_notes, provenance
from rnnmem.pipeline.config import RunConfig, assessed_length

TASKS = ("classify", "lm")
# readout dimensions of an LM: the most frequent training words, the rest read as <unk>; the
# readout, the softmax and the occlusion cost grow with it
LM_VOCABULARY = 2000
CONTEXT_TARGETS = 300  # held-out positions the context curve averages over
TOLERANCE = 0.01  # k_eff: the rise stays within 1% of the full-context loss


def context_ks(max_distance: int) -> list[int]:
    """Cut points of the context curve: `FINE_KS` up to the largest distance the retention curve measures."""
    return [k for k in FINE_KS if k <= max(max_distance, 1)]


def train_and_assess_lm(config: RunConfig, progress: bool = False, device: str = "cpu"):
    """Train ``config.unit`` as a next-token LM on the corpus's training texts, then assess it and its context curve.

    The assessment takes the run's settings (tau, occlusion normalisation) as a classifier's does, on the
    encoded test texts: the SES axes are vocabulary words, so no class names and no semantic validity.
    Returns (model, vocabulary, record, report, timings); ``report.language_model`` (`LanguageModelResult`)
    holds perplexities, the loss-rise curves and the effective contexts.
    """
    if device != "cpu":
        raise ConfigError(f"--task lm trains and assesses on the CPU only (its training loop keeps batches there); "
                          f"--device {device} applies to classification. Leave out --device.")
    if config.keep != "first" or config.bptt_window is not None:
        raise ConfigError(f"--task lm trains on the first --max-len tokens of each text with full backpropagation; "
                          f"--keep {config.keep} and --bptt-window {config.bptt_window} apply to classification "
                          "only. Leave them out.")
    corpus = corpus_for(config)
    vocabulary = corpus.build_vocabulary(max_size=LM_VOCABULARY)
    ks = context_ks(config.max_distance)
    tokens, lengths, _ = corpus.encode(vocabulary, "test", max_len=assessed_length(config))
    if not bool((lengths > ks[-1] + 1).any()):
        raise DataError(f"no test text of corpus '{corpus.name}' has more than {ks[-1] + 1} tokens (the longest has "
                        f"{int(lengths.max())}), so the context curve, cut up to k = {ks[-1]} by --max-distance "
                        f"{config.max_distance}, has no target; lower --max-distance below "
                        f"{max(int(lengths.max()) - 1, 1)} or use a corpus with longer texts.")
    started = time.perf_counter()
    model = build_model(config.unit, len(vocabulary), len(vocabulary), hidden_size=config.hidden_size,
                        embedding_dim=config.embedding_dim, pad_id=vocabulary.pad_id, seed=config.seed,
                        dropout=config.dropout)
    record = train_language_model(model, corpus, max_len=config.max_len, epochs=config.epochs,
                                  batch_size=config.batch_size, lr=config.lr, seed=config.seed,
                                  progress=progress, vocabulary=vocabulary)
    trained = time.perf_counter()
    train_tokens, train_lengths, _ = corpus.encode(vocabulary, "train", max_len=config.max_len)
    curve = context_loss_rise(model, tokens, lengths, unigram_log_probs(train_tokens, train_lengths, len(vocabulary)),
                              ks=ks, n_targets=CONTEXT_TARGETS, seed=config.seed, progress=progress)
    report = assess_with_config(model, tokens, config, progress, vocabulary, lengths)
    report.notes.extend(cut_notes(corpus, config))
    if "gradient" in config.estimators and len(vocabulary) > SKETCH_DIMENSIONS:
        report.notes.append(
            f"gradient estimator: the {len(vocabulary)}-word readout is sketched through {SKETCH_DIMENSIONS} random "
            f"Gaussian directions; each squared Jacobian norm is unbiased with a relative standard deviation of "
            f"sqrt(2/{SKETCH_DIMENSIONS}) = {(2 / SKETCH_DIMENSIONS) ** 0.5:.0%}, and r(d), a ratio of sums over many "
            "tokens, is closer (docs/lm_context.md measures the sketch against the exact Jacobians of a trained "
            "language model).")
    report.meta["model"] = {"unit": config.unit, "hidden_size": config.hidden_size, "corpus": corpus.name,
                            "task": "lm", "vocabulary": len(vocabulary), **lm_training_record(config, corpus, record)}
    report.language_model = LanguageModelResult(
        test_perplexity=record.test_perplexity, unigram_perplexity=record.unigram_perplexity,
        best_epoch=record.best_epoch, train_loss=record.train_loss, validation_loss=record.validation_loss,
        ks=curve.ks, full_loss=curve.full_loss, rise=curve.rise, targets=curve.n_targets, tolerance=TOLERANCE,
        effective_context={name: curve.effective_context(name, TOLERANCE) for name in PERTURBATIONS},
        effective_context_interpolated=curve.effective_context("cut", TOLERANCE, interpolate=True),
        context_area=context_area(curve.ks, curve.rise["cut"]))
    report.meta["corpus_notes"] = corpus.notes
    return model, vocabulary, record, report, {"train_s": trained - started,
                                               "assess_s": time.perf_counter() - trained}


def lm_training_record(config: RunConfig, corpus, record) -> dict:
    """An LM's training record, as a classifier's (`classify.training_record`) with perplexity in place of accuracy."""
    better = record.test_perplexity < record.unigram_perplexity
    settings = {"max_len": config.max_len, "epochs": config.epochs, "batch_size": config.batch_size, "lr": config.lr,
                "seed": config.seed}
    return json_safe({"train_max_len": config.max_len, "test_perplexity": record.test_perplexity,
                      "unigram_perplexity": record.unigram_perplexity,
                      "competence": "better than the unigram model" if better else "no better than the unigram model",
                      "best_epoch": record.best_epoch, "epochs_run": len(record.train_loss), "stopped": record.stopped,
                      **provenance(config, corpus, settings)})


def write_lm_run(config: RunConfig, staging, progress: bool = True, device: str = "cpu"):
    """`rnnmem assess --task lm`: train and assess, and write the model and history.json into the run's ``staging``
    folder."""
    model, vocabulary, record, report, _ = train_and_assess_lm(config, progress=progress, device=device)
    save_model(model, staging / "model", vocabulary.to_dict(), [])
    write_atomically(staging / "history.json", json.dumps(json_safe(
        {**vars(record), "test_perplexity": record.test_perplexity,
         "unigram_perplexity": record.unigram_perplexity}), indent=2))
    return report
