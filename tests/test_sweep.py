import json
import os
import socket
import subprocess
import sys

import pytest
from typer.testing import CliRunner

import rnnmem.sweep.executors as executors
from rnnmem.cli import app
from rnnmem.errors import ConfigError
from rnnmem.sweep import ResultsStore, expand_grid, load_grid_file, run_sweep

runner = CliRunner()
TINY = {"hidden_size": 8, "embedding_dim": 8, "epochs": 1, "max_distance": 8, "max_sequences": 20, "n_resamples": 50}
TINY_TOML = "\n".join(f"{k} = {v}" for k, v in TINY.items())


@pytest.fixture(scope="module")
def tiny(tiny_csv):
    return {**TINY, "corpus": str(tiny_csv)}


@pytest.fixture(scope="module")
def two_cells(tiny):
    return expand_grid(tiny, {"units": ["srn", "gru"], "lengths": [8], "seeds": [1]})


@pytest.fixture(scope="module")
def local_results(two_cells, tmp_path_factory):
    store = ResultsStore(tmp_path_factory.mktemp("local") / "store.sqlite")
    run_sweep(store, two_cells, workers=1, progress=False)
    return {r["key"]: r["result"] for r in store.results()}


def canonical(result):
    """A cell's result as canonical JSON, without timings (they differ run to run)."""
    return json.dumps({k: v for k, v in result.items() if k != "timings"}, sort_keys=True)


def stored(store):
    return {row["key"]: canonical(row["result"]) for row in store.results()}


def attempts(store):
    cells = store.cells()
    return dict(zip(cells["key"], cells["attempts"]))


def test_grid_expands_every_combination_in_order():
    configs = expand_grid({"epochs": 2}, {"units": ["srn", "lstm"], "lengths": [16, 32], "seeds": [0, 1, 2]})
    assert len(configs) == 12 and len({c.key for c in configs}) == 12
    assert [(c.unit, c.max_len, c.seed) for c in configs[:4]] == [("srn", 16, 0), ("srn", 16, 1), ("srn", 16, 2),
                                                                  ("srn", 32, 0)]
    assert configs[-1].unit == "lstm" and all(c.epochs == 2 for c in configs)


def test_grid_file_is_read_as_axes_and_fixed_settings(tmp_path):
    path = tmp_path / "study.toml"
    path.write_text('[grid]\nunits = ["srn", "lstm"]\nlengths = [16, 32]\nseeds = [0]\ncorpus = "tweets-docs"\n'
                    'epochs = 3\nestimators = ["occlusion"]\n')
    base, axes = load_grid_file(path)
    assert base == {"corpus": "tweets-docs", "epochs": 3, "estimators": ["occlusion"]}
    assert axes == {"unit": ["srn", "lstm"], "max_len": [16, 32], "seed": [0]}
    assert expand_grid(base, axes)[0].estimators == ("occlusion",)


@pytest.mark.parametrize("base, axes, message", [
    ({"hiden_size": 8}, {}, "valid settings:"),
    ({}, {"lengths": ["16"]}, "max_len must be int values; got '16'"),
    ({}, {"seeds": []}, "non-empty list"),
    ({"unit": "srn"}, {"units": ["lstm"]}, "both as a fixed setting and as an axis"),
])
def test_bad_grids_are_named(base, axes, message):
    with pytest.raises(ConfigError, match=message) as info:
        expand_grid(base, axes)
    if "hiden_size" in base:
        assert "hidden_size" in str(info.value) and "lengths" in str(info.value)


def test_yaml_grid_is_refused_with_the_toml_equivalent(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text("units: [srn]\n")
    with pytest.raises(ConfigError, match="TOML") as info:
        load_grid_file(path)
    assert '[grid]\nunits = ["srn", "lstm"]' in str(info.value)


def test_failed_cell_is_retried_alone_and_finished_cells_are_kept(tiny, tmp_path, monkeypatch):
    configs = expand_grid(tiny, {"units": ["srn", "gru"], "lengths": [8, 16]})
    broken = configs[3].key
    real = executors.run_cell

    def flaky(config):
        if config.key == broken:
            raise RuntimeError("boom\nsecond line")
        return real(config)

    monkeypatch.setattr(executors, "run_cell", flaky)
    store = ResultsStore(tmp_path / "s.sqlite")
    first = run_sweep(store, configs, workers=1, progress=False)
    assert (first["done"], first["failed"]) == (3, 1)
    assert first["failures"][0]["error"].startswith("RuntimeError: boom")
    before = stored(store)

    monkeypatch.setattr(executors, "run_cell", real)
    second = run_sweep(store, configs, workers=1, progress=False)
    assert (second["attempted"], second["done"], second["failed"]) == (1, 4, 0)
    assert attempts(store) == {c.key: 2 if c.key == broken else 1 for c in configs}
    after = stored(store)
    assert {k: after[k] for k in before} == before and len(store.cells()) == 4
    assert run_sweep(store, configs, workers=1, progress=False)["attempted"] == 0


def test_interrupted_sweep_resumes_without_rerunning_finished_cells(tiny, tmp_path):
    configs = expand_grid(tiny, {"units": ["srn", "gru"], "lengths": [8, 16]})
    store = ResultsStore(tmp_path / "s.sqlite")
    run_sweep(store, configs[:2], workers=1, progress=False)
    before = stored(store)
    # a third cell was being run by a process that has since died
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    store.add(configs)
    store.claim(keys=[configs[2].key], owner=f"{socket.gethostname()}:{dead.pid}")

    summary = run_sweep(store, configs, workers=1, progress=False)
    assert (summary["done"], summary["attempted"], summary["reclaimed"]) == (4, 2, 1)
    assert attempts(store) == {c.key: 2 if c is configs[2] else 1 for c in configs}
    after = stored(store)
    assert {k: after[k] for k in before} == before


def test_a_cell_another_live_sweep_is_running_is_left_alone(tiny, tmp_path):
    configs = expand_grid(tiny, {"units": ["srn"], "lengths": [8]})
    store = ResultsStore(tmp_path / "s.sqlite")
    store.add(configs)
    store.claim(owner=f"{socket.gethostname()}:{os.getpid()}")  # alive: this very process
    summary = run_sweep(store, configs, workers=1, progress=False)
    assert (summary["running"], summary["done"], summary["reclaimed"]) == (1, 0, 0)
    assert attempts(store) == {configs[0].key: 1}


def test_two_local_workers_give_the_numbers_of_one(two_cells, local_results, tmp_path):
    store = ResultsStore(tmp_path / "s.sqlite")
    assert run_sweep(store, two_cells, workers=2, progress=False)["done"] == 2
    assert stored(store) == {key: canonical(result) for key, result in local_results.items()}
    # one torch thread per cell in every executor: thread count changes the last digits
    assert {row["result"]["report"]["meta"]["threads"] for row in store.results()} == {1}


def test_ray_executor_gives_the_numbers_of_the_local_one(two_cells, local_results, tmp_path):
    ray = pytest.importorskip("ray", reason="Ray is not installed; pip install 'rnnmem[ray]' to test the Ray executor")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        store = ResultsStore(tmp_path / "s.sqlite")
        assert run_sweep(store, two_cells, executor="ray", progress=False)["done"] == 2
    finally:
        ray.shutdown()
    assert stored(store) == {key: canonical(result) for key, result in local_results.items()}


def test_ray_missing_is_a_config_error(two_cells, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # makes `import ray` fail
    with pytest.raises(ConfigError, match=r"pip install 'rnnmem\[ray\]'"):
        run_sweep(ResultsStore(tmp_path / "s.sqlite"), two_cells, executor="ray", progress=False)


def test_cli_sweep_runs_a_grid_file_with_flag_overrides(tiny_csv, tmp_path):
    grid = tmp_path / "study.toml"
    grid.write_text(f'[grid]\nunits = ["srn", "lstm"]\nlengths = [8, 16]\nseeds = [0, 1]\n{TINY_TOML}\n')
    store = tmp_path / "study.sqlite"
    args = ["sweep", "--grid", str(grid), "--units", "gru", "--seeds", "0", "--corpus", str(tiny_csv),
            "--store", str(store), "--workers", "1", "--quiet"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    cells = ResultsStore(store).cells()
    assert list(cells["status"]) == ["done", "done"] and set(cells["unit"]) == {"gru"}
    assert list(cells["max_len"]) == [8, 16] and "2 of 2 cells done, 0 failed" in result.output


def test_cli_sweep_refuses_an_unknown_unit_or_corpus_before_any_cell_runs(tiny_csv, tmp_path):
    args = ["sweep", "--lengths", "8", "--seeds", "0", "--workers", "1", "--quiet", "--store", str(tmp_path / "s.sqlite")]
    result = runner.invoke(app, [*args, "--units", "srn,nope", "--corpus", str(tiny_csv)])
    assert result.exit_code == 2 and "unknown unit 'nope'" in result.output
    result = runner.invoke(app, [*args, "--units", "srn", "--corpus", "tweets-doc"])
    assert result.exit_code == 2 and "unknown corpus 'tweets-doc'" in result.output and "tweets-docs" in result.output
    assert not (tmp_path / "s.sqlite").exists()


def test_cli_sweep_reports_failed_cells_and_bad_stores(tiny_csv, tmp_path):
    # the delay line's register needs --hidden to be a multiple of --embedding-dim: a cell that fails while building
    args = ["sweep", "--units", "srn,delay", "--lengths", "8", "--seeds", "0", "--corpus", str(tiny_csv),
            "--hidden", "8", "--embedding-dim", "3", "--epochs", "1", "--max-sequences", "20", "--max-distance", "8",
            "--workers", "1", "--quiet"]
    result = runner.invoke(app, [*args, "--store", str(tmp_path / "s.sqlite")])
    assert result.exit_code == 1
    assert "failed: unit=delay max_len=8 seed=0: ConfigError: delay: hidden_size (8) must be a positive multiple" \
        in result.output
    assert "re-run the same command" in result.output

    not_sqlite = tmp_path / "notes.txt"
    not_sqlite.write_text("hello")
    result = runner.invoke(app, [*args, "--store", str(not_sqlite)])
    assert result.exit_code == 2 and "is not a SQLite database" in result.output
    assert "Traceback" not in result.output
