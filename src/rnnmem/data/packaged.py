"""Data files that ship inside other installed distributions (the tweets, the VADER lexicon).

Only the file is read, located through the distribution's own file list: the package's
code is never imported, so a package whose module no longer imports still serves its data.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from rnnmem.errors import DataError


def packaged_file(distribution: str, relative: str, what: str) -> Path:
    """Path of ``relative`` inside the installed ``distribution``; ``what`` names the data in errors."""
    try:
        dist = metadata.distribution(distribution)
    except metadata.PackageNotFoundError as e:
        raise DataError(
            f"{what} ships with the '{distribution}' package, which is not installed; run `pip install {distribution}`."
        ) from e
    for file in dist.files or ():
        if str(file).replace("\\", "/") == relative:
            return Path(dist.locate_file(file))
    raise DataError(
        f"the installed {distribution} {dist.version} lacks {relative}; "
        f"reinstall it with `pip install --force-reinstall {distribution}`."
    )
