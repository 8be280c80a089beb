"""SequenceModel = embedding + recurrent unit + linear readout.

``forward(tokens)`` returns the readout o_t = W h_t + b after every prefix, [B, T, K]:
the raw material of the Semantic Euclidean Space. Any ``nn.Module`` with that
``forward`` can be assessed; this class is the one rnnmem trains.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
from torch import nn

from rnnmem.errors import ConfigError, DataError, ModelProtocolError
from rnnmem.fileio import json_safe, open_bounded, read_bounded, write_atomically
from rnnmem.units import build_unit
from rnnmem.validation import check_model_size, check_seed

MAX_META_BYTES = 64 * 2**20  # model.json: the config, a vocabulary (20,000 words is ~0.3 MB) and label names
# model.pt may exceed the exact size of its tensors by the zip's headers, padding and pickled structure
WEIGHTS_SLACK_BYTES = 4 * 2**20
# model.json's optional "training" record: each field's JSON type (None = unknown is allowed for every field)
TRAINING_RECORD_FIELDS = {
    "train_max_len": int, "test_accuracy": float, "test_size": int, "majority_baseline": float, "bag_of_words_baseline": float,
    "competence": str, "best_epoch": int, "epochs_run": int, "epochs_on_pieces": int,
    "stopped": str, "settings": dict,
    "data_fingerprint": str, "versions": dict, "curves": dict,
}
# the per-epoch curves a training record keeps (numbers, or null for a NaN), and the stage of each epoch
TRAINING_CURVES = ("loss", "validation_loss", "train_accuracy", "validation_accuracy")


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
    def __init__(self, config: ModelConfig, init_seed: int = 0):
        super().__init__()
        self.config = config
        # the seed its weights were drawn from: the untrained floor is this configuration at that seed
        self.init_seed = init_seed
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

    def readout_from(self, tokens: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        """Readouts [B, L, K] after the steps ``tokens`` [B, L] taken from ``state`` [B, S] (as given by states_before)."""
        run_tokens_from = getattr(self.unit, "run_tokens_from", None)
        if run_tokens_from is not None:
            return self.readout(run_tokens_from(tokens, self.embed, state))
        return self.readout(self.unit.run_from(self.embed(tokens), state))

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
    check_model_size(hidden_size, embedding_dim, vocab_size, num_classes)
    check_seed(seed)
    if not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:  # also refuses NaN
        raise ConfigError(f"dropout must be a share in [0, 1), got {dropout!r}; 0.2 to 0.5 is usual.")
    if not 0 <= pad_id < vocab_size:
        raise ConfigError(f"pad_id {pad_id} is outside the vocabulary 0..{vocab_size - 1}.")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return SequenceModel(ModelConfig(unit, vocab_size, num_classes, hidden_size, embedding_dim, pad_id,
                                         float(dropout)), seed)


def save_model(model: SequenceModel, directory: str | Path, vocabulary: dict | None = None,
               label_names: list[str] | None = None, training: dict | None = None) -> Path:
    """Write ``model.pt`` (a plain state dict) and ``model.json`` (config, vocabulary, labels, training record).

    ``training`` is the record of how the model was trained (`TRAINING_RECORD_FIELDS`: held-out
    accuracy, baselines, settings, data fingerprint, library versions), read back by `load_model`
    so that a re-assessment reports it.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    weights = io.BytesIO()  # both files are renamed into place, so a crash never leaves half a checkpoint
    torch.save(model.state_dict(), weights)
    write_atomically(directory / "model.pt", weights.getvalue())
    meta = {"config": asdict(model.config), "init_seed": model.init_seed, "vocabulary": vocabulary,
            "label_names": label_names, "training": training}
    write_atomically(directory / "model.json", json.dumps(json_safe(meta), allow_nan=False))
    return directory


def load_model(directory: str | Path) -> tuple[SequenceModel, dict]:
    """Read a model written by `save_model`; no code in the files is ever executed.

    Nothing is read without a bound: model.json must be a regular file of at most 64 MiB whose
    fields have the types `save_model` writes; model.pt must be a zip archive (torch.save's
    format) whose decompressed size, read from its central directory before anything is
    inflated, fits the tensors model.json describes; and what it holds must be a state dict
    of tensors.

    Returns the model, in eval mode (dropout off), and the metadata (config, vocabulary, label names and,
    when it was saved with one, the training record).
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
    meta = _read_meta(meta_path)
    try:
        model = build_model(**meta["config"], seed=meta.get("init_seed", 0))  # validated like any other sizes: a tampered file cannot exhaust memory
    except (ConfigError, TypeError) as exc:
        raise ModelProtocolError(f"{meta_path} is not a model description written by rnnmem ({exc}); "
                                 "re-save the model with rnnmem.save_model.") from None
    expected = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    state = _read_weights(weights_path, expected + WEIGHTS_SLACK_BYTES)
    _check_dtypes(weights_path, state, model.state_dict())
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise ModelProtocolError(
            f"{weights_path} does not match the configuration in model.json "
            f"({str(exc).splitlines()[0]}); the checkpoint was made for another unit, vocabulary or hidden size."
        ) from None
    if meta.get("training") is not None:  # as `train` attaches it: `assess` reads the verdict's numbers from it
        model.training_record = meta["training"]
    return model.eval(), meta


def _read_meta(meta_path: Path) -> dict:
    """model.json, bounded and checked field by field against what `save_model` writes."""
    def refuse(problem: str) -> ModelProtocolError:
        return ModelProtocolError(f"{meta_path} is not a model description written by rnnmem ({problem}); "
                                  "re-save the model with rnnmem.save_model.")

    try:
        raw = read_bounded(meta_path, MAX_META_BYTES, "model description", "re-save the model with rnnmem.save_model")
    except DataError as exc:
        raise ModelProtocolError(str(exc)) from None
    try:
        meta = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # not JSON, not UTF-8, or nested beyond reason
        raise refuse(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'unreadable'}") from None
    if not isinstance(meta, dict):
        raise refuse(f"it holds a JSON {type(meta).__name__}, not an object")
    config = meta.get("config")
    if not isinstance(config, dict):
        raise refuse("missing config" if config is None else f"config is a JSON {type(config).__name__}, not an object")
    types = {f.name: {"str": str, "float": (int, float)}.get(f.type, int) for f in fields(ModelConfig)}
    unknown = sorted(set(config) - set(types))
    if unknown:
        raise refuse(f"unknown config field(s) {', '.join(map(repr, unknown))}")
    for name, kind in types.items():
        value = config.get(name)
        if name not in config and name in ("unit", "vocab_size", "num_classes"):
            raise refuse(f"config.{name} is missing")
        if name in config and (isinstance(value, bool) or not isinstance(value, kind)):
            wanted = {str: "a string", int: "a whole number"}.get(kind, "a number")
            raise refuse(f"config.{name} must be {wanted}, got {value!r:.60}")
    seed = meta.get("init_seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise refuse(f"init_seed must be a whole number, got {seed!r:.60}")
    vocabulary = meta.get("vocabulary")
    if vocabulary is not None:
        tokens = vocabulary.get("tokens") if isinstance(vocabulary, dict) else None
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            raise refuse("vocabulary must be an object whose 'tokens' is a list of strings")
        if tokens[:2] != ["<pad>", "<unk>"] or len(set(tokens)) != len(tokens):
            raise refuse("the vocabulary must start with '<pad>', '<unk>' and list each token once")
        if len(tokens) > config["vocab_size"]:  # its ids would index past the embedding
            raise refuse(f"the vocabulary lists {len(tokens)} tokens but config.vocab_size is only "
                         f"{config['vocab_size']}")
    _check_training_record(meta.get("training"), refuse)
    labels = meta.get("label_names")
    if labels is not None:
        if not isinstance(labels, list) or not all(isinstance(name, str) for name in labels):
            raise refuse("label_names must be a list of strings")
        if len(labels) != config["num_classes"]:
            raise refuse(f"it names {len(labels)} labels but config.num_classes is {config['num_classes']}")
    return meta


def _check_training_record(record, refuse) -> None:
    """The optional training record: an object of known fields, each of its JSON type or null."""
    if record is None:  # model.json files saved before the record was kept
        return
    if not isinstance(record, dict):
        raise refuse(f"training must be an object, got a JSON {type(record).__name__}")
    unknown = sorted(set(record) - set(TRAINING_RECORD_FIELDS))
    if unknown:
        raise refuse(f"unknown training field(s) {', '.join(map(repr, unknown))}")
    for name, value in record.items():
        kind = TRAINING_RECORD_FIELDS[name]
        allowed = (int, float) if kind is float else kind
        if value is not None and (isinstance(value, bool) or not isinstance(value, allowed)):
            wanted = {int: "a whole number", float: "a number", str: "a string", dict: "an object"}[kind]
            raise refuse(f"training.{name} must be {wanted} or null, got {value!r:.60}")
    settings = record.get("settings") or {}
    if not all(value is None or isinstance(value, (str, int, float)) for value in settings.values()):
        raise refuse("training.settings must map names to plain values (text, numbers, true/false or null)")
    if not all(isinstance(value, str) for value in (record.get("versions") or {}).values()):
        raise refuse("training.versions must map library names to version strings")
    curves = record.get("curves") or {}
    columns = [curves.get(name) for name in TRAINING_CURVES]
    if curves and not (set(curves) == {*TRAINING_CURVES, "stage"} and all(isinstance(c, list) for c in columns)
                       and all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))
                               for c in columns for v in c)
                       and isinstance(curves["stage"], list) and all(isinstance(s, str) for s in curves["stage"])
                       and len({len(c) for c in [*columns, curves["stage"]]}) == 1):
        raise refuse(f"training.curves must hold {', '.join(TRAINING_CURVES)} (lists of numbers) and stage (a list "
                     "of text), one entry per epoch each")


def _read_weights(weights_path: Path, limit: int) -> dict:
    """model.pt as a state dict of tensors, its size checked (on disk and decompressed) before it is inflated."""
    fix = "save weights with model.state_dict() (rnnmem.save_model)"
    try:
        handle = open_bounded(weights_path, limit, "weights file", f"it is larger than the model in model.json; {fix}")
    except DataError as exc:
        raise ModelProtocolError(str(exc)) from None
    with handle:
        try:
            with zipfile.ZipFile(handle) as archive:  # reads the central directory only
                inflated = sum(entry.file_size for entry in archive.infolist())
        except (zipfile.BadZipFile, ValueError, EOFError, OSError):
            raise ModelProtocolError(f"{weights_path} is not a zip archive written by torch.save; {fix}.") from None
        if inflated > limit:
            raise ModelProtocolError(
                f"{weights_path} would decompress to {inflated:,} bytes, but the model in model.json has "
                f"{limit - WEIGHTS_SLACK_BYTES:,} bytes of weights; the file was not inflated. "
                f"{fix[0].upper()}{fix[1:]}.")
        handle.seek(0)
        state = _torch_load(weights_path, handle)
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        what = type(state).__name__ if not isinstance(state, dict) else "a dict with entries that are not tensors"
        raise ModelProtocolError(f"{weights_path} holds {what}, not a state dict of named tensors; {fix}.")
    return state


def _check_dtypes(weights_path: Path, state: dict, own: dict) -> None:
    """Refuse a tensor load_state_dict would cast into another kind of number.

    A real floating tensor may load into another real floating one (float64 weights into float32);
    anything else must be the model's own dtype: int8 or bool weights were cast to float32 in
    silence, and complex ones lost their imaginary part with only a torch warning.
    """
    for name, tensor in state.items():
        target = own.get(name)
        if target is None or tensor.dtype == target.dtype:
            continue  # a missing or extra name is load_state_dict's message
        if tensor.dtype.is_floating_point and target.dtype.is_floating_point:
            continue
        raise ModelProtocolError(
            f"{weights_path} holds {name} as {str(tensor.dtype).removeprefix('torch.')} but the model "
            f"model.json describes keeps it as {str(target.dtype).removeprefix('torch.')}; loading would cast it into other numbers. "
            "Save the weights of the model itself with rnnmem.save_model (model.state_dict(), not converted).")

def _torch_load(weights_path: Path, handle) -> object:
    try:
        return torch.load(handle, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle refuses anything but tensors and plain containers
        raise ModelProtocolError(
            f"{weights_path} could not be read as a plain state dict ({type(exc).__name__}); "
            "rnnmem never runs code from checkpoint files. Save weights with model.state_dict()."
        ) from None
