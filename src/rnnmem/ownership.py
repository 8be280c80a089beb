"""What rnnmem may remove: only what it made itself, proved by identity, reached inside its folder through no link.

A file a run wrote is recorded in the output folder's manifest by its path, kind, size, inode,
device and modification time (`file_record`). A staging folder holds a marker naming its own
inode and device and the process that made it (`make_staging`). Before anything is removed it
is reached from the output folder one component at a time with ``O_NOFOLLOW`` (a link anywhere
below the folder stops the walk) and compared with its record, so a user's look-alike (the same
name with another inode, a copy, a file edited since, a folder named like a staging folder) is
left in place. The folder itself is opened as the user named it: ``--out`` may be a link.

Nothing here imports another part of rnnmem but its errors, so any layer may use it.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import tempfile
import time
import warnings
from pathlib import Path, PurePosixPath

from rnnmem.errors import OutputsWarning

STAGING_PREFIX = ".rnnmem-staging-"
STAGING_MARKER = ".rnnmem-staging.json"
IDENTITY = ("size", "inode", "device", "mtime_ns")
_MARKER_LIMIT = 4096
_CLOCK_SLACK_SECONDS = 5.0  # /proc's boot time is whole seconds, and the wall clock may be stepped
_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def file_record(folder: Path, rel: PurePosixPath) -> dict:
    """The record of the regular file ``folder/rel`` that this run has just put in place."""
    info = os.lstat(folder / rel)
    return {"path": rel.as_posix(), "kind": "file", "size": info.st_size, "inode": info.st_ino,
            "device": info.st_dev, "mtime_ns": info.st_mtime_ns}


def plain_path(name: object) -> PurePosixPath | None:
    """``name`` as a relative path inside the folder, or None when it could reach out (absolute, ``..``, empty)."""
    if not isinstance(name, str) or not name or "\x00" in name:
        return None
    rel = PurePosixPath(name)
    if rel.is_absolute() or ".." in rel.parts or rel.parts in ((), (".",)):
        return None
    return rel


def checked_record(entry: object) -> dict | None:
    """A manifest entry as a record, or None when it lacks a path or an identity (e.g. an older rnnmem's bare name)."""
    if not isinstance(entry, dict) or entry.get("kind") != "file" or plain_path(entry.get("path")) is None:
        return None
    if not all(type(entry.get(key)) is int for key in IDENTITY):
        return None
    return entry


def remove_recorded_file(folder: Path, record: dict) -> str | None:
    """Remove the file ``record`` names if it is still the one rnnmem wrote.

    Returns None when it was removed (or is gone already), else why it was left in place.
    """
    rel = PurePosixPath(record["path"])
    try:
        parent = _open_below(folder, rel.parent.parts)
    except FileNotFoundError:
        return None
    except OSError:
        return f"{folder / rel.parent} is a symbolic link or not a folder, and rnnmem removes nothing through a link"
    try:
        try:
            info = os.stat(rel.name, dir_fd=parent, follow_symlinks=False)
        except FileNotFoundError:
            return None
        if not stat.S_ISREG(info.st_mode):
            return "it is no longer the regular file rnnmem wrote"
        now = {"size": info.st_size, "inode": info.st_ino, "device": info.st_dev, "mtime_ns": info.st_mtime_ns}
        if any(now[key] != record[key] for key in IDENTITY):
            return "it was changed or replaced since rnnmem wrote it"
        os.unlink(rel.name, dir_fd=parent)
    finally:
        os.close(parent)
    return None


def _open_below(folder: Path, parts: tuple[str, ...]) -> int:
    """A descriptor of ``folder/parts...``, each part opened with O_NOFOLLOW (a link among them raises OSError)."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    try:
        for part in parts:
            inner = os.open(part, _DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = inner
    except BaseException:
        os.close(fd)
        raise
    return fd


# -- staging folders -------------------------------------------------------------------------
def make_staging(folder: Path) -> tuple[Path, dict]:
    """A fresh staging folder in ``folder`` (made exclusively) and the marker that proves it this process's,
    which the caller writes into it as `STAGING_MARKER`."""
    staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=folder))
    info = os.lstat(staging)
    return staging, {"kind": "staging folder", "inode": info.st_ino, "device": info.st_dev, "pid": os.getpid(),
                   "host": socket.gethostname(), "created": time.time()}


def remove_staging(folder: Path, name: str, marker: dict | None = None) -> bool:
    """Remove the staging folder ``folder/name`` with everything in it, if its marker proves it is rnnmem's.

    With ``marker`` (this process's own), the folder must be that one; without, its own marker
    must name it and a process of this host that no longer exists. True when it was removed.
    """
    try:
        parent = _open_below(folder, ())
    except OSError:
        return False
    try:
        try:
            fd = os.open(name, _DIRECTORY, dir_fd=parent)
        except OSError:  # gone, a link, or not a folder: not ours to touch
            return False
        try:
            info = os.fstat(fd)
            found = _read_marker(fd)
            if found is None or (found["inode"], found["device"]) != (info.st_ino, info.st_dev):
                return False
            if marker is not None and (marker["inode"], marker["device"]) != (info.st_ino, info.st_dev):
                return False
            if marker is None and (found["host"] != socket.gethostname()
                                   or process_alive(found["pid"], started_by=found["created"])):
                return False
            _empty(fd)
        finally:
            os.close(fd)
        os.rmdir(name, dir_fd=parent)
    except OSError:
        return False
    finally:
        os.close(parent)
    return True


def remove_abandoned_staging(folder: Path) -> int:
    """Remove the staging folders in ``folder`` whose marker names a process of this host that no longer exists."""
    names = [entry.name for entry in os.scandir(folder) if entry.name.startswith(STAGING_PREFIX)]
    return sum(remove_staging(folder, name) for name in names)


def _read_marker(fd: int) -> dict | None:
    try:
        marker_fd = os.open(STAGING_MARKER, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=fd)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(marker_fd).st_mode):
            return None
        marker = json.loads(os.read(marker_fd, _MARKER_LIMIT))
    except (OSError, ValueError):
        return None
    finally:
        os.close(marker_fd)
    ints = ("inode", "device", "pid")
    if (not isinstance(marker, dict) or marker.get("kind") != "staging folder"
            or not all(type(marker.get(key)) is int for key in ints)
            or not isinstance(marker.get("host"), str) or type(marker.get("created")) is not float):
        return None
    return marker


def _empty(fd: int) -> None:
    """Remove everything inside the folder open as ``fd``; links are removed, never followed."""
    with os.scandir(fd) as entries:
        for entry in list(entries):
            if entry.is_dir(follow_symlinks=False):
                inner = os.open(entry.name, _DIRECTORY, dir_fd=fd)
                try:
                    _empty(inner)
                finally:
                    os.close(inner)
                os.rmdir(entry.name, dir_fd=fd)
            else:
                os.unlink(entry.name, dir_fd=fd)


# -- processes -------------------------------------------------------------------------------
def process_alive(pid: int, started_by: float | None = None) -> bool:
    """Whether process ``pid`` of this host exists (and, given ``started_by``, had started by that time).

    A process that started after ``started_by`` holds a reused pid: the one that claimed a cell
    or made a folder at that time is gone. Where /proc cannot tell the start time, the pid alone decides.
    """
    if pid == os.getpid():
        return True
    if pid <= 0:  # 0 and negative numbers name process groups, not a process
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:  # another user's process: it exists
        pass
    started = _start_time(pid)
    return started_by is None or started is None or started <= started_by + _CLOCK_SLACK_SECONDS


def _start_time(pid: int) -> float | None:
    """When process ``pid`` started, in seconds since the epoch, from /proc (Linux); None elsewhere."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            ticks = int(handle.read(4096).rsplit(b")", 1)[1].split()[19])  # field 22, starttime
        with open("/proc/stat", "rb") as handle:
            boot = next(int(line.split()[1]) for line in handle.read(1 << 20).splitlines() if line.startswith(b"btime"))
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


# -- the manifest ----------------------------------------------------------------------------
def read_manifest(path: Path, limit: int) -> tuple[dict[str, dict[str, dict | None]], bool]:
    """Each kind of run's files listed in the manifest ``path`` (path -> record, or None for an older rnnmem's
    bare name), and whether a manifest was there. One that is a link, too large or damaged lists nothing."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return {}, False
    except OSError:
        return {}, True
    try:
        text = os.read(fd, limit + 1) if stat.S_ISREG(os.fstat(fd).st_mode) else b""
        runs = json.loads(text).get("runs", {}) if len(text) <= limit else {}
    except (OSError, ValueError, AttributeError, RecursionError):
        runs = {}
    finally:
        os.close(fd)
    if not isinstance(runs, dict):
        return {}, True
    return {str(kind): _entries(files, path.name) for kind, files in runs.items()}, True


def _entries(files: object, manifest: str) -> dict[str, dict | None]:
    out = {}
    for entry in files if isinstance(files, list) else []:
        record = checked_record(entry)
        rel = plain_path(record["path"] if record else entry)
        if rel is not None and rel.as_posix() != manifest:
            out[rel.as_posix()] = record
    return out


def unlisted_files(folder: Path, written: list[PurePosixPath]) -> list[str]:
    """In a folder without a manifest: its other files, when it holds files where this run writes (then an
    rnnmem from before the manifest wrote there)."""
    if not any((folder / rel).is_file() for rel in written):
        return []
    fresh = {rel.as_posix() for rel in written}
    return sorted(p.name for p in folder.iterdir()
                  if p.is_file() and not p.is_symlink() and p.name not in fresh and not p.name.startswith("."))


def warn_left_in_place(folder: Path, manifest: str, left: list[str], unlisted: list[str]) -> None:
    """Name the earlier run's files a run left in place (see `rnnmem.fileio.RunOutputs`) and what to do."""
    if left:
        warnings.warn(OutputsWarning(
            f"left {len(left)} file(s) of the earlier run in {folder} that this run did not rewrite: {_some(left)}; "
            "rnnmem removes only files it can prove it wrote. Delete them by hand if you no longer need them."),
            stacklevel=4)
    if unlisted:
        warnings.warn(OutputsWarning(
            f"{folder} has no list of rnnmem's outputs ({manifest}): an older rnnmem wrote there, so files of that "
            f"run that this run did not rewrite cannot be told from yours and were left in place: {_some(unlisted)}. "
            "Delete those you no longer need."), stacklevel=4)


def _some(names: list[str], shown: int = 6) -> str:
    return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")
