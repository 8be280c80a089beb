"""Text through the model's own tokenizer: texts -> token-id lists that `assess` takes as data."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from numbers import Integral

import torch

from rnnmem.errors import ConfigError, DataError
from rnnmem.validation import check_int


def encode_texts(texts: Sequence[str], tokenizer: Callable, max_len: int | None = None) -> list[list[int]]:
    """Encode ``texts`` with a tokenizer callable, for ``assess(model, encode_texts(texts, tokenizer))``.

    Parameters
    ----------
    texts : sequence of str
        The texts to measure on.
    tokenizer : callable
        ``tokenizer(text)`` returns the text's token ids: a list of ints, a 1-D integer tensor,
        or a mapping with ``"input_ids"`` (what a Hugging Face tokenizer returns).
    max_len : int, optional
        Keep only the first ``max_len`` ids of each text (a transformer reads at most its
        number of positions).

    Returns
    -------
    list of list of int
        One list of ids per text, in order. Pass the id of a neutral token (e.g. the
        tokenizer's pad id) to `assess` as ``neutral_token``: occlusion swaps tokens for it.
    """
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise DataError(f"texts must be a list of strings, one per sequence, got {type(texts).__name__}.")
    odd = next((index for index, text in enumerate(texts) if not isinstance(text, str)), None)
    if odd is not None:
        raise DataError(f"texts[{odd}] is of type {type(texts[odd]).__name__}, not a string; pass the texts themselves.")
    if not callable(tokenizer):
        raise ConfigError(f"tokenizer must be a callable text -> token ids, got {type(tokenizer).__name__}.")
    if max_len is not None:
        check_int("max_len", max_len, low=1)
    return [_ids(tokenizer(text), index, text)[:max_len] for index, text in enumerate(texts)]


def _ids(encoded, index: int, text: str) -> list[int]:
    if isinstance(encoded, Mapping) and "input_ids" in encoded:
        encoded = encoded["input_ids"]
    if isinstance(encoded, torch.Tensor):
        encoded = encoded.reshape(-1).tolist() if encoded.dim() <= 1 or encoded.shape[0] == 1 else encoded
    quoted = f"{text[:40]!r}{'…' if len(text) > 40 else ''}"
    if not isinstance(encoded, (list, tuple)) or not all(isinstance(i, Integral) and not isinstance(i, bool) and i >= 0
                                                          for i in encoded):
        what = type(encoded).__name__ if not isinstance(encoded, (list, tuple)) else "a list with items that are not ids >= 0"
        raise DataError(f"tokenizer(text {index}: {quoted}) returned {what}; it must return the text's token ids, "
                        "a list of non-negative ints (or a mapping with 'input_ids', as a Hugging Face tokenizer does).")
    if not encoded:
        raise DataError(f"tokenizer(text {index}: {quoted}) returned no token ids; drop empty texts before encoding.")
    return [int(i) for i in encoded]
