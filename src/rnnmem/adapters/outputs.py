"""Adapters that give a model rnnmem's protocol: ``forward(tokens)`` -> the readout after every prefix, [B, T, K].

`assess` reads a model through a few methods: ``forward(tokens)`` is required; ``embed(tokens)``
with ``forward_embedded(emb)`` lets the gradient estimator run; ``embed`` with ``hidden_states(emb)``
lets the probes read the hidden state h_T; ``initial_readout()`` gives the SES origin o_0.
`OutputAdapter` wraps a model that returns a dict, an output object (Hugging Face's ``ModelOutput``)
or a tuple; `PrefixAdapter` wraps a model that gives only the readout after the last token.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import torch
from torch import nn

from rnnmem.errors import ConfigError, ModelProtocolError


def offered_if(available):
    """A method the model has only where ``available(self)`` holds: elsewhere hasattr() is False.

    rnnmem asks a model what it offers with hasattr (`assess` skips what cannot be run and says so;
    `replaced_runs` picks its route), so an adapter's optional protocol members are properties that raise
    AttributeError where the wrapped model cannot serve them.
    """
    def offered(method):
        def member(self):
            if not available(self):
                raise AttributeError(method.__name__)
            return method.__get__(self, type(self))
        return property(member, doc=method.__doc__)
    return offered


def describe_output(output) -> str:
    """What a model returned, in words: its type and its keys, fields or items."""
    if isinstance(output, torch.Tensor):
        return f"a tensor of shape {tuple(output.shape)}"
    if isinstance(output, Mapping):
        return f"a {type(output).__name__} with keys {', '.join(map(repr, output)) or '(none)'}"
    if isinstance(output, (tuple, list)):
        return f"a {type(output).__name__} of {len(output)} items"
    return f"an object of type {type(output).__name__}"


def adapter_hint(output) -> str | None:
    """The fix for a model whose forward returned ``output``, a container of tensors; None for anything else."""
    if isinstance(output, (tuple, list)):
        how = "rnnmem.OutputAdapter(model, readout=0) takes its first item"
    elif isinstance(output, Mapping) or hasattr(output, "logits"):
        key = "logits" if not isinstance(output, Mapping) or "logits" in output or not output else next(iter(output))
        how = f"rnnmem.OutputAdapter(model, readout={key!r}) reads that field"
    else:
        return None
    return (f"model(tokens) returned {describe_output(output)}, not a tensor of readouts [B, T, K]; wrap the model: "
            f"{how}. A Hugging Face model saved in a directory: rnnmem.load_huggingface(path).")


def pick(output, field: str | int | None, what: str):
    """``output[field]`` (a mapping or a tuple) or ``output.field`` (an object); ``output`` itself for None."""
    if field is None:
        return output
    if isinstance(field, int) and isinstance(output, (tuple, list)) and -len(output) <= field < len(output):
        return output[field]
    if isinstance(field, str):
        if isinstance(output, Mapping) and field in output:
            return output[field]
        if not isinstance(output, (Mapping, torch.Tensor)) and hasattr(output, field):
            return getattr(output, field)
    raise ModelProtocolError(f"the model's output has no {what} {field!r}: it returned {describe_output(output)}. "
                             f"Name the field that holds the {what} (e.g. OutputAdapter(model, readout='logits')).")


def _checked_field(field, name: str) -> None:
    if field is not None and (isinstance(field, bool) or not isinstance(field, (str, int))):
        raise ConfigError(f"{name} must be the key, attribute name or tuple index of a field of the model's "
                          f"output (e.g. 'logits' or 0), got {field!r}.")


class _Wrapper(nn.Module):
    """A wrapped model (registered, so eval(), parameters() and .to() reach it) and its optional o_0."""

    def __init__(self, model: nn.Module):
        super().__init__()
        if not isinstance(model, nn.Module):
            raise ConfigError(f"the model to wrap must be a torch.nn.Module, got {type(model).__name__}.")
        self.model = model

    @offered_if(lambda self: hasattr(self.model, "initial_readout"))
    def initial_readout(self) -> torch.Tensor:
        """The wrapped model's ``initial_readout`` (o_0), when it has one."""
        return self.model.initial_readout()


class OutputAdapter(_Wrapper):
    """Read the readout after every prefix out of a model that returns a dict, an output object or a tuple.

    Parameters
    ----------
    model : nn.Module
        ``model(tokens)`` returns a mapping (a dict, a Hugging Face ``ModelOutput``), an object
        with the readout as an attribute, or a tuple; the readout in it is [B, T, K].
    readout : str or int
        Key, attribute name or tuple index of the readout (default ``"logits"``).
    embedding : nn.Module, optional
        The model's input embedding, tokens [B, T] -> [B, T, E]. With ``embeds_keyword`` the
        adapter offers ``embed`` and ``forward_embedded``, so the gradient estimator runs.
    embeds_keyword : str, optional
        The keyword by which ``model`` takes embeddings instead of tokens (Hugging Face: ``"inputs_embeds"``).
    hidden : str or int, optional
        Key of the hidden states [B, T, H] in the output (a tuple of layers: the last one is read).
        With ``embedding`` and ``embeds_keyword`` the probes read h_T from it instead of o_T.
    """

    def __init__(self, model: nn.Module, readout: str | int = "logits", *, embedding: nn.Module | None = None,
                 embeds_keyword: str | None = None, hidden: str | int | None = None):
        super().__init__(model)
        _checked_field(readout, "readout")
        _checked_field(hidden, "hidden")
        if readout is None:
            raise ConfigError("readout must name the field of the model's output that holds the readout, e.g. 'logits'.")
        if (embedding is None) != (embeds_keyword is None):
            raise ConfigError("embedding and embeds_keyword go together: the adapter embeds tokens with the one and "
                              "hands the embeddings to the model by the other (e.g. embeds_keyword='inputs_embeds').")
        if embedding is not None and not callable(embedding):
            raise ConfigError(f"embedding must map tokens [B, T] to embeddings [B, T, E], got {type(embedding).__name__}.")
        self.readout, self.hidden, self.embeds_keyword = readout, hidden, embeds_keyword
        self.embedding = embedding

    def run(self, tokens: torch.Tensor | None = None, emb: torch.Tensor | None = None, hidden: bool = False):
        """The wrapped model's raw output on tokens or on embeddings; ``hidden`` asks for hidden states too."""
        return self.model(tokens) if emb is None else self.model(**{self.embeds_keyword: emb})

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return pick(self.run(tokens), self.readout, "readout")

    @offered_if(lambda self: self.embeds_keyword is not None)
    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens [B, T] -> embeddings [B, T, E]; present with ``embedding`` and ``embeds_keyword``."""
        return self.embedding(tokens)

    @offered_if(lambda self: self.embeds_keyword is not None)
    def forward_embedded(self, emb: torch.Tensor) -> torch.Tensor:
        """embeddings -> readouts [B, T, K]; present with ``embedding`` and ``embeds_keyword``."""
        return pick(self.run(emb=emb), self.readout, "readout")

    @offered_if(lambda self: self.embeds_keyword is not None and self.hidden is not None)
    def hidden_states(self, emb: torch.Tensor) -> torch.Tensor:
        """embeddings -> hidden states [B, T, H]; present with ``hidden`` and the embedding route."""
        states = pick(self.run(emb=emb, hidden=True), self.hidden, "hidden states")
        if isinstance(states, (tuple, list)) and states:
            states = states[-1]  # one tensor per layer: the last layer's is the state the readout reads
        if not isinstance(states, torch.Tensor) or states.dim() != 3 or states.shape[:2] != emb.shape[:2]:
            got = tuple(states.shape) if isinstance(states, torch.Tensor) else type(states).__name__
            raise ModelProtocolError(f"the model's hidden states {self.hidden!r} must be a tensor [B, T, H] = "
                                     f"[{emb.shape[0]}, {emb.shape[1]}, H] (or a tuple of them, one per layer); "
                                     f"got {got}. Name another field, or leave hidden=None to probe the readout.")
        return states


class PrefixAdapter(_Wrapper):
    """Run a model that gives only the readout after the last token on every prefix.

    ``forward(tokens)`` with tokens [B, T] calls ``model(tokens[:, :t])`` for t = 1..T and stacks
    the readouts after each prefix, [B, T, K]. The cost is stated because it is large: T forward
    calls over T(T+1)/2 token steps per sequence instead of T, O(T^2); at T = 128 that is 64.5
    times the work of a model that returns the readout of every step, in every estimator.

    Parameters
    ----------
    model : nn.Module
        ``model(tokens)`` returns the readout after the last token, [B, K] (or a dict, output
        object or tuple holding it: name its field with ``readout``).
    readout : str or int, optional
        Key, attribute name or tuple index of the final readout in the model's output.
    """

    def __init__(self, model: nn.Module, readout: str | int | None = None):
        super().__init__(model)
        _checked_field(readout, "readout")
        self.readout = readout
        warnings.warn("PrefixAdapter runs the model once per prefix: T forward calls over T(T+1)/2 token steps for a "
                      "sequence of T tokens (O(T^2)), in every estimator; a model that returns the readout after "
                      "every step is T(T+1)/2 / T = (T+1)/2 times faster.", UserWarning, stacklevel=2)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        finals = [self._final(tokens[:, :t], tokens.shape[0]) for t in range(1, tokens.shape[1] + 1)]
        return torch.stack(finals, dim=1)

    def _final(self, prefix: torch.Tensor, batch: int) -> torch.Tensor:
        out = pick(self.model(prefix), self.readout, "readout")
        if not isinstance(out, torch.Tensor) or out.dim() != 2 or out.shape[0] != batch:
            hint = adapter_hint(out) if self.readout is None else None
            raise ModelProtocolError(
                f"PrefixAdapter needs the readout after the last token, a tensor [B, K] = [{batch}, K]; the model "
                f"returned {describe_output(out)}." + (" Name its field with PrefixAdapter(model, readout=...)."
                                                       if hint else ""))
        return out
