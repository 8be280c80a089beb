"""Nothing of the user's is ever removed (issue 18, docs/errors.md rows 138 onward).

rnnmem removes only what it can prove it made: an earlier run's file whose recorded inode,
size and time it still has, reached inside --out through no link, or a staging folder whose
marker names it and a process that is gone. Every test hashes the user's files before and
after and asserts they are byte-identical.
"""

import hashlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from contextlib import closing
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnmem.cli import app
from rnnmem.errors import DataError, OutputsWarning
from rnnmem.fileio import MANIFEST, RunOutputs, exit_on_sigterm, write_atomically
from rnnmem.ownership import STAGING_PREFIX, process_alive
from rnnmem.sweep import ResultsStore
from rnnmem.pipeline.config import RunConfig
from test_hostile import SRC, runner  # the CLI runner that keeps stderr apart, and the source folder

TINY = ["--max-len", "16", "--epochs", "1", "--hidden", "8", "--embedding-dim", "4", "--max-distance", "6",
        "--max-sequences", "12", "--seed", "3", "--quiet", "--estimators", "occlusion", "--n-resamples", "50"]


def hashes(folder: Path) -> dict:
    """Every file and link under ``folder`` (links not followed): a file's SHA-256, a link's target."""
    out = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(root) / name
            if path.is_symlink():
                out[path.relative_to(folder).as_posix()] = "-> " + os.readlink(path)
            elif path.is_file():
                out[path.relative_to(folder).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def run(out: Path, files: dict, kind: str = "assess") -> list[str]:
    """One RunOutputs run writing ``files`` (name -> text); the OutputsWarnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with RunOutputs(out, kind) as staging:
            for name, text in files.items():
                write_atomically(staging / name, text)
    return [str(w.message) for w in caught if issubclass(w.category, OutputsWarning)]


def user_files(folder: Path, names=("model.json", "model.pt")) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(f"the user's own {name}".encode())
    return folder


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# ------------------------------------------------------------------------------- the three deletion cases


@pytest.mark.parametrize("how", ["a new folder", "the very folder rnnmem wrote, moved away"])
def test_a_stale_entry_under_a_linked_subfolder_removes_nothing_through_the_link(tmp_path, how):
    out, keep = tmp_path / "out", tmp_path / "keep"
    run(out, {"report.md": "first", "model/model.json": "{}", "model/model.pt": "weights"})
    if how == "a new folder":  # rm -r OUT/model && ln -s ~/keep OUT/model
        for path in (out / "model").iterdir():
            path.unlink()
        (out / "model").rmdir()
        user_files(keep)
    else:  # same inodes, sizes and times as recorded: only the link stops the removal
        os.rename(out / "model", keep)
    (out / "model").symlink_to(keep, target_is_directory=True)
    before = hashes(keep)
    left = run(out, {"report.md": "second"})
    assert hashes(keep) == before and len(before) == 2
    assert (out / "model").is_symlink() and (out / "report.md").read_text() == "second"
    assert len(left) == 1 and "model/model.json" in left[0] and "is a symbolic link" in left[0]


def test_a_checkpoint_run_through_the_cli_leaves_a_linked_model_folder_whole(tiny_csv, tmp_path):
    out, keep, other = tmp_path / "out", tmp_path / "keep", tmp_path / "other"
    assert runner.invoke(app, ["assess", "--corpus", str(tiny_csv), "--out", str(out), *TINY]).exit_code == 0
    os.rename(out / "model", other)
    user_files(keep)
    (out / "model").symlink_to(keep, target_is_directory=True)
    before = hashes(keep)
    result = runner.invoke(app, ["assess", "--checkpoint", str(other), "--corpus", str(tiny_csv), "--out", str(out),
                                 *TINY])
    assert result.exit_code == 0, result.output
    assert hashes(keep) == before
    assert "warning: left 2 file(s) of the earlier run" in result.stderr and "model/model.pt" in result.stderr


def test_a_manifest_entry_through_a_linked_component_removes_nothing_outside(tmp_path):
    out, outside = tmp_path / "out", user_files(tmp_path / "X", ["v"])
    out.mkdir()
    (out / "l").symlink_to(outside, target_is_directory=True)
    info = os.stat(outside / "v")  # the worst case: the entry names the very file, identity and all
    entry = {"path": "l/v", "kind": "file", "size": info.st_size, "inode": info.st_ino, "device": info.st_dev,
             "mtime_ns": info.st_mtime_ns}
    (out / MANIFEST).write_text(json.dumps({"version": 2, "runs": {"assess": [entry]}}))
    before = hashes(outside)
    run(out, {"report.md": "x"})
    assert hashes(outside) == before


def test_a_look_alike_of_a_temporary_or_staging_folder_is_never_taken(tmp_path):
    out = tmp_path / "out"
    gone = dead_pid()
    (out / ".photos.2019.backup.tmp").mkdir(parents=True)
    (out / ".photos.2019.backup.tmp" / "img").write_bytes(b"a photo")
    (out / f".notes.{gone}.abcdefgh.tmp").write_text("notes")
    (out / f"{STAGING_PREFIX}{gone}-mine").mkdir()  # named like a staging folder, made by the user
    (out / f"{STAGING_PREFIX}{gone}-mine" / "draft.txt").write_text("draft")
    forged = out / f"{STAGING_PREFIX}{gone}-forged"  # with a marker that names another folder
    forged.mkdir()
    (forged / ".rnnmem-staging.json").write_text(json.dumps({
        "kind": "staging folder", "inode": 1, "device": 1, "pid": gone, "host": socket.gethostname(),
        "created": 0.0}))
    before = hashes(out)
    run(out, {"report.md": "x"})
    after = hashes(out)
    assert {name: after[name] for name in before} == before
    assert sorted(set(after) - set(before)) == [MANIFEST, "report.md"]


def test_a_staging_folder_with_its_own_marker_is_removed_only_once_its_process_is_gone(tmp_path):
    out = tmp_path / "out"
    script = textwrap.dedent(f"""
        import os, sys
        from rnnmem.fileio import RunOutputs
        RunOutputs({str(out)!r}, "assess").__enter__()
        print("ready", flush=True)
        sys.stdin.readline()
        os._exit(9)  # as after SIGKILL: no cleanup runs
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(SRC)})
    assert proc.stdout.readline().strip() == "ready"
    [staging] = list(out.iterdir())
    run(out, {"a.md": "x"})
    assert staging.exists()  # its process is alive: not abandoned
    proc.communicate("go\n", timeout=30)
    run(out, {"a.md": "x"})
    assert not staging.exists()


def test_a_dangling_link_as_store_is_refused_and_nothing_is_created_where_it_points(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = tmp_path / "s.sqlite"
    link.symlink_to(elsewhere / "study.sqlite")
    with pytest.raises(DataError, match=r"s.sqlite is a symbolic link \(to .*study.sqlite\); rnnmem opens and creates "
                                        r"results stores only as plain files"):
        ResultsStore(link)
    result = runner.invoke(app, ["sweep", "--store", str(link), "--units", "srn", "--lengths", "8", "--seeds", "0",
                                 "--quiet"])
    assert result.exit_code == 2 and "is a symbolic link" in result.stderr and "Traceback" not in result.stderr
    assert list(elsewhere.iterdir()) == []
    ResultsStore(elsewhere / "study.sqlite")  # the file itself is a store like any other
    with pytest.raises(DataError, match="is a symbolic link"):  # and a link to it is refused all the same
        ResultsStore(link)


# ------------------------------------------------------------------------------- what is removed, and what is said


def test_an_earlier_file_is_removed_only_while_it_is_the_one_rnnmem_wrote(tmp_path):
    out = tmp_path / "out"
    run(out, {"report.md": "first", "validity.png": "png", "fidelity.png": "png"})
    (out / "fidelity.png").write_text("the user's own figure now")  # replaced since rnnmem wrote it
    assert run(out, {"report.md": "second"}) and not (out / "validity.png").exists()
    assert (out / "fidelity.png").read_text() == "the user's own figure now"


def test_an_older_manifest_without_identities_removes_nothing_and_says_what_to_do(tmp_path):
    out = user_files(tmp_path / "out", ["report.md", "validity.png"])
    (out / MANIFEST).write_text(json.dumps({"runs": {"assess": ["report.md", "validity.png"]}}))
    before = hashes(out)["validity.png"]
    [left] = run(out, {"report.md": "new"})
    assert hashes(out)["validity.png"] == before
    assert "validity.png (an older rnnmem listed it without its identity)" in left and "Delete them by hand" in left
    assert run(out, {"report.md": "again"}) == []  # said once; the new manifest lists only what this run wrote


def test_a_folder_of_an_rnnmem_before_manifests_is_left_and_the_run_says_so(tmp_path):
    out = user_files(tmp_path / "out", ["report.md", "validity.png", "notes.txt"])
    before = hashes(out)
    [note] = run(out, {"report.md": "new"})
    assert {k: v for k, v in hashes(out).items() if k != "report.md" and k != MANIFEST} == \
        {k: v for k, v in before.items() if k != "report.md"}
    assert "has no list of rnnmem's outputs" in note and "notes.txt, validity.png" in note
    assert run(tmp_path / "fresh", {"report.md": "x"}) == []  # a new folder: nothing to say


# ------------------------------------------------------------------------------- signals


def _started(script: str) -> subprocess.Popen:
    """A Python process running ``script``, without the handlers the command line installs."""
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(script)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(SRC)})


def test_library_use_leaves_no_staging_folder_or_temporary_after_sigterm_or_sighup(tmp_path):
    during_a_run = """
        import time
        from rnnmem.fileio import RunOutputs, write_atomically
        with RunOutputs({out!r}, "assess") as staging:
            write_atomically(staging / "report.json", "x")
            print("ready", flush=True)
            time.sleep(60)
    """
    during_a_write = """
        import os, time
        from rnnmem.fileio import write_atomically
        def slow_fsync(fd):
            print("ready", flush=True)
            time.sleep(60)
        os.fsync = slow_fsync
        write_atomically({out!r} + "/report.json", "x")
    """
    cases = [(during_a_run, signal.SIGTERM), (during_a_run, signal.SIGHUP), (during_a_write, signal.SIGTERM)]
    folders = [tmp_path / str(i) for i in range(len(cases))]
    for folder in folders:
        folder.mkdir()
    # started together: each spends its time importing rnnmem
    procs = [_started(script.format(out=str(folder))) for (script, _), folder in zip(cases, folders)]
    for proc, (script, number), folder in zip(procs, cases, folders):
        assert proc.stdout.readline().strip() == "ready"
        assert list(folder.iterdir()), "a staging folder or temporary exists while it writes"
        proc.send_signal(number)
        assert proc.wait(timeout=30) == 128 + number and list(folder.iterdir()) == []


@pytest.mark.parametrize("landing", ["after the rename", "before the cleanup is armed"])
def test_a_signal_while_the_staging_marker_is_written_leaves_no_folder(landing, tmp_path, monkeypatch):
    """The window the CLI test below can hit by chance: the marker in place, or its temporary not yet removed."""
    import rnnmem.fileio as fileio

    def interrupted(path, text):
        if landing == "after the rename":
            write_atomically(path, text)
        else:
            Path(path).with_name(f".{Path(path).name}.{os.getpid()}.left.tmp").write_text(text)
        raise KeyboardInterrupt

    monkeypatch.setattr(fileio, "write_atomically", interrupted)
    with pytest.raises(KeyboardInterrupt):
        RunOutputs(tmp_path / "out", "assess").__enter__()
    assert list((tmp_path / "out").iterdir()) == []


def test_closing_the_terminal_of_a_cli_run_exits_129_cleanly(tiny_csv, tmp_path):
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "rnnmem.cli", "assess", "--corpus", str(tiny_csv), "--out", str(out),
                             *TINY, "--epochs", "200"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"})
    deadline = time.monotonic() + 120
    while not any(out.glob(f"{STAGING_PREFIX}*")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGHUP)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGHUP, err
    assert "interrupted; finished work was kept" in err and "Traceback" not in err
    assert list(out.iterdir()) == []


def test_an_ignored_sighup_stays_ignored_under_nohup():
    before = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        exit_on_sigterm()
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, before)


# ------------------------------------------------------------------------------- cells of killed workers


def test_a_cell_of_a_gone_or_reused_pid_is_reclaimed_and_a_live_one_is_not(tmp_path):
    store = ResultsStore(tmp_path / "s.sqlite")
    host = socket.gethostname()
    cells = [RunConfig(unit="srn", seed=seed) for seed in range(3)]
    store.add(cells)
    parent = os.getppid()  # alive, and started before this test
    store.claim(keys=[cells[0].key], owner=f"{host}:{dead_pid()}")
    store.claim(keys=[cells[1].key], owner=f"{host}:{parent}")
    store.claim(keys=[cells[2].key], owner=f"{host}:{parent}")
    with closing(sqlite3.connect(tmp_path / "s.sqlite")) as db, db:  # claimed before the parent started: a reused pid
        db.execute("UPDATE cells SET started_at=1.0 WHERE key=?", (cells[2].key,))
    assert store.release_orphans() == 2
    status = dict(zip(store.cells()["key"], store.cells()["status"]))
    assert status == {cells[0].key: "pending", cells[1].key: "running", cells[2].key: "pending"}
    assert process_alive(parent) and not process_alive(parent, started_by=1.0) and not process_alive(0)


def test_the_sweep_says_it_freed_cells_left_running_by_a_killed_worker(tiny_csv, tmp_path):
    store = tmp_path / "s.sqlite"
    grid = ["--units", "srn", "--lengths", "8", "--seeds", "0", "--corpus", str(tiny_csv), "--hidden", "8",
            "--embedding-dim", "4", "--epochs", "1", "--max-distance", "6", "--max-sequences", "12", "--workers", "1"]
    ResultsStore(store).add([RunConfig(unit="srn", max_len=8, seed=0, corpus=str(tiny_csv), hidden_size=8,
                                        embedding_dim=4, epochs=1, max_distance=6, max_sequences=12)])
    assert ResultsStore(store).claim(owner=f"{socket.gethostname()}:{dead_pid()}") is not None
    result = runner.invoke(app, ["sweep", "--store", str(store), "--quiet", *grid])
    assert result.exit_code == 0, result.output
    assert "1 of 1 cell done" in result.stdout
    assert "1 cell(s) left 'running' by a sweep or worker that no longer exists (killed?) went back to pending" \
        in result.stdout


# ------------------------------------------------------------------------------- a property: plant anything, lose nothing

NAMES = st.sampled_from(["validity.png", "report.md", "model", ".photos.2019.backup.tmp", f"{STAGING_PREFIX}1-x",
                         f"{STAGING_PREFIX}4194303-abc", ".report.md.4194303.abcdefgh.tmp", "notes.txt", "l", "sub",
                         MANIFEST + ".bak"])
PLANT = st.lists(st.tuples(st.sampled_from(["file", "folder", "link-out", "link-in", "dangling"]), NAMES),
                 max_size=6, unique_by=lambda plant: plant[1])
ENTRY = st.one_of(st.sampled_from(["validity.png", "l/v", "model/model.pt", "sub/inner", "../outside/v", "", "."]),
                  st.integers(), st.none(), st.dictionaries(st.sampled_from(["path", "kind", "size", "inode"]),
                                                            st.one_of(st.integers(), st.text(max_size=5))))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plants=PLANT, entries=st.lists(ENTRY, max_size=5), perturb=st.sampled_from(["size", "inode", "mtime_ns"]),
       run_first=st.booleans())
def test_planted_look_alikes_links_and_stale_manifests_never_change(plants, entries, perturb, run_first):
    with tempfile.TemporaryDirectory() as root:
        root = Path(root)
        out, outside = root / "out", user_files(root / "outside", ["v", "w"])
        if run_first:  # an earlier run of rnnmem's own, whose files the next run may remove
            run(out, {"validity.png": "old", "model/model.pt": "old"})
        out.mkdir(exist_ok=True)
        for kind, name in plants:
            path = out / name
            if path.exists() or path.is_symlink():
                continue
            if kind == "file":
                path.write_text(f"user {name}")
            elif kind == "folder":
                user_files(path, ["v", "inner"])
            else:
                path.symlink_to({"link-out": outside, "link-in": out, "dangling": root / "nowhere"}[kind])
        listed = list(entries)
        for name in ("v", "w"):  # entries naming the outside files exactly, one field of identity off, or via a link
            info = os.stat(outside / name)
            record = {"path": f"l/{name}", "kind": "file", "size": info.st_size, "inode": info.st_ino,
                      "device": info.st_dev, "mtime_ns": info.st_mtime_ns}
            listed += [record, {**record, "path": name, perturb: record[perturb] + 1}]
        runs = json.loads((out / MANIFEST).read_text())["runs"] if (out / MANIFEST).exists() else {}
        (out / MANIFEST).write_text(json.dumps({"version": 2, "runs": {**runs, "assess": runs.get("assess", [])
                                                                       + listed, "report": entries}}))
        ours = set(hashes(out)) & {"validity.png", "model/model.pt"} if run_first else set()
        planted_before = {k: v for k, v in hashes(out).items() if k not in ours and k != MANIFEST}
        outside_before = hashes(outside)
        run(out, {"report.json": "new"})
        after = hashes(out)
        assert hashes(outside) == outside_before
        assert {k: after.get(k) for k in planted_before} == planted_before
