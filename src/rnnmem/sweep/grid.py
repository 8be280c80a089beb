"""Study grids: fixed settings plus axes (unit x training length x seed, or any cell setting).

A grid file is TOML with one ``[grid]`` table; its list values are axes and everything
else is a fixed setting::

    [grid]
    units = ["srn", "lstm"]
    lengths = [16, 32]
    seeds = [0, 1]
    corpus = "tweets-docs"
    epochs = 3
"""

from __future__ import annotations

import itertools
import math
from dataclasses import fields
from pathlib import Path

from rnnmem.errors import ConfigError
from rnnmem.pipeline.config import RunConfig
from rnnmem.pipeline.settings import check_type, read_toml_table
from rnnmem.validation import did_you_mean

MAX_GRID_CELLS = 10_000  # checked before expanding: 300,000 cells took 190 s to expand before any message

# the command line and grid files name the three usual axes in the plural
AXIS_ALIASES = {"units": "unit", "lengths": "max_len", "seeds": "seed"}

EXAMPLE_TOML = """[grid]
units = ["srn", "lstm"]
lengths = [16, 32]
seeds = [0, 1]
corpus = "tweets-docs"
epochs = 3"""


def field_name(name: str) -> str:
    """The RunConfig field a grid key sets (``units`` -> ``unit``); unknown names pass through."""
    return AXIS_ALIASES.get(name, name)


def expand_grid(base: dict, axes: dict[str, list]) -> list[RunConfig]:
    """Every combination of the axes' values on top of the fixed settings.

    Parameters
    ----------
    base : dict
        Fixed cell settings (RunConfig field names, or the plural axis names).
    axes : dict[str, list]
        Setting name -> the values to sweep. The first axis varies slowest.

    Returns
    -------
    list[RunConfig]
        One config per combination, in ``itertools.product`` order of ``axes``.
    """
    base = _normalise(base)
    axes = _normalise(axes)
    clash = sorted(set(base) & set(axes))
    if clash:
        raise ConfigError(f"{', '.join(clash)} given both as a fixed setting and as an axis; keep only one.")
    for name, values in axes.items():
        if not isinstance(values, (list, tuple)) or not values:
            raise ConfigError(f"axis {name} needs a non-empty list of values.")
    cells = math.prod(len(values) for values in axes.values())
    if cells > MAX_GRID_CELLS:
        sizes = " x ".join(f"{len(values):,} {name}" for name, values in axes.items())
        raise ConfigError(f"the grid has {sizes} = {cells:,} cells; a sweep takes at most {MAX_GRID_CELLS:,} (each "
                          "cell trains a model). Sweep fewer values, or split the study into several sweeps of at "
                          "most that many cells into the same --store (each skips the cells already done).")
    for name, value in base.items():
        check_type(name, value)
    for name, values in axes.items():
        for value in values:
            check_type(name, value)
    names = list(axes)
    return [RunConfig.from_dict({**base, **dict(zip(names, combo))}).check()
            for combo in itertools.product(*(axes[n] for n in names))]


def load_grid_file(path: str | Path) -> tuple[dict, dict]:
    """Read a TOML grid file into (fixed settings, axes).

    Parameters
    ----------
    path : str or Path
        A ``.toml`` file with a ``[grid]`` table (see the module docstring).

    Returns
    -------
    tuple[dict, dict]
        ``(base, axes)`` ready for :func:`expand_grid`.
    """
    table = _normalise(read_toml_table(path, "grid", EXAMPLE_TOML, "--grid"))
    # estimators is itself a list setting: a flat list of names is fixed, a list of lists is an axis
    axes = {k: v for k, v in table.items()
            if isinstance(v, list) and (k != "estimators" or all(isinstance(e, list) for e in v))}
    base = {k: v for k, v in table.items() if k not in axes}
    return base, axes


def _normalise(settings: dict) -> dict:
    """Map plural aliases to field names; reject unknown names and a setting given under both spellings."""
    known = {f.name for f in fields(RunConfig)}
    unknown = sorted(k for k in settings if field_name(k) not in known)
    if unknown:
        valid = sorted(known | set(AXIS_ALIASES))
        raise ConfigError(f"unknown grid setting(s) {', '.join(unknown)}.{did_you_mean(unknown[0], valid)} "
                          f"The valid settings: {', '.join(valid)}.")
    out = {}
    for key, value in settings.items():
        name = field_name(key)
        if name in out:
            raise ConfigError(f"{name} is given twice (as {name} and as its alias); keep one.")
        out[name] = value
    return out
