"""The ground floor for files: every module that writes (reports, plots, checkpoints, sweeps) goes through here.

Nothing in this module imports another part of rnnmem, so any layer may use it.
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path

import numpy as np


def json_safe(value):
    """JSON-safe copy: NumPy scalars to Python, NaN and infinities to None."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [json_safe(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def write_atomically(path: str | Path, text: str | bytes) -> Path:
    """Write via a temporary file and rename, so a crash never leaves half a file.

    The one writer of every file rnnmem produces (reports, JSON, plots, model weights):
    ``text`` is written as UTF-8, ``bytes`` as they are.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        if isinstance(text, bytes):
            tmp.write_bytes(text)
        else:
            tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def save_png(figure, path: str | Path, dpi: int) -> Path:
    """Render a matplotlib figure in memory and write it atomically: a crash never leaves half a PNG."""
    png = io.BytesIO()
    figure.savefig(png, dpi=dpi, format="png")
    figure.clear()
    return write_atomically(path, png.getvalue())
