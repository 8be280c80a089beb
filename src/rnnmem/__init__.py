"""rnnmem: measure the memory ability of recurrent neural networks in a Semantic Euclidean Space."""

import warnings

from rnnmem._version import __version__
from rnnmem.adapters import HuggingFaceAdapter, OutputAdapter, PrefixAdapter, encode_texts, load_huggingface
from rnnmem.assessment import assess
from rnnmem.data import Corpus, Vocabulary, list_corpora, load_corpus, read_corpus
from rnnmem.errors import ConfigError, DataError, ModelProtocolError, RnnmemError, TrainingError
from rnnmem.guidance import Recommendation, recommend_length
from rnnmem.indicators.classical import task_free_capacity
from rnnmem.memory_report import MemoryReport
from rnnmem.model import SequenceModel, build_model, load_model, save_model
from rnnmem.train import History, train

__all__ = [
    "__version__", "Corpus", "Vocabulary", "list_corpora", "load_corpus", "read_corpus",
    "ConfigError", "DataError", "ModelProtocolError", "RnnmemError", "TrainingError",
    "SequenceModel", "build_model", "load_model", "save_model", "History", "train",
    "assess", "MemoryReport", "Recommendation", "recommend_length", "task_free_capacity",
    "OutputAdapter", "PrefixAdapter", "HuggingFaceAdapter", "load_huggingface", "encode_texts",
]


def __getattr__(name: str):
    if name == "memory_capacity":  # the old name of task_free_capacity, kept for one release
        warnings.warn("rnnmem.memory_capacity is renamed rnnmem.task_free_capacity (Jaeger's task-free MC, not the "
                      "retention capacity sum_d r(d)); the old name goes in the next release.", DeprecationWarning,
                      stacklevel=2)
        return task_free_capacity
    raise AttributeError(f"module 'rnnmem' has no attribute {name!r}")
