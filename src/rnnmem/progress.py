"""Progress bars: one helper for every piece of long work, and one switch that silences them all.

Bars go to stderr and vanish when their work ends (``leave=False``), so the printed results
stay readable. `showing_progress(False)` silences every bar opened inside it, in nested calls
too: the command line's ``--quiet`` sets it around a whole command, and ``assess(progress=False)``
around the fits and bootstraps it calls, so no flag has to be threaded down to them.
"""

from __future__ import annotations

import threading
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


def progress_bar(iterable: Iterable | None = None, desc: str = "", total: int | None = None, *,
                 shown: bool = True, **options) -> tqdm:
    """A tqdm bar over ``iterable`` (or one advanced by hand up to ``total``), named ``desc``.

    ``shown=False`` hides this bar alone (a function's own ``progress=False``); ``options`` go to
    tqdm (``unit``, ``mininterval``, ...).
    """
    return tqdm(iterable, desc=desc, total=total, leave=False, disable=not (shown and _SHOWN.get()), **options)


@contextmanager
def stage(name: str, *, shown: bool = True) -> Iterator[None]:
    """A one-step bar named ``name``, its clock running, while work with no steps of its own runs (a fit, a
    corpus load)."""
    with progress_bar(total=1, desc=name, shown=shown) as bar, ticking(bar):
        yield
        bar.update()


@contextmanager
def ticking(bar: tqdm, every: float = 1.0) -> Iterator[tqdm]:
    """Redraw ``bar`` every ``every`` seconds while the block runs, so that its clock moves between steps
    minutes apart (a sweep's cells): a bar whose elapsed time stands still reads as a hung program."""
    if bar.disable:
        yield bar
        return
    stop = threading.Event()

    def redraw():
        while not stop.wait(every):
            bar.refresh()

    thread = threading.Thread(target=redraw, name="rnnmem-progress-clock", daemon=True)
    thread.start()
    try:
        yield bar
    finally:
        stop.set()
        thread.join()
