"""The results store: one SQLite file that is the single source of truth for a study.

Each cell is one row keyed by the hash of its configuration, so re-running a sweep never
duplicates a cell. Cells move pending -> running -> done | failed; claiming a cell is
one atomic UPDATE, so several sweeps (or workers) can share a store. SQLite's WAL
journal keeps readers and the single writer out of each other's way, and a crash never
leaves a half-written row.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import pandas as pd

from rnnmem.errors import DataError
from rnnmem.sweep.cell import CellConfig

SCHEMA = """
CREATE TABLE IF NOT EXISTS cells (
    key         TEXT PRIMARY KEY,   -- CellConfig.key
    config      TEXT NOT NULL,      -- CellConfig as JSON
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
        if self.path.is_dir():
            raise DataError(f"{self.path} is a folder; pass --store the path of a results file, e.g. {self.path / 'study.sqlite'}.")
        if self.path.exists() and self.path.stat().st_size > 0:
            with self.path.open("rb") as handle:
                if handle.read(16) != b"SQLite format 3\x00":
                    raise DataError(f"{self.path} is not a SQLite database; pass --store a new file name or an rnnmem store.")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with closing(self._connect()) as db, db:
                tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
                columns = {row[1] for row in db.execute("PRAGMA table_info(cells)")}
                # never add our table to someone else's database
                if tables and not {"key", "config", "status", "result"} <= columns:
                    raise DataError(f"{self.path} is a SQLite database but not an rnnmem results store (its tables: "
                                    f"{', '.join(sorted(tables))}); pass --store a new file name or an rnnmem store.")
                db.execute("PRAGMA journal_mode=WAL")
                db.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:  # a damaged file, or a folder we may not write in
            raise DataError(f"cannot use {self.path} as a results store ({exc}); pass --store a new file name "
                            "in a writable folder, or an intact rnnmem store.") from None

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        db.execute("PRAGMA busy_timeout = 60000")
        return db

    def _write(self, sql: str, params=()) -> int:
        """One statement in an immediate transaction (takes the write lock up front)."""
        with closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                count = db.execute(sql, params).rowcount
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return count

    def add(self, configs: list[CellConfig]) -> int:
        """Register cells; cells already in the store are left as they are. Returns how many were new."""
        with closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")
            before = db.execute("SELECT COUNT(*) FROM cells").fetchone()[0]
            db.executemany("INSERT OR IGNORE INTO cells (key, config, status) VALUES (?, ?, 'pending')",
                           [(c.key, c.to_json()) for c in configs])
            after = db.execute("SELECT COUNT(*) FROM cells").fetchone()[0]
            db.execute("COMMIT")
        return after - before

    def claim(self, keys: list[str] | None = None, owner: str | None = None) -> CellConfig | None:
        """Atomically take one pending or failed cell (of ``keys``, if given) and mark it running."""
        owner = owner or owner_id()
        with closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")
            rows = db.execute("SELECT key, config FROM cells WHERE status IN ('pending', 'failed') ORDER BY rowid").fetchall()
            wanted = set(keys) if keys is not None else None
            for key, config in rows:
                if wanted is None or key in wanted:
                    db.execute("UPDATE cells SET status='running', owner=?, attempts=attempts+1, started_at=? WHERE key=?",
                               (owner, time.time(), key))
                    db.execute("COMMIT")
                    return CellConfig.from_dict(json.loads(config))
            db.execute("COMMIT")
        return None

    def finish(self, key: str, result: dict) -> None:
        self._write("UPDATE cells SET status='done', result=?, error=NULL, finished_at=? WHERE key=?",
                    (json.dumps(result, allow_nan=False), time.time(), key))

    def fail(self, key: str, error: str) -> None:
        self._write("UPDATE cells SET status='failed', error=?, finished_at=? WHERE key=?", (error, time.time(), key))

    def release_orphans(self) -> int:
        """Return cells marked running by processes of this host that no longer exist to pending."""
        host = socket.gethostname()
        with closing(self._connect()) as db:
            running = db.execute("SELECT key, owner FROM cells WHERE status='running'").fetchall()
        orphans = [key for key, owner in running if _dead_local_owner(owner, host)]
        for key in orphans:
            self._write("UPDATE cells SET status='pending', owner=NULL WHERE key=? AND status='running'", (key,))
        return len(orphans)

    def counts(self) -> dict[str, int]:
        with closing(self._connect()) as db:
            return dict(db.execute("SELECT status, COUNT(*) FROM cells GROUP BY status").fetchall())

    def cells(self) -> pd.DataFrame:
        """Every cell: key, status, attempts, error and its configuration as columns."""
        with closing(self._connect()) as db:
            rows = db.execute("SELECT key, status, attempts, error, config FROM cells ORDER BY rowid").fetchall()
        return pd.DataFrame([{"key": k, "status": s, "attempts": a, "error": e, **json.loads(c)} for k, s, a, e, c in rows])

    def results(self) -> list[dict]:
        """Finished cells: each {"key", "config": dict, "result": run_cell() output}."""
        with closing(self._connect()) as db:
            rows = db.execute("SELECT key, config, result FROM cells WHERE status='done' ORDER BY rowid").fetchall()
        return [{"key": k, "config": json.loads(c), "result": json.loads(r)} for k, c, r in rows]

    def result(self, key: str) -> dict | None:
        with closing(self._connect()) as db:
            row = db.execute("SELECT result FROM cells WHERE key=? AND status='done'", (key,)).fetchone()
        return json.loads(row[0]) if row else None


def _dead_local_owner(owner: str | None, host: str) -> bool:
    if not owner:
        return True
    owner_host, _, pid = owner.rpartition(":")
    if owner_host != host or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
