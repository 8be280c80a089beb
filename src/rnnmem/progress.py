"""Progress: one helper for every piece of long work, and one switch that silences it all.

Where the output goes decides how progress shows, as the ecosystem's tools do:

- a terminal: tqdm bars on stderr that vanish when their work ends (``leave=False``). A bar opened while
  another is open draws on the line below it, and only two levels show (a stage and its steps), so nested
  work never stacks bars down the screen;
- a notebook: tqdm.auto's widgets, the same two levels;
- anything else (a file, a log, a pipe, a captured stream): no carriage returns, one line per stage when it
  ends (``rnnmem: occlusion: done in 4.1 s``). The stages are the outermost pieces of work; what runs inside
  one is counted in its line's time.

`showing_progress(False)` silences every bar opened inside it, in nested calls too: the command line's
``--quiet`` sets it around a whole command, and ``assess(progress=False)`` around the fits and bootstraps it
calls, so no flag has to be threaded down to them.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from tqdm.auto import tqdm
from tqdm.autonotebook import tqdm as notebook_or_std_tqdm
from tqdm.std import tqdm as std_tqdm

_SHOWN: ContextVar[bool] = ContextVar("rnnmem_progress_shown", default=True)
IN_NOTEBOOK = notebook_or_std_tqdm is not std_tqdm
LEVELS_DRAWN = 2  # a stage and its steps; deeper bars would push the screen down as they come and go
_open = threading.local()  # how many shown bars this thread has open


def _depth() -> int:
    return getattr(_open, "depth", 0)


def _count_open(change: int) -> None:
    _open.depth = _depth() + change


@contextmanager
def showing_progress(shown: bool = True) -> Iterator[None]:
    """Within the block, bars show only if ``shown`` and no enclosing block silenced them."""
    token = _SHOWN.set(_SHOWN.get() and bool(shown))
    try:
        yield
    finally:
        _SHOWN.reset(token)


def draws_bars(stream) -> bool:
    """Whether progress on ``stream`` can be drawn as bars (a terminal, or a notebook) rather than logged."""
    isatty = getattr(stream, "isatty", None)
    return IN_NOTEBOOK or bool(isatty and isatty())


def progress_bar(iterable: Iterable | None = None, desc: str = "", total: int | None = None, *,
                 shown: bool = True, each_step: bool = False, **options):
    """A tqdm bar over ``iterable`` (or one advanced by hand up to ``total``), named ``desc``.

    ``shown=False`` hides this bar alone (a function's own ``progress=False``); ``options`` go to
    tqdm (``unit``, ``mininterval``, ``file``, ...). Where bars cannot be drawn (see the module), the bar
    is a `LogLine`; ``each_step`` makes it write a line at every step too (steps minutes apart: a sweep's cells).
    """
    depth = _depth()
    stream = options.get("file") or sys.stderr
    bars = draws_bars(stream)
    if not (shown and _SHOWN.get()) or depth >= (LEVELS_DRAWN if bars else 1):
        return tqdm(iterable, desc=desc, total=total, disable=True, **options)
    if not bars:
        return LogLine(iterable, desc, total, stream, each_step=each_step, initial=options.get("initial", 0))
    return _Bar(iterable, desc=desc, total=total, leave=False, position=depth, **options)


class _Bar(tqdm):
    """A tqdm bar counted among the open bars until it closes (so a bar opened meanwhile draws below it)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._counted = True
        _count_open(+1)

    def close(self):
        if getattr(self, "_counted", False):
            self._counted = False
            _count_open(-1)
        super().close()


class LogLine:
    """Progress where no bar can be drawn: one line when the work ends, with its count and time (none when it
    fails).

    It offers what rnnmem's code asks of a bar (iteration, ``update``, ``set_postfix``, ``refresh``,
    ``close``, a context manager); bars opened while it is open are silent.
    """

    disable = False

    def __init__(self, iterable, desc: str, total: int | None, stream, *, each_step: bool = False, initial: int = 0):
        self.iterable, self.desc, self.stream, self.each_step = iterable, desc, stream, each_step
        self.total = len(iterable) if total is None and hasattr(iterable, "__len__") else total
        self.n, self.postfix = initial, ""
        self._started, self._closed = time.perf_counter(), False
        _count_open(+1)

    def __iter__(self):
        try:
            for item in self.iterable:
                yield item
                self.update()
        finally:
            self.close()

    def __enter__(self):
        return self

    def __exit__(self, failed, *exc):
        self.close(logged=failed is None)  # a failure is told by its error, not by "done"

    def update(self, n: int = 1) -> None:
        self.n += n
        if self.each_step and n:
            self._write(self._count())

    def set_postfix(self, **values) -> None:
        self.postfix = ", ".join(f"{key} {value}" for key, value in values.items())

    def refresh(self) -> None:
        """Nothing to redraw in a log."""

    def close(self, logged: bool = True) -> None:
        if self._closed:
            return
        self._closed = True
        _count_open(-1)
        if not logged:
            return
        done = "done" if self.total == 1 else f"{self._count()} done"
        self._write(f"{done} in {time.perf_counter() - self._started:.1f} s")

    __del__ = close  # like tqdm's: a bar dropped unfinished still closes, and frees its level

    def _count(self) -> str:
        return f"{self.n:,}" + ("" if self.total is None else f" of {self.total:,}") + \
            (f" ({self.postfix})" if self.postfix else "")

    def _write(self, text: str) -> None:
        self.stream.write(f"rnnmem: {self.desc}: {text}\n")
        self.stream.flush()


@contextmanager
def stage(name: str, *, shown: bool = True) -> Iterator[None]:
    """A one-step bar named ``name``, its clock running, while work with no steps of its own runs (a fit, a
    corpus load, or several pieces of work that read as one stage in a log)."""
    with progress_bar(total=1, desc=name, shown=shown) as bar, ticking(bar):
        yield
        bar.update()


@contextmanager
def ticking(bar, every: float = 1.0) -> Iterator:
    """Redraw ``bar`` every ``every`` seconds while the block runs, so that its clock moves between steps
    minutes apart (a sweep's cells): a bar whose elapsed time stands still reads as a hung program."""
    if bar.disable or isinstance(bar, LogLine):
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
