"""Training that reaches competence and says so: validation split, early stopping, curriculum, baselines."""

import json
import math
import random

import numpy as np
import pytest
import torch
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

import rnnmem
from rnnmem.baselines import (BELOW_BAG_OF_WORDS, COMPETENT, NOT_ABOVE_MAJORITY, UNKNOWN, Baselines,
                              above_majority_p_value, baselines, competence_verdict)
from rnnmem.cli import app
from rnnmem.data import Corpus, load_corpus
from rnnmem.train import curriculum_pieces, evaluate, length_batches, out_of_patience, validation_split

FILLER = [f"w{i}" for i in range(20)]


def cue_texts(labels, rng, flip=()):
    """Texts whose label is given by a cue word ("good"/"bad") among filler; rows in ``flip`` carry the other cue."""
    texts = []
    for row, label in enumerate(labels):
        cue = ("good" if label else "bad") if row not in flip else ("bad" if label else "good")
        words = [rng.choice(FILLER) for _ in range(rng.randint(4, 8))]
        words.insert(rng.randint(0, len(words)), cue)
        texts.append(" ".join(words))
    return texts


def cue_corpus(n_train=120, n_test=40, flip=(), seed=0):
    rng = random.Random(seed)
    train_labels = [i % 2 for i in range(n_train)]
    test_labels = [i % 2 for i in range(n_test)]
    return Corpus("cue", ("neg", "pos"), cue_texts(train_labels, rng, flip), train_labels,
                  cue_texts(test_labels, rng), test_labels)


def test_validation_split_is_seeded_disjoint_and_sized():
    fit, validation = validation_split(200, 0.1, seed=4)
    assert len(validation) == 20 and len(fit) == 180
    assert set(fit).isdisjoint(validation) and set(fit) | set(validation) == set(range(200))
    again = validation_split(200, 0.1, seed=4)
    assert np.array_equal(again[1], validation)
    assert not np.array_equal(validation_split(200, 0.1, seed=5)[1], validation)
    assert len(validation_split(200, 0.0, seed=4)[1]) == 0


def test_length_batches_cover_every_row_once_with_little_padding():
    lengths = torch.tensor([random.Random(i).randint(3, 60) for i in range(1000)])
    batches = length_batches(lengths, 16, torch.Generator().manual_seed(0), pool_batches=8)
    rows = torch.cat(batches)
    assert sorted(rows.tolist()) == list(range(1000))
    padded = sum(len(b) * int(lengths[b].max()) for b in batches)
    unsorted = sum(len(b) * int(lengths[b].max()) for b in torch.randperm(1000).split(16))
    assert padded < 0.7 * unsorted
    again = length_batches(lengths, 16, torch.Generator().manual_seed(0), pool_batches=8)
    assert all(torch.equal(a, b) for a, b in zip(batches, again))


def test_early_stopping_restores_the_best_epoch():
    # validation rows carry the opposite cue: the better the model learns the training rows,
    # the worse it does on validation, so the best epoch comes early and training stops on patience
    fit, validation = validation_split(120, 0.25, seed=0)
    corpus = cue_corpus(flip=set(validation.tolist()))
    model = rnnmem.build_model("gru", len(corpus.vocabulary), 2, hidden_size=8, embedding_dim=8, seed=0)
    history = rnnmem.train(model, corpus, max_len=12, epochs=30, batch_size=16, lr=2e-2, seed=0,
                           validation_fraction=0.25, patience=2, progress=False)
    assert len(history.loss) < 30 and "did not improve for 2 epochs" in history.stopped
    best = history.best_epoch - 1
    assert best < len(history.loss) - 1
    assert history.validation_accuracy[best] > history.validation_accuracy[-1]
    tokens, lengths, labels = corpus.encode(corpus.vocabulary, "train", max_len=12)
    loss, acc = evaluate(model, tokens[validation], lengths[validation], labels[validation])
    assert acc == history.validation_accuracy[best]
    assert loss == pytest.approx(history.validation_loss[best], rel=1e-5)
    assert history.final_accuracy == history.test_accuracy[best]
    test_loss, _ = evaluate(model, *corpus.encode(corpus.vocabulary, "test", max_len=12))
    assert test_loss == pytest.approx(history.test_loss[best], rel=1e-5)
    assert len(history.test_loss) == len(history.loss)


def test_validation_fraction_zero_trains_the_whole_budget():
    corpus = cue_corpus()
    model = rnnmem.build_model("srn", len(corpus.vocabulary), 2, hidden_size=8, embedding_dim=8)
    history = rnnmem.train(model, corpus, max_len=12, epochs=3, validation_fraction=0.0, progress=False)
    assert len(history.loss) == 3 and history.best_epoch == 3
    assert all(math.isnan(v) for v in history.validation_accuracy)


def documents_with_pieces(n_docs=60, per_doc=3, seed=0):
    """Documents of ``per_doc`` labelled pieces each, labelled by the pieces' majority, with ``pieces`` set."""
    rng = random.Random(seed)
    piece_labels = [rng.randint(0, 1) for _ in range(n_docs * per_doc)]
    piece_texts = cue_texts(piece_labels, rng)
    groups = [tuple(range(d * per_doc, (d + 1) * per_doc)) for d in range(n_docs)]
    doc_texts = [" ".join(piece_texts[i] for i in g) for g in groups]
    doc_labels = [int(sum(piece_labels[i] for i in g) * 2 > per_doc) for g in groups]
    cut, piece_cut = n_docs * 3 // 4, n_docs * 3 // 4 * per_doc
    pieces = Corpus("pieces", ("neg", "pos"), piece_texts[:piece_cut], piece_labels[:piece_cut],
                    piece_texts[piece_cut:], piece_labels[piece_cut:],
                    train_sources=[(i,) for i in range(piece_cut)],
                    test_sources=[(i,) for i in range(piece_cut, len(piece_texts))])
    return Corpus("docs", ("neg", "pos"), doc_texts[:cut], doc_labels[:cut], doc_texts[cut:], doc_labels[cut:],
                  train_sources=groups[:cut], test_sources=groups[cut:], pieces=pieces)


def test_curriculum_pieces_leave_out_the_validation_documents():
    corpus = documents_with_pieces()
    fit, validation = validation_split(len(corpus.train_texts), 0.2, seed=0)
    kept = curriculum_pieces(corpus, validation)
    held_out = {s for row in validation for s in corpus.train_sources[row]}
    fitted = {s for row in fit for s in corpus.train_sources[row]}
    kept_texts = set(kept.train_texts)
    assert kept_texts == {corpus.pieces.train_texts[i] for i in fitted}
    assert kept_texts.isdisjoint(corpus.pieces.train_texts[i] for i in held_out)
    assert kept_texts.isdisjoint(corpus.pieces.test_texts)
    assert curriculum_pieces(cue_corpus(), validation) is None


def test_curriculum_trains_on_pieces_first():
    corpus = documents_with_pieces()
    model = rnnmem.build_model("gru", len(corpus.vocabulary), 2, hidden_size=8, embedding_dim=8)
    history = rnnmem.train(model, corpus, max_len=40, epochs=2, piece_epochs=2, patience=5, progress=False)
    assert history.stage == ["pieces", "pieces", "documents", "documents"]
    plain = rnnmem.train(rnnmem.build_model("gru", len(corpus.vocabulary), 2, hidden_size=8, embedding_dim=8),
                         cue_corpus(), max_len=12, epochs=2, piece_epochs=2, patience=5, progress=False)
    assert plain.stage == ["documents", "documents"]


@pytest.mark.parametrize("stages, best_epoch, stop", [
    (["documents"] * 3, 1, False),
    (["documents"] * 4, 1, True),
    (["documents"] * 4, 2, False),
    (["pieces"] * 3 + ["documents"] * 2, 1, False),  # the best was a curriculum epoch: documents get their patience
    (["pieces"] * 3 + ["documents"] * 3, 1, True),
    (["pieces"] * 3, 1, False),  # never stops inside the curriculum
])
def test_patience_counts_from_the_first_document_epoch(stages, best_epoch, stop):
    assert out_of_patience(stages, best_epoch, patience=3) == stop


def test_baselines_on_a_corpus_with_a_known_answer():
    rng = random.Random(1)
    train_labels = [0] * 70 + [1] * 30
    test_labels = [0] * 21 + [1] * 9
    corpus = Corpus("cue", ("neg", "pos"), cue_texts(train_labels, rng), train_labels,
                    cue_texts(test_labels, rng), test_labels)
    found = baselines(corpus)
    assert found.majority == pytest.approx(0.7)
    assert found.bag_of_words == 1.0


def test_the_bag_of_words_is_scored_at_its_optimum():
    """On key-20 the words carry no label (only the token 20 from the end does): the regression's optimum scores
    what a tightly converged fit scores, where L-BFGS at its default tolerance stopped early at 0.523."""
    corpus = load_corpus("synthetic:key-20")
    vectorizer = CountVectorizer(analyzer=lambda tokens: tokens, binary=True)
    optimum = LogisticRegression(tol=1e-10, max_iter=50_000).fit(vectorizer.fit_transform(corpus.tokens("train")),
                                                                 corpus.train_labels)
    held_out = optimum.predict(vectorizer.transform(corpus.tokens("test"))) == np.asarray(corpus.test_labels)
    assert baselines(corpus).bag_of_words == pytest.approx(held_out.mean(), abs=1.5 / len(held_out))


def cue_first_corpus(n_train=120, n_test=60, seed=0):
    """The cue word opens every text, 8 filler words follow: only a reader of the first tokens sees it."""
    rng = random.Random(seed)
    labels = [i % 2 for i in range(n_train + n_test)]
    texts = [" ".join(["good" if label else "bad"] + [rng.choice(FILLER) for _ in range(8)]) for label in labels]
    return Corpus("cue-first", ("neg", "pos"), texts[:n_train], labels[:n_train], texts[n_train:], labels[n_train:])


def test_the_bag_of_words_reads_the_tokens_the_model_reads():
    corpus = cue_first_corpus()
    assert baselines(corpus).bag_of_words == 1.0
    assert baselines(corpus, max_len=3, keep="first").bag_of_words == 1.0
    # the last 3 tokens are filler only: word counts of them cannot beat chance by much, as a model reading them cannot
    assert baselines(corpus, max_len=3, keep="last").bag_of_words < 0.75


def test_training_records_the_bag_of_words_of_its_own_truncation():
    """A model trained on the last 3 tokens is compared with word counts of those 3 tokens, not of the cue it never
    saw: otherwise every model trained shorter than its documents would be called below bag-of-words."""
    corpus = cue_first_corpus()
    model = rnnmem.build_model("gru", len(corpus.vocabulary), 2, hidden_size=8, embedding_dim=4, seed=0)
    history = rnnmem.train(model, corpus, max_len=3, keep="last", epochs=1, progress=False)
    assert history.bag_of_words_baseline == baselines(corpus, max_len=3, keep="last").bag_of_words < 0.75


def test_competence_needs_accuracy_clearly_above_majority_and_near_bag_of_words():
    reference = Baselines(majority=0.5, bag_of_words=0.71, test_size=1000)
    assert competence_verdict(0.65, reference) == BELOW_BAG_OF_WORDS  # 6 points below: outside the 3-point margin
    assert competence_verdict(0.68, reference) == COMPETENT  # within it
    assert competence_verdict(0.75, reference) == COMPETENT
    assert competence_verdict(math.nan, reference) == UNKNOWN
    # a chance model passes no test when bag-of-words is at chance too (issue 16's case)
    assert competence_verdict(0.482, Baselines(0.503, 0.491, test_size=1000)) == NOT_ABOVE_MAJORITY
    # 0.53 against 0.50 is 15 right answers more than chance on 500 sequences (p = 0.1), 60 on 2000 (p = 0.004)
    assert competence_verdict(0.53, Baselines(0.50, 0.52, test_size=500)) == NOT_ABOVE_MAJORITY
    assert competence_verdict(0.53, Baselines(0.50, 0.52, test_size=2000)) == COMPETENT
    # without the held-out count only a refusal can be said
    assert competence_verdict(0.70, Baselines(0.50, 0.72)) == UNKNOWN
    assert competence_verdict(0.49, Baselines(0.50, 0.72)) == NOT_ABOVE_MAJORITY


def test_the_binomial_test_against_majority_matches_its_closed_form():
    # P(X >= 6) for X ~ Binomial(6, 0.5) is 0.5^6; P(X >= 5) adds 6 * 0.5^6
    assert above_majority_p_value(1.0, 0.5, 6) == pytest.approx(0.5 ** 6, rel=1e-12)
    assert above_majority_p_value(5 / 6, 0.5, 6) == pytest.approx(7 * 0.5 ** 6, rel=1e-12)


def test_the_library_route_keeps_its_training_record_for_the_verdict():
    corpus = cue_corpus(n_train=200, n_test=60)
    model = rnnmem.build_model("gru", len(corpus.vocabulary), 2, hidden_size=32, embedding_dim=8, seed=0)
    history = rnnmem.train(model, corpus, max_len=12, epochs=10, lr=0.02, schedule="constant", validation_fraction=0,
                           progress=False)
    report = rnnmem.assess(model, corpus, max_distance=5, estimators=("occlusion",), n_resamples=20, probes=False,
                           floor=False, progress=False)
    record = report.training_record()
    assert record["test_accuracy"] == history.final_accuracy and record["test_size"] == 60
    assert record["competence"] == history.verdict == COMPETENT  # the cue word decides the label
    verdict = report.verdict()
    assert verdict.interpretable and "on 60 sequences" in verdict.statements[0]
    assert "semantic validity was not measured" in verdict.statements[1] and "neg, pos" in verdict.statements[1]


def test_a_model_trained_on_random_labels_is_not_called_competent():
    """Labels drawn independently of the texts: nothing to learn, so the verdict must say no."""
    rng = random.Random(5)
    labels = [rng.randint(0, 1) for _ in range(160)]
    texts = [" ".join(rng.choice(FILLER + ["good", "bad"]) for _ in range(rng.randint(4, 8))) for _ in labels]
    corpus = Corpus("random", ["a", "b"], texts[:100], labels[:100], texts[100:], labels[100:])
    model = rnnmem.build_model("gru", len(corpus.vocabulary), 2, hidden_size=8, embedding_dim=4, seed=0)
    history = rnnmem.train(model, corpus, max_len=10, epochs=3, progress=False)
    assert history.test_size == 60 and history.verdict in (NOT_ABOVE_MAJORITY, BELOW_BAG_OF_WORDS)
    verdict = rnnmem.assess(model, corpus, max_distance=5, estimators=("occlusion",), n_resamples=20, probes=False,
                            floor=False, progress=False).verdict()
    assert not verdict.interpretable and "not known" not in verdict.statements[0]


def test_dropout_is_recorded_and_survives_a_checkpoint(tmp_path):
    model = rnnmem.build_model("lstm", 25, 3, hidden_size=6, embedding_dim=5, dropout=0.4)
    rnnmem.save_model(model, tmp_path / "m")
    loaded, meta = rnnmem.load_model(tmp_path / "m")
    assert meta["config"]["dropout"] == 0.4 and loaded.config.dropout == 0.4
    tokens = torch.randint(1, 25, (3, 6))
    torch.testing.assert_close(loaded(tokens), model.eval()(tokens))  # eval mode: dropout is off
    with pytest.raises(rnnmem.ConfigError, match=r"dropout must be a share in \[0, 1\), got 1.0"):
        rnnmem.build_model("lstm", 25, 3, dropout=1.0)


def test_a_checkpoint_saved_before_dropout_existed_still_loads(tmp_path):
    model = rnnmem.build_model("gru", 25, 2, hidden_size=6, embedding_dim=5)
    rnnmem.save_model(model, tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    del meta["config"]["dropout"]
    (tmp_path / "m" / "model.json").write_text(json.dumps(meta))
    assert rnnmem.load_model(tmp_path / "m")[0].config.dropout == 0.0


def test_cli_prints_the_baselines_and_writes_the_curves(tiny_csv, tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["assess", "--unit", "gru", "--corpus", str(tiny_csv), "--out", str(out),
                                      "--max-len", "16", "--epochs", "3", "--hidden", "8", "--embedding-dim", "4",
                                      "--max-distance", "10", "--max-sequences", "20", "--estimators", "occlusion",
                                      "--quiet"])
    assert result.exit_code == 0, result.output
    history = json.loads((out / "history.json").read_text())
    for curve in ("loss", "train_accuracy", "validation_accuracy", "test_accuracy"):
        assert len(history[curve]) == len(history["stage"]) >= 1
    assert history["best_epoch"] >= 1 and history["stopped"] and history["settings"]["epochs"] == 3
    assert "bag-of-words" in result.output
    assert f"{history['bag_of_words_baseline']:.3f}" in result.output
    assert history["competence"] in result.output


@pytest.mark.parametrize("settings, message", [
    ({"weight_decay": -0.1}, r"weight_decay must lie in \[0, 1\], got -0.1"),
    ({"validation_fraction": 0.9}, r"validation_fraction must lie in \[0, 0.5\], got 0.9"),
    ({"schedule": "cosin"}, "schedule='cosin' is not valid; use one of: plateau, cosine, constant"),
    ({"piece_epochs": -1}, "piece_epochs must be a non-negative integer, got -1"),
    ({"patience": 0}, "patience must be a positive integer, got 0"),
])
def test_bad_training_settings_are_named(settings, message):
    corpus = cue_corpus(n_train=20, n_test=6)
    model = rnnmem.build_model("srn", len(corpus.vocabulary), 2, hidden_size=4, embedding_dim=4)
    with pytest.raises(rnnmem.ConfigError, match=message):
        rnnmem.train(model, corpus, max_len=8, epochs=1, progress=False, **settings)
