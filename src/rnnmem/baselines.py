"""Reference accuracies a trained model is read against: the majority class and a bag of words.

A memory report on a model that has not learned its task describes where training stopped,
not what the unit keeps. These two baselines, fitted on the training split and scored on the
same test split as the model, say how much there was to learn: the majority class is the
floor, and a bag-of-words logistic regression (no order, no memory) is what a competent
sequence model should at least come close to.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression

from rnnmem.data import Corpus
from rnnmem.data.text import tokenize

# A model this far (in accuracy) below bag-of-words has not yet learned what word counts alone give.
COMPETENCE_MARGIN = 0.10


@dataclass(frozen=True)
class Baselines:
    """Held-out accuracy of the two reference classifiers on a corpus's test split.

    Attributes
    ----------
    majority : float
        Always answering the most common training class.
    bag_of_words : float
        Logistic regression on word counts (the corpus tokenizer, words seen in training).
    """

    majority: float
    bag_of_words: float

    def to_dict(self) -> dict:
        return asdict(self)


def baselines(corpus: Corpus, seed: int = 0) -> Baselines:
    """Fit both baselines on ``corpus``'s training split and score them on its test split.

    The answer is kept for the process, by a fingerprint of the texts and labels and the seed,
    so that a sweep training several units on one corpus fits the bag of words once.

    Parameters
    ----------
    corpus : Corpus
        Any labelled corpus; only its texts and labels are read.
    seed : int
        Seed of the logistic regression's solver (its answer barely depends on it).

    Returns
    -------
    Baselines
    """
    key = (_fingerprint(corpus), seed)
    if key not in _FITTED:
        _FITTED[key] = _fit_baselines(corpus, seed)
        while len(_FITTED) > 8:  # a few corpora at once; each entry is two floats
            _FITTED.pop(next(iter(_FITTED)))
    return _FITTED[key]


_FITTED: dict[tuple[str, int], Baselines] = {}


def _fingerprint(corpus: Corpus) -> str:
    digest = hashlib.sha256()
    for split in (corpus.train_texts, corpus.train_labels, corpus.test_texts, corpus.test_labels):
        digest.update(json.dumps(list(split), default=int).encode())
    return digest.hexdigest()


def _fit_baselines(corpus: Corpus, seed: int) -> Baselines:
    train_labels, test_labels = np.asarray(corpus.train_labels), np.asarray(corpus.test_labels)
    most_common = np.bincount(train_labels).argmax()
    majority = float(np.mean(test_labels == most_common))
    if len(np.unique(train_labels)) < 2:  # nothing to fit: the bag of words can only repeat the one class
        return Baselines(majority=majority, bag_of_words=majority)
    vectorizer = CountVectorizer(tokenizer=tokenize, lowercase=False, token_pattern=None, binary=True)
    features = vectorizer.fit_transform(corpus.train_texts)
    classifier = LogisticRegression(max_iter=2000, random_state=seed).fit(features, train_labels)
    bag_of_words = float(np.mean(classifier.predict(vectorizer.transform(corpus.test_texts)) == test_labels))
    return Baselines(majority=majority, bag_of_words=bag_of_words)


def competence_verdict(accuracy: float, reference: Baselines, margin: float = COMPETENCE_MARGIN) -> str:
    """Say whether a model has learned its task, judged against the bag-of-words baseline.

    Returns
    -------
    str
        ``"competent"`` when ``accuracy`` >= bag_of_words - ``margin``, ``"not yet competent"``
        when it is lower, ``"unknown"`` when either accuracy is missing (NaN).
    """
    if math.isnan(accuracy) or math.isnan(reference.bag_of_words):
        return "unknown"
    return "competent" if accuracy >= reference.bag_of_words - margin else "not yet competent"
