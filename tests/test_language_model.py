"""Next-token language models: training with validation and early stopping, and the unigram baseline."""

import math

import numpy as np
import pytest
import torch

from rnnmem.data import Corpus
from rnnmem.errors import ConfigError, DataError
from rnnmem.language_model import _lm_split, mean_loss, train_language_model, unigram_log_probs
from rnnmem.model import build_model

WORDS = "alpha beta gamma delta epsilon zeta eta theta".split()


def cyclic_corpus(n_train=40, n_test=8, length=24, seed=0):
    """Texts that walk the word cycle from a random start: the next word is fixed by the last, the unigram is flat."""
    g = torch.Generator().manual_seed(seed)
    starts = torch.randint(8, (n_train + n_test,), generator=g).tolist()
    texts = [" ".join(WORDS[(start + i) % 8] for i in range(length)) for start in starts]
    return Corpus("cycle", ("none",), texts[:n_train], [0] * n_train, texts[n_train:], [0] * n_test)


def test_a_language_model_learns_a_cycle_that_a_unigram_model_cannot_and_keeps_its_best_epoch():
    corpus = cyclic_corpus()
    vocab = corpus.build_vocabulary(min_freq=1)
    model = build_model("gru", len(vocab), len(vocab), hidden_size=16, embedding_dim=8, seed=0)
    record = train_language_model(model, corpus, max_len=24, epochs=6, batch_size=8, lr=1e-2, seed=0,
                                  validation_fraction=0.2, patience=2, progress=False, vocabulary=vocab)
    assert abs(record.unigram_perplexity - len(WORDS)) < 1.0  # the cycle visits every word equally
    assert record.test_perplexity < 0.5 * record.unigram_perplexity
    assert record.best_epoch == 1 + min(range(len(record.validation_loss)), key=record.validation_loss.__getitem__)
    # the restored weights are those of the best epoch: its validation loss is measured again
    tokens, lengths = _lm_split(corpus, vocab, "train", 24)
    validation = torch.randperm(len(tokens), generator=torch.Generator().manual_seed(0))[:8]
    assert mean_loss(model, tokens[validation], lengths[validation]) == pytest.approx(
        record.validation_loss[record.best_epoch - 1], rel=1e-6)


def test_the_unigram_model_is_add_one_smoothed_and_never_predicts_the_pad():
    log_p = unigram_log_probs(torch.tensor([[2, 2, 3, 0]]), torch.tensor([3]), vocab_size=5)
    assert log_p[0] == -math.inf
    assert torch.allclose(log_p[1:].exp(), torch.tensor([1, 3, 2, 1], dtype=torch.float64) / 7)


def test_a_readout_that_is_not_the_vocabulary_is_refused():
    corpus = cyclic_corpus()
    vocab = corpus.build_vocabulary(min_freq=1)
    with pytest.raises(ConfigError, match="one dimension per vocabulary word"):
        train_language_model(build_model("gru", len(vocab), 3, hidden_size=4, embedding_dim=4), corpus,
                             progress=False, vocabulary=vocab)


def test_a_corpus_of_one_word_texts_is_refused():
    corpus = Corpus("single", ("none",), ["alpha", "beta"] * 4, [0] * 8, ["alpha"], [0])
    vocab = corpus.build_vocabulary(min_freq=1)
    with pytest.raises(DataError, match="at least one next token"):
        train_language_model(build_model("gru", len(vocab), len(vocab), hidden_size=4, embedding_dim=4), corpus,
                             progress=False, vocabulary=vocab)


def test_the_sketched_gradient_estimator_is_close_to_the_exact_one_on_a_200_word_readout():
    """K = 200 readout dimensions through m = 16 random directions: r(d) within 20%, norms within 15% (median)."""
    from rnnmem.indicators.bootstrap import peak_relative
    from rnnmem.indicators.retention import gradient_effects

    model = build_model("gru", 200, 200, hidden_size=16, embedding_dim=8, seed=0).eval()
    tokens = torch.randint(2, 200, (12, 30), generator=torch.Generator().manual_seed(0))
    lengths = torch.full((12,), 30)
    exact = gradient_effects(model, tokens, lengths, 20, progress=False, sketch_dimensions=200)
    sketched = gradient_effects(model, tokens, lengths, 20, progress=False, sketch_dimensions=16)
    assert not np.allclose(sketched, exact, equal_nan=True)  # the sketch was used
    assert np.nanmedian(np.abs(sketched / exact - 1)) < 0.15
    curve = peak_relative(exact, 10, 0).value
    assert np.max(np.abs(peak_relative(sketched, 10, 0).value / curve - 1)) < 0.2


def test_a_language_model_is_assessed_with_its_vocabulary_as_the_ses():
    from rnnmem.assessment import assess

    corpus = cyclic_corpus()
    vocab = corpus.build_vocabulary(min_freq=1)
    model = build_model("gru", len(vocab), len(vocab), hidden_size=8, embedding_dim=8, seed=0)
    report = assess(model, corpus, max_distance=10, vocabulary=vocab, n_resamples=20, probes=False, floor=False,
                    progress=False, estimators=("occlusion", "regression", "gradient", "replacement"))
    assert report.num_dimensions == len(vocab)
    # regression may decline on a non-linear model (a note says why); the per-token estimators always measure
    assert "regression" in report.estimators or any(n.startswith("regression declined") for n in report.notes)
    for name in ("occlusion", "gradient", "replacement"):
        r = report.retention[name].to_numpy()
        assert r.shape == (11,) and np.isfinite(r).all() and r.max() == 1.0 and r.min() >= 0, name
