"""The package version, in a module of its own so that any layer can read it without importing the package."""

__version__ = "0.1.0"


def library_versions() -> dict[str, str]:
    """The versions a training record or report keeps: rnnmem, torch, numpy (imported here, on first use, so that
    `rnnmem --version` never loads them)."""
    import numpy
    import torch

    return {"rnnmem": __version__, "torch": torch.__version__, "numpy": numpy.__version__}
