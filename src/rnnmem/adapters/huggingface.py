"""Hugging Face-style models from a local directory (optional: ``pip install 'rnnmem[hf]'``).

Nothing is downloaded: the model (and its tokenizer, when the directory has one) is read with
``local_files_only=True``, so a directory written by ``save_pretrained`` works offline.
"""

from __future__ import annotations

import importlib
import inspect
import pickle
from pathlib import Path

import torch
from torch import nn

from rnnmem.adapters.outputs import OutputAdapter, offered_if, pick
from rnnmem.errors import ModelProtocolError, RnnmemError
from rnnmem.units.prefix import KeyValuePrefixes, PrefixCache
from rnnmem.validation import MAX_WEIGHTS, check_choice, check_seed

# which transformers class reads the directory: a readout after every token needs a causal LM head
# or a per-token classifier (the causality check refuses a bidirectional encoder)
AUTO_CLASSES = {"causal-lm": "AutoModelForCausalLM", "token-classification": "AutoModelForTokenClassification"}
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.json", "vocab.txt", "spiece.model")
# readout_from continues at most this many cached keys and values (all layers) at once: 256 MiB in float32, and the
# model's own concatenation with the suffix's keys copies them once more
CACHED_NUMBERS_PER_PART = 2**26


class HuggingFaceAdapter(OutputAdapter):
    """A transformers model read as an rnnmem model: readout = its logits after every token.

    The embedding route (``inputs_embeds``) gives the gradient estimator, and the last layer's
    hidden states give the probes h_T. ``tokenizer`` is the directory's tokenizer (or None):
    ``rnnmem.encode_texts(texts, adapter.tokenizer, max_len=adapter.max_positions)``.

    A causal language model whose every layer caches the keys and values of every position (full attention:
    no sliding window, no recurrent state) also offers ``states_before`` and ``readout_from``, so occlusion and
    the replacement reference continue each variant from the cached prefix before its replaced token instead
    of rerunning the sequence (about D^2 / 2 suffix token-steps per sequence instead of D * T). Like the other
    optional parts of the protocol they are present only where the model can serve them (`offered_if`), so one
    adapter class reads every head and `replaced_runs` picks the route by hasattr().
    """

    def __init__(self, model: nn.Module, tokenizer=None):
        super().__init__(model, "logits", embedding=model.get_input_embeddings(), embeds_keyword="inputs_embeds",
                         hidden="hidden_states")
        self.tokenizer = tokenizer
        self.max_positions = getattr(model.config, "max_position_embeddings", None)
        self.cache_keyword = _key_value_cache_keyword(model)
        model.config.use_cache = False  # the forward keeps no cache (it would only hold memory); states_before asks

    def run(self, tokens: torch.Tensor | None = None, emb: torch.Tensor | None = None, hidden: bool = False,
            **context):
        """The model's output on tokens or embeddings; ``context`` passes a cache, its mask and positions through."""
        width = (tokens if emb is None else emb).shape[1]
        if self.max_positions is not None and width > self.max_positions:
            raise ModelProtocolError(
                f"the model reads at most {self.max_positions} tokens (its max_position_embeddings) but was given "
                f"sequences of {width}; pass max_len={self.max_positions} to assess (or to encode_texts).")
        inputs = {"input_ids": tokens} if emb is None else {"inputs_embeds": emb}
        return self.model(**inputs, **context, output_hidden_states=hidden, return_dict=True)

    @offered_if(lambda self: self.cache_keyword is not None)
    @torch.no_grad()
    def states_before(self, tokens: torch.Tensor) -> KeyValuePrefixes:
        """tokens [B, T] -> `KeyValuePrefixes` [B, T]: the prefix before step t is the cache of positions < t."""
        cache = pick(self.run(tokens, use_cache=True), self.cache_keyword, "key/value cache")
        # the model lays its keys out [B, heads, T, head size]; a prefix is picked by (row, step), so time goes second
        return KeyValuePrefixes(tuple((layer.keys.transpose(1, 2), layer.values.transpose(1, 2))
                                      for layer in cache.layers))

    @offered_if(lambda self: self.cache_keyword is not None)
    @torch.no_grad()
    def readout_from(self, tokens: torch.Tensor, state: PrefixCache) -> torch.Tensor:
        """(suffix tokens [n, L], `PrefixCache` of n variants) -> the logits of the suffix steps, [n, L, V]."""
        numbers_per_position = 2 * sum(keys[0, 0].numel() for keys, _ in state.layers)
        longest = int(state.lengths.max()) + tokens.shape[1]
        size = max(1, CACHED_NUMBERS_PER_PART // (numbers_per_position * longest))
        return torch.cat([self._continued(tokens[start : start + size], *state.part(slice(start, start + size)))
                          for start in range(0, len(state), size)])

    def _continued(self, tokens: torch.Tensor, layers: list[tuple[torch.Tensor, torch.Tensor]],
                   lengths: torch.Tensor) -> torch.Tensor:
        """The logits of the steps ``tokens`` [m, L], each variant after the first ``lengths`` positions of ``layers``."""
        from transformers import DynamicCache

        cache = DynamicCache()
        for index, (keys, values) in enumerate(layers):
            cache.update(keys.transpose(1, 2), values.transpose(1, 2), index)
        steps, width = tokens.shape[1], layers[0][0].shape[1]
        # the gathered prefixes are as wide as the longest: a shorter one's later positions are its row's own
        # continuation and must not be attended to
        prefix = torch.arange(width, device=tokens.device) < lengths[:, None]
        attention_mask = torch.cat([prefix, prefix.new_ones(len(tokens), steps)], dim=1).long()
        positions = lengths[:, None] + torch.arange(steps, device=tokens.device)
        if self.max_positions is not None:
            # steps past a variant's own end only pad the batch (nothing reads them), but their positions must exist
            positions = positions.clamp(max=self.max_positions - 1)
        out = self.run(tokens, attention_mask=attention_mask, position_ids=positions, use_cache=True,
                       **{self.cache_keyword: cache})
        return pick(out, self.readout, "readout")

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


def _key_value_cache_keyword(model: nn.Module) -> str | None:
    """The keyword by which ``model`` takes a key/value cache of every position, or None when it keeps no such cache.

    Only a model that generates keeps a cache, and only full-attention layers keep every position: a sliding
    window drops the oldest keys and a linear-attention or state-space layer keeps a state, not a key per position.
    Newer transformers call the keyword ``cache``, older ones ``past_key_values``; one too old to tell its
    cache's layer types (no ``DynamicCache(config=...)``) gets no cache route.
    """
    parameters = inspect.signature(model.forward).parameters
    keyword = next((name for name in ("cache", "past_key_values") if name in parameters), None)
    if keyword is None or not model.can_generate():
        return None
    try:
        from transformers.cache_utils import DynamicCache, DynamicLayer

        layers = DynamicCache(config=model.config).layers
    except (ImportError, TypeError):
        return None
    return keyword if all(type(layer) is DynamicLayer for layer in layers) else None


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
