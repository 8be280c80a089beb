"""rnnmem: measure the memory ability of recurrent neural networks in a Semantic Euclidean Space.

The public names are imported when first used (PEP 562), so that `rnnmem --help` and `--version` do not
wait for torch, SciPy and matplotlib to load.
"""

import importlib
import sys
import types
import warnings

from rnnmem._version import __version__

# public name -> the module that defines it
_HOMES = {
    "Corpus": "rnnmem.data", "Vocabulary": "rnnmem.data", "list_corpora": "rnnmem.data",
    "load_corpus": "rnnmem.data", "read_corpus": "rnnmem.data",
    "ConfigError": "rnnmem.errors", "DataError": "rnnmem.errors", "ModelProtocolError": "rnnmem.errors",
    "RnnmemError": "rnnmem.errors", "TrainingError": "rnnmem.errors",
    "SequenceModel": "rnnmem.model", "build_model": "rnnmem.model", "load_model": "rnnmem.model",
    "save_model": "rnnmem.model", "History": "rnnmem.train", "train": "rnnmem.train",
    "assess": "rnnmem.assessment", "MemoryReport": "rnnmem.memory_report", "Recommendation": "rnnmem.guidance",
    "recommend_length": "rnnmem.guidance", "task_free_capacity": "rnnmem.indicators.classical",
    "OutputAdapter": "rnnmem.adapters", "PrefixAdapter": "rnnmem.adapters", "HuggingFaceAdapter": "rnnmem.adapters",
    "load_huggingface": "rnnmem.adapters", "encode_texts": "rnnmem.adapters",
}

__all__ = ["__version__", *_HOMES]


def __getattr__(name: str):
    if name == "memory_capacity":  # the old name of task_free_capacity, kept for one release
        warnings.warn("rnnmem.memory_capacity is renamed rnnmem.task_free_capacity (Jaeger's task-free MC, not the "
                      "retention capacity sum_d r(d)); the old name goes in the next release.", DeprecationWarning,
                      stacklevel=2)
        return __getattr__("task_free_capacity")
    if name not in _HOMES:
        raise AttributeError(f"module 'rnnmem' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value  # imported once
    return value


def __dir__():
    return sorted({*globals(), *_HOMES})


class _Facade(types.ModuleType):
    """The package, whose public names are never replaced by a submodule of the same name: importing
    rnnmem.train binds the module to rnnmem.train, which must stay the function `train`."""

    def __setattr__(self, name, value):
        if name in _HOMES and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Facade
