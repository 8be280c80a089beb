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


@dataclass(frozen=True)
class UnitSpec:
    name: str
    description: str
    factory: Callable[[int, int], nn.Module]


def _spec(name: str, unit: type[nn.Module]) -> UnitSpec:
    """Register ``unit`` under ``name``; the first line of its docstring describes it."""
    return UnitSpec(name, unit.__doc__.strip().splitlines()[0], unit)


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
        _spec("esn", ESNUnit),
        _spec("delay", DelayUnit),
    )
}


def check_unit_name(name: str) -> str:
    """``name`` if a unit is registered under it; otherwise the error, with the closest name."""
    if name not in UNITS:
        raise ConfigError(
            f"unknown unit '{name}'.{did_you_mean(name, UNITS)} Valid units: {', '.join(UNITS)} (see `rnnmem units`)."
        )
    return name


def build_unit(name: str, input_size: int, hidden_size: int) -> nn.Module:
    """Instantiate the unit registered under ``name``."""
    check_unit_name(name)
    if hidden_size < 1 or input_size < 1:
        raise ConfigError(
            f"hidden size and embedding size must be at least 1 (got {hidden_size} and {input_size})."
        )
    return UNITS[name].factory(input_size, hidden_size)


__all__ = ["UNITS", "UnitSpec", "build_unit", "check_unit_name", "SRNUnit", "LSTMUnit", "GRUUnit", "MGUUnit",
           "IndRNNUnit", "MinGRUUnit", "LRUUnit", "MambaUnit", "ESNUnit", "DelayUnit"]
