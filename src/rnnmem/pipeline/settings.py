"""Settings given in files and flags: the TOML that `rnnmem sweep --grid` ([grid]) and `rnnmem assess --config`
([assess]) read, and the comma-separated lists of flags such as ``--seeds 0,1,2`` (`list_option`).

Both files are read the same way (bounded size, TOML only, exactly one named table) and their
values are checked against the run settings (`RunConfig`) before any work starts. An
assess file looks like::

    [assess]
    unit = "gru"
    max_len = 64
    estimators = ["occlusion", "regression"]
    device = "cpu"
"""

from __future__ import annotations

import tomllib
from dataclasses import fields
from pathlib import Path

from rnnmem.errors import ConfigError, DataError
from rnnmem.fileio import read_bounded
from rnnmem.pipeline.config import RunConfig
from rnnmem.validation import did_you_mean

MAX_SETTINGS_BYTES = 2**20

# settings of `rnnmem assess` that are not run settings, with the type an [assess] file must give them
ASSESS_OPTIONS = {"task": str, "out": str, "checkpoint": str, "device": str, "quiet": bool}

ASSESS_EXAMPLE = """[assess]
unit = "gru"
max_len = 64
estimators = ["occlusion", "regression"]"""


def read_toml_table(path: str | Path, table: str, example: str, flag: str) -> dict:
    """The one ``[table]`` of the TOML file at ``path``; anything else is a ConfigError showing ``example``.

    ``flag`` names the option that took the path (e.g. ``--grid``), for the messages.
    """
    path = Path(path)
    what = f"{table} file"
    if path.suffix.lower() in (".yaml", ".yml"):
        raise ConfigError(f"{table} files are TOML, not YAML ({path.name}); write the same keys under one [{table}] "
                          f"table in a .toml file, e.g.\n{example}")
    if not path.exists():
        raise ConfigError(f"{what} {path} not found; pass {flag} the path of a .toml {what}.")
    try:
        raw = read_bounded(path, MAX_SETTINGS_BYTES, what, f"pass {flag} the path of a .toml {what}")
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise ConfigError(f"{path} is UTF-16 (it starts with the byte-order mark {raw[:2].hex(' ').upper()}); "
                              "TOML files are UTF-8: save it as UTF-8.")
        # a UTF-8 byte-order mark (Windows editors write one) is not TOML, but its meaning is plain: drop it
        document = tomllib.loads(raw.decode("utf-8-sig"))
    except DataError as exc:
        raise ConfigError(str(exc)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError) as exc:
        reason = "nested beyond reason" if isinstance(exc, RecursionError) else exc
        raise ConfigError(f"{path} is not valid TOML ({reason}); a {what} looks like\n{example}") from None
    extra = sorted(set(document) - {table})
    if table not in document or extra or not isinstance(document[table], dict):
        raise ConfigError(f"{path} must hold exactly one [{table}] table (found {', '.join(sorted(document)) or 'nothing'}); "
                          f"e.g.\n{example}")
    return document[table]


def load_assess_file(path: str | Path, options: dict[str, type]) -> dict:
    """The settings of an ``[assess]`` file: run settings (`RunConfig` fields) and the command's own ``options``.

    Parameters
    ----------
    path : str or Path
        A ``.toml`` file with one ``[assess]`` table (see the module docstring).
    options : dict[str, type]
        Settings of the command that are not run settings (e.g. ``device``), with their type.

    Returns
    -------
    dict
        Setting name -> value, each of the right type (``estimators`` as a tuple).
    """
    table = read_toml_table(path, "assess", ASSESS_EXAMPLE, "--config")
    valid = sorted({f.name for f in fields(RunConfig)} | set(options))
    for name, value in table.items():
        if name not in valid:
            raise ConfigError(f"unknown setting '{name}' in {path}.{did_you_mean(name, valid)} "
                              f"Valid settings: {', '.join(valid)}.")
        if name in options:
            if not is_a(value, options[name]):
                raise ConfigError(f"{name} must be {options[name].__name__}; got {value!r} in {path}.")
        else:
            check_type(name, value)
    if "estimators" in table:
        table["estimators"] = tuple(table["estimators"])
    return table


def assess_settings(values: dict, given: set[str], config_file: str | Path | None) -> dict:
    """Every setting of `rnnmem assess`: from the command line when ``given`` there, else from ``config_file``,
    else its default (``values`` holds the command line's values and defaults by name)."""
    settings = dict(values)
    if config_file is not None:
        settings.update({name: value for name, value in load_assess_file(config_file, ASSESS_OPTIONS).items()
                         if name not in given})
    return settings


def run_config(settings: dict) -> RunConfig:
    """The RunConfig of the run settings among ``settings`` (None: the default); estimators are split at commas."""
    names = {f.name for f in fields(RunConfig)}
    run = {name: value for name, value in settings.items() if name in names and value is not None}
    if "estimators" in run:
        run["estimators"] = tuple(part.strip() for entry in run["estimators"] for part in entry.split(",")
                                  if part.strip())
    return RunConfig.from_dict(run)


def check_type(name: str, value) -> None:
    """Fail before any training when a value cannot be the run setting ``name`` (e.g. lengths = ["16"])."""
    expected = type(getattr(RunConfig(), name))
    if expected in (int, float, str) and not is_a(value, expected):
        raise ConfigError(f"{name} must be {expected.__name__} values; got {value!r}.")
    if name == "estimators" and (not isinstance(value, (list, tuple)) or not all(isinstance(e, str) for e in value)):
        raise ConfigError(f"estimators must be a list of names like [\"occlusion\", \"regression\"]; got {value!r}.")
    if name == "bptt_window" and value is not None and not is_a(value, int):
        raise ConfigError(f"bptt_window must be int values; got {value!r}.")


def is_a(value, expected: type) -> bool:
    """isinstance, except that a bool is no number and an int is a float."""
    if isinstance(value, bool):
        return expected is bool
    if expected is float:
        return isinstance(value, (int, float))
    return isinstance(value, expected)


def list_option(text: str | None, kind: type, flag: str, example: str) -> list | None:
    """Parse a comma-separated option (None when it was not given)."""
    if text is None:
        return None
    try:
        return [kind(part.strip()) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(f"{flag} must be a comma-separated list like {example}; got {text!r}.") from None
