"""Probes by distance, the hull view and the planted-signal corpus, against known answers (docs/indicators.md §4)."""

import json

import matplotlib.image
import numpy as np
import pytest
import torch
from torch import nn

import rnnmem
from known_systems import DelayLine, LinearRecurrence
from rnnmem.data import tokenize
from rnnmem.data.tweets import token_source_labels
from rnnmem.indicators.hull import hull_indicators, subset_volume, word_hull
from rnnmem.indicators.planted import accuracy_by_planted_distance, memory_distance
from rnnmem.indicators.probes import probe_accuracy_by_distance, token_targets


def random_tokens(n, length, vocab=40, seed=0):
    return torch.randint(1, vocab, (n, length), generator=torch.Generator().manual_seed(seed))


class SlotDelayLine(nn.Module):
    """A shift register whose state is the concatenation of the last k embeddings, so each slot is readable.

    h_t = [e_t, e_{t-1}, ..., e_{t-k+1}] (zeros before the start); readout = W (sum of the slots), K = 3.
    A linear probe on h_t recovers the token at distance d < k exactly and nothing beyond.
    """

    def __init__(self, k: int, vocab_size: int = 12, dim: int = 8, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        table = torch.randn(vocab_size, dim, generator=g, dtype=torch.float64)
        table[0] = 0.0
        self.table = nn.Parameter(table, requires_grad=False)
        self.readout = nn.Parameter(torch.randn(dim, 3, generator=g, dtype=torch.float64), requires_grad=False)
        self.k = k

    def embed(self, tokens):
        return self.table[tokens]

    def hidden_states(self, emb):
        padded = torch.cat([emb.new_zeros(emb.shape[0], self.k - 1, emb.shape[2]), emb], dim=1)
        slots = [padded[:, self.k - 1 - j : padded.shape[1] - j] for j in range(self.k)]  # slot j = e_{t-j}
        return torch.cat(slots, dim=-1)

    def forward(self, tokens):
        h = self.hidden_states(self.embed(tokens))
        return h.reshape(*h.shape[:2], self.k, -1).sum(dim=2) @ self.readout


# -- probes ------------------------------------------------------------------------------
def test_probe_pure_function_reads_only_the_encoded_distance():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=(300, 2))
    x = np.eye(3)[y[:, 0]] + 0.01 * rng.normal(size=(300, 3))
    y[:5, 1] = -1  # missing targets are skipped
    frame = probe_accuracy_by_distance(x, y, seed=1)
    assert list(frame.columns) == ["distance", "accuracy", "chance", "n"]
    assert frame["accuracy"][0] == 1.0
    assert abs(frame["accuracy"][1] - frame["chance"][1]) < 0.15
    assert frame["n"].sum() <= 2 * 90 and frame["n"][0] == 90  # a seeded 30% of the 300 sequences


def test_probe_gives_nan_where_nothing_can_be_fit():
    y = np.zeros((40, 2), int)
    y[:, 1] = -1
    frame = probe_accuracy_by_distance(np.random.default_rng(0).normal(size=(40, 2)), y)
    assert frame[["accuracy", "chance"]].isna().all().all()


def test_token_targets_keep_the_most_frequent_ids():
    tokens = np.array([[5, 5, 5, 2], [2, 7, -1, -1]])
    np.testing.assert_array_equal(token_targets(tokens, top=2), [[5, 5, 5, 2], [2, -1, -1, -1]])


@pytest.fixture(scope="module")
def slot_report():
    k = 3
    return k, rnnmem.assess(SlotDelayLine(k), random_tokens(600, 8, vocab=12, seed=1), max_distance=7,
                            estimators=("occlusion",), max_sequences=None, progress=False, n_resamples=50)


def test_delay_line_probe_is_perfect_within_k_and_at_chance_beyond(slot_report):
    k, report = slot_report
    probes = report.probes
    assert list(probes.columns) == ["distance", "token_accuracy", "token_chance", "token_n"]
    assert len(probes) == 8 and (probes["token_n"] > 100).all()
    within, beyond = probes[probes["distance"] < k], probes[probes["distance"] >= k]
    assert (within["token_accuracy"] >= 0.95).all(), within
    assert ((beyond["token_accuracy"] - beyond["token_chance"]).abs() <= 0.1).all(), beyond
    assert not any("probes read the readout" in note for note in report.notes)


def test_probe_falls_back_to_the_readout_with_a_note():
    report = rnnmem.assess(LinearRecurrence(0.5), random_tokens(40, 6), max_distance=5, estimators=("occlusion",),
                           progress=False, n_resamples=20)
    assert any("probes read the readout o_T" in note for note in report.notes)
    assert len(report.probes) == 6
    off = rnnmem.assess(LinearRecurrence(0.5), random_tokens(40, 6), max_distance=5, estimators=("occlusion",),
                        progress=False, n_resamples=20, probes=False)
    assert off.probes is None


def test_tweets_docs_segment_labels_align_and_feed_a_segment_probe():
    corpus = rnnmem.load_corpus("tweets-docs", doc_tokens=32)
    labels = token_source_labels(corpus.test_sources[:50])
    assert all(len(lab) == len(tokenize(text)) for lab, text in zip(labels, corpus.test_texts[:50]))
    assert all(np.bincount(lab, minlength=3).argmax() == y or np.bincount(lab).max() < len(lab)  # majority by tweets
               for lab, y in zip(labels, corpus.test_labels[:50]))
    model = rnnmem.build_model("gru", len(corpus.vocabulary), corpus.num_classes, hidden_size=8, embedding_dim=8)
    report = rnnmem.assess(model, corpus, max_distance=12, max_len=24, max_sequences=120, estimators=("occlusion",),
                           progress=False, n_resamples=20)
    assert {"segment_accuracy", "segment_chance", "segment_n"} <= set(report.probes.columns)
    assert (report.probes["segment_n"] == 36).all()  # a seeded 30% of the 120 documents, all longer than 12 tokens
    assert report.probes["segment_accuracy"].notna().all()


# -- hull ----------------------------------------------------------------------------------
def test_word_hull_routes_and_pillars():
    tetra = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [0.1, 0.1, 0.1], [1, 0, 0]], float)
    hull = word_hull(tetra)
    assert hull.route == "3-D" and hull.volume == pytest.approx(1 / 6)
    assert hull.pillars.tolist() == [True, True, True, True, False, True]  # the repeated vertex word is a pillar too
    flat = word_hull(np.array([[0, 0, 2], [2, 0, 2], [0, 2, 2], [0.5, 0.5, 2]], float))
    assert flat.route == "2-D" and flat.volume == pytest.approx(2.0) and flat.pillars.tolist() == [True, True, True, False]
    line = word_hull(np.array([[0, 0, 0], [1, 1, 1], [3, 3, 3], [2, 2, 2]], float))
    assert line.route == "1-D" and line.pillars.tolist() == [True, False, True, False]
    assert line.volume == pytest.approx(3 * np.sqrt(3))
    point = word_hull(np.ones((3, 3)))
    assert point.route == "point" and point.volume == 0 and point.pillars.all()
    wide = word_hull(np.random.default_rng(0).normal(size=(12, 6)))  # K > 3: hull in the top three directions
    assert wide.dim == 3 and wide.basis.shape == (3, 6) and 4 <= wide.pillars.sum() < 12


def test_subset_volume_is_measured_in_the_hulls_own_space():
    square = np.array([[0, 0], [2, 0], [2, 2], [0, 2]], float)
    hull = word_hull(square)
    assert subset_volume(hull, square[:3]) / hull.volume == pytest.approx(0.5)
    assert subset_volume(hull, square[:2]) == 0.0  # an edge encloses no area


def test_hull_indicators_on_hand_made_effects():
    words = np.array([[[0, 0], [2, 0], [2, 2], [0, 2], [1, 1]]], float)  # one sequence, d = 0..4
    yardstick = np.ones((1, 5))
    effects = np.array([[1.0, 1.0, 0.2, 1.0, 0.0]])  # the pillar at d = 2 is forgotten
    view, _ = hull_indicators(words, effects, yardstick, tau=0.5, n_resamples=20)
    np.testing.assert_array_equal(view.by_distance["n"], [1, 1, 1, 1, 0])
    np.testing.assert_array_equal(view.by_distance["pillar_retention"][:4], [1, 1, 0, 1])
    assert view.retained_volume.mean == pytest.approx(0.5) and view.retained_volume.n == 1


@pytest.fixture(scope="module")
def linear_report():
    return rnnmem.assess(LinearRecurrence(0.8), random_tokens(48, 12), max_distance=11,
                         estimators=("occlusion",), progress=False, n_resamples=100)


def test_linear_recurrence_pillar_retention_is_a_step_at_tau(linear_report):
    table = linear_report.hull.by_distance
    assert list(table.columns) == ["distance", "pillar_retention", "lo", "hi", "n"]
    assert (table["n"] > 0).all()
    expected = (0.8 ** table["distance"] >= 0.5).astype(float)  # 1 for d <= 3, 0 from d = 4
    np.testing.assert_array_equal(table["pillar_retention"], expected)
    assert linear_report.hull.routes["3-D"] == 48
    assert 0 < linear_report.hull.retained_volume.mean < 0.5


def test_lossless_memory_retains_the_whole_hull():
    report = rnnmem.assess(LinearRecurrence(1.0), random_tokens(16, 8), max_distance=7, estimators=("occlusion",),
                           progress=False, n_resamples=20)
    assert report.hull.retained_volume.mean == pytest.approx(1.0)
    assert (report.hull.by_distance["pillar_retention"] == 1.0).all()


def test_flat_word_points_take_the_lower_dimensional_route_with_a_note():
    model = LinearRecurrence(0.8)
    with torch.no_grad():
        model.table[:, 2] = 0.0  # every word point lies in one plane of the K = 3 SES
    report = rnnmem.assess(model, random_tokens(10, 8), max_distance=7, estimators=("occlusion",),
                           progress=False, n_resamples=20)
    assert report.hull.routes == {"3-D": 0, "2-D": 10, "1-D": 0, "point": 0}
    assert any("routes taken — 2-D: 10" in note for note in report.notes)


def test_hull_is_skipped_without_occlusion():
    report = rnnmem.assess(LinearRecurrence(0.8), random_tokens(10, 8), max_distance=7, estimators=("regression",),
                           progress=False, n_resamples=20, probes=False)
    assert report.hull is None and any("hull indicators skipped" in note for note in report.notes)


def test_report_carries_probes_and_hull_into_json_markdown_and_plots(linear_report, tmp_path):
    written = json.loads(linear_report.to_json(tmp_path / "r.json").read_text())
    assert written["hull"]["by_distance"]["pillar_retention"][:5] == [1.0, 1.0, 1.0, 1.0, 0.0]
    assert set(written["hull"]["retained_volume"]) == {"mean", "lo", "hi", "n"}
    assert written["probes"]["distance"] == list(range(12))
    text = linear_report.to_markdown()
    assert "## Hull view" in text and "## Probes by distance" in text and "![Semantic hull" in text
    paths = linear_report.plot(tmp_path / "figs")
    image = matplotlib.image.imread(paths["hull"])
    assert image.shape[0] > 300 and image.shape[1] > 500


# -- planted ------------------------------------------------------------------------------
def test_planted_corpus_plants_one_signal_at_the_recorded_distance():
    corpus = rnnmem.load_corpus("planted", num_classes=3, length=10, distances=[0, 4, 9], size=300, seed=2)
    assert corpus.label_names == ("s0", "s1", "s2") and len(corpus.test_texts) == 60
    for texts, labels, distances in ((corpus.train_texts, corpus.train_labels, corpus.train_distances),
                                     (corpus.test_texts, corpus.test_labels, corpus.test_distances)):
        for text, label, d in zip(texts, labels, distances):
            words = text.split()
            signals = [i for i, w in enumerate(words) if w.startswith("s")]
            assert len(words) == 10 and signals == [9 - d] and words[9 - d] == f"s{label}"
    assert set(corpus.test_distances) <= {0, 4, 9}
    again = rnnmem.load_corpus("planted", num_classes=3, length=10, distances=[0, 4, 9], size=300, seed=2)
    assert again.test_texts == corpus.test_texts


@pytest.mark.parametrize("options, word", [({"distances": [12]}, "distances"), ({"num_classes": 1}, "num_classes"),
                                           ({"length": 0}, "length")])
def test_planted_rejects_bad_options(options, word):
    with pytest.raises(rnnmem.ConfigError, match=word):
        rnnmem.load_corpus("planted", **{"length": 12, **options})


@pytest.mark.parametrize("k", [2, 5])
def test_delay_line_classifier_has_memory_distance_k(k):
    corpus = rnnmem.load_corpus("planted", num_classes=2, length=12, size=1500, seed=0)
    vocab = corpus.vocabulary
    model = DelayLine(k, vocab_size=len(vocab), dim=2)
    with torch.no_grad():
        model.table.zero_()  # filler is inert; each class word adds one unit of its own class's evidence
        for c in range(2):
            model.table[vocab.id_of(f"s{c}"), c] = 1.0
    frame = accuracy_by_planted_distance(model, corpus)
    assert list(frame.columns) == ["distance", "accuracy", "n"] and frame["n"].sum() == 300
    assert (frame.loc[frame["distance"] < k, "accuracy"] == 1.0).all()
    # past k the readout is 0 and argmax answers class 0: the share of class 0, chance up to sampling noise
    beyond = frame[frame["distance"] >= k]
    assert abs(np.average(beyond["accuracy"], weights=beyond["n"]) - 0.5) < 0.1
    assert memory_distance(frame, chance=0.5) == k


def test_memory_distance_is_none_when_accuracy_never_falls():
    import pandas as pd

    assert memory_distance(pd.DataFrame({"distance": [2, 0, 1], "accuracy": [0.9, 1.0, 0.95]}), 0.25) is None


def test_small_gru_learns_planted_signals_near_the_end():
    corpus = rnnmem.load_corpus("planted", num_classes=2, length=12, size=1000, seed=0)
    model = rnnmem.build_model("gru", len(corpus.vocabulary), 2, hidden_size=16, embedding_dim=8, seed=0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a model this small trains 10x slower when its threads compete for busy cores
    try:
        rnnmem.train(model, corpus, max_len=12, epochs=3, lr=1e-2, seed=0, progress=False)
    finally:
        torch.set_num_threads(threads)
    frame = accuracy_by_planted_distance(model, corpus)
    assert (frame.loc[frame["distance"] <= 3, "accuracy"] >= 0.9).all(), frame
