"""Progress bars: one helper for every piece of long work, and one switch that silences them all.

Bars go to stderr and vanish when their work ends (``leave=False``), so the printed results
stay readable. `showing_progress(False)` silences every bar opened inside it, in nested calls
too: the command line's ``--quiet`` and the library's ``progress=False`` arguments both set it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from tqdm.auto import tqdm

_SHOWN: ContextVar[bool] = ContextVar("rnnmem_progress_shown", default=True)


@contextmanager
def showing_progress(shown: bool = True) -> Iterator[None]:
    """Within the block, bars show only if ``shown`` and no enclosing block silenced them."""
    token = _SHOWN.set(_SHOWN.get() and bool(shown))
    try:
        yield
    finally:
        _SHOWN.reset(token)


def progress_shown() -> bool:
    """Whether a bar opened here would show."""
    return _SHOWN.get()


def progress_bar(iterable: Iterable | None = None, desc: str = "", total: int | None = None, *,
                 shown: bool = True, **options) -> tqdm:
    """A tqdm bar over ``iterable`` (or one advanced by hand up to ``total``), named ``desc``.

    ``shown=False`` hides this bar alone (e.g. a loop of one step); ``options`` go to tqdm
    (``unit``, ``mininterval``, ...).
    """
    return tqdm(iterable, desc=desc, total=total, leave=False, disable=not (shown and _SHOWN.get()), **options)


@contextmanager
def stage(name: str, *, shown: bool = True) -> Iterator[None]:
    """A one-step bar named ``name`` while work with no steps of its own runs (a fit, a corpus load)."""
    with progress_bar(total=1, desc=name, shown=shown) as bar:
        yield
        bar.update()
