"""Reading a user's own labelled corpus from a .csv or .jsonl file."""

from __future__ import annotations

import io
import json
import math
import warnings
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pandas as pd

from rnnmem.data.corpus import Corpus, decode_tolerantly, split_indices
from rnnmem.data.text import normalisation_counts, tokenize
from rnnmem.errors import DataError, DataWarning
from rnnmem.fileio import read_bounded

SUPPORTED_SUFFIXES = (".csv", ".jsonl")
MAX_CORPUS_BYTES = 2**30  # read whole into memory, then parsed: a few times this in RAM
MANY_CLASSES = 10  # below this many classes, a small file is never warned about its label count


def read_corpus(
    path: str | Path,
    text_column: str = "text",
    label_column: str = "label",
    test_fraction: float = 0.2,
    seed: int = 0,
) -> Corpus:
    """Read a labelled corpus from a .csv or .jsonl file and split it.

    Parameters
    ----------
    path : str or Path
        A .csv file with a header row, or a .jsonl file with one JSON object per line.
    text_column, label_column : str
        Names of the text and label columns (or JSON keys).
    test_fraction : float
        Share of rows for the test split.
    seed : int
        Seed of the train/test split.

    Returns
    -------
    Corpus
        Named after the file stem; label names are the sorted distinct label values.
        Bytes that are not UTF-8 are replaced and counted in ``notes``, rows with no
        tokens or no label are dropped and counted.
    """
    path = Path(path)
    table, replaced = _read_table(path)
    for column in (text_column, label_column):
        if column not in table.columns:
            separator = next((sep for sep in (";", "\t", "|") if len(table.columns) == 1
                              and sep in str(table.columns[0])), None)
            hint = (f" The header looks separated by {separator!r}, not commas: save {path.name} comma-separated."
                    if separator else "")
            raise DataError(
                f"column {column!r} not found in {path.name}; columns are: "
                f"{', '.join(map(str, table.columns))}. Pass --text-column/--label-column.{hint}"
            )
    _check_json_types(path, table, text_column, label_column)
    texts = [_cell(v) for v in table[text_column]]
    labels = [_cell(v).strip() for v in table[label_column]]
    has_text = [bool(tokenize(t)) for t in texts]
    has_label = [bool(lab) for lab in labels]
    keep = [t and lab for t, lab in zip(has_text, has_label)]
    texts = [t for t, k in zip(texts, keep) if k]
    labels, merged = _merge_numeric_spellings([lab for lab, k in zip(labels, keep) if k])

    label_names = _sorted_labels(set(labels))
    _check_label_column(path, label_column, texts, labels, label_names)
    if not texts:
        raise DataError(
            f"no row of {path.name} has both a text with words in column {text_column!r} and a label in column "
            f"{label_column!r} ({has_text.count(False)} of {len(table)} texts are empty); check --text-column."
        )
    if len(label_names) < 2:
        found = label_names[0] if label_names else "none"
        raise DataError(
            f"{path.name} has only one distinct label ({found}) in column {label_column!r}; "
            "a classifier needs at least two classes. Check --label-column."
        )
    label_ids = {name: i for i, name in enumerate(label_names)}
    train, test = split_indices(len(texts), test_fraction, seed)
    notes = {
        "source": str(path),
        "rows": len(table),
        "replaced_characters": replaced,
        "empty_text_rows_dropped": has_text.count(False),
        "empty_label_rows_dropped": sum(t and not lab for t, lab in zip(has_text, has_label)),
        "test_fraction": test_fraction,
        "seed": seed,
        **normalisation_counts(texts),
    }
    if merged:
        notes["label_spellings_merged"] = merged
    warned = []
    if len(label_names) > max(MANY_CLASSES, len(texts) / 10):
        warned.append(_many_classes(path, label_column, len(label_names), len(texts)))
    by_case: dict[str, list[str]] = {}
    for name in label_names:
        by_case.setdefault(name.casefold(), []).append(name)
    alike = [names for names in by_case.values() if len(names) > 1]
    if alike:
        warned.append(f"labels {'; '.join(' and '.join(map(repr, names)) for names in alike)} in column "
                      f"{label_column!r} of {path.name} differ only in case and are kept as different classes; "
                      "make them the same if they mean the same class.")
    for warning in warned:
        warnings.warn(warning, DataWarning, stacklevel=2)
    if warned:
        notes["warning"] = " ".join(warned)
    return Corpus(
        name=path.stem,
        label_names=tuple(label_names),
        train_texts=[texts[i] for i in train],
        train_labels=[label_ids[labels[i]] for i in train],
        test_texts=[texts[i] for i in test],
        test_labels=[label_ids[labels[i]] for i in test],
        notes=notes,
    )


def _read_table(path: Path) -> tuple[pd.DataFrame, int]:
    """Read the file into a table of rows; return it and the replaced-character count."""
    if not path.exists():
        raise DataError(f"corpus file {str(path)!r} not found; check the path.")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DataError(
            f"{path.name} has an unsupported extension {suffix or '(none)'!r}; "
            f"supported are: {', '.join(SUPPORTED_SUFFIXES)}. Convert or rename the file."
        )
    raw = read_bounded(path, MAX_CORPUS_BYTES, "corpus file", "check the path and its permissions, or split the file")
    text, replaced = decode_tolerantly(raw)
    if not text.strip():
        raise DataError(f"{path.name} is empty; it needs a header and labelled rows.")
    table = _parse_csv(text, path) if suffix == ".csv" else _parse_jsonl(text, path)
    if table.empty:
        raise DataError(f"{path.name} has no data rows; add labelled rows below the header.")
    return table, replaced


def _parse_csv(text: str, path: Path) -> pd.DataFrame:
    # dtype=str and no NA parsing keep labels like "01" or "NA" exactly as written.
    try:
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise DataError(
            f"{path.name} is not valid CSV ({e}); save it as comma-separated with a header row."
        ) from e


def _parse_jsonl(text: str, path: Path) -> pd.DataFrame:
    rows, numbers = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as e:
            reason = e.msg if isinstance(e, json.JSONDecodeError) else "nested too deeply"
            raise DataError(
                f"{path.name} line {number} is not valid JSON ({reason}); "
                "write one JSON object per line."
            ) from None
        if not isinstance(row, dict):
            raise DataError(
                f"{path.name} line {number} is a JSON {type(row).__name__}, not an object; "
                'write one object per line, e.g. {"text": "...", "label": "..."}.'
            )
        rows.append(row)
        numbers.append(number)
    # dtype=object keeps integer labels as written even when some rows lack the key; the index is the
    # line number, for messages
    return pd.DataFrame(rows, index=numbers, dtype=object)


_JSON_TYPES = {dict: "object", list: "array", bool: "boolean", int: "number", float: "number", str: "string"}


def _json_type(value: object) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _check_json_types(path: Path, table: pd.DataFrame, text_column: str, label_column: str) -> None:
    """Refuse JSON values that str() would turn into a silently wrong text or class.

    A text must be a string (an object was trained on as its Python repr); a label a string, a
    number or a boolean, and booleans not mixed with other labels (true beside 1 made two classes).
    Missing keys (NaN) and null are dropped rows, as before; CSV cells are always strings.
    """
    def bad(column: str, allowed: tuple[type, ...]):
        return next(((line, value) for line, value in table[column].items()
                     if not (_is_missing(value) or isinstance(value, allowed))), None)

    found = bad(text_column, (str,))
    if found:
        line, value = found
        raise DataError(f"{path.name} line {line}: the text in {text_column!r} is a JSON {_json_type(value)}, "
                        f"not a string ({_shortened(value)}); write each text as one string, e.g. "
                        f'{{"{text_column}": "the words"}}.')
    found = bad(label_column, (str, int, float))
    if found:
        line, value = found
        raise DataError(f"{path.name} line {line}: the label in {label_column!r} is a JSON {_json_type(value)} "
                        f"({_shortened(value)}); a label is one string, number or boolean naming the class.")
    booleans = [line for line, value in table[label_column].items() if isinstance(value, bool)]
    others = [line for line, value in table[label_column].items()
              if not (_is_missing(value) or isinstance(value, bool))]
    if booleans and others:
        raise DataError(f"{path.name} mixes boolean labels (line {booleans[0]}: "
                        f"{json.dumps(table[label_column][booleans[0]])}) with others (line {others[0]}: "
                        f"{json.dumps(table[label_column][others[0]])}) in {label_column!r}; true is not 1 and "
                        "would be another class. Write every label of one class the same way.")


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _shortened(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:39] + "…"


def _cell(value: object) -> str:
    """Turn a table cell into text; a missing JSON key (NaN/None) becomes ''."""
    if _is_missing(value):
        return ""
    if isinstance(value, bool):  # spelt as in the JSON file
        return json.dumps(value)
    return str(value)


def _merge_numeric_spellings(labels: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """One class per number: "1", "1.0", "01" and "1e0" are the same label when they all occur.

    A number written one way only keeps its spelling (so "01" alone stays "01"); spellings
    of one number that occur together become its shortest form. Returns the labels and
    {merged name: spellings it replaced}.
    """
    spellings: dict[Decimal, set[str]] = {}
    for label in set(labels):
        value = _number(label)
        if value is not None:
            spellings.setdefault(value, set()).add(label)
    rename, merged = {}, {}
    for value, names in spellings.items():
        if len(names) > 1:
            canonical = str(int(value)) if value == value.to_integral_value() else str(value.normalize())
            merged[canonical] = sorted(names)
            rename.update({name: canonical for name in names})
    return [rename.get(label, label) for label in labels], merged


def _number(label: str) -> Decimal | None:
    """The exact value a label spells (Decimal: float equality merged 10000000000000000001 with ...000)."""
    try:
        if not math.isfinite(float(label)):  # also bounds the exponent, so int() of it stays small
            return None
        return Decimal(label.strip())
    except (ValueError, InvalidOperation):
        return None


def _check_label_column(path: Path, column: str, texts: list[str], labels: list[str], names: list[str]) -> None:
    """Refuse a label column that is the text itself or an ID (one class per row): no classifier can learn it."""
    same = sum(label == text.strip() for text, label in zip(texts, labels))
    if same >= 0.9 * len(texts) and len(names) > 2:
        raise DataError(f"the label column {column!r} of {path.name} repeats the text in {same} of {len(texts)} rows; "
                        "it is not a class label. Pass --label-column the column that holds the class.")
    if len(names) == len(texts) >= MANY_CLASSES:
        raise DataError(f"every one of the {len(texts)} rows of {path.name} has its own label in column {column!r} "
                        "(an ID column?); a classifier cannot learn classes seen once. Pass --label-column the "
                        "column that holds the class.")


def _many_classes(path: Path, column: str, classes: int, rows: int) -> str:
    return (f"{path.name} has {classes} distinct labels in column {column!r} for {rows} rows (more than a tenth); "
            "is it really the class column? Pass --label-column to choose another.")


def _sorted_labels(labels: set[str]) -> list[str]:
    """Sort label values, numerically when all are integers so "10" follows "9"."""
    if all(_is_int(label) for label in labels):
        return sorted(labels, key=int)
    return sorted(labels)


def _is_int(s: str) -> bool:
    try:
        int(s)
    except ValueError:
        return False
    return True
