"""Corpora and their encoding into token ids.

`load_corpus` gives a `Corpus` (built-in real text or the user's file); a `Vocabulary`
built from its training texts turns it into padded tensors with `Corpus.encode`.
"""

from rnnmem.data.corpus import Corpus
from rnnmem.data.files import read_corpus
from rnnmem.data.registry import list_corpora, load_corpus
from rnnmem.data.text import Vocabulary, encode_batch, normalisation_counts, normalise, tokenize
from rnnmem.data.tweets import load_tweets, load_tweets_docs, tweets_table

__all__ = [
    "Corpus",
    "Vocabulary",
    "encode_batch",
    "list_corpora",
    "load_corpus",
    "load_tweets",
    "load_tweets_docs",
    "normalisation_counts",
    "normalise",
    "read_corpus",
    "tokenize",
    "tweets_table",
]
