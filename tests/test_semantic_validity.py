"""Semantic validity (docs/indicators.md §3): the VADER lexicon, the rank correlation, and a trained model end to end."""

import json
import math
import sys
from importlib import metadata

import matplotlib.image
import numpy as np
import pytest
import torch
from torch import nn

import rnnmem
from rnnmem.data import lexicon as lexicon_module
from rnnmem.data.lexicon import vader_lexicon
from rnnmem.errors import DataError
from rnnmem.indicators.validity import MIN_MATCHED, semantic_validity


# -- the lexicon -------------------------------------------------------------------------
def test_lexicon_loads_human_valence_ratings():
    lex = vader_lexicon()
    assert 7400 <= len(lex) <= 7519  # 7,519 lines, a few tokens rated twice
    assert lex["good"] > 0 > lex["bad"]
    assert lex["love"] > lex["good"] and lex["hate"] < lex["bad"]
    assert lex["good"] == pytest.approx(1.9) and lex["bad"] == pytest.approx(-2.5)
    assert all(-4 <= v <= 4 for v in lex.values())
    assert lex["lol"] == pytest.approx((2.9 + 1.8) / 2)  # rated by two panels: the mean of both
    assert all(t == t.strip() for t in lex)  # no CR or tab left on a token
    assert "vaderSentiment.vaderSentiment" not in sys.modules  # its data file is read, its code never imported


def test_missing_vadersentiment_names_the_install(monkeypatch):
    def missing(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "distribution", missing)
    with pytest.raises(DataError, match="pip install vaderSentiment"):
        lexicon_module.vader_lexicon_file()


# -- the correlation on synthetic data ---------------------------------------------------
@pytest.fixture(scope="module")
def rated():
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(1000)]
    valence = rng.uniform(-4, 4, len(words))
    return words, valence, dict(zip(words, valence))


def test_axis_that_follows_valence_correlates(rated):
    words, valence, lex = rated
    noise = np.random.default_rng(1).normal(0, 0.3, len(words))
    v = semantic_validity(words, valence + noise, lex, n_resamples=300)
    assert v.rho > 0.9 and v.low <= v.rho <= v.high and v.low > 0.85
    assert v.n_matched == len(words) == len(v.words) == len(v.axis) == len(v.valence)


def test_random_axis_has_no_correlation(rated):
    words, _, lex = rated
    v = semantic_validity(words, np.random.default_rng(2).normal(size=len(words)), lex, n_resamples=300)
    assert abs(v.rho) < 0.2 and v.low < 0 < v.high


def test_reversed_axis_correlates_negatively(rated):
    words, valence, lex = rated
    v = semantic_validity(words, -valence + np.random.default_rng(3).normal(0, 0.3, len(words)), lex, n_resamples=300)
    assert v.rho < -0.9 and v.high < -0.85


def test_only_rated_words_with_finite_values_count(rated):
    words, valence, lex = rated
    axis = valence.copy()
    axis[:5] = np.nan
    v = semantic_validity(words + ["unrated", "alsounrated"], np.append(axis, [1.0, -1.0]), lex, n_resamples=50)
    assert v.n_matched == len(words) - 5 and "unrated" not in v.words
    assert v.rho == pytest.approx(1.0)


def test_fewer_than_ten_matches_gives_nan(rated):
    words, valence, lex = rated
    n = MIN_MATCHED - 1
    v = semantic_validity(words[:n] + ["x", "y", "z"], np.append(valence[:n], [0.0, 1.0, 2.0]), lex)
    assert math.isnan(v.rho) and math.isnan(v.low) and math.isnan(v.high) and v.n_matched == n
    assert semantic_validity(words[: n + 1], valence[: n + 1], lex, n_resamples=50).rho == pytest.approx(1.0)


def test_words_and_values_must_pair(rated):
    words, valence, lex = rated
    with pytest.raises(ValueError, match="axis values"):
        semantic_validity(words, valence[:-1], lex)


# -- end to end: a GRU trained on the tweets ---------------------------------------------
class Wrapped(nn.Module):
    """A user model: readouts of every prefix, nothing else (no config, no initial_readout)."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, tokens):
        return self.inner(tokens)


@pytest.fixture(scope="module")
def trained():
    corpus = rnnmem.load_corpus("tweets")
    model = rnnmem.build_model("gru", vocab_size=len(corpus.vocabulary), num_classes=3, hidden_size=16, seed=0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a model this small trains many times slower when its threads compete for busy cores
    try:
        rnnmem.train(model, corpus, max_len=32, epochs=2, seed=0, progress=False)
        report = rnnmem.assess(model, corpus, max_distance=31, max_sequences=64, progress=False, n_resamples=300,
                               probes=False)
    finally:
        torch.set_num_threads(threads)
    return corpus, model, report


def test_training_gives_the_sentiment_axis_human_meaning(trained):
    _, _, report = trained
    ours, floor = report.semantic_validity["trained"], report.semantic_validity["untrained"]
    # measured: trained rho 0.26 [0.21, 0.30] over 1,399 words, untrained -0.01 [-0.06, 0.04]
    assert ours.n_matched == floor.n_matched > 1000  # the whole vocabulary, not only the 64 assessed tweets
    assert ours.n_matched > 2 * sum(w in vader_lexicon() for w in report.words())
    assert ours.rho > 0.15
    assert ours.low > floor.high  # the intervals do not overlap
    assert abs(floor.rho) < 0.15
    assert {"good", "bad", "love", "hate"} <= set(ours.words)
    by_word = dict(zip(ours.words, ours.axis))
    assert by_word["love"] > by_word["hate"]
    assert any(n.startswith("semantic validity:") and "untrained floor" in n
               for n in report.notes)


def test_validity_in_json_markdown_and_plot(trained, tmp_path):
    _, _, report = trained
    data = json.loads(json.dumps(report.to_dict()))
    view = data["semantic_validity"]
    assert view["trained"]["rho"] == pytest.approx(report.semantic_validity["trained"].rho)
    assert view["untrained"]["n_matched"] == report.semantic_validity["untrained"].n_matched
    assert len(view["trained"]["ci"]) == 2

    text = report.to_markdown()
    section = text.split("## Semantic validity")[1].split("\n## ")[0]
    rho = report.semantic_validity["trained"]
    assert "trained (this model)" in section and "untrained (floor)" in section
    assert f"| {rho.n_matched} |" in section and f"{rho.rho:.3g} [" in section
    assert "](validity.png)" in text

    paths = report.plot(tmp_path)
    assert paths["validity"] == tmp_path / "validity.png"
    image = matplotlib.image.imread(paths["validity"])
    assert image.shape[0] > 300 and image.shape[1] > 900  # two panels side by side


def test_user_model_gets_no_floor_and_other_corpora_no_validity(trained):
    corpus, model, _ = trained
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        report = rnnmem.assess(Wrapped(model), corpus, estimators=("regression",), max_sequences=16, progress=False,
                               n_resamples=50, probes=False)
    finally:
        torch.set_num_threads(threads)
    assert report.semantic_validity["untrained"] is None
    assert report.semantic_validity["trained"].rho > 0.15
    assert any("no untrained floor" in n for n in report.notes)
    assert "No untrained floor" in report.to_markdown()

    tokens = torch.randint(2, 50, (8, 6), generator=torch.Generator().manual_seed(0))
    plain = rnnmem.assess(model, tokens, estimators=("regression",), progress=False, n_resamples=50, probes=False)
    assert plain.semantic_validity is None and plain.to_dict()["semantic_validity"] is None
