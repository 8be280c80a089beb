"""The results store: one SQLite file that is the single source of truth for a study.

Each cell is one row keyed by the hash of its configuration, so re-running a sweep never
duplicates a cell. Cells move pending -> running -> done | failed; claiming a cell is
one atomic UPDATE, so several sweeps (or workers) can share a store. SQLite's WAL
journal keeps readers and the single writer out of each other's way, and a crash never
leaves a half-written row.

The store records its schema version (SQLite's ``user_version``). Opening a store migrates
forward the versions this rnnmem knows (version 0: stores written before the version was
recorded, possibly without the optional columns) and refuses newer ones with a message. A
store that cannot be written (a read-only file) can still be read, e.g. by `rnnmem report`.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import sqlite3
import time
from contextlib import closing, contextmanager
from pathlib import Path

import pandas as pd

from rnnmem.errors import DataError, RnnmemError, StorageError
from rnnmem.fileio import check_regular_file
from rnnmem.ownership import process_alive
from rnnmem.pipeline.config import RunConfig

SCHEMA_VERSION = 1
REQUIRED_COLUMNS = ("key", "config", "status")
RESULT_PARTS = {"metrics", "report", "ses", "history"}  # of a done cell's result (see run_cell)
# columns a version-0 store may lack, added on open: name -> declaration
OPTIONAL_COLUMNS = {"attempts": "INTEGER NOT NULL DEFAULT 0", "owner": "TEXT", "error": "TEXT", "result": "TEXT",
                    "started_at": "REAL", "finished_at": "REAL"}
TEXT_COLUMNS = ("key", "config", "status", "owner", "error", "result")
# A sweep's cell stores well under a megabyte of text per column (its result: numbers, 20 sequences' token
# effects); a value over this limit was edited in or damaged, and is refused before it is read into Python.
MAX_VALUE_CHARACTERS = 64 * 2**20

SCHEMA = """
CREATE TABLE IF NOT EXISTS cells (
    key         TEXT PRIMARY KEY,   -- RunConfig.key
    config      TEXT NOT NULL,      -- RunConfig as JSON
    status      TEXT NOT NULL,      -- pending | running | done | failed
    attempts    INTEGER NOT NULL DEFAULT 0,
    owner       TEXT,               -- host:pid of the process running it
    error       TEXT,               -- last error message of a failed cell
    result      TEXT,               -- run_cell() output as JSON, for done cells
    started_at  REAL,
    finished_at REAL
);
"""


def owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class ResultsStore:
    """A study's cells and results in one SQLite file."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if self.path.is_symlink():  # dangling or not: SQLite would create or write the database where it points
            raise DataError(f"{self.path} is a symbolic link (to {os.readlink(self.path)}); rnnmem opens and creates "
                            "results stores only as plain files, never through a link, which could put the database "
                            "in another folder. Pass --store the file itself, or a new file name.")
        if self.path.is_dir():
            raise DataError(f"{self.path} is a folder; pass --store the path of a results file, e.g. {self.path / 'study.sqlite'}.")
        # a FIFO or device would block or never end: refused before it is opened
        check_regular_file(self.path, "results store", "pass --store a regular file (or a new file name)")
        if self.path.exists() and self.path.stat().st_size > 0:
            with self.path.open("rb") as handle:
                if handle.read(16) != b"SQLite format 3\x00":
                    raise DataError(f"{self.path} is not a SQLite database; pass --store a new file name or an rnnmem store.")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DataError(f"cannot create the folder of the store {self.path} ({exc.strerror}); "
                            "pass --store a path in a writable folder.") from None
        with self._errors("open"):
            self._open()

    def _open(self) -> None:
        """Check the schema version and columns; create, migrate or refuse (see the module docstring)."""
        with closing(self._connect()) as db:
            tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            columns = {row[1]: row for row in db.execute("PRAGMA table_info(cells)")}
            version = db.execute("PRAGMA user_version").fetchone()[0]
            # never add our table to someone else's database
            if tables and not set(REQUIRED_COLUMNS) <= set(columns):
                raise DataError(f"{self.path} is a SQLite database but not an rnnmem results store (its tables: "
                                f"{', '.join(sorted(tables))}); pass --store a new file name or an rnnmem store.")
            if version > SCHEMA_VERSION:
                raise DataError(f"{self.path} was written by a newer rnnmem (store schema version {version}; this "
                                f"rnnmem reads versions up to {SCHEMA_VERSION}); upgrade rnnmem, or pass --store a "
                                "new file name.")
            unknown = sorted(set(columns) - set(REQUIRED_COLUMNS) - set(OPTIONAL_COLUMNS))
            if unknown:  # e.g. a NOT NULL column our INSERT would not fill: every cell would go unregistered
                raise DataError(f"{self.path} has columns this rnnmem does not know ({', '.join(unknown)}); it was "
                                "written by another version of rnnmem. Use that version, or pass --store a new file name.")
            missing = [name for name in OPTIONAL_COLUMNS if name not in columns]
            if tables and not missing and version == SCHEMA_VERSION:
                return  # nothing to change: a read-only store can still be read
            db.execute("BEGIN IMMEDIATE")
            if not tables:
                db.execute(SCHEMA)
            for name in missing if tables else ():
                db.execute(f"ALTER TABLE cells ADD COLUMN {name} {OPTIONAL_COLUMNS[name]}")
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute("COMMIT")
            db.execute("PRAGMA journal_mode=WAL")

    @contextmanager
    def _errors(self, doing: str):
        """SQLite's errors as rnnmem's: a full disk or a read-only store names the path and the fix."""
        try:
            yield
        except RnnmemError:
            raise
        except sqlite3.OperationalError as exc:
            text = str(exc)
            if "disk is full" in text:
                raise StorageError(f"cannot {doing} the results store {self.path}: the disk is full ({text}); free "
                                   "some space (or pass --store a path on another disk) and re-run the same command: "
                                   "finished cells are kept.", errno.ENOSPC) from None
            if "locked" in text:
                raise DataError(f"cannot {doing} the results store {self.path}: another process has held it locked "
                                f"for over a minute ({text}); wait for that sweep to finish (or stop it) and re-run; "
                                "finished cells are kept.") from None
            if "readonly" in text or "read-only" in text or "unable to open" in text:
                raise StorageError(f"cannot {doing} the results store {self.path}: it is read-only ({text}); make it "
                                   "and its folder writable (chmod u+w) or copy it to a writable folder.",
                                   errno.EACCES) from None
            raise DataError(f"cannot {doing} the results store {self.path} ({text}); pass --store a new file name "
                            "in a writable folder, or an intact rnnmem store.") from None
        except sqlite3.DatabaseError as exc:  # a damaged file
            raise DataError(f"cannot use {self.path} as a results store ({exc}); pass --store a new file name "
                            "in a writable folder, or an intact rnnmem store.") from None

    def _decode(self, key: str, column: str, text: str | None) -> object:
        """One JSON column of one row; a damaged row is named with the way out."""
        try:
            return json.loads(text)
        except (TypeError, ValueError, RecursionError):
            raise DataError(f"the {column} of cell {key} in {self.path} is not valid JSON (the row was damaged or "
                            f"edited); delete that row (sqlite3 {self.path} \"DELETE FROM cells WHERE key='{key}'\") "
                            "and re-run the sweep to recompute it.") from None

    def _config(self, key: str, text: str | None) -> RunConfig:
        return RunConfig.from_dict(self._config_dict(key, text))

    def _config_dict(self, key: str, text: str | None) -> dict:
        """A row's config as stored, after checking it is a cell configuration."""
        values = self._decode(key, "config", text)
        try:
            RunConfig.from_dict(values)
            return values
        except (RnnmemError, TypeError, ValueError, AttributeError) as exc:
            raise DataError(f"the config of cell {key} in {self.path} is not a cell configuration ({exc}); delete "
                            f"that row (sqlite3 {self.path} \"DELETE FROM cells WHERE key='{key}'\") and re-run the "
                            "sweep.") from None

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        db.execute("PRAGMA busy_timeout = 60000")
        return db

    def _write(self, sql: str, params=()) -> int:
        """One statement in an immediate transaction (takes the write lock up front)."""
        with self._errors("write"), closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                count = db.execute(sql, params).rowcount
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return count

    def _read(self, sql: str, params=()) -> list[tuple]:
        with self._errors("read"), closing(self._connect()) as db:
            return db.execute(sql, params).fetchall()

    def add(self, configs: list[RunConfig]) -> int:
        """Register cells; cells already in the store are left as they are. Returns how many were new."""
        with self._errors("write"), closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")
            before = db.execute("SELECT COUNT(*) FROM cells").fetchone()[0]
            # only a duplicate key is skipped; any other constraint failing is an error, never a silent skip
            db.executemany("INSERT INTO cells (key, config, status) VALUES (?, ?, 'pending') ON CONFLICT(key) DO NOTHING",
                           [(c.key, c.to_json()) for c in configs])
            after = db.execute("SELECT COUNT(*) FROM cells").fetchone()[0]
            db.execute("COMMIT")
        return after - before

    def claim(self, keys: list[str] | None = None, owner: str | None = None) -> RunConfig | None:
        """Atomically take one pending or failed cell (of ``keys``, if given) and mark it running."""
        owner = owner or owner_id()
        with self._errors("write"), closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")
            rows = db.execute("SELECT key, config FROM cells WHERE status IN ('pending', 'failed') ORDER BY rowid").fetchall()
            wanted = set(keys) if keys is not None else None
            for key, config in rows:
                if wanted is None or key in wanted:
                    try:
                        cell = self._config(key, config)
                    except DataError:
                        db.execute("ROLLBACK")
                        raise
                    db.execute("UPDATE cells SET status='running', owner=?, attempts=attempts+1, started_at=? WHERE key=?",
                               (owner, time.time(), key))
                    db.execute("COMMIT")
                    return cell
            db.execute("COMMIT")
        return None

    def finish(self, key: str, result: dict) -> None:
        self._write("UPDATE cells SET status='done', result=?, error=NULL, finished_at=? WHERE key=?",
                    (json.dumps(result, allow_nan=False), time.time(), key))

    def fail(self, key: str, error: str) -> None:
        self._write("UPDATE cells SET status='failed', error=?, finished_at=? WHERE key=?", (error, time.time(), key))

    def release_orphans(self) -> int:
        """Return cells marked running by processes of this host that no longer exist to pending; how many.

        A process whose pid now belongs to a process started after the cell was claimed is gone
        too (the pid was reused), so a killed worker's cell never stays 'running' for good.
        """
        host = socket.gethostname()
        running = self._read("SELECT key, owner, started_at FROM cells WHERE status='running'")
        orphans = [key for key, owner, started in running if _dead_local_owner(owner, host, started)]
        for key in orphans:
            self._write("UPDATE cells SET status='pending', owner=NULL WHERE key=? AND status='running'", (key,))
        return len(orphans)

    def _check_value_sizes(self, where: str = "1", params=()) -> None:
        """Refuse a row (of those ``where`` selects) with a text value over `MAX_VALUE_CHARACTERS`, before reading it.

        SQLite's length() measures each value in SQLite's own memory, one value at a time; Python never
        receives it, nor parses it as JSON.
        """
        over = " OR ".join(f"length({column}) > {MAX_VALUE_CHARACTERS}" for column in TEXT_COLUMNS)
        rows = self._read(f"SELECT rowid FROM cells WHERE ({where}) AND ({over}) ORDER BY rowid LIMIT 1", params)
        if not rows:
            return
        rowid = rows[0][0]
        for column in TEXT_COLUMNS:
            (size,), = self._read(f"SELECT length({column}) FROM cells WHERE rowid=?", (rowid,))
            if size is not None and size > MAX_VALUE_CHARACTERS:
                break
        (key,), = self._read("SELECT substr(key, 1, 40) FROM cells WHERE rowid=?", (rowid,))
        raise DataError(f"the {column} of row {rowid} (cell {key}) in {self.path} holds {size:,} characters, over the "
                        f"limit of {MAX_VALUE_CHARACTERS:,} no sweep writes; it was not read. Delete that row "
                        f"(sqlite3 {self.path} \"DELETE FROM cells WHERE rowid={rowid}\") and re-run the sweep to "
                        "recompute it.")

    def counts(self) -> dict[str, int]:
        self._check_value_sizes()
        return dict(self._read("SELECT status, COUNT(*) FROM cells GROUP BY status"))

    def cells(self) -> pd.DataFrame:
        """Every cell: key, status, attempts, error and its configuration as columns."""
        self._check_value_sizes()
        rows = self._read("SELECT key, status, attempts, error, config FROM cells ORDER BY rowid")
        return pd.DataFrame([{"key": k, "status": s, "attempts": a, "error": e, **self._config_dict(k, c)}
                             for k, s, a, e, c in rows])

    def results(self) -> list[dict]:
        """Finished cells: each {"key", "config": dict, "result": run_cell() output}."""
        self._check_value_sizes("status='done'")
        rows = self._read("SELECT key, config, result FROM cells WHERE status='done' ORDER BY rowid")
        results = []
        for k, c, r in rows:
            result = self._decode(k, "result", r)
            missing = sorted(RESULT_PARTS - set(result)) if isinstance(result, dict) else []
            if not isinstance(result, dict) or missing or not all(isinstance(result[p], dict) for p in RESULT_PARTS):
                what = (f"a JSON {type(result).__name__}" if not isinstance(result, dict) else
                        f"missing {', '.join(missing)}" if missing else "holding parts that are not objects")
                raise DataError(f"the result of cell {k} in {self.path} is {what}, not the "
                                f"object a sweep writes; delete that row (sqlite3 {self.path} \"DELETE FROM cells "
                                f"WHERE key='{k}'\") and re-run the sweep to recompute it.")
            results.append({"key": k, "config": self._config_dict(k, c), "result": result})
        return results

    def result(self, key: str) -> dict | None:
        self._check_value_sizes("key=?", (key,))
        rows = self._read("SELECT result FROM cells WHERE key=? AND status='done'", (key,))
        return self._decode(key, "result", rows[0][0]) if rows else None


def _dead_local_owner(owner: object, host: str, claimed_at: object) -> bool:
    if not owner or not isinstance(owner, str):  # none, or a damaged value no live process could have written
        return True
    owner_host, _, pid = owner.rpartition(":")
    if owner_host != host or not pid.isdigit():
        return False
    claimed_at = float(claimed_at) if isinstance(claimed_at, (int, float)) else None
    return not process_alive(int(pid), started_by=claimed_at)
