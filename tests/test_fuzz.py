"""Property-based tests (hypothesis) of the data layer and the retention indicator.

Example counts are kept modest so the suite stays fast; `deadline=None` because a model runs
in each example and a busy machine must not turn slowness into a failure.
"""

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnmem
from known_systems import LinearRecurrence
from rnnmem.data import Vocabulary, encode_batch, read_corpus, tokenize
from rnnmem.errors import DataError

FAST = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
LAMBDA = 0.7
MODEL = LinearRecurrence(LAMBDA)  # contractive: r(d) = 0.7^d exactly, for any data

sequences = st.lists(st.lists(st.integers(1, 39), min_size=1, max_size=64), min_size=2, max_size=6)
any_unicode = st.text(st.characters(blacklist_categories=()), max_size=200)  # surrogates and controls included


@FAST
@given(sequences)
def test_occlusion_retention_of_a_contractive_model_is_finite_bounded_and_exact(seqs):
    report = rnnmem.assess(MODEL, seqs, max_distance=63, estimators=("occlusion",), progress=False,
                           n_resamples=20, probes=False)
    r = report.retention["occlusion"].to_numpy()
    assert len(r) == max(map(len, seqs))  # capped at the longest sequence
    # fewer than 30 sequences: a distance is measured only where every one of them reaches it
    measured = min(map(len, seqs))
    assert np.isfinite(r[:measured]).all() and np.isnan(r[measured:]).all()
    assert ((r[:measured] >= 0) & (r[:measured] <= 1 + 1e-9)).all()
    np.testing.assert_allclose(r[:measured], LAMBDA ** np.arange(measured), rtol=1e-9, atol=1e-12)


@FAST
@given(any_unicode)
def test_tokenize_never_crashes_on_any_unicode(text):
    tokens = tokenize(text)
    assert all(isinstance(t, str) and t and not any(c.isspace() for c in t) for t in tokens)
    vocab = Vocabulary.build([text], min_freq=1)
    ids = vocab.encode(text)
    assert len(ids) == len(tokens) and all(2 <= i < len(vocab) for i in ids)


@FAST
@given(st.lists(st.lists(st.integers(0, 10**6), min_size=1, max_size=64), min_size=1, max_size=8),
       st.one_of(st.none(), st.integers(1, 80)), st.sampled_from(["first", "last"]))
def test_encode_batch_keeps_lengths_and_tokens(seqs, max_len, keep):
    tokens, lengths = encode_batch(seqs, max_len=max_len, keep=keep, pad_id=0)
    for row, seq in enumerate(seqs):
        kept = seq if max_len is None or len(seq) <= max_len else (seq[:max_len] if keep == "first" else seq[-max_len:])
        assert lengths[row] == len(kept)
        assert tokens[row, : len(kept)].tolist() == kept
        assert (tokens[row, len(kept):] == 0).all()


def _read(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    try:
        corpus = read_corpus(path, seed=0)
    except DataError:
        return None
    assert corpus.num_classes >= 2 and corpus.train_texts and corpus.test_texts
    assert all(tokenize(t) for t in corpus.train_texts + corpus.test_texts)
    return corpus


@FAST
@given(st.binary(max_size=400))
def test_read_corpus_on_random_bytes_returns_a_corpus_or_a_data_error(tmp_path, data):
    _read(tmp_path, "random.csv", data)
    _read(tmp_path, "random.jsonl", data)


# CSV-shaped text: headers, separators, quotes, line ends, NUL and non-UTF-8 bytes in random order
csv_pieces = st.sampled_from([b"text", b"label", b",", b"\n", b"\r\n", b'"', b'""', b"a", b"b", b"good day", b"0", b"1",
                              b" ", b"\x00", b"\xff", b"\xe9", b"\t", b";", b"#", b"\\", b"{", b"}", b":", b"NA"])


@FAST
@given(st.lists(csv_pieces, max_size=80))
def test_read_corpus_on_csv_shaped_bytes_returns_a_corpus_or_a_data_error(tmp_path, pieces):
    _read(tmp_path, "shaped.csv", b"text,label\n" + b"".join(pieces))


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                           max_leaves=8)


@FAST
@given(st.lists(st.one_of(st.fixed_dictionaries({"text": json_values, "label": json_values}), json_values), max_size=12))
def test_read_corpus_on_arbitrary_jsonl_returns_a_corpus_or_a_data_error(tmp_path, rows):
    _read(tmp_path, "rows.jsonl", "\n".join(json.dumps(r) for r in rows).encode())


@pytest.mark.parametrize("lam", [0.3, 0.9])
def test_the_exact_value_holds_for_other_contraction_rates(lam):
    seqs = [list(range(1, 30)), list(range(5, 34)), list(range(11, 40))]  # 29 tokens each: d = 0..28 all measured
    report = rnnmem.assess(LinearRecurrence(lam), seqs, max_distance=40, estimators=("occlusion",), progress=False,
                           n_resamples=20, probes=False)
    # float64 cancellation in ||S(x) - S(x occluded)|| leaves ~1e-16 absolute error on tiny values
    np.testing.assert_allclose(report.retention["occlusion"], lam ** np.arange(29), rtol=1e-9, atol=1e-12)
