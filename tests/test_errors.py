"""Bad inputs and the message each one gets (docs/errors.md lists them all, with the test of each row).

Rows already tested elsewhere are not repeated here; docs/errors.md points to those tests by name.
CLI errors must be one or two lines on stderr, a non-zero exit code and no traceback.
"""

import json
import os
import sqlite3
import subprocess
import sys

import pytest
import torch
from torch import nn
from typer.testing import CliRunner

import rnnmem
from known_systems import LinearRecurrence
from rnnmem.cli import app
from rnnmem.sweep import ResultsStore, expand_grid, load_grid_file

try:  # Click 8.2 keeps stderr apart by default; older Clicks need to be asked
    runner = CliRunner(mix_stderr=False)
except TypeError:
    runner = CliRunner()

TINY = ["--max-len", "16", "--epochs", "1", "--hidden", "8", "--embedding-dim", "4", "--max-distance", "6",
        "--max-sequences", "12", "--seed", "3", "--quiet"]


def cli_error(args, code=2):
    """Run the CLI, check it failed the CLI way, and return its stderr."""
    result = runner.invoke(app, args)
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    err = result.stderr
    assert "Traceback" not in result.output + err
    assert 1 <= len(err.strip().splitlines()) <= 3, err  # the message (one or two lines) and the --debug hint
    return err


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------------------- corpus files


def test_csv_whose_texts_are_all_empty_says_so(tmp_path):
    path = write(tmp_path / "blank.csv", "text,label\n,a\n   ,b\n\"\",a\n")
    with pytest.raises(rnnmem.DataError, match="no row of blank.csv has both a text with words") as info:
        rnnmem.read_corpus(path)
    assert "3 of 3 texts are empty" in str(info.value)


def test_jsonl_without_the_label_key_names_the_columns(tmp_path):
    path = write(tmp_path / "msgs.jsonl", '{"text": "hello there"}\n{"text": "bye now"}\n')
    with pytest.raises(rnnmem.DataError, match="column 'label' not found in msgs.jsonl; columns are: text"):
        rnnmem.read_corpus(path)


def test_single_class_jsonl_is_an_error(tmp_path):
    path = write(tmp_path / "one.jsonl", "".join(json.dumps({"text": f"t {i}", "label": 1}) + "\n" for i in range(5)))
    with pytest.raises(rnnmem.DataError, match=r"only one distinct label \(1\)"):
        rnnmem.read_corpus(path)


# ------------------------------------------------------------------------------- option values


@pytest.mark.parametrize("args, message", [
    (["--max-len", "0"], "max_len must be a positive integer, got 0"),
    (["--max-len", "-5"], "max_len must be a positive integer, got -5"),
    (["--max-len", "1000000000"], "max_len must be at most 1,000,000, got 1,000,000,000"),
    (["--hidden", "0"], "hidden_size must be an integer >= 1, got 0"),
    (["--hidden", "-8"], "hidden_size must be an integer >= 1, got -8"),
    (["--hidden", "10000000"], "rnnmem builds models of at most 250,000,000 weights"),
    (["--embedding-dim", "0"], "embedding_dim must be an integer >= 1, got 0"),
    (["--epochs", "-1"], "epochs must be a positive integer, got -1"),
    (["--epochs", "1000000"], "epochs must be at most 10,000, got 1,000,000"),
    (["--lr", "0"], "lr must be a positive number of at most 10, got 0.0"),
    (["--lr", "1e38"], "lr must be a positive number of at most 10"),
    (["--max-sequences", "1"], "max_sequences must be >= 2 (got 1)"),
    (["--keep", "middle"], "keep='middle' is not valid; use one of: first, last"),
    (["--bptt-window", "0"], "bptt_window must be a positive integer or None, got 0"),
    (["--estimators", ","], "estimators is empty"),
])
def test_bad_assess_options_are_named_with_the_valid_range(tiny_csv, tmp_path, args, message):
    err = cli_error(["assess", "--corpus", str(tiny_csv), "--out", str(tmp_path / "x"), *TINY, *args])
    assert message in err


def test_absurd_hidden_size_is_refused_before_anything_is_allocated():
    with pytest.raises(rnnmem.ConfigError, match=r"make a model of up to 400,002,660,006,400 weights"):
        rnnmem.build_model("lstm", 100, 2, hidden_size=10**7)
    with pytest.raises(rnnmem.ConfigError, match="Use a smaller hidden size, embedding or vocabulary"):
        rnnmem.build_model("srn", 10**9, 2, hidden_size=8)


def test_max_distance_zero_measures_only_the_last_token():
    report = rnnmem.assess(LinearRecurrence(0.7), torch.randint(1, 40, (6, 8), generator=torch.Generator().manual_seed(0)),
                           max_distance=0, progress=False, n_resamples=20)
    assert report.retention["distance"].tolist() == [0]
    assert report.retention["occlusion"].tolist() == pytest.approx([1.0])


def test_absurd_max_distance_is_capped_to_the_data_on_the_cli(tiny_csv, tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(app, ["assess", "--unit", "srn", "--corpus", str(tiny_csv), "--out", str(out), *TINY,
                                 "--max-distance", "1000000000"])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert max(report["retention"]["distance"]) == report["meta"]["sequence_length"]["max"] - 1
    assert any("exceeds the longest sequence" in note for note in report["notes"])


# ------------------------------------------------------------------------------- user models


class Bidirectional(nn.Module):
    """A bidirectional GRU tagger: its readout at t has read the whole row, so it looks ahead."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.emb = nn.Embedding(30, 8, padding_idx=0)
        self.rnn = nn.GRU(8, 8, batch_first=True, bidirectional=True)
        self.head = nn.Linear(16, 2)

    def forward(self, tokens):
        return self.head(self.rnn(self.emb(tokens))[0])


class PoolsPadding(nn.Module):
    """Causal in the tokens it sums, but adds the mean of the whole row: padding leaks into every readout."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.emb = nn.Embedding(30, 2)

    def forward(self, tokens):
        e = self.emb(tokens)
        return e.cumsum(dim=1) + e.mean(dim=1, keepdim=True)


class CausalGRU(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.emb = nn.Embedding(30, 8, padding_idx=0)
        self.rnn = nn.GRU(8, 8, batch_first=True)
        self.head = nn.Linear(8, 2)

    def forward(self, tokens):
        return self.head(self.rnn(self.emb(tokens))[0])


def _ragged(n=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(3, 12, (n,), generator=g)
    tokens = torch.randint(1, 30, (n, int(lengths.max())), generator=g)
    tokens[torch.arange(tokens.shape[1]) >= lengths[:, None]] = 0  # right padding
    return tokens, lengths


@pytest.mark.parametrize("model", [Bidirectional(), PoolsPadding()])
def test_a_model_that_looks_ahead_or_reads_padding_is_refused(model):
    tokens, lengths = _ragged()
    with pytest.raises(rnnmem.ModelProtocolError, match=r"must depend on tokens\[:, :t\+1\] alone") as info:
        rnnmem.assess(model, tokens, lengths=lengths, progress=False, n_resamples=20)
    assert "bidirectional RNN" in str(info.value)


def test_a_causal_model_on_right_padded_ragged_data_is_accepted():
    tokens, lengths = _ragged()
    report = rnnmem.assess(CausalGRU(), tokens, lengths=lengths, progress=False, n_resamples=20)
    assert report.meta["n_sequences"] == 8


def test_a_model_returning_two_dimensions_is_told_the_expected_shape():
    class Flat(nn.Module):
        def forward(self, tokens):
            return tokens.float()

    with pytest.raises(rnnmem.ModelProtocolError, match=r"\[B, T, K\] = \[\d+, 5, K\]; got \(\d+, 5\)"):
        rnnmem.assess(Flat(), torch.ones(4, 5, dtype=torch.long), progress=False)


def test_data_encoded_with_a_larger_vocabulary_than_the_model_is_named():
    model = rnnmem.build_model("gru", 10, 2, hidden_size=4)
    with pytest.raises(rnnmem.ModelProtocolError, match="encoded with another vocabulary"):
        rnnmem.assess(model, torch.randint(10, 20, (4, 6)), progress=False)


# ------------------------------------------------------------------------------- checkpoints


@pytest.fixture(scope="module")
def checkpoint(tiny_csv, tmp_path_factory):
    """An (untrained) model saved as `rnnmem assess` saves it, for the tiny corpus (labels neg, pos)."""
    corpus = rnnmem.read_corpus(tiny_csv)
    model = rnnmem.build_model("srn", len(corpus.vocabulary), corpus.num_classes, hidden_size=8, embedding_dim=4)
    return rnnmem.save_model(model, tmp_path_factory.mktemp("ckpt") / "model", corpus.vocabulary.to_dict(),
                             list(corpus.label_names))


def _relabelled(tiny_csv, tmp_path, mapping, name="relabelled.csv"):
    header, *rows = tiny_csv.read_text().splitlines()
    rows = [",".join((text, mapping.get(label, label))) for text, label in (row.rsplit(",", 1) for row in rows)]
    return write(tmp_path / name, "\n".join([header, *rows]) + "\n")


def test_checkpoint_assessed_on_labels_it_was_not_trained_on(checkpoint, tiny_csv, tmp_path):
    data = _relabelled(tiny_csv, tmp_path, {"pos": "positive"})
    err = cli_error(["assess", "--checkpoint", str(checkpoint), "--corpus", str(data), "--out", str(tmp_path / "o"), *TINY])
    assert "the checkpoint was trained on labels neg, pos but relabelled has neg, positive" in err
    assert "'positive' in relabelled but not in training; 'pos' in training but not in relabelled" in err


def test_checkpoint_with_more_classes_than_the_corpus_names_the_extra_label(checkpoint, tiny_csv, tmp_path):
    text = tiny_csv.read_text().splitlines()
    text = "\n".join(text + [f"w{i} w{i + 1} maybe,mid" for i in range(20)]) + "\n"
    data = write(tmp_path / "three.csv", text)
    err = cli_error(["assess", "--checkpoint", str(checkpoint), "--corpus", str(data), "--out", str(tmp_path / "o"), *TINY])
    assert "'mid' in three but not in training" in err


def test_checkpoint_without_label_names_falls_back_to_the_class_count(tiny_csv, tmp_path):
    model = rnnmem.build_model("srn", 50, 3, hidden_size=4)
    rnnmem.save_model(model, tmp_path / "m")
    err = cli_error(["assess", "--checkpoint", str(tmp_path / "m"), "--corpus", str(tiny_csv), "--out", str(tmp_path / "o"), *TINY])
    assert "the checkpoint predicts 3 classes but tiny has 2" in err


@pytest.mark.parametrize("other", [
    {"unit": "lstm"},
    {"vocab_size": 30},
])
def test_checkpoint_of_another_unit_or_vocabulary_is_named(tmp_path, other):
    rnnmem.save_model(rnnmem.build_model("gru", 20, 2, hidden_size=4), tmp_path / "m")
    config = {"unit": "gru", "vocab_size": 20, "num_classes": 2, "hidden_size": 4, **other}
    torch.save(rnnmem.build_model(**config).state_dict(), tmp_path / "m" / "model.pt")
    with pytest.raises(rnnmem.ModelProtocolError, match="made for another unit, vocabulary or hidden size"):
        rnnmem.load_model(tmp_path / "m")


@pytest.mark.parametrize("content, message", [
    ("{not json", "JSONDecodeError"),
    ('{"config": {"unit": "srn"}}', "config.vocab_size is missing"),
    ('{"config": {"unit": "srn", "vocab_size": 10, "num_classes": 2, "hidden_size": 10000000}}', "at most 250,000,000 weights"),
    ('["a list"]', "it holds a JSON list, not an object"),
])
def test_damaged_or_tampered_model_json_is_refused(tmp_path, content, message):
    rnnmem.save_model(rnnmem.build_model("srn", 10, 2, hidden_size=4), tmp_path / "m")
    write(tmp_path / "m" / "model.json", content)
    with pytest.raises(rnnmem.ModelProtocolError, match="is not a model description written by rnnmem") as info:
        rnnmem.load_model(tmp_path / "m")
    assert message in str(info.value)


def test_folder_without_a_model_is_named(tmp_path):
    err = cli_error(["assess", "--checkpoint", str(tmp_path), "--corpus", "tweets", "--out", str(tmp_path / "o"), *TINY])
    assert "is not a saved rnnmem model: it needs model.json and model.pt" in err


# ------------------------------------------------------------------------------- training


def test_diverging_training_on_the_cli_stops_without_writing_a_report(tiny_csv, tmp_path, monkeypatch):
    import rnnmem.pipeline.classify as classify

    real = classify.build_model

    def poisoned(*args, **kwargs):
        model = real(*args, **kwargs)
        with torch.no_grad():
            model.readout.weight.fill_(float("nan"))
        return model

    monkeypatch.setattr(classify, "build_model", poisoned)
    out = tmp_path / "run"
    err = cli_error(["assess", "--unit", "srn", "--corpus", str(tiny_csv), "--out", str(out), *TINY])
    assert "training diverged at epoch 1 (loss is nan); lower the learning rate" in err
    assert not (out / "report.json").exists()


# ------------------------------------------------------------------------------- stores, grids, executors


def _sweep_args(tiny_csv, store):
    return ["sweep", "--units", "srn", "--lengths", "8", "--seeds", "0", "--corpus", str(tiny_csv), "--hidden", "8",
            "--epochs", "1", "--max-sequences", "12", "--max-distance", "6", "--workers", "1", "--quiet",
            "--store", str(store)]


def test_damaged_sqlite_store_is_a_data_error(tiny_csv, tmp_path):
    store = tmp_path / "damaged.sqlite"
    store.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 20)
    err = cli_error(_sweep_args(tiny_csv, store))
    assert "cannot use" in err and "as a results store" in err


def test_someone_elses_sqlite_database_is_left_untouched(tiny_csv, tmp_path):
    store = tmp_path / "app.sqlite"
    with sqlite3.connect(store) as db:
        db.execute("CREATE TABLE people (name TEXT)")
    db.close()
    err = cli_error(_sweep_args(tiny_csv, store))
    assert "is a SQLite database but not an rnnmem results store (its tables: people)" in err
    with sqlite3.connect(store) as db:
        assert [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")] == ["people"]
    db.close()


def test_a_folder_as_store_is_named(tmp_path):
    with pytest.raises(rnnmem.DataError, match="is a folder; pass --store the path of a results file"):
        ResultsStore(tmp_path)


def test_ray_executor_without_ray_on_the_cli(tiny_csv, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # makes `import ray` fail
    err = cli_error([*_sweep_args(tiny_csv, tmp_path / "s.sqlite"), "--executor", "ray"])
    assert "Ray is not installed; pip install 'rnnmem[ray]' (or use --executor local)" in err


@pytest.mark.parametrize("args, message", [
    (["--executor", "dask"], "unknown executor 'dask'; use one of local, ray"),
    (["--workers", "0"], "workers must be a positive integer, got 0"),
    (["--lengths", "16,abc"], "--lengths must be a comma-separated list like 16,32,64; got '16,abc'"),
])
def test_bad_sweep_options_are_named(tiny_csv, tmp_path, args, message):
    assert message in cli_error([*_sweep_args(tiny_csv, tmp_path / "s.sqlite"), *args])


@pytest.mark.parametrize("body, message", [
    ("[grid]\nestimators = 3\n", "estimators must be a list of names"),
    ("[grid]\nestimators = [3]\n", "estimators must be a list of names"),
    ("[grid]\nepochs = 2024-01-01\n", "epochs must be int values; got datetime.date(2024, 1, 1)"),
    ("[grid]\nlr = \"fast\"\n", "lr must be float values; got 'fast'"),
    ("[grid]\nbptt_window = \"x\"\n", "bptt_window must be int values; got 'x'"),
    ("[grid]\nunits = [{name = \"srn\"}]\n", "unit must be str values"),
    ("grid = 5\n", "must hold exactly one [grid] table"),
    ("[grid]\nunits = [\"srn\"\n", "is not valid TOML"),
])
def test_toml_grid_with_an_unexpected_type_is_refused(tmp_path, body, message):
    path = write(tmp_path / "study.toml", body)
    with pytest.raises(rnnmem.ConfigError) as info:
        expand_grid(*load_grid_file(path))
    assert message in str(info.value)


def test_grid_file_on_the_cli_is_refused_before_any_cell_runs(tiny_csv, tmp_path):
    grid = write(tmp_path / "study.toml", "[grid]\nestimators = 3\n")
    store = tmp_path / "s.sqlite"
    err = cli_error(["sweep", "--grid", str(grid), "--store", str(store), "--quiet"])
    assert "estimators must be a list of names" in err
    assert not store.exists()


# ------------------------------------------------------------------------------- interrupts, memory, --debug


def test_ctrl_c_exits_130_and_says_finished_work_was_kept(tiny_csv, tmp_path, monkeypatch):
    import rnnmem.pipeline.classify as classify

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(classify, "train_and_assess", interrupted)
    result = runner.invoke(app, ["assess", "--corpus", str(tiny_csv), "--out", str(tmp_path / "o"), *TINY])
    assert result.exit_code == 130
    assert "interrupted; finished work was kept" in result.stderr
    assert "Traceback" not in result.output + result.stderr and "Aborted" not in result.output + result.stderr


def test_out_of_memory_is_a_message_not_a_traceback(tiny_csv, tmp_path, monkeypatch):
    import rnnmem.pipeline.classify as classify

    def huge(*args, **kwargs):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory: "
                           "you tried to allocate 1099511627776 bytes.")

    monkeypatch.setattr(classify, "train_and_assess", huge)
    err = cli_error(["assess", "--corpus", str(tiny_csv), "--out", str(tmp_path / "o"), *TINY])
    assert "out of memory; use a smaller --hidden" in err


def test_unexpected_errors_are_not_swallowed(tiny_csv, tmp_path, monkeypatch):
    import rnnmem.pipeline.classify as classify

    def bug(*args, **kwargs):
        raise RuntimeError("a bug in rnnmem")

    monkeypatch.setattr(classify, "train_and_assess", bug)
    result = runner.invoke(app, ["assess", "--corpus", str(tiny_csv), "--out", str(tmp_path / "o"), *TINY])
    assert result.exit_code != 0 and isinstance(result.exception, RuntimeError)


def test_debug_shows_the_traceback_and_the_default_does_not(tmp_path):
    command = [sys.executable, "-m", "rnnmem.cli"]
    args = ["assess", "--corpus", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "o"), "--quiet"]
    env = {**os.environ, "COLUMNS": "200"}
    plain = subprocess.run([*command, *args], capture_output=True, text=True, env=env, timeout=300)
    assert plain.returncode == 2
    assert plain.stderr.strip().splitlines()[-2:] == [
        f"error: corpus file '{tmp_path / 'missing.csv'}' not found; check the path.",
        "(run with --debug for the traceback)"]
    assert "Traceback" not in plain.stderr
    debug = subprocess.run([*command, "--debug", *args], capture_output=True, text=True, env=env, timeout=300)
    assert debug.returncode != 0
    assert "Traceback" in debug.stderr and "DataError" in debug.stderr
