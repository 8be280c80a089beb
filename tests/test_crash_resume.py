"""Crashes and resume: a sweep killed with SIGKILL resumes to the results of an uninterrupted run,
and every file rnnmem writes goes through one atomic writer (temporary file + rename)."""

import ast
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rnnmem.fileio import write_atomically

SRC = Path(__file__).resolve().parents[1] / "src" / "rnnmem"
TOTAL = 4


def sweep_command(tiny_csv, store):
    return [sys.executable, "-m", "rnnmem.cli", "sweep", "--units", "srn,gru", "--lengths", "8,12", "--seeds", "0",
            "--corpus", str(tiny_csv), "--hidden", "8", "--embedding-dim", "8", "--epochs", "1", "--max-distance", "8",
            "--max-sequences", "20", "--workers", "1", "--quiet", "--store", str(store)]


def rows(store):
    """Every cell row as the store holds it: key -> (status, attempts, result text)."""
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
        found = db.execute("SELECT key, status, attempts, result FROM cells").fetchall()
    db.close()
    return found


def done_count(store) -> int:
    if not store.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5) as db:
            count = db.execute("SELECT COUNT(*) FROM cells WHERE status='done'").fetchone()[0]
        db.close()
        return count
    except sqlite3.OperationalError:  # the table is not created yet
        return 0


def canonical(result_text: str) -> str:
    """A stored result without its timings (they differ run to run), as canonical JSON."""
    result = json.loads(result_text)
    result.pop("timings")
    return json.dumps(result, sort_keys=True)


def test_sigkilled_sweep_resumes_to_the_results_of_an_uninterrupted_run(tiny_csv, tmp_path):
    rng = random.Random(20240611)
    store = tmp_path / "killed.sqlite"
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    proc = subprocess.Popen(sweep_command(tiny_csv, store), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        # kill between the first cell finishing and the last: after `target` cells, part-way into the next one
        target = rng.randint(1, TOTAL - 1)
        deadline, last_change, cell_seconds, seen = time.monotonic() + 600, None, 0.5, 0
        while seen < target:
            assert proc.poll() is None, "the sweep ended before it could be interrupted"
            assert time.monotonic() < deadline, "the sweep made no progress"
            now_done = done_count(store)
            if now_done > seen:
                now = time.monotonic()
                if last_change is not None:
                    cell_seconds = now - last_change
                seen, last_change = now_done, now
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.5) * cell_seconds)
        assert proc.poll() is None, "the sweep finished before the kill; the delay is too long for this machine"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    before = {key: (status, result) for key, status, _, result in rows(store)}
    finished_before = {key: result for key, (status, result) in before.items() if status == "done"}
    assert 1 <= len(finished_before) < TOTAL
    assert any(status == "running" for status, _ in before.values())  # the cell the kill hit

    resumed = subprocess.run(sweep_command(tiny_csv, store), capture_output=True, text=True, env=env, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{TOTAL} of {TOTAL} cells done, 0 failed" in resumed.stdout

    reference = tmp_path / "uninterrupted.sqlite"
    straight = subprocess.run(sweep_command(tiny_csv, reference), capture_output=True, text=True, env=env, timeout=600)
    assert straight.returncode == 0, straight.stderr

    after, expected = rows(store), rows(reference)
    keys = [key for key, *_ in after]
    assert len(keys) == len(set(keys)) == TOTAL  # every cell present exactly once
    assert sorted(keys) == sorted(key for key, *_ in expected)
    assert {status for _, status, _, _ in after} == {"done"}
    # finished cells were not re-run: same attempt count and the very same bytes
    for key, _, attempts, result in after:
        if key in finished_before:
            assert result == finished_before[key] and attempts == 1
        elif before[key][0] == "running":
            assert attempts == 2  # claimed by the killed process, then by the resumed one
    reference_results = {key: canonical(result) for key, _, _, result in expected}
    assert {key: canonical(result) for key, _, _, result in after} == reference_results


# ------------------------------------------------------------------------------- atomic writes


def test_a_failed_write_leaves_the_old_file_whole_and_no_temporary(tmp_path, monkeypatch):
    target = write_atomically(tmp_path / "report.json", '{"old": true}')

    real_write = os.write

    def crash_half_way(fd, data):
        real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", crash_half_way)
    with pytest.raises(OSError, match="the disk is full"):
        write_atomically(target, '{"new": "a much longer report that will not fit"}')
    assert target.read_text() == '{"old": true}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_bytes_are_written_atomically_too(tmp_path):
    path = write_atomically(tmp_path / "sub" / "model.pt", b"\x00\x01binary")
    assert path.read_bytes() == b"\x00\x01binary"
    assert [p.name for p in path.parent.iterdir()] == ["model.pt"]


# Functions allowed to write a file directly: the atomic writer itself, the output-folder
# probe, and writers that render into memory (BytesIO) and hand the bytes to the writer.
ALLOWED_WRITERS = {("fileio.py", "write_atomically"), ("fileio.py", "save_png"), ("model.py", "save_model")}
WRITES = {"write_text", "write_bytes", "savefig", "to_csv", "to_parquet"}


def _direct_writes(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for function in [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]:
        for node in ast.walk(function):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            owner = getattr(func.value, "id", "") if isinstance(func, ast.Attribute) else ""
            writes = name in WRITES and not (name == "to_csv" and not node.args)  # to_csv(index=False) -> str
            writes |= (owner, name) in {("torch", "save"), ("np", "save"), ("np", "savez")}
            writes |= name == "open" and any(isinstance(a, ast.Constant) and isinstance(a.value, str)
                                             and set(a.value) & set("wax") for a in node.args[1:2])
            if writes:
                yield function.name, node.lineno


def test_every_file_rnnmem_writes_goes_through_the_atomic_writer():
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC).as_posix()
        for function, line in _direct_writes(path):
            if (relative, function) not in ALLOWED_WRITERS:
                offenders.append(f"{relative}:{line} in {function}()")
    assert not offenders, ("write these through rnnmem.fileio.write_atomically (temporary file + "
                           "rename) so a crash never leaves half a file: " + ", ".join(offenders))


# ------------------------------------------------------------------------------- determinism


def test_two_cli_assess_runs_with_the_same_seed_write_identical_reports(tiny_csv, tmp_path):
    """The same seed gives the same numbers, end to end: report.json (and history.json) byte for byte."""
    import numpy
    import torch
    from typer.testing import CliRunner

    import rnnmem
    from rnnmem.cli import app

    args = ["assess", "--unit", "gru", "--corpus", str(tiny_csv), "--max-len", "16", "--epochs", "2", "--hidden", "8",
            "--embedding-dim", "4", "--max-distance", "8", "--max-sequences", "20", "--seed", "5", "--quiet"]
    for run in ("a", "b"):
        result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / run)])
        assert result.exit_code == 0, result.output
    for name in ("report.json", "history.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    meta = json.loads((tmp_path / "a" / "report.json").read_text())["meta"]
    assert meta["seed"] == 5
    assert meta["versions"]["torch"] == torch.__version__ and meta["versions"]["numpy"] == numpy.__version__
    assert meta["versions"]["rnnmem"] == rnnmem.__version__
    assert meta["threads"] == torch.get_num_threads() >= 1
