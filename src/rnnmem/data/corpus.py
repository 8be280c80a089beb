"""The `Corpus` container and the helpers every corpus source shares."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import torch

from rnnmem.data.text import Vocabulary, encode_batch, tokenize
from rnnmem.errors import ConfigError, DataError
from rnnmem.validation import check_seed

_SPLITS = ("train", "test")
_ENCODED: dict[tuple[str, str, int | None, str], tuple[torch.Tensor, torch.Tensor]] = {}
_TOKENIZED: dict[str, list[list[str]]] = {}
ENCODINGS_KEPT = 4  # a sweep trains and assesses several units on one corpus: its splits are tokenised once
MAX_UNKNOWN_SHARE = 0.5  # of the training tokens a vocabulary may map to <unk>


@dataclass
class Corpus:
    """A labelled text classification corpus split into train and test.

    Attributes
    ----------
    name : str
        Short name shown in reports (a registry name or a file stem).
    label_names : tuple of str
        Class names; label ``k`` means ``label_names[k]``.
    train_texts, test_texts : list of str
        Texts, each with at least one token.
    train_labels, test_labels : list of int
        Class ids aligned with the texts.
    notes : dict
        Facts a report should show (source file, replaced characters, dropped rows, ...).
    train_sources, test_sources : list of tuple of int, or None
        For corpora assembled from smaller texts (``tweets-docs``), the source row ids of
        each text; None otherwise.
    train_distances, test_distances : list of int, or None
        For synthetic corpora with a planted signal (``planted``), the signal's distance
        from the end of each text; None otherwise.
    pieces : Corpus, or None
        For corpora assembled from labelled pieces (``tweets-docs``), the pieces themselves
        with the same train/test split, each with its one source id in ``train_sources``/``test_sources``.
    """

    name: str
    label_names: tuple[str, ...]
    train_texts: list[str]
    train_labels: list[int]
    test_texts: list[str]
    test_labels: list[int]
    notes: dict = field(default_factory=dict)
    train_sources: list[tuple[int, ...]] | None = None
    test_sources: list[tuple[int, ...]] | None = None
    train_distances: list[int] | None = None
    test_distances: list[int] | None = None
    pieces: Corpus | None = field(default=None, repr=False)

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        return len(self.label_names)

    def tokens(self, split: str) -> list[list[str]]:
        """The texts of one split (``"train"`` or ``"test"``) as `tokenize` splits them.

        Kept for the process by the texts' content (the last few splits), so that the vocabulary, the
        encodings, the bag-of-words baseline and the truncation notes tokenise a split once between
        them (four times over, it was a second of the README run). The lists are shared: read them, do
        not change them.
        """
        texts, _ = self._split(split)
        return _tokenized(texts, content_digest(texts))

    def _split(self, split: str) -> tuple[list[str], list[int]]:
        """The texts and labels of ``split`` ("train" or "test")."""
        if split not in _SPLITS:
            raise ConfigError(f"split={split!r} is not valid; use one of: {', '.join(_SPLITS)}.")
        return (self.train_texts, self.train_labels) if split == "train" else (self.test_texts, self.test_labels)

    @cached_property
    def vocabulary(self) -> Vocabulary:
        """The default vocabulary of this corpus (training texts, default caps), built once."""
        return self.build_vocabulary()

    def build_vocabulary(self, max_size: int = 20000, min_freq: int = 2) -> Vocabulary:
        """Build a vocabulary from the training texts only (see `Vocabulary.build`).

        Refused (`DataError`) when it would map more than half of the training tokens to
        ``<unk>``: a model would then learn from little but the texts' lengths, and its memory
        numbers would look interpretable while measuring nothing of the words.
        """
        counts = Counter(token for tokens in self.tokens("train") for token in tokens)
        vocabulary = Vocabulary.from_counts(counts, max_size=max_size, min_freq=min_freq)
        total = sum(counts.values())
        unknown = sum(count for token, count in counts.items() if token not in vocabulary)
        if unknown > MAX_UNKNOWN_SHARE * total:
            raise DataError(
                f"the vocabulary of corpus '{self.name}' would map {unknown:,} of its {total:,} training tokens "
                f"({unknown / total:.0%}) to <unk>: only {len(vocabulary) - 2:,} of its {len(counts):,} distinct words "
                f"occur at least {min_freq} times{' and fit in max_size' if len(vocabulary) == max_size else ''}. "
                f"Use a corpus with more text (each word needs {min_freq}+ occurrences in the training split), or "
                f"build the vocabulary with a lower min count (corpus.build_vocabulary(min_freq=1)).")
        return vocabulary

    def encode(
        self,
        vocab: Vocabulary,
        split: str = "test",
        max_len: int | None = None,
        keep: str = "first",
    ) -> tuple[torch.LongTensor, torch.LongTensor, torch.LongTensor]:
        """Encode one split into padded tensors.

        The encoding is kept for the process, by the split's texts, the vocabulary's tokens and the
        truncation (the last few), so that training and assessing several models on one corpus
        tokenises it once; each call returns its own copies.

        Parameters
        ----------
        vocab : Vocabulary
            Maps tokens to ids.
        split : {"train", "test"}
            Which split to encode.
        max_len, keep
            Truncation, as in `encode_batch`.

        Returns
        -------
        tokens : torch.LongTensor
            Shape [N, T], right-padded with ``vocab.pad_id``.
        lengths : torch.LongTensor
            Shape [N].
        labels : torch.LongTensor
            Shape [N].
        """
        texts, labels = self._split(split)
        digest = content_digest(texts)
        key = (digest, content_digest(vocab.tokens), max_len, keep)
        if key not in _ENCODED:
            _ENCODED[key] = encode_batch([vocab.ids_of(tokens) for tokens in _tokenized(texts, digest)],
                                         max_len=max_len, keep=keep, pad_id=vocab.pad_id)
            while len(_ENCODED) > ENCODINGS_KEPT:
                _ENCODED.pop(next(iter(_ENCODED)))
        tokens, lengths = _ENCODED[key]
        return tokens.clone(), lengths.clone(), torch.tensor(labels, dtype=torch.long)


def _tokenized(texts: list[str], digest: str) -> list[list[str]]:
    """`tokenize` of each text, kept by the texts' ``digest`` (`content_digest`): `Corpus.tokens` and
    `Corpus.encode` read it, each with the digest it already took."""
    if digest not in _TOKENIZED:
        _TOKENIZED[digest] = [tokenize(text) for text in texts]
        while len(_TOKENIZED) > ENCODINGS_KEPT:
            _TOKENIZED.pop(next(iter(_TOKENIZED)))
    return _TOKENIZED[digest]


def content_digest(*parts) -> str:
    """SHA-256 of lists of texts, tokens or labels: equal exactly when their contents are, whatever the objects."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(json.dumps(list(part), default=int).encode())
    return digest.hexdigest()


def split_indices(n: int, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split ``range(n)`` into shuffled train and test index arrays.

    Parameters
    ----------
    n : int
        Number of rows.
    test_fraction : float
        Share of rows for the test split, strictly between 0 and 1.
    seed : int
        Seed of the permutation; the same seed always gives the same split.

    Returns
    -------
    train, test : np.ndarray
        Disjoint index arrays covering ``range(n)``, each non-empty.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ConfigError(
            f"test_fraction={test_fraction} must lie strictly between 0 and 1; try 0.2."
        )
    n_test = round(n * test_fraction)
    if n_test < 1 or n_test > n - 1:
        raise DataError(
            f"{n} rows cannot be split with test_fraction={test_fraction} into non-empty "
            "train and test sets; add rows or change test_fraction."
        )
    order = np.random.default_rng(check_seed(seed)).permutation(n)
    return order[n_test:], order[:n_test]


def decode_tolerantly(raw: bytes) -> tuple[str, int]:
    """Decode UTF-8, replacing bad bytes rather than failing.

    Returns
    -------
    text : str
        The decoded text.
    replaced : int
        How many U+FFFD characters decoding introduced (ones already in the file,
        encoded correctly, are not counted).
    """
    text = raw.decode("utf-8", errors="replace")
    already = raw.count("\ufffd".encode("utf-8"))
    return text, text.count("\ufffd") - already
