"""Recurrent units behind one registry.

A unit maps embeddings [B, T, E] (batch first) to the hidden state after every step
[B, T, H], PyTorch style: ``outputs, final_state = unit(x, state)``. Passing the
returned ``final_state`` back in continues the sequence, which is what truncated BPTT
and chunked evaluation rely on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from torch import nn

from rnnmem.errors import ConfigError
from rnnmem.validation import did_you_mean
from rnnmem.units.delay import DelayUnit
from rnnmem.units.esn import ESNUnit
from rnnmem.units.fused import GRUUnit, LSTMUnit, SRNUnit
from rnnmem.units.indrnn import IndRNNUnit
from rnnmem.units.lru import LRUUnit
from rnnmem.units.mamba import MambaUnit
from rnnmem.units.mgu import MGUUnit
from rnnmem.units.mingru import MinGRUUnit
from rnnmem.units.transformer import TransformerUnit


@dataclass(frozen=True)
class UnitSpec:
    name: str
    description: str
    factory: Callable[..., nn.Module]
    # keyword settings of the factory a unit name may carry, each a whole number: "transformer:window=8"
    options: tuple[str, ...] = ()


def _spec(name: str, unit: type[nn.Module], options: tuple[str, ...] = ()) -> UnitSpec:
    """Register ``unit`` under ``name``; the first line of its docstring describes it."""
    return UnitSpec(name, unit.__doc__.strip().splitlines()[0], unit, options)


UNITS: dict[str, UnitSpec] = {
    spec.name: spec
    for spec in (
        _spec("srn", SRNUnit),
        _spec("lstm", LSTMUnit),
        _spec("gru", GRUUnit),
        _spec("mgu", MGUUnit),
        _spec("indrnn", IndRNNUnit),
        _spec("mingru", MinGRUUnit),
        _spec("lru", LRUUnit),
        _spec("mamba", MambaUnit),
        _spec("transformer", TransformerUnit, ("layers", "heads", "window")),
        _spec("esn", ESNUnit),
        _spec("delay", DelayUnit),
    )
}


def check_unit_name(name: str) -> str:
    """``name`` if a unit is registered under it (with settings it takes); otherwise the error, with the closest name."""
    unit_options(name)
    return name


def unit_options(name: str) -> tuple[UnitSpec, dict[str, int]]:
    """The unit a name refers to and the settings it carries: "transformer:layers=2,window=8"."""
    base, _, settings = name.partition(":")
    if base not in UNITS:
        raise ConfigError(
            f"unknown unit '{base}'.{did_you_mean(base, UNITS)} Valid units: {', '.join(UNITS)} (see `rnnmem units`)."
        )
    spec, options = UNITS[base], {}
    for setting in filter(None, settings.split(",")):
        key, _, value = setting.partition("=")
        if key not in spec.options or not (value.isascii() and value.isdigit()) or int(value) < 1:
            if not spec.options:
                raise ConfigError(f"unit '{name}': {base} takes no settings; write '{base}'.")
            raise ConfigError(f"unit '{name}': '{setting}' is not a setting of {base}, which takes "
                              f"{', '.join(f'{o}=N' for o in spec.options)} (N a whole number >= 1), "
                              f"e.g. '{base}:{spec.options[0]}=2'.")
        options[key] = int(value)
    return spec, options


def build_unit(name: str, input_size: int, hidden_size: int) -> nn.Module:
    """Instantiate the unit registered under ``name``."""
    spec, options = unit_options(name)
    if hidden_size < 1 or input_size < 1:
        raise ConfigError(
            f"hidden size and embedding size must be at least 1 (got {hidden_size} and {input_size})."
        )
    return spec.factory(input_size, hidden_size, **options)


__all__ = ["UNITS", "UnitSpec", "build_unit", "check_unit_name", "SRNUnit", "LSTMUnit", "GRUUnit", "MGUUnit",
           "IndRNNUnit", "MinGRUUnit", "LRUUnit", "MambaUnit", "TransformerUnit", "ESNUnit", "DelayUnit",
           "unit_options"]
