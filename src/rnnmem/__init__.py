"""rnnmem: measure the memory ability of recurrent neural networks in a Semantic Euclidean Space."""

__version__ = "0.1.0"

from rnnmem.data import Corpus, Vocabulary, list_corpora, load_corpus, read_corpus  # noqa: E402
from rnnmem.errors import ConfigError, DataError, ModelProtocolError, RnnmemError, TrainingError  # noqa: E402
from rnnmem.model import SequenceModel, build_model, load_model, save_model  # noqa: E402
from rnnmem.train import History, train  # noqa: E402
from rnnmem.assessment import assess  # noqa: E402
from rnnmem.memory_report import MemoryReport  # noqa: E402
from rnnmem.guidance import Recommendation, recommend_length  # noqa: E402
from rnnmem.indicators.classical import memory_capacity  # noqa: E402

__all__ = [
    "Corpus", "Vocabulary", "list_corpora", "load_corpus", "read_corpus",
    "ConfigError", "DataError", "ModelProtocolError", "RnnmemError", "TrainingError",
    "SequenceModel", "build_model", "load_model", "save_model", "History", "train",
    "assess", "MemoryReport", "Recommendation", "recommend_length", "memory_capacity",
]
