"""Turning text into token ids: a word-level tokenizer, a vocabulary, and batching."""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Iterable, Sequence

import torch

from rnnmem.errors import ConfigError, DataError

# A token is a word or number (inner apostrophes kept, so "don't" stays whole), optionally
# prefixed by # or @ so hashtags and mentions survive, or else one punctuation/symbol
# character. Control characters are excluded because they carry no meaning and would only
# pollute the vocabulary; whitespace is dropped by never matching it.
_TOKEN_RE = re.compile(r"[#@]?\w+(?:'\w+)*|[^\w\s\x00-\x1f\x7f-\x9f]")


# Web text carries markup that is not language: "&amp;" would become the words "amp", every
# URL a handful of fragments ("http", "t", "co", ...), every user handle its own rare word.
# As in BERTweet (Nguyen et al., 2020), URLs and handles become one token each.
URL_TOKEN = "httpurl"
USER_TOKEN = "@user"
_ENTITY_RE = re.compile(r"&(?:#\d+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")
_URL_RE = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_HANDLE_RE = re.compile(r"(?<![\w@])@\w+")


def normalise(text: str) -> str:
    """Decode HTML entities, then replace each URL by ``httpurl`` and each @handle by ``@user``."""
    text = html.unescape(text)
    text = _URL_RE.sub(f" {URL_TOKEN} ", text)
    return _HANDLE_RE.sub(f" {USER_TOKEN} ", text)


def normalisation_counts(texts: Iterable[str]) -> dict[str, int]:
    """How many HTML entities, URLs and user handles `normalise` replaces in ``texts``."""
    counts = Counter()
    for text in texts:
        counts["html_entities_decoded"] += len(_ENTITY_RE.findall(text))
        unescaped = html.unescape(text)
        counts["urls_replaced"] += len(_URL_RE.findall(unescaped))
        counts["user_handles_replaced"] += len(_HANDLE_RE.findall(_URL_RE.sub(" ", unescaped)))
    return dict(counts)


def tokenize(text: str) -> list[str]:
    """Split text into lower-case word-level tokens, after `normalise`.

    Parameters
    ----------
    text : str
        Any Unicode string.

    Returns
    -------
    list of str
        Words (with inner apostrophes), numbers, #hashtags, ``httpurl`` for each URL and
        ``@user`` for each user handle, and single punctuation marks or symbols (emoji,
        U+FFFD included), in order.
    """
    return _TOKEN_RE.findall(normalise(text).lower())


class Vocabulary:
    """A fixed mapping between tokens and integer ids.

    Id 0 is ``"<pad>"`` (padding, and the neutral token occlusion substitutes) and id 1
    is ``"<unk>"`` (every token not in the vocabulary). `tokenize` splits ``<`` and
    ``>`` off, so text can never produce these two tokens itself.

    Parameters
    ----------
    tokens : list of str
        All tokens in id order; must start with ``"<pad>"``, ``"<unk>"`` and be unique.
    """

    PAD = "<pad>"
    UNK = "<unk>"
    pad_id = 0
    unk_id = 1

    def __init__(self, tokens: Sequence[str]):
        tokens = list(tokens)
        if tokens[:2] != [self.PAD, self.UNK] or len(set(tokens)) != len(tokens):
            raise DataError(
                "a vocabulary must start with '<pad>', '<unk>' and list each token once; "
                "rebuild it with Vocabulary.build(texts) instead of editing it by hand."
            )
        self.tokens = tokens
        self._ids = {token: i for i, token in enumerate(tokens)}

    @classmethod
    def build(cls, texts: Iterable[str], max_size: int = 20000, min_freq: int = 2) -> Vocabulary:
        """Build a vocabulary from the most frequent tokens of some texts.

        Parameters
        ----------
        texts : iterable of str
            Training texts only, so test words stay unknown as they would in use.
        max_size : int
            Total size including ``<pad>`` and ``<unk>``; at least 3.
        min_freq : int
            Tokens seen fewer times become ``<unk>``; at least 1.

        Returns
        -------
        Vocabulary
            Tokens ordered by descending count, ties broken alphabetically so the same
            texts always give the same ids.
        """
        return cls.from_counts(Counter(token for text in texts for token in tokenize(text)), max_size, min_freq)

    @classmethod
    def from_counts(cls, counts: Counter, max_size: int = 20000, min_freq: int = 2) -> Vocabulary:
        """`build` from token counts already made (``Counter`` of `tokenize`'s tokens)."""
        if max_size < 3:
            raise ConfigError(f"max_size={max_size} leaves no room for words; use max_size >= 3.")
        if min_freq < 1:
            raise ConfigError(f"min_freq={min_freq} is meaningless; use min_freq >= 1.")
        frequent = [(t, c) for t, c in counts.items() if c >= min_freq]
        frequent.sort(key=lambda tc: (-tc[1], tc[0]))
        words = [t for t, _ in frequent[: max_size - 2]]
        return cls([cls.PAD, cls.UNK, *words])

    def id_of(self, token: str) -> int:
        """Return the id of `token`, or `unk_id` if it is not in the vocabulary."""
        return self._ids.get(token, self.unk_id)

    def encode(self, text: str) -> list[int]:
        """Tokenize `text` and map each token to its id."""
        return self.ids_of(tokenize(text))

    def ids_of(self, tokens: Iterable[str]) -> list[int]:
        """The id of each token (`unk_id` for a token not in the vocabulary)."""
        ids, unknown = self._ids, self.unk_id  # one dict lookup per token: encoding a corpus is a hot loop
        return [ids.get(token, unknown) for token in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Map ids back to tokens (the inverse of `encode` up to ``<unk>``)."""
        return [self.tokens[int(i)] for i in ids]

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: object) -> bool:
        return token in self._ids

    def to_dict(self) -> dict:
        """Return a JSON-serialisable form; `from_dict` inverts it."""
        return {"tokens": list(self.tokens)}

    @classmethod
    def from_dict(cls, d: dict) -> Vocabulary:
        """Rebuild a vocabulary saved with `to_dict`."""
        if not isinstance(d, dict) or "tokens" not in d:
            raise DataError(
                "a saved vocabulary must be a dict with a 'tokens' list; "
                "save it with Vocabulary.to_dict()."
            )
        return cls(d["tokens"])

    def __repr__(self) -> str:
        return f"Vocabulary(size={len(self)})"


_KEEP_CHOICES = ("first", "last")


def truncated(sequence: list, max_len: int | None, keep: str = "first") -> list:
    """At most ``max_len`` items of ``sequence``, its first or its last (``keep``); all of them when None."""
    if max_len is None or len(sequence) <= max_len:
        return sequence
    return sequence[:max_len] if keep == "first" else sequence[-max_len:]


def encode_batch(
    sequences: Sequence[Sequence[int]],
    max_len: int | None = None,
    keep: str = "first",
    pad_id: int = 0,
) -> tuple[torch.LongTensor, torch.LongTensor]:
    """Truncate and right-pad id sequences into one tensor.

    Parameters
    ----------
    sequences : sequence of sequence of int
        Token ids, one non-empty sequence per example.
    max_len : int or None
        Keep at most this many tokens per sequence; None keeps all.
    keep : {"first", "last"}
        Which end of a too-long sequence survives truncation.
    pad_id : int
        Id written after the end of each sequence.

    Returns
    -------
    tokens : torch.LongTensor
        Shape [N, T], T the longest kept length.
    lengths : torch.LongTensor
        Shape [N], the number of real (non-pad) tokens per row.
    """
    if max_len is not None and max_len < 1:
        raise ConfigError(f"max_len={max_len} would keep no tokens; use max_len >= 1 or None.")
    if keep not in _KEEP_CHOICES:
        raise ConfigError(f"keep={keep!r} is not valid; use one of: {', '.join(_KEEP_CHOICES)}.")
    kept = []
    for i, seq in enumerate(sequences):
        seq = list(seq)
        if not seq:
            # An empty row has no last hidden state to read, so it must never reach a model.
            raise DataError(f"sequence {i} is empty; drop texts that have no tokens before encoding.")
        kept.append(truncated(seq, max_len, keep))
    lengths = torch.tensor([len(s) for s in kept], dtype=torch.long)
    width = int(lengths.max()) if kept else 0
    tokens = torch.full((len(kept), width), pad_id, dtype=torch.long)
    for row, seq in enumerate(kept):
        tokens[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
    return tokens, lengths
