"""Hugging Face-style models from a local directory (optional: ``pip install 'rnnmem[hf]'``).

Nothing is downloaded: the model (and its tokenizer, when the directory has one) is read with
``local_files_only=True``, so a directory written by ``save_pretrained`` works offline.
"""

from __future__ import annotations

import importlib
import pickle
from pathlib import Path

import torch
from torch import nn

from rnnmem.adapters.outputs import OutputAdapter
from rnnmem.errors import ModelProtocolError, RnnmemError
from rnnmem.validation import MAX_WEIGHTS, check_choice, check_seed

# which transformers class reads the directory: a readout after every token needs a causal LM head
# or a per-token classifier (the causality check refuses a bidirectional encoder)
AUTO_CLASSES = {"causal-lm": "AutoModelForCausalLM", "token-classification": "AutoModelForTokenClassification"}
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.json", "vocab.txt", "spiece.model")


class HuggingFaceAdapter(OutputAdapter):
    """A transformers model read as an rnnmem model: readout = its logits after every token.

    The embedding route (``inputs_embeds``) gives the gradient estimator, and the last layer's
    hidden states give the probes h_T. ``tokenizer`` is the directory's tokenizer (or None):
    ``rnnmem.encode_texts(texts, adapter.tokenizer, max_len=adapter.max_positions)``.
    """

    def __init__(self, model: nn.Module, tokenizer=None):
        super().__init__(model, "logits", embedding=model.get_input_embeddings(), embeds_keyword="inputs_embeds",
                         hidden="hidden_states")
        self.tokenizer = tokenizer
        self.max_positions = getattr(model.config, "max_position_embeddings", None)
        model.config.use_cache = False  # assess never generates: a key/value cache would only hold memory

    def run(self, tokens: torch.Tensor | None = None, emb: torch.Tensor | None = None, hidden: bool = False):
        width = (tokens if emb is None else emb).shape[1]
        if self.max_positions is not None and width > self.max_positions:
            raise ModelProtocolError(
                f"the model reads at most {self.max_positions} tokens (its max_position_embeddings) but was given "
                f"sequences of {width}; pass max_len={self.max_positions} to assess (or to encode_texts).")
        inputs = {"input_ids": tokens} if emb is None else {"inputs_embeds": emb}
        return self.model(**inputs, output_hidden_states=hidden, return_dict=True)

    def untrained(self, seed: int = 0) -> HuggingFaceAdapter:
        """The same configuration with fresh weights drawn from ``seed``: the floor, ``assess(..., floor=...)``."""
        check_seed(seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            fresh = type(self.model)(self.model.config)
        return HuggingFaceAdapter(fresh.eval(), self.tokenizer)


def load_huggingface(directory: str | Path, task: str = "causal-lm") -> HuggingFaceAdapter:
    """Load a model saved with ``save_pretrained`` from ``directory``, without any download.

    Parameters
    ----------
    directory : str or Path
        A local directory with ``config.json`` and the weights (and optionally a tokenizer).
    task : {"causal-lm", "token-classification"}
        Which head is read: a causal language model's next-token logits, or a per-token
        classifier's logits. Either must be causal (the readout after t tokens may not read later ones).

    Returns
    -------
    HuggingFaceAdapter
        Pass it to `rnnmem.assess`; ``adapter.tokenizer`` is the directory's tokenizer or None.
    """
    check_choice("task", task, tuple(AUTO_CLASSES))
    try:
        transformers = importlib.import_module("transformers")
    except ImportError:
        raise ModelProtocolError("load_huggingface needs the transformers package: pip install 'rnnmem[hf]'.") from None
    directory = Path(directory)
    if not (directory / "config.json").is_file():
        raise ModelProtocolError(f"{directory} is not a saved Hugging Face model: it has no config.json. Give the "
                                 "directory written by model.save_pretrained(directory); nothing is downloaded.")
    try:
        _check_embedding_size(directory, transformers.AutoConfig.from_pretrained(directory, local_files_only=True))
        model = getattr(transformers, AUTO_CLASSES[task]).from_pretrained(directory, local_files_only=True)
        tokenizer = (transformers.AutoTokenizer.from_pretrained(directory, local_files_only=True)
                     if any((directory / name).is_file() for name in TOKENIZER_FILES) else None)
    except RnnmemError:
        raise
    except pickle.UnpicklingError:  # torch.load(weights_only=True) refused the file before running any of it
        raise ModelProtocolError(
            f"the weights in {directory} (a pytorch_model.bin) hold pickled objects, not only tensors; they were "
            "refused unread and nothing in them was run. Re-save the model with save_pretrained (safetensors) from "
            "a copy you trust.") from None
    except Exception as exc:  # transformers raises OSError, ValueError, KeyError, RuntimeError (sizes), ...
        mismatch = " (its config.json describes other sizes than its weights)" if isinstance(exc, RuntimeError) else ""
        raise ModelProtocolError(f"transformers could not load {directory} as a {task} model{mismatch} "
                                 f"({type(exc).__name__}: {_first_line(exc)}); check that the directory was written "
                                 "by save_pretrained for that task.") from None
    return HuggingFaceAdapter(model.eval(), tokenizer)


def _check_embedding_size(directory: Path, config) -> None:
    """Refuse, before anything is allocated, a config whose embedding alone exceeds rnnmem's model-size limit."""
    vocabulary, width = getattr(config, "vocab_size", None), getattr(config, "hidden_size", None)
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in (vocabulary, width)):
        return  # a config without these sizes: transformers names what it lacks
    if vocabulary * width > MAX_WEIGHTS:
        raise ModelProtocolError(
            f"{directory / 'config.json'} asks for an embedding of {vocabulary:,} words x {width:,} dimensions = "
            f"{vocabulary * width:,} weights; rnnmem loads models of at most {MAX_WEIGHTS:,} weights "
            f"({MAX_WEIGHTS * 4 / 2**30:.0f} GiB). Check vocab_size and the hidden size in config.json against the "
            "saved weights; nothing was allocated.")


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
