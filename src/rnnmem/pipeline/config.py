"""The settings of one run (train then assess): one dataclass whose field defaults are the defaults everywhere.

The CLI's `assess` options, the [assess] and [grid] TOML files and the sweep's cells all read
`RunConfig`'s defaults; nothing else writes them down. The library API's `rnnmem.train` keeps
defaults of its own (see its docstring). This module loads no heavy library: the CLI reads it
to show its help.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import MISSING, asdict, dataclass, field, fields, replace

from rnnmem.errors import ConfigError
from rnnmem.validation import MAX_RESAMPLES, check_int, check_tau

# RunConfig fields added after stores were written (see RunConfig.to_json)
ADDED_LATER = ("tau",)


def every_estimator() -> tuple[str, ...]:
    """The default estimators: every one in the registry (read when a RunConfig is made, so importing this is cheap)."""
    from rnnmem.indicators.estimators import default_estimators

    return default_estimators()


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines a run's numbers (two equal configs give equal results)."""

    unit: str = "lstm"
    max_len: int = 128
    seed: int = 0
    corpus: str = "tweets-docs"
    doc_tokens: int = 128
    text_column: str = "text"
    label_column: str = "label"
    hidden_size: int = 64
    embedding_dim: int = 64
    epochs: int = 12  # a budget: validation picks the epoch kept
    batch_size: int = 64
    lr: float = 3e-3
    dropout: float = 0.0
    piece_epochs: int = 2  # curriculum epochs on the labelled pieces of tweets-docs
    keep: str = "first"
    bptt_window: int | None = None
    max_distance: int = 100
    estimators: tuple[str, ...] = field(default_factory=every_estimator)
    max_sequences: int = 256
    n_resamples: int = 1000
    tau: float = 0.1  # retention threshold of the recommended training length, ML(tau)

    @property
    def key(self) -> str:
        """Stable identity of the run (a sweep's cell): a hash of its canonical JSON."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]

    def to_json(self) -> str:
        """Canonical JSON; a setting added since stores were first written is left out while it holds its default,
        so every cell stored before it keeps its key (and is not run again)."""
        values = asdict(self)
        for name in ADDED_LATER:
            if values[name] == default(name):
                del values[name]
        return json.dumps(values, sort_keys=True)

    def check(self) -> RunConfig:
        """Refuse, before any loading or training, the choices that would otherwise fail only after them."""
        from rnnmem.assessment import check_estimators
        from rnnmem.data.registry import corpus_loader
        from rnnmem.units import check_unit_name

        check_unit_name(self.unit)
        corpus_loader(self.corpus)
        check_estimators(self.estimators)
        check_tau(self.tau)
        check_int("n_resamples", self.n_resamples, low=1, high=MAX_RESAMPLES)
        return self

    @classmethod
    def from_dict(cls, values: dict) -> RunConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown run setting(s) {', '.join(unknown)}; valid settings: {', '.join(sorted(known))}.")
        if "estimators" in values:
            values = dict(values, estimators=tuple(values["estimators"]))
        return replace(cls(), **values)


def default(name: str):
    """The default of the setting ``name`` as `RunConfig` writes it (not for ``estimators``: every registered one)."""
    value = RunConfig.__dataclass_fields__[name].default
    if value is MISSING:
        raise ValueError(f"the default of {name} is computed when a RunConfig is made; make one to read it")
    return value


def corpus_options(config: RunConfig) -> dict:
    """The options `load_corpus` is given for the config's corpus."""
    options = {"seed": config.seed}
    if config.corpus == "tweets-docs":
        options["doc_tokens"] = config.doc_tokens
    if config.corpus.endswith((".csv", ".jsonl")):
        options.update(text_column=config.text_column, label_column=config.label_column)
    return options


# Test texts are assessed up to this many times the longer of the training length and the
# measured distances: memory beyond the training length stays visible, while a file of
# 100,000-token texts cannot turn a 16-token study into minutes and gigabytes.
ASSESS_LENGTH_FACTOR = 2


def assessed_length(config: RunConfig) -> int:
    """Tokens of each test text that are assessed: 2 x max(max_len, max_distance + 1)."""
    return ASSESS_LENGTH_FACTOR * max(config.max_len, config.max_distance + 1)
