"""SequenceModel = embedding + recurrent unit + linear readout.

``forward(tokens)`` returns the readout o_t = W h_t + b after every prefix, [B, T, K]:
the raw material of the Semantic Euclidean Space. Any ``nn.Module`` with that
``forward`` can be assessed; this class is the one rnnmem trains.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from rnnmem.errors import ConfigError, ModelProtocolError
from rnnmem.fileio import write_atomically
from rnnmem.units import build_unit


MAX_WEIGHTS = 250_000_000  # 1 GiB of float32 weights; Adam keeps three copies more while training


@dataclass(frozen=True)
class ModelConfig:
    unit: str
    vocab_size: int
    num_classes: int
    hidden_size: int = 64
    embedding_dim: int = 64
    pad_id: int = 0
    dropout: float = 0.0  # on the unit's inputs and on its states before the readout; training only


class SequenceModel(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        # padding_idx keeps the neutral (pad) token's embedding at zero, so occluding a
        # token removes its input rather than substituting another word.
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_dim, padding_idx=config.pad_id)
        self.unit = build_unit(config.unit, config.embedding_dim, config.hidden_size)
        if not getattr(self.unit, "trains_inputs", True):
            self.embedding.weight.requires_grad_(False)
        self.readout = nn.Linear(config.hidden_size, config.num_classes)
        # identity in eval mode, so every measurement (assess, SES, replay) sees the whole model
        self.dropout = nn.Dropout(config.dropout)

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.embedding(tokens)

    def hidden_states(self, emb: torch.Tensor, bptt_window: int | None = None) -> torch.Tensor:
        """Hidden state after every step, [B, T, H].

        With ``bptt_window`` the sequence is processed in windows whose carried-over
        state is detached: gradients flow back at most that many steps (truncated BPTT).
        """
        if bptt_window is None or bptt_window >= emb.shape[1]:
            return self.unit(emb)[0]
        outputs, state = [], None
        for start in range(0, emb.shape[1], bptt_window):
            out, state = self.unit(emb[:, start : start + bptt_window], state)
            outputs.append(out)
            state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
        return torch.cat(outputs, dim=1)

    def forward_embedded(self, emb: torch.Tensor, bptt_window: int | None = None) -> torch.Tensor:
        return self.readout(self.dropout(self.hidden_states(self.dropout(emb), bptt_window)))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.forward_embedded(self.embed(tokens))

    def states_before(self, tokens: torch.Tensor) -> torch.Tensor:
        """The unit's full state entering every step, [B, T, S]: lets any suffix be replayed from it."""
        return self.unit.states_before(self.embed(tokens))

    def readout_from(self, emb: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        """Readouts [B, L, K] after the steps ``emb`` [B, L, E] taken from ``state`` [B, S] (as given by states_before)."""
        return self.readout(self.unit.run_from(emb, state))

    def initial_readout(self) -> torch.Tensor:
        """o_0 = W h_0 + b with h_0 = 0: the SES origin (the empty sequence), [K]."""
        return self.readout.bias.detach().clone()


def build_model(
    unit: str,
    vocab_size: int,
    num_classes: int,
    hidden_size: int = 64,
    embedding_dim: int = 64,
    pad_id: int = 0,
    seed: int = 0,
    dropout: float = 0.0,
) -> SequenceModel:
    """Build an embedding + ``unit`` + linear readout model (see `rnnmem units`).

    The weights are initialised from ``seed`` without touching the global RNG, so the
    same call always gives the same model. ``dropout`` (0 <= p < 1) zeroes that share of the
    unit's inputs and of its states before the readout while training; it is recorded in the config.
    """
    for name, value, low in (("vocab_size", vocab_size, 2), ("num_classes", num_classes, 1),
                             ("hidden_size", hidden_size, 1), ("embedding_dim", embedding_dim, 1)):
        if not isinstance(value, int) or value < low:
            raise ConfigError(f"{name} must be an integer >= {low}, got {value!r}.")
    # checked before anything is allocated: an absurd size is a clear error, not an out-of-memory crash
    weights = vocab_size * embedding_dim + 4 * hidden_size * (hidden_size + embedding_dim + 2) + hidden_size * num_classes
    if weights > MAX_WEIGHTS:
        raise ConfigError(
            f"hidden_size={hidden_size}, embedding_dim={embedding_dim} and vocab_size={vocab_size} make a model of up to "
            f"{weights:,} weights ({weights * 4 / 2**30:,.1f} GiB); rnnmem builds models of at most {MAX_WEIGHTS:,} "
            f"weights ({MAX_WEIGHTS * 4 / 2**30:.0f} GiB). Use a smaller hidden size, embedding or vocabulary.")
    if not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:  # also refuses NaN
        raise ConfigError(f"dropout must be a share in [0, 1), got {dropout!r}; 0.2 to 0.5 is usual.")
    if not 0 <= pad_id < vocab_size:
        raise ConfigError(f"pad_id {pad_id} is outside the vocabulary 0..{vocab_size - 1}.")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return SequenceModel(ModelConfig(unit, vocab_size, num_classes, hidden_size, embedding_dim, pad_id,
                                          float(dropout)))


def save_model(model: SequenceModel, directory: str | Path, vocabulary: dict | None = None,
               label_names: list[str] | None = None) -> Path:
    """Write ``model.pt`` (a plain state dict) and ``model.json`` (config, vocabulary, labels)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    import io


    weights = io.BytesIO()  # both files are renamed into place, so a crash never leaves half a checkpoint
    torch.save(model.state_dict(), weights)
    write_atomically(directory / "model.pt", weights.getvalue())
    meta = {"config": asdict(model.config), "vocabulary": vocabulary, "label_names": label_names}
    write_atomically(directory / "model.json", json.dumps(meta))
    return directory


def load_model(directory: str | Path) -> tuple[SequenceModel, dict]:
    """Read a model written by `save_model`; no code in the files is ever executed.

    Returns the model, in eval mode (dropout off), and the metadata (config, vocabulary, label names).
    """
    directory = Path(directory)
    if directory.is_file():
        directory = directory.parent
    meta_path, weights_path = directory / "model.json", directory / "model.pt"
    if not meta_path.exists() or not weights_path.exists():
        raise ModelProtocolError(
            f"{directory} is not a saved rnnmem model: it needs model.json and model.pt "
            "(written by `rnnmem assess --out` or rnnmem.save_model)."
        )
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        model = build_model(**meta["config"])  # validated like any other sizes: a tampered file cannot exhaust memory
    except (ValueError, TypeError, KeyError) as exc:  # not JSON, not UTF-8, other fields, or a ConfigError
        raise ModelProtocolError(
            f"{meta_path} is not a model description written by rnnmem ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else 'missing config'}); re-save the model with rnnmem.save_model."
        ) from None
    try:
        state = torch.load(weights_path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle refuses anything but tensors and plain containers
        raise ModelProtocolError(
            f"{weights_path} could not be read as a plain state dict ({type(exc).__name__}); "
            "rnnmem never runs code from checkpoint files. Save weights with model.state_dict()."
        ) from None
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise ModelProtocolError(
            f"{weights_path} does not match the configuration in model.json "
            f"({str(exc).splitlines()[0]}); the checkpoint was made for another unit, vocabulary or hidden size."
        ) from None
    return model.eval(), meta
