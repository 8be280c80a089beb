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
import tomllib
from dataclasses import fields
from pathlib import Path

from rnnmem.errors import ConfigError, DataError
from rnnmem.fileio import read_bounded
from rnnmem.sweep.cell import CellConfig

MAX_GRID_BYTES = 2**20

# the command line and grid files name the three usual axes in the plural
AXIS_ALIASES = {"units": "unit", "lengths": "max_len", "seeds": "seed"}

EXAMPLE_TOML = """[grid]
units = ["srn", "lstm"]
lengths = [16, 32]
seeds = [0, 1]
corpus = "tweets-docs"
epochs = 3"""


def field_name(name: str) -> str:
    """The CellConfig field a grid key sets (``units`` -> ``unit``); unknown names pass through."""
    return AXIS_ALIASES.get(name, name)


def expand_grid(base: dict, axes: dict[str, list]) -> list[CellConfig]:
    """Every combination of the axes' values on top of the fixed settings.

    Parameters
    ----------
    base : dict
        Fixed cell settings (CellConfig field names, or the plural axis names).
    axes : dict[str, list]
        Setting name -> the values to sweep. The first axis varies slowest.

    Returns
    -------
    list[CellConfig]
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
    for name, value in base.items():
        _check_type(name, value)
    for name, values in axes.items():
        for value in values:
            _check_type(name, value)
    names = list(axes)
    return [CellConfig.from_dict({**base, **dict(zip(names, combo))})
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
    path = Path(path)
    if path.suffix.lower() in (".yaml", ".yml"):
        raise ConfigError(f"grid files are TOML, not YAML ({path.name}); write the same keys under a [grid] "
                          f"table in a .toml file, e.g.\n{EXAMPLE_TOML}")
    if not path.exists():
        raise ConfigError(f"grid file {path} not found; pass --grid the path of a .toml grid file.")
    try:
        raw = read_bounded(path, MAX_GRID_BYTES, "grid file", "pass --grid the path of a .toml grid file")
        document = tomllib.loads(raw.decode("utf-8"))
    except DataError as exc:
        raise ConfigError(str(exc)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError) as exc:
        what = "nested beyond reason" if isinstance(exc, RecursionError) else exc
        raise ConfigError(f"{path} is not valid TOML ({what}); a grid file looks like\n{EXAMPLE_TOML}") from None
    extra = sorted(set(document) - {"grid"})
    if "grid" not in document or extra or not isinstance(document["grid"], dict):
        raise ConfigError(f"{path} must hold exactly one [grid] table (found {', '.join(sorted(document)) or 'nothing'}); "
                          f"e.g.\n{EXAMPLE_TOML}")
    table = _normalise(document["grid"])
    # estimators is itself a list setting: a flat list of names is fixed, a list of lists is an axis
    axes = {k: v for k, v in table.items()
            if isinstance(v, list) and (k != "estimators" or all(isinstance(e, list) for e in v))}
    base = {k: v for k, v in table.items() if k not in axes}
    return base, axes


def _normalise(settings: dict) -> dict:
    """Map plural aliases to field names; reject unknown names and a setting given under both spellings."""
    known = {f.name for f in fields(CellConfig)}
    unknown = sorted(k for k in settings if field_name(k) not in known)
    if unknown:
        valid = sorted(known | set(AXIS_ALIASES))
        raise ConfigError(f"unknown grid setting(s) {', '.join(unknown)}; valid settings: {', '.join(valid)}.")
    out = {}
    for key, value in settings.items():
        name = field_name(key)
        if name in out:
            raise ConfigError(f"{name} is given twice (as {name} and as its alias); keep one.")
        out[name] = value
    return out


def _check_type(name: str, value) -> None:
    """Fail before any training when a value cannot be the setting (e.g. lengths = ["16"])."""
    expected = type(getattr(CellConfig(), name))
    if expected in (int, float, str) and not _is_a(value, expected):
        raise ConfigError(f"{name} must be {expected.__name__} values; got {value!r}.")
    if name == "estimators" and (not isinstance(value, (list, tuple)) or not all(isinstance(e, str) for e in value)):
        raise ConfigError(f"estimators must be a list of names like [\"occlusion\", \"regression\"]; got {value!r}.")
    if name == "bptt_window" and value is not None and not _is_a(value, int):
        raise ConfigError(f"bptt_window must be int values; got {value!r}.")


def _is_a(value, expected: type) -> bool:
    if isinstance(value, bool):
        return False
    if expected is float:
        return isinstance(value, (int, float))
    return isinstance(value, expected)
