"""The ground floor for files: every module that writes (reports, plots, checkpoints, sweeps) goes through here.

Writing: each file is written to a temporary file created exclusively in the target folder
(``tempfile.mkstemp``: ``O_CREAT | O_EXCL | O_NOFOLLOW``, so a link planted there is never
followed) and renamed over the target, which replaces a link rather than writing through it.
A run's files are replaced as a set (`RunOutputs`): they are written into a fresh staging
folder and renamed into place only when every one of them is complete, and files an earlier
run wrote that this run did not are removed when their recorded identity proves them rnnmem's. Disk-full and permission errors become a
`StorageError` naming the path and the fix.

Reading: every file rnnmem reads that it did not just write goes through `read_bounded`,
which refuses anything but a regular file (a FIFO would block forever, ``/dev/zero`` never
ends) and anything over a size limit, before reading a byte.

Nothing in this module imports another part of rnnmem but its errors and `rnnmem.ownership` (what rnnmem may
remove), so any layer may use it.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import math
import os
import signal
import stat
import tempfile
import threading
from pathlib import Path, PurePosixPath

import numpy as np

from rnnmem.errors import ConfigError, DataError, StorageError
from rnnmem.ownership import (STAGING_MARKER, file_record, make_staging, read_manifest, remove_abandoned_staging,
                              remove_recorded_file, remove_staging, unlisted_files, warn_left_in_place)

MANIFEST = ".rnnmem-outputs.json"
MANIFEST_VERSION = 2  # 1 (no "version" key): bare names without identity
# SIGTERM (kill) and SIGHUP (the terminal closed) unwind like Ctrl-C, exiting 128 + the signal's number
TERMINATING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
TERMINATED_EXIT_CODES = tuple(128 + number for number in TERMINATING_SIGNALS)
_MANIFEST_LIMIT = 16 * 2**20
_UMASK = os.umask(0o022)
os.umask(_UMASK)


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


def storage_error(exc: OSError, path: str | Path, doing: str = "write") -> StorageError:
    """Turn an OSError into a message naming the path, the cause and the fix."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        fix = "free some space on that disk (or pass --out / --store a path on another disk) and run again"
        cause = "the disk is full"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = "make it writable (e.g. chmod u+w) or pass --out / --store a writable path"
        cause = "read-only file system" if exc.errno == errno.EROFS else "permission denied"
    elif exc.errno in (errno.ENOTDIR, errno.EISDIR, errno.EEXIST):
        fix = "a file stands where a folder is needed (or a folder where a file is); pass another path"
        cause = exc.strerror or type(exc).__name__
    else:
        fix = "check the path and run again"
        cause = exc.strerror or str(exc)
    return StorageError(f"cannot {doing} {path}: {cause}; {fix}. Nothing was half-written.", exc.errno)


def write_atomically(path: str | Path, text: str | bytes) -> Path:
    """Write via an exclusive temporary file in the same folder and rename, so a crash never leaves half a file.

    The one writer of every file rnnmem produces (reports, JSON, plots, model weights):
    ``text`` is written as UTF-8, ``bytes`` as they are. A symbolic link at ``path`` is
    replaced, never written through. On any failure (disk full, a signal) the temporary file
    is removed and ``path`` is left as it was.
    """
    path = Path(path)
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    with unwinding_on_termination():
        return _write_via_temporary(path, data)


def _write_via_temporary(path: Path, data: bytes) -> Path:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
    except OSError as exc:
        raise storage_error(exc, path) from None
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; a report is as readable as any file the user writes
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException as exc:  # including KeyboardInterrupt and the SystemExit of a SIGTERM (see exit_on_sigterm)
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and not isinstance(exc, StorageError):
            raise storage_error(exc, path) from None
        raise
    return path


def save_png(figure, path: str | Path, dpi: int) -> Path:
    """Render a matplotlib figure in memory and write it atomically: a crash never leaves half a PNG."""
    png = io.BytesIO()
    figure.savefig(png, dpi=dpi, format="png")
    figure.clear()
    return write_atomically(path, png.getvalue())


def exit_on_sigterm() -> None:
    """Make SIGTERM and SIGHUP unwind like Ctrl-C (``SystemExit(128 + signal)``), so every cleanup runs.

    By default either ends the process on the spot, skipping every ``finally``. Called by the
    command line; a signal the caller ignores (``nohup`` ignores SIGHUP) stays ignored; a no-op
    outside the main thread, where handlers cannot be installed.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    for number in TERMINATING_SIGNALS:
        if signal.getsignal(number) is not signal.SIG_IGN:
            signal.signal(number, _unwind)


def _unwind(signum, frame):
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def unwinding_on_termination():
    """Within the block, SIGTERM and SIGHUP unwind (as under `exit_on_sigterm`) where they would kill on the spot.

    So library use (no command line installing handlers) leaves no temporary file or staging
    folder behind either. Handlers the program set itself, or ignored signals, are left alone.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    replaced = [number for number in TERMINATING_SIGNALS if signal.getsignal(number) is signal.SIG_DFL]
    for number in replaced:
        signal.signal(number, _unwind)
    try:
        yield
    finally:
        for number in replaced:
            if signal.getsignal(number) is _unwind:  # a handler the program set meanwhile stays
                signal.signal(number, signal.SIG_DFL)


def open_bounded(path: str | Path, limit: int, what: str, fix: str) -> io.BufferedReader:
    """``path`` opened for reading, refused before a byte is read when it is not a regular file or exceeds ``limit``.

    Links are followed, but what they lead to must be a regular file: a FIFO (which would
    block forever), a device such as ``/dev/zero`` (which never ends) or a folder is a
    `DataError`. The file is opened without blocking and checked on the open descriptor,
    so it cannot be swapped between the check and the read.
    """
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise DataError(f"{what} {path} not found; {fix}.") from None
    except OSError as exc:
        raise DataError(f"cannot read {what} {path} ({exc.strerror}); {fix}.") from None
    handle = os.fdopen(fd, "rb")
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
        handle.close()
        if not stat.S_ISREG(info.st_mode):
            raise DataError(f"{what} {path} is {_kind(info.st_mode)}, not a regular file; rnnmem reads only "
                            f"regular files (a pipe or device could block or never end). {fix[0].upper()}{fix[1:]}.")
        raise DataError(f"{what} {path} is {info.st_size:,} bytes, over the limit of {limit:,} bytes; {fix}.")
    return handle


def read_bounded(path: str | Path, limit: int, what: str, fix: str) -> bytes:
    """The bytes of the regular file ``path``, checked as in `open_bounded` and read to at most ``limit`` bytes."""
    with open_bounded(path, limit, what, fix) as handle:
        data = handle.read(limit + 1)  # the file may have grown since it was checked
    if len(data) > limit:
        raise DataError(f"{what} {path} grew past the limit of {limit:,} bytes while being read; {fix}.")
    return data


def check_regular_file(path: str | Path, what: str, fix: str) -> None:
    """Refuse an existing ``path`` that is not a regular file (FIFO, device, folder), without opening it."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise DataError(f"cannot use {what} {path} ({exc.strerror}); {fix}.") from None
    if not stat.S_ISREG(info.st_mode):
        raise DataError(f"{what} {path} is {_kind(info.st_mode)}, not a regular file; {fix}.")


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


class RunOutputs:
    """The files of one run in an output folder, replaced as a set.

    ``with RunOutputs(folder) as staging:`` gives a fresh staging folder inside ``folder``;
    everything the run writes goes there. When the block ends without an error, each
    staged file is renamed into place, the files the earlier run of this ``kind`` wrote and
    this run did not are removed, and the new manifest (``.rnnmem-outputs.json``) records each
    file with its identity. When it ends with an error (disk full, Ctrl-C, SIGTERM, SIGHUP), the
    staging folder is removed and the folder holds the earlier run untouched.

    Removal is as guarded as writing (see `rnnmem.ownership`): a file is removed only when the
    manifest records it with the inode, size and time it still has, reached through no link.
    Files rnnmem did not write, files changed since, the earlier run's files under ``keep``
    (e.g. the checkpoint being re-assessed), files of another ``kind`` of run (an assessment
    and a study report sharing a folder) and files an older rnnmem listed without an identity
    are never removed; those of the earlier run left in place are named in an `OutputsWarning`.
    Staging folders abandoned by a killed process are removed on entry when their marker
    proves them rnnmem's.
    """

    def __init__(self, folder: str | Path, kind: str, keep: tuple[str | Path, ...] = ()):
        if str(folder).strip() == "":
            raise ConfigError("the output folder is empty (--out \"\"); pass --out a folder name, e.g. --out runs/lstm "
                              "(use --out . to write into the current folder on purpose).")
        self.folder = Path(folder)
        self.kind = kind
        self.keep = tuple(Path(k) for k in keep)
        self.staging: Path | None = None
        self._marker: dict | None = None
        self._signals = contextlib.ExitStack()

    def __enter__(self) -> Path:
        if self.folder.exists() and not self.folder.is_dir():
            raise ConfigError(f"the output folder {self.folder} is a file; pass --out a folder.")
        self._signals.enter_context(unwinding_on_termination())
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            remove_abandoned_staging(self.folder)
            self.staging, self._marker = make_staging(self.folder)
        except OSError as exc:
            self._signals.close()
            raise ConfigError(f"cannot write to the output folder {self.folder} ({exc.strerror}); "
                              "pass --out a writable folder.") from None
        try:
            write_atomically(self.staging / STAGING_MARKER, json.dumps(self._marker))
        except BaseException:
            # a signal (Ctrl-C, a closed terminal) can land after the marker's rename or before its writer's cleanup
            # is armed: what it left in the folder made here a moment ago is the marker or its temporary
            for leftover in self.staging.iterdir():
                leftover.unlink(missing_ok=True)
            self.staging.rmdir()
            self._signals.close()
            raise
        return self.staging

    def __exit__(self, exc_type, exc, tb) -> bool:
        try:
            if exc_type is None:
                self._commit()
        finally:
            remove_staging(self.folder, self.staging.name, self._marker)
            self._signals.close()
        return False

    def _commit(self) -> None:
        written = sorted(PurePosixPath(p.relative_to(self.staging).as_posix()) for p in self.staging.rglob("*")
                         if p.is_file() and not p.is_symlink() and p != self.staging / STAGING_MARKER)
        runs, listed = read_manifest(self.folder / MANIFEST, _MANIFEST_LIMIT)
        earlier = runs.get(self.kind, {})
        others = {path for kind, files in runs.items() if kind != self.kind for path in files}
        fresh = {rel.as_posix() for rel in written}
        kept = {path: entry for path, entry in earlier.items()
                if path not in fresh and any(_is_under(self.folder / path, k) for k in self.keep)}
        for rel in written:  # checked before the first rename, so a refusal leaves the earlier run whole
            _refuse_linked_folders(self.folder, rel)
            if (self.folder / rel).is_dir() and not (self.folder / rel).is_symlink():
                raise ConfigError(f"{self.folder / rel} is a folder where rnnmem writes a file; move it away or "
                                  "pass another --out.")
            blocking = next((p for p in list((self.folder / rel).parents)[: len(rel.parts) - 1]
                             if p.exists() and not p.is_dir()), None)
            if blocking is not None:
                raise ConfigError(f"{blocking} is a file where rnnmem writes a folder; move it away or pass another --out.")
        unlisted = [] if listed else unlisted_files(self.folder, written)
        try:
            for rel in written:
                target = self.folder / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(self.staging / rel, target)
        except OSError as exc:
            raise storage_error(exc, self.folder / rel) from None
        left = []
        for path, entry in earlier.items():
            if path in fresh or path in kept or path in others:
                continue
            why = "an older rnnmem listed it without its identity" if entry is None else \
                remove_recorded_file(self.folder, entry)
            if why is not None:
                left.append(f"{path} ({why})")
        runs[self.kind] = {**kept, **{rel.as_posix(): file_record(self.folder, rel) for rel in written}}
        manifest = {"version": MANIFEST_VERSION, "runs": {kind: [path if entry is None else entry for path, entry in
                                                                 sorted(files.items())] for kind, files in runs.items()}}
        # staged and renamed like every output, so a kill here leaves no temporary outside the staging folder
        write_atomically(self.staging / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True))
        try:
            os.replace(self.staging / MANIFEST, self.folder / MANIFEST)
        except OSError as exc:
            raise storage_error(exc, self.folder / MANIFEST) from None
        warn_left_in_place(self.folder, MANIFEST, left, unlisted)


def _is_under(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def _refuse_linked_folders(folder: Path, rel: PurePosixPath) -> None:
    """A link where a sub-folder of the outputs belongs would send files elsewhere: refuse it."""
    for parent in list(rel.parents)[:-1]:
        if (folder / parent).is_symlink():
            raise ConfigError(f"{folder / parent} is a symbolic link; rnnmem writes outputs only inside the output "
                              "folder. Remove the link or pass another --out.")
