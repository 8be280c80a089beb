"""Hostile files, full disks and dying processes (docs/errors.md, rows 63 onward).

Each test plants what an adversary or an unlucky day would (a link, a FIFO, /dev/zero, a zip
bomb, a full disk, a killed parent) and checks that rnnmem ends in a clear message or a clean
exit, with nothing harmed.
"""

import errno
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import rnnmem
from rnnmem.cli import app
from rnnmem.errors import ConfigError, DataError, ModelProtocolError, StorageError
from rnnmem.fileio import MANIFEST, RunOutputs, read_bounded, write_atomically
from rnnmem.sweep import ResultsStore
from rnnmem.pipeline.config import RunConfig

try:  # Click 8.2 keeps stderr apart by default; older Clicks need to be asked
    runner = CliRunner(mix_stderr=False)
except TypeError:
    runner = CliRunner()

SRC = Path(__file__).resolve().parents[1] / "src"
TINY = ["--max-len", "16", "--epochs", "1", "--hidden", "8", "--embedding-dim", "4", "--max-distance", "6",
        "--max-sequences", "12", "--seed", "3", "--quiet", "--estimators", "occlusion"]


def cli_error(args, code=2):
    """Run the CLI, check it failed the CLI way (one or two lines, no traceback), and return its stderr."""
    result = runner.invoke(app, args)
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output + result.stderr
    assert 1 <= len(result.stderr.strip().splitlines()) <= 3, result.stderr
    return result.stderr


def listed(out):
    """The paths the output folder's manifest lists, by kind of run."""
    runs = json.loads((out / MANIFEST).read_text())["runs"]
    return {kind: [entry["path"] for entry in entries] for kind, entries in runs.items()}


def saved_model(folder, **sizes):
    return rnnmem.save_model(rnnmem.build_model("srn", 10, 2, hidden_size=4, **sizes), folder, label_names=["a", "b"])


# ------------------------------------------------------------------------------- writes never follow links


def test_a_link_planted_in_the_output_folder_is_never_written_through(tiny_csv, tmp_path):
    victim = tmp_path / "precious.txt"
    victim.write_text("keep me")
    out = tmp_path / "out"
    out.mkdir()
    (out / ".write-test").symlink_to(victim)  # the old writability probe wrote through this
    (out / "report.json").symlink_to(victim)  # and a link where a report goes is replaced, not followed
    result = runner.invoke(app, ["assess", "--corpus", str(tiny_csv), "--out", str(out), *TINY])
    assert result.exit_code == 0, result.output
    assert victim.read_text() == "keep me"
    assert not (out / "report.json").is_symlink() and json.loads((out / "report.json").read_text())["meta"]


def test_write_atomically_replaces_a_link_and_leaves_its_target_alone(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    (tmp_path / "report.md").symlink_to(victim)
    write_atomically(tmp_path / "report.md", "new")
    assert victim.read_text() == "keep me" and (tmp_path / "report.md").read_text() == "new"
    assert not (tmp_path / "report.md").is_symlink()
    assert (tmp_path / "report.md").stat().st_mode & 0o044 == 0o044 & ~_umask()  # as readable as any file the user writes


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_empty_out_is_refused_rather_than_writing_into_the_current_folder(tiny_csv):
    err = cli_error(["assess", "--corpus", str(tiny_csv), "--out", "", *TINY])
    assert 'the output folder is empty (--out "")' in err
    err = cli_error(["report", "whatever.sqlite", "--out", ""])
    assert "the output folder is empty" in err


def test_a_linked_subfolder_of_the_outputs_is_refused(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "model").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(ConfigError, match="model is a symbolic link; rnnmem writes outputs only inside"):
        with RunOutputs(out, "assess") as staging:
            write_atomically(staging / "model" / "model.pt", b"weights")
    assert list(elsewhere.iterdir()) == []


# ------------------------------------------------------------------------------- a run's outputs as a set


def test_a_new_run_removes_the_files_of_the_earlier_run_it_did_not_write(tmp_path):
    out = tmp_path / "out"
    with RunOutputs(out, "assess") as staging:
        for name in ("report.json", "validity.png", "model/model.pt"):
            write_atomically(staging / name, name)
    (out / "notes-by-the-user.txt").write_text("mine")
    with RunOutputs(out, "assess") as staging:
        write_atomically(staging / "report.json", "second run")
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert names == [MANIFEST, "notes-by-the-user.txt", "report.json"]  # validity.png of the first run is gone
    assert (out / "report.json").read_text() == "second run"
    assert listed(out) == {"assess": ["report.json"]}


def test_the_checkpoint_being_reassessed_is_kept_when_the_new_run_does_not_rewrite_it(tiny_csv, tmp_path):
    out = tmp_path / "run"
    assert runner.invoke(app, ["assess", "--corpus", str(tiny_csv), "--out", str(out), *TINY]).exit_code == 0
    before = (out / "model" / "model.pt").read_bytes()
    for checkpoint in (out / "model", out / "model" / "model.pt"):  # load_model takes the folder or a file in it
        result = runner.invoke(app, ["assess", "--corpus", str(tiny_csv), "--out", str(out), "--checkpoint",
                                     str(checkpoint), *TINY])
        assert result.exit_code == 0, result.output
        assert (out / "model" / "model.pt").read_bytes() == before and (out / "model" / "model.json").exists()
    assert "model/model.pt" in listed(out)["assess"]


def test_an_assessment_and_a_study_report_sharing_a_folder_keep_each_others_files(tmp_path):
    out = tmp_path / "shared"
    with RunOutputs(out, "assess") as staging:
        write_atomically(staging / "model" / "model.pt", b"trained weights")
        write_atomically(staging / "report.md", "assessment")
    with RunOutputs(out, "report") as staging:
        write_atomically(staging / "comparison.md", "study")
        write_atomically(staging / "report.md", "study report")
    assert (out / "model" / "model.pt").read_bytes() == b"trained weights"
    assert listed(out) == {"assess": ["model/model.pt", "report.md"], "report": ["comparison.md", "report.md"]}


def test_a_folder_where_a_file_goes_is_refused_before_anything_is_replaced(tmp_path):
    out = tmp_path / "out"
    with RunOutputs(out, "assess") as staging:
        write_atomically(staging / "a.json", "first")
    (out / "report.json").mkdir()
    with pytest.raises(ConfigError, match="report.json is a folder where rnnmem writes a file"):
        with RunOutputs(out, "assess") as staging:
            write_atomically(staging / "a.json", "second")
            write_atomically(staging / "report.json", "x")
    assert (out / "a.json").read_text() == "first"
    (out / "report.json").rmdir()
    (out / "model").write_text("the user's notes")
    with pytest.raises(ConfigError, match="model is a file where rnnmem writes a folder"):
        with RunOutputs(out, "assess") as staging:
            write_atomically(staging / "a.json", "third")
            write_atomically(staging / "model" / "model.pt", b"w")
    assert (out / "a.json").read_text() == "first" and (out / "model").read_text() == "the user's notes"


def test_a_tampered_manifest_cannot_remove_files_outside_the_folder(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    out = tmp_path / "out"
    out.mkdir()
    (out / MANIFEST).write_text(json.dumps({"runs": {"assess": ["../victim.txt", str(victim), "", 3, None]}}))
    with RunOutputs(out, "assess") as staging:
        write_atomically(staging / "report.md", "x")
    assert victim.read_text() == "keep me"


def test_a_failed_run_leaves_the_earlier_run_whole_and_no_staging_behind(tmp_path):
    out = tmp_path / "out"
    with RunOutputs(out, "assess") as staging:
        write_atomically(staging / "report.json", "first")
        write_atomically(staging / "retention.png", b"png")
    with pytest.raises(StorageError, match="the disk is full"):
        with RunOutputs(out, "assess") as staging:
            write_atomically(staging / "report.json", "second")
            raise StorageError("cannot write retention.png: the disk is full", errno.ENOSPC)
    assert (out / "report.json").read_text() == "first" and (out / "retention.png").read_bytes() == b"png"
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "report.json", "retention.png"]


def test_disk_full_during_assess_names_the_path_and_the_fix_and_keeps_the_earlier_run(tiny_csv, tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert runner.invoke(app, ["assess", "--corpus", str(tiny_csv), "--out", str(out), *TINY]).exit_code == 0
    earlier = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    real_write = os.write

    def full_disk(fd, data):
        if len(data) > 1000:  # lets small writes through: the disk fills part-way into the run
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", full_disk)
    err = cli_error(["assess", "--corpus", str(tiny_csv), "--out", str(out), *TINY])
    monkeypatch.undo()
    assert "the disk is full; free some space on that disk" in err and str(out) in err
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == earlier


def test_sigterm_during_a_run_leaves_no_temporary_or_staging_file(tmp_path):
    out = tmp_path / "out"
    script = textwrap.dedent(f"""
        import sys, time
        sys.argv = ["rnnmem"]
        from rnnmem.cli import main
        from rnnmem.fileio import RunOutputs, write_atomically
        main(debug=False)  # installs the SIGTERM handler, as every command does
        with RunOutputs({str(out)!r}, "assess") as staging:
            write_atomically(staging / "report.json", "x")
            print("ready", flush=True)
            time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(SRC)})
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    assert list(out.iterdir()) == []


def test_files_abandoned_by_a_killed_process_are_removed_by_the_next_run(tmp_path):
    out = tmp_path / "out"
    script = textwrap.dedent(f"""
        import os
        from rnnmem.fileio import RunOutputs, write_atomically
        staging = RunOutputs({str(out)!r}, "assess").__enter__()
        write_atomically(staging / "report.json", "half")
        os._exit(9)  # as after SIGKILL: no cleanup runs
    """)
    subprocess.run([sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": str(SRC)}, check=False)
    [abandoned] = list(out.iterdir())
    assert abandoned.name.startswith(".rnnmem-staging-") and (abandoned / "report.json").exists()
    (out / f".report.md.{os.getppid()}.xyz.tmp").write_text("a look-alike of a temporary: not provably ours")
    with RunOutputs(out, "assess") as staging:
        write_atomically(staging / "report.md", "done")
    assert sorted(p.name for p in out.iterdir()) == [f".report.md.{os.getppid()}.xyz.tmp", MANIFEST, "report.md"]


# ------------------------------------------------------------------------------- bounded reads


def test_model_json_linked_to_dev_zero_is_refused_without_reading_it(tmp_path):
    folder = saved_model(tmp_path / "m")
    (folder / "model.json").unlink()
    (folder / "model.json").symlink_to("/dev/zero")
    with pytest.raises(ModelProtocolError, match="is a character device, not a regular file"):
        rnnmem.load_model(folder)


def test_model_json_that_is_a_fifo_is_refused_without_blocking(tmp_path):
    folder = saved_model(tmp_path / "m")
    (folder / "model.json").unlink()
    os.mkfifo(folder / "model.json")
    started = time.monotonic()
    with pytest.raises(ModelProtocolError, match=r"is a FIFO \(named pipe\), not a regular file"):
        rnnmem.load_model(folder)
    assert time.monotonic() - started < 5


def test_a_fifo_as_corpus_store_or_checkpoint_on_the_cli_is_a_message(tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    assert "is a FIFO (named pipe), not a regular file" in cli_error(["assess", "--corpus", str(fifo), *TINY,
                                                                       "--out", str(tmp_path / "o")])
    store_fifo = tmp_path / "store.sqlite"
    os.mkfifo(store_fifo)
    err = cli_error(["report", str(store_fifo), "--out", str(tmp_path / "r")])  # a message, not a hang
    assert "results store" in err and "is a FIFO (named pipe), not a regular file" in err and "no results store" not in err
    with pytest.raises(DataError, match="is a FIFO"):
        ResultsStore(store_fifo)


def test_grid_files_and_jsonl_rows_nested_beyond_reason_are_messages(tmp_path):
    deep = "[" * 100_000 + "]" * 100_000
    (tmp_path / "deep.toml").write_text(f"[grid]\nunits = {deep}\n")
    result = runner.invoke(app, ["sweep", "--grid", str(tmp_path / "deep.toml"), "--store", str(tmp_path / "s.sqlite")])
    assert result.exit_code == 2 and "Traceback" not in result.output + result.stderr  # the message shows an example grid
    assert "is not valid TOML (nested beyond reason)" in result.stderr
    (tmp_path / "deep.jsonl").write_text(f'{{"text": {deep}, "label": 1}}\n')
    with pytest.raises(DataError, match="deep.jsonl line 1 is not valid JSON \\(nested too deeply\\)"):
        rnnmem.read_corpus(tmp_path / "deep.jsonl")
    assert "is a character device" in cli_error(["sweep", "--grid", "/dev/zero", "--store", str(tmp_path / "s.sqlite")])


def test_an_oversized_model_json_is_refused_before_reading(tmp_path):
    folder = saved_model(tmp_path / "m")
    with (folder / "model.json").open("r+b") as handle:
        handle.truncate(65 * 2**20)  # sparse: no disk used
    with pytest.raises(ModelProtocolError, match="over the limit of 67,108,864 bytes"):
        rnnmem.load_model(folder)


def test_read_bounded_refuses_a_file_over_its_limit(tmp_path):
    (tmp_path / "f").write_bytes(b"x" * 11)
    with pytest.raises(DataError, match="is 11 bytes, over the limit of 10 bytes; shorten it"):
        read_bounded(tmp_path / "f", 10, "test file", "shorten it")
    assert read_bounded(tmp_path / "f", 11, "test file", "shorten it") == b"x" * 11


PEAK_SCRIPT = """
import resource, sys, torch, rnnmem
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    rnnmem.load_model(sys.argv[1])
    print("loaded", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
except rnnmem.ModelProtocolError as exc:
    print("refused", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before, exc)
"""


def _peak_kib(folder) -> tuple[str, int, str]:
    out = subprocess.run([sys.executable, "-c", PEAK_SCRIPT, str(folder)], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr
    outcome, kib, *message = out.stdout.split(" ", 2)
    return outcome, int(kib), " ".join(message)


def _write_bomb(folder: Path, inflated: int, lie: bool = False) -> None:
    """Replace the first tensor of model.pt by ``inflated`` zero bytes, deflated (1 GiB is about 1 MB on disk).

    The rest stays a valid checkpoint, so torch.load would inflate the record in full before
    noticing that it is too large. With ``lie`` the zip's headers claim the tensor's true size.
    """
    import io
    import struct

    original = zipfile.ZipFile(io.BytesIO((folder / "model.pt").read_bytes()))
    target = next(info for info in original.infolist() if info.filename.endswith("/data/0"))
    out = io.BytesIO()
    # entries copied with their ZipInfo keep torch's stored (uncompressed) format; the bomb is deflated
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for info in original.infolist():
            if info is not target:
                archive.writestr(info, original.read(info.filename))
                continue
            with archive.open(info.filename, "w") as entry:
                for _ in range(inflated // 2**20):
                    entry.write(bytes(2**20))
    data = bytearray(out.getvalue())
    if lie:
        bomb = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo(target.filename)
        struct.pack_into("<I", data, bomb.header_offset + 22, target.file_size)  # local header: uncompressed size
        entry_at = bytes(data).find(b"PK\x01\x02")
        while bytes(data[entry_at + 46: entry_at + 46 + len(target.filename)]) != target.filename.encode():
            entry_at = bytes(data).find(b"PK\x01\x02", entry_at + 4)
        struct.pack_into("<I", data, entry_at + 24, target.file_size)  # central directory: uncompressed size
    (folder / "model.pt").write_bytes(bytes(data))


def test_a_zip_bomb_checkpoint_is_refused_before_it_is_inflated(tmp_path):
    normal = saved_model(tmp_path / "normal")
    bomb = saved_model(tmp_path / "bomb")
    _write_bomb(bomb, 2**30)  # about 1 MB on disk, 1 GiB inflated
    assert (bomb / "model.pt").stat().st_size < 2 * 2**20
    liar = saved_model(tmp_path / "liar")
    _write_bomb(liar, 256 * 2**20, lie=True)  # the directory claims the true size: torch inflates no more than that
    outcome, baseline_kib, _ = _peak_kib(normal)
    assert outcome == "loaded"
    outcome, liar_kib, _ = _peak_kib(liar)
    assert outcome == "loaded" and liar_kib - baseline_kib < 100 * 1024  # its weights are the attacker's, not its size
    outcome, bomb_kib, message = _peak_kib(bomb)
    assert outcome == "refused", message
    claimed = re.search(r"would decompress to ([\d,]+) bytes, but the model in model.json has 3,720 bytes", message)
    assert claimed and int(claimed.group(1).replace(",", "")) >= 2**30, message  # the bomb and torch's small records
    # 3,720 bytes = 930 float32: embedding 10x64, srn 4x64 + 4x4 + 2x4, readout 4x2 + 2
    assert "the file was not inflated" in message
    assert bomb_kib - baseline_kib < 100 * 1024  # KiB: under 100 MB above a normal checkpoint (torch.load alone: +0.9 GB)


@pytest.mark.parametrize("payload, message", [
    ([1, 2, 3], "holds list, not a state dict of named tensors"),
    ({"embedding.weight": "a string"}, "a dict with entries that are not tensors"),
    (torch.zeros(3), "holds Tensor, not a state dict"),
])
def test_model_pt_holding_another_type_is_named(tmp_path, payload, message):
    folder = saved_model(tmp_path / "m")
    torch.save(payload, folder / "model.pt")
    with pytest.raises(ModelProtocolError, match=message):
        rnnmem.load_model(folder)


def test_model_pt_that_is_not_a_zip_is_refused(tmp_path):
    folder = saved_model(tmp_path / "m")
    (folder / "model.pt").write_bytes(b"\x80\x02legacy pickle")
    with pytest.raises(ModelProtocolError, match="is not a zip archive written by torch.save"):
        rnnmem.load_model(folder)


@pytest.mark.parametrize("change, message", [
    ({"config": {"unit": "srn", "vocab_size": "10", "num_classes": 2}}, "config.vocab_size must be a whole number, got '10'"),
    ({"config": {"unit": 5, "vocab_size": 10, "num_classes": 2}}, "config.unit must be a string, got 5"),
    ({"config": {"unit": "srn", "vocab_size": 10, "num_classes": True}}, "config.num_classes must be a whole number"),
    ({"config": {"unit": "srn", "vocab_size": 10, "num_classes": 2, "depth": 2}}, "unknown config field(s) 'depth'"),
    ({"config": {"unit": "srn", "vocab_size": 10, "num_classes": 2, "dropout": "0.1"}}, "config.dropout must be a number, got '0.1'"),
    ({"init_seed": 1.5}, "init_seed must be a whole number, got 1.5"),
    ({"config": [1]}, "config is a JSON list, not an object"),
    ({"vocabulary": {"tokens": "abc"}}, "vocabulary must be an object whose 'tokens' is a list of strings"),
    ({"vocabulary": {"tokens": ["<pad>", "<unk>", *"abcdefghij"]}}, "the vocabulary lists 12 tokens but config.vocab_size is only 10"),
    ({"vocabulary": {"tokens": ["<pad>", "<unk>"] + ["a"] * 8}}, "list each token once"),
    ({"label_names": "ab"}, "label_names must be a list of strings"),
    ({"label_names": ["a", "b", "c"]}, "it names 3 labels but config.num_classes is 2"),
])
def test_model_json_fields_of_the_wrong_type_are_named(tmp_path, change, message):
    folder = saved_model(tmp_path / "m")
    meta = json.loads((folder / "model.json").read_text())
    meta.update(change)
    (folder / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelProtocolError, match="is not a model description written by rnnmem") as info:
        rnnmem.load_model(folder)
    assert message in str(info.value)


@pytest.mark.parametrize("args, message", [
    (["units", "--hidden", "40000"], "rnnmem builds models of at most 250,000,000 weights"),
    (["units", "--hidden", "0"], "hidden_size must be >= 1 (got 0)"),
    (["capacity", "--hidden", "40000"], "rnnmem builds models of at most 250,000,000 weights"),
    (["capacity", "--length", "2000000000"], "rnnmem computes arrays of at most 1,000,000,000"),
    (["capacity", "--seed", "-1"], "seed must be in [0, 4294967295] (got -1)"),
    (["assess", "--seed", "-1"], "seed must be in [0, 4294967295] (got -1)"),
    (["assess", "--seed", "99999999999"], "seed must be in [0, 4294967295] (got 99999999999)"),
])
def test_every_command_applies_the_same_size_and_seed_limits(args, message):
    assert message in cli_error(args)


# ------------------------------------------------------------------------------- stores that are not what we wrote


def _store_with(tmp_path, schema: str, version: int = 0) -> Path:
    path = tmp_path / "s.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(schema)
        db.execute(f"PRAGMA user_version = {version}")
    db.close()
    return path


def test_an_older_store_without_optional_columns_is_migrated_forward(tmp_path):
    path = _store_with(tmp_path, "CREATE TABLE cells (key TEXT PRIMARY KEY, config TEXT NOT NULL, status TEXT NOT NULL,"
                                 " result TEXT);")
    store = ResultsStore(path)
    assert store.add([RunConfig(unit="srn")]) == 1
    assert store.claim() == RunConfig(unit="srn")
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 1
        assert db.execute("SELECT attempts, owner IS NOT NULL FROM cells").fetchone() == (1, 1)
    db.close()


def test_a_store_with_a_column_we_do_not_know_is_refused_not_silently_skipped(tmp_path):
    # a NOT NULL column without a default, as a newer version might add: INSERT OR IGNORE skipped every cell
    path = _store_with(tmp_path, "CREATE TABLE cells (key TEXT PRIMARY KEY, config TEXT NOT NULL, status TEXT NOT NULL,"
                                 " result TEXT, priority INTEGER NOT NULL);")
    with pytest.raises(DataError, match=r"has columns this rnnmem does not know \(priority\)"):
        ResultsStore(path)


def test_a_store_from_a_newer_schema_version_is_refused_with_the_way_out(tmp_path):
    from rnnmem.sweep.store import SCHEMA

    path = _store_with(tmp_path, SCHEMA, version=7)
    with pytest.raises(DataError, match="written by a newer rnnmem \\(store schema version 7; this rnnmem reads "
                                        "versions up to 1\\); upgrade rnnmem"):
        ResultsStore(path)
    err = cli_error(["sweep", "--store", str(path), "--units", "srn", "--lengths", "8", "--seeds", "0"])
    assert "written by a newer rnnmem" in err


def test_damaged_json_rows_are_named_with_the_row_and_the_fix(tmp_path):
    path = tmp_path / "s.sqlite"
    store = ResultsStore(path)
    store.add([RunConfig(unit="srn")])
    key = RunConfig(unit="srn").key
    with sqlite3.connect(path) as db:
        db.execute("UPDATE cells SET config='{\"unit\": \"srn\"', status='done', result='[1, 2' WHERE key=?", (key,))
    db.close()
    with pytest.raises(DataError, match=f"the config of cell {key} in .* is not valid JSON .*DELETE FROM cells WHERE "
                                        f"key='{key}'"):
        store.cells()
    err = cli_error(["report", str(path), "--out", str(tmp_path / "r")])
    assert f"cell {key}" in err and "is not valid JSON" in err


@pytest.mark.parametrize("result, message", [
    ({"metrics": {}}, "is missing history, report, ses, not the object a sweep writes"),
    ([1, 2], "is a JSON list, not the object a sweep writes"),
    ({"metrics": {}, "report": {}, "ses": {}, "history": {}}, "are not what `rnnmem sweep` writes (KeyError: 'summary')"),
])
def test_a_store_whose_results_were_edited_into_another_shape_is_a_message(tmp_path, result, message):
    path = tmp_path / "s.sqlite"
    ResultsStore(path).add([RunConfig(unit="srn")])
    with sqlite3.connect(path) as db:
        db.execute("UPDATE cells SET status='done', result=?", (json.dumps(result),))
    db.close()
    assert message in cli_error(["report", str(path), "--out", str(tmp_path / "r")])


def test_a_read_only_store_can_be_reported_and_a_write_names_the_fix(tmp_path, monkeypatch):
    path = tmp_path / "s.sqlite"
    ResultsStore(path).add([RunConfig(unit="srn")])
    monkeypatch.setattr(ResultsStore, "_connect", lambda self: sqlite3.connect(f"file:{self.path}?mode=ro", uri=True,
                                                                                isolation_level=None))
    store = ResultsStore(path)  # a current store opens without writing
    assert store.counts() == {"pending": 1}
    with pytest.raises(StorageError, match="it is read-only .*; make it and its folder writable"):
        store.claim()


def test_a_store_locked_by_another_process_is_named_with_the_way_out(tmp_path, monkeypatch):
    path = tmp_path / "s.sqlite"
    store = ResultsStore(path)
    real_connect = ResultsStore._connect
    monkeypatch.setattr(ResultsStore, "_connect", lambda self: _short_wait(real_connect(self)))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another sweep in the middle of a write
    try:
        with pytest.raises(DataError, match="another process has held it locked .*wait for that sweep to finish"):
            store.add([RunConfig(unit="srn")])
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def _short_wait(db):
    db.execute("PRAGMA busy_timeout = 50")  # rnnmem waits a minute; the test need not
    return db


def test_a_full_disk_during_a_sweep_is_a_message_naming_the_store(tmp_path, monkeypatch):
    path = tmp_path / "s.sqlite"
    ResultsStore(path)
    real_connect = ResultsStore._connect

    def small_disk(self):
        db = real_connect(self)
        db.execute("PRAGMA max_page_count = 3")  # what SQLite says when the disk fills: SQLITE_FULL
        return db

    monkeypatch.setattr(ResultsStore, "_connect", small_disk)
    store = ResultsStore(path)
    with pytest.raises(StorageError, match="the disk is full .*re-run the same command: finished cells are kept"):
        store.add([RunConfig(unit="srn", seed=s, corpus="x" * 2000) for s in range(50)])


# ------------------------------------------------------------------------------- processes die with their parent


def _state(pid: int) -> str | None:
    """The process state letter from /proc (None when gone; 'Z' for an unreaped zombie, which is dead too)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return None


def _sweep_with_two_running_cells(tiny_csv, store, own_group=False):
    """Start `rnnmem sweep --workers 2` and return (process, worker pids) once both workers run a cell.

    With ``own_group`` the sweep leads a process group of its own, as under `timeout` or a job-control shell."""
    command = [sys.executable, "-m", "rnnmem.cli", "sweep", "--units", "srn,gru", "--lengths", "8,12,16", "--seeds", "0",
               "--corpus", str(tiny_csv), "--hidden", "8", "--embedding-dim", "8", "--epochs", "4", "--max-distance", "8",
               "--max-sequences", "20", "--workers", "2", "--quiet", "--store", str(store)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}, start_new_session=own_group)
    deadline, owners = time.monotonic() + 300, []
    while len(owners) < 2:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the workers never claimed two cells")
        time.sleep(0.05)
        try:
            owners = _rows(store, "SELECT owner FROM cells WHERE status='running'")
        except sqlite3.OperationalError:  # not created yet
            owners = []
    return proc, [int(owner.rpartition(":")[2]) for (owner,) in owners]


def _rows(store, sql):
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5) as db:
        rows = db.execute(sql).fetchall()
    db.close()
    return rows


def _all_gone_within(pids, seconds) -> bool:
    gone_by = time.monotonic() + seconds
    while any(_state(pid) not in (None, "Z") for pid in pids) and time.monotonic() < gone_by:
        time.sleep(0.1)
    return all(_state(pid) in (None, "Z") for pid in pids)


needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc")


@needs_proc
def test_workers_die_within_seconds_when_the_sweep_is_killed(tiny_csv, tmp_path):
    store = tmp_path / "s.sqlite"
    proc, workers = _sweep_with_two_running_cells(tiny_csv, store)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert _all_gone_within(workers, 5), [_state(pid) for pid in workers]
    claimed = _rows(store, "SELECT COUNT(*) FROM cells WHERE status != 'pending'")
    time.sleep(1)
    assert _rows(store, "SELECT COUNT(*) FROM cells WHERE status != 'pending'") == claimed  # nobody claims any more


@needs_proc
def test_sigterm_stops_a_sweep_and_its_workers_at_once_and_frees_their_cells(tiny_csv, tmp_path):
    store = tmp_path / "s.sqlite"
    proc, workers = _sweep_with_two_running_cells(tiny_csv, store)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)  # it waited for the cells in flight to finish before
    assert proc.returncode == 128 + signal.SIGTERM and "interrupted; finished work was kept" in err
    assert "Traceback" not in err
    assert _all_gone_within(workers, 5)
    assert _rows(store, "SELECT COUNT(*) FROM cells WHERE status = 'running'") == [(0,)]


@needs_proc
def test_sigterm_to_the_whole_process_group_ends_the_sweep_instead_of_hanging(tiny_csv, tmp_path):
    # `timeout` and a terminal signal every process of the group: the workers die at once, and the sweep must not
    # wait for them to acknowledge its stop
    store = tmp_path / "s.sqlite"
    proc, workers = _sweep_with_two_running_cells(tiny_csv, store, own_group=True)
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("the sweep hung after SIGTERM to its process group")
    assert proc.returncode == 128 + signal.SIGTERM and "Traceback" not in err, err
    assert _all_gone_within(workers, 5)
    assert _rows(store, "SELECT COUNT(*) FROM cells WHERE status = 'running'") == [(0,)]


@needs_proc
def test_a_worker_killed_alone_ends_the_sweep_with_a_message_and_frees_every_cell_in_flight(tiny_csv, tmp_path):
    store = tmp_path / "s.sqlite"
    proc, workers = _sweep_with_two_running_cells(tiny_csv, store)
    os.kill(workers[0], signal.SIGKILL)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "Traceback" not in err
    assert re.search(r"a worker process died \(killed.*the [12] cell\(s\) in flight went back to pending", err), err
    assert _rows(store, "SELECT COUNT(*) FROM cells WHERE status = 'running'") == [(0,)]


# ------------------------------------------------------------------------------- silently wrong numbers


def _csv(path, rows):
    import csv

    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "label"])
        writer.writerows(rows)
    return path


def _texts(n):
    return [f"word{i % 7} other{i % 5} thing{i % 3}" for i in range(n)]


def test_a_label_column_that_is_an_id_is_refused(tmp_path):
    path = _csv(tmp_path / "ids.csv", [(i, text, i) for i, text in enumerate(_texts(200))])
    with pytest.raises(DataError, match="every one of the 200 rows of ids.csv has its own label in column 'id' "
                                        r"\(an ID column\?\)"):
        rnnmem.read_corpus(path, label_column="id")


def test_a_label_column_that_repeats_the_text_is_refused(tmp_path):
    texts = _texts(200)
    path = _csv(tmp_path / "same.csv", [(i, text, text) for i, text in enumerate(texts)])
    with pytest.raises(DataError, match="the label column 'label' of same.csv repeats the text in 200 of 200 rows"):
        rnnmem.read_corpus(path)


def test_more_classes_than_a_tenth_of_the_rows_is_a_warning_in_the_notes(tmp_path):
    path = _csv(tmp_path / "many.csv", [(i, text, f"c{i % 40}") for i, text in enumerate(_texts(200))])
    with pytest.warns(rnnmem.errors.DataWarning, match="many.csv has 40 distinct labels in column 'label' for 200 rows"):
        corpus = rnnmem.read_corpus(path)
    assert "is it really the class column?" in corpus.notes["warning"]
    path = _csv(tmp_path / "few.csv", [(i, text, f"c{i % 12}") for i, text in enumerate(_texts(200))])
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert "warning" not in rnnmem.read_corpus(path).notes  # 12 classes for 200 rows is a real task


def test_labels_differing_only_in_case_are_a_warning(tmp_path):
    path = _csv(tmp_path / "case.csv", [(i, text, ["pos", "Pos", "neg"][i % 3]) for i, text in enumerate(_texts(30))])
    with pytest.warns(rnnmem.errors.DataWarning, match="labels 'Pos' and 'pos' in column 'label' of case.csv differ "
                                                       "only in case"):
        corpus = rnnmem.read_corpus(path)
    assert corpus.num_classes == 3 and "differ only in case" in corpus.notes["warning"]


def test_the_cli_shows_a_data_warning_in_one_line(tmp_path):
    path = _csv(tmp_path / "case.csv", [(i, text, ["pos", "Pos", "neg"][i % 3]) for i, text in enumerate(_texts(60))])
    result = subprocess.run([sys.executable, "-m", "rnnmem.cli", "assess", "--corpus", str(path), *TINY, "--out",
                             str(tmp_path / "o")], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr
    assert "warning: labels 'Pos' and 'pos' in column 'label' of case.csv differ only in case" in result.stderr
    assert "warnings.warn" not in result.stderr  # no source line


def test_a_csv_separated_by_semicolons_is_named_as_such(tmp_path):
    (tmp_path / "semi.csv").write_text("text;label\ngood day;pos\nbad day;neg\n")
    with pytest.raises(DataError, match="The header looks separated by ';', not commas: save semi.csv comma-separated"):
        rnnmem.read_corpus(tmp_path / "semi.csv")


def test_numeric_labels_written_differently_are_one_class(tmp_path):
    spellings = ["1", "1.0", " 1", "01", "0", "0.0", "2"]
    path = _csv(tmp_path / "num.csv", [(i, text, spellings[i % 7]) for i, text in enumerate(_texts(70))])
    corpus = rnnmem.read_corpus(path)
    assert corpus.label_names == ("0", "1", "2")
    assert corpus.notes["label_spellings_merged"] == {"0": ["0", "0.0"], "1": ["01", "1", "1.0"]}
    counts = {name: (corpus.train_labels + corpus.test_labels).count(k) for k, name in enumerate(corpus.label_names)}
    assert counts == {"0": 20, "1": 40, "2": 10}


def test_a_number_written_one_way_keeps_its_spelling(tmp_path):
    path = _csv(tmp_path / "codes.csv", [(i, text, ["01", "02"][i % 2]) for i, text in enumerate(_texts(20))])
    corpus = rnnmem.read_corpus(path)
    assert corpus.label_names == ("01", "02") and "label_spellings_merged" not in corpus.notes


def test_texts_far_longer_than_max_len_are_cut_and_the_report_says_so(tmp_path):
    from rnnmem.pipeline.classify import train_and_assess

    rows = [(i, " ".join(["good" if i % 2 else "bad"] + [f"w{j % 9}" for j in range(3000 if i < 6 else 10)]),
             "pos" if i % 2 else "neg") for i in range(40)]
    path = _csv(tmp_path / "long.csv", rows)
    config = RunConfig(unit="srn", corpus=str(path), max_len=8, max_distance=6, epochs=1, hidden_size=8,
                        embedding_dim=4, max_sequences=12, n_resamples=20, estimators=("occlusion",))
    _, corpus, _, report, _ = train_and_assess(config)
    assert report.meta["sequence_length"]["max"] == 16  # 2 x max(max_len 8, max_distance + 1 = 7), not 3,001
    long_train = sum(len(t.split()) > 8 for t in corpus.train_texts)
    notes = " ".join(report.notes)
    assert f"{long_train} of {len(corpus.train_texts)} training texts are longer than max_len 8" in notes
    assert "test texts are longer than the assessed length 16" in notes and "the longest had 3,001" in notes


# ------------------------------------------------------------------------------- the library's edge


class _Readout(torch.nn.Module):
    """A causal model with K = 3 readouts; ``origin`` is what its initial_readout() returns."""

    def __init__(self, origin=None, k=3):
        super().__init__()
        self.emb = torch.nn.Embedding(20, k)
        self.origin = origin

    def forward(self, tokens):
        return self.emb(tokens).cumsum(dim=1)


class _WithOrigin(_Readout):
    def initial_readout(self):
        return self.origin


SEQS = [[1, 2, 3, 4, 5], [2, 3, 4], [5, 6, 7, 8]]


def _assess(model=None, data=SEQS, **options):
    return rnnmem.assess(model or _Readout(), data, progress=False, probes=False, n_resamples=options.pop("n_resamples", 20),
                         **options)


@pytest.mark.parametrize("options, message", [
    ({"n_resamples": 0}, "n_resamples must be in [1, 1000000] (got 0)"),
    ({"n_resamples": 2.5}, "n_resamples must be a whole number in [1, 1000000] (got 2.5)"),
    ({"max_sequences": 2.5}, "max_sequences must be a whole number >= 2 (got 2.5)"),
    ({"max_sequences": True}, "max_sequences must be a whole number >= 2 (got True)"),
    ({"seed": -1}, "seed must be in [0, 4294967295] (got -1)"),
    ({"seed": 2**40}, "seed must be in [0, 4294967295] (got 1099511627776)"),
    ({"seed": 1.5}, "seed must be a whole number in [0, 4294967295] (got 1.5)"),
    ({"max_len": 2.5}, "max_len must be a whole number >= 1 (got 2.5)"),
    ({"neutral_token": -1}, "neutral_token must be >= 0 (got -1)"),
    ({"max_distance": True}, "max_distance must be a whole number >= 0 (got True)"),
])
def test_assess_arguments_outside_their_domain_are_named(options, message):
    with pytest.raises(ConfigError) as info:
        _assess(**options)
    assert message in str(info.value)


@pytest.mark.parametrize("options, message", [
    ({"estimators": 3}, "estimators must be a name or a list of names like ['occlusion', 'regression'] (got 3)"),
    ({"vocabulary": "abc"}, "vocabulary must be an rnnmem Vocabulary (e.g. corpus.vocabulary) or None (got str)"),
])
def test_assess_arguments_of_the_wrong_type_are_named(options, message):
    with pytest.raises(ConfigError) as info:
        _assess(**options)
    assert message in str(info.value)


def test_a_negative_seed_for_a_corpus_split_is_named(tiny_csv):
    for load in (lambda: rnnmem.load_corpus("planted", seed=-1), lambda: rnnmem.read_corpus(tiny_csv, seed=-1)):
        with pytest.raises(ConfigError, match=r"seed must be in \[0, 4294967295\] \(got -1\)"):
            load()


def test_siblings_refuse_what_assess_refuses_instead_of_giving_a_number():
    from rnnmem.guidance import recommend_length
    from rnnmem.indicators.curve import memory_length

    curve = 0.5 ** np.arange(6)
    for call, message in [
        (lambda: memory_length(curve, 1.0), "tau must be in (0.0, 1.0) (got 1.0)"),  # was ML = 0
        (lambda: memory_length(curve, float("nan")), "tau must be a finite number in (0.0, 1.0) (got nan)"),  # was None
        (lambda: recommend_length(curve, np.array([4, 5, 6]), tau=0), "tau must be in (0.0, 1.0) (got 0.0)"),
        (lambda: recommend_length(curve, np.array([4, 5, 6]), data_quantile=2), "data_quantile must be in [0.0, 1.0]"),
        (lambda: _assess().recommend_length(True), "tau must be a finite number in (0.0, 1.0) (got True)"),
        (lambda: rnnmem.build_model("srn", 10, 2, seed=2**70), "seed must be in [0, 4294967295]"),
        (lambda: rnnmem.build_model("srn", 10, 2, seed=-1), "seed must be in [0, 4294967295] (got -1)"),
    ]:
        with pytest.raises(ConfigError) as info:
            call()
        assert message in str(info.value)


@pytest.mark.parametrize("data, lengths, message", [
    ([[0, 0, 0], [0, 0]], None, "every token of the data is the neutral token 0 (padding)"),
    (torch.tensor([[0, 0, 7], [0, 0, 0]]), [2, 3], "every token of the data is the neutral token 0"),  # 7 is padding
    (torch.ones(3, 4, dtype=torch.long), [1, 2], "lengths must hold one length per sequence, shape [3]; got shape [2]"),
    (torch.ones(2, 4, dtype=torch.long), [2.5, 3.0], "lengths must be whole numbers (got torch.float32)"),
    ([[1.5, 2], [3, 4]], None, "token ids must be whole numbers; got 1.5 (float)"),  # was truncated to 1 in silence
    ([["a", "b"], ["c"]], None, "token ids must be whole numbers; got 'a' (str)"),
])
def test_data_with_nothing_to_measure_is_named(data, lengths, message):
    with pytest.raises(DataError) as info:
        _assess(data=data, lengths=lengths)
    assert message in str(info.value)


@pytest.mark.parametrize("origin, message", [
    (torch.zeros(1), "must return o_0 = W h_0 + b, a tensor [K] = [3] like the readout; got shape [1]"),
    (torch.zeros(2, 3), "got shape [2, 3]"),
    ("zero", "got str"),
    (torch.tensor([0.0, float("nan"), 0.0]), "initial_readout() returned NaN or infinite values"),
])
def test_a_wrong_initial_readout_is_refused_not_broadcast(origin, message):
    with pytest.raises(ModelProtocolError) as info:
        _assess(_WithOrigin(origin))
    assert message in str(info.value)


def test_a_right_initial_readout_of_shape_1_k_is_used():
    model = _WithOrigin(torch.zeros(1, 3))
    assert _assess(model).meta["origin"] == "initial state h_0"


def test_a_model_with_zero_outputs_is_named():
    with pytest.raises(ModelProtocolError, match="returned readouts with K = 0 dimensions"):
        _assess(_Readout(k=0))


def test_a_storage_error_crosses_process_boundaries_intact():
    import pickle

    error = pickle.loads(pickle.dumps(StorageError("cannot write x: the disk is full", errno.ENOSPC)))
    assert isinstance(error, StorageError) and str(error) == "cannot write x: the disk is full"
