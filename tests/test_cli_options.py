"""`rnnmem assess` offers the API's settings (flags and an [assess] TOML file), and long work shows progress."""

import io
import json
import time

import pytest
import torch
from typer.testing import CliRunner

from rnnmem.cli import app
from rnnmem.errors import ConfigError
from rnnmem.progress import progress_bar, showing_progress, ticking
from rnnmem.sweep import ResultsStore, expand_grid, run_sweep
from rnnmem.pipeline.config import RunConfig

runner = CliRunner()
TINY = ["--max-len", "16", "--epochs", "2", "--hidden", "8", "--embedding-dim", "4", "--max-sequences", "20",
        "--seed", "3", "--n-resamples", "50"]
# the stages a run shows while it works (the bars' names; the CLI's stderr here is captured, so one line each)
STAGES = ("training", "SES points", "occlusion", "regression", "gradient", "fidelity", "hull", "probes",
          "untrained floor", "figures")


def assess(tiny_csv, out, *args):
    return runner.invoke(app, ["assess", "--unit", "gru", "--corpus", str(tiny_csv), "--out", str(out), *TINY, *args])


def test_a_config_file_sets_what_the_flags_set_and_a_flag_overrides_it(tiny_csv, tmp_path):
    config = tmp_path / "assess.toml"
    config.write_text('[assess]\nmax_distance = 12\nestimators = ["occlusion", "regression"]\n'
                      'tau = 0.3\nquiet = true\n')
    result = assess(tiny_csv, tmp_path / "run", "--config", str(config), "--max-distance", "6")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["meta"]["max_distance"] == 6  # the flag, not the file's 12
    assert report["meta"]["estimators"] == ["occlusion", "regression"]
    assert report["meta"]["n_resamples"] == 50
    assert "ML(0.3)" in report["summary"]["recommended_length"]["rule"]
    # the file's quiet = true: no bar on stderr
    assert not any(stage in result.stderr for stage in STAGES), result.stderr


def test_progress_names_each_stage_and_quiet_silences_all_of_it(tiny_csv, tmp_path):
    shown = assess(tiny_csv, tmp_path / "a", "--estimators", "occlusion", "--estimators", "regression,gradient")
    assert shown.exit_code == 0, shown.output
    missing = [stage for stage in STAGES if stage not in shown.stderr]
    assert not missing, shown.stderr
    # the run's files include the per-token export and the training curves drawn from its history
    assert (tmp_path / "a" / "token_effects.csv").stat().st_size > 0 and (tmp_path / "a" / "training.png").is_file()
    quiet = assess(tiny_csv, tmp_path / "b", "--quiet")
    assert quiet.exit_code == 0, quiet.output
    assert not any(stage in quiet.stderr for stage in STAGES) and "it/s" not in quiet.stderr, quiet.stderr
    # re-assessing the checkpoint shows its stages too
    again = runner.invoke(app, ["assess", "--checkpoint", str(tmp_path / "a" / "model"), "--corpus", str(tiny_csv),
                                "--out", str(tmp_path / "c"), *TINY])
    assert again.exit_code == 0, again.output
    assert "occlusion" in again.stderr and "training" not in again.stderr


def test_a_silenced_block_silences_every_bar_inside_it_even_one_that_asks_to_show():
    assert not progress_bar(range(3), "outside").disable
    with showing_progress(False):
        assert progress_bar(range(3), "inside").disable
        with showing_progress(True):
            assert progress_bar(range(3), "nested").disable
    assert not progress_bar(range(3), "after").disable and progress_bar(range(3), "own", shown=False).disable


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_ticking_bar_redraws_its_clock_between_steps():
    out = Terminal()
    with progress_bar(total=2, desc="cells", file=out) as bar, ticking(bar, every=0.05):
        drawn = out.getvalue().count("cells")
        time.sleep(0.5)
        assert out.getvalue().count("cells") >= drawn + 3  # redrawn without a step


def test_a_sweeps_bar_advances_as_each_cell_finishes(tiny_csv, tmp_path, capsys):
    cells = expand_grid({"corpus": str(tiny_csv), "hidden_size": 8, "embedding_dim": 8, "epochs": 1, "max_distance": 6,
                         "max_sequences": 20, "n_resamples": 20}, {"units": ["srn", "gru"], "lengths": [8], "seeds": [0]})
    run_sweep(ResultsStore(tmp_path / "s.sqlite"), cells, workers=1)
    err = capsys.readouterr().err  # captured, not a terminal: a line per finished cell
    assert 0 <= err.index("rnnmem: cells: 1 of 2") < err.index("rnnmem: cells: 2 of 2"), err
    run_sweep(ResultsStore(tmp_path / "q.sqlite"), cells, workers=1, progress=False)
    assert "cells" not in capsys.readouterr().err


def test_new_cell_settings_keep_the_keys_of_stored_cells():
    # a key written by the code before tau was a cell setting (the default estimators gained replacement since)
    assert RunConfig(unit="gru", max_len=32, seed=2, estimators=("occlusion",)).key == "e2a0d4a77775c195"
    changed = RunConfig(tau=0.3)
    assert changed.key != RunConfig().key != RunConfig(tau=0.2).key != changed.key
    assert RunConfig.from_dict(json.loads(changed.to_json())) == changed


def test_sweep_help_keeps_the_grid_table_name():
    result = runner.invoke(app, ["sweep", "--help"])
    assert result.exit_code == 0 and "[grid]" in result.output


@pytest.mark.parametrize("toml, message", [
    ("[assess]\nmax_lenght = 16\n", "unknown setting 'max_lenght' in"),
    ("[assess]\nmax_lenght = 16\n", "Did you mean 'max_len'?"),
    ("[assess]\nmax_len = \"16\"\n", "max_len must be int values; got '16'."),
    ("[assess]\nquiet = \"yes\"\n", "quiet must be bool; got 'yes'"),
    ("[assess]\nestimators = \"occlusion\"\n", "estimators must be a list of names"),
    ("[grid]\nunits = [\"srn\"]\n", "must hold exactly one [assess] table"),
    ("[assess\n", "is not valid TOML"),
])
def test_a_bad_config_file_is_named_before_any_training(tiny_csv, tmp_path, toml, message):
    config = tmp_path / "assess.toml"
    config.write_text(toml)
    result = assess(tiny_csv, tmp_path / "x", "--config", str(config))
    assert result.exit_code == 2 and message in result.output, result.output
    assert not (tmp_path / "x").exists()


def test_an_assess_file_in_yaml_or_missing_is_named(tiny_csv, tmp_path):
    (tmp_path / "assess.yaml").write_text("unit: gru\n")
    for name, message in (("assess.yaml", "assess files are TOML, not YAML (assess.yaml); write the same keys under "
                                          "one [assess] table"),
                          ("none.toml", "none.toml not found; pass --config the path of a .toml assess file.")):
        result = assess(tiny_csv, tmp_path / "x", "--config", str(tmp_path / name))
        assert result.exit_code == 2 and message in result.output, result.output


@pytest.mark.parametrize("args, message", [
    (["--tau", "1.5"], "tau must be in (0.0, 1.0) (got 1.5)."),
    (["--tau", "0"], "tau must be in (0.0, 1.0) (got 0.0)."),
    (["--estimators", "occlusion", "--estimators", "gradiant"], "unknown estimator 'gradiant'. Did you mean 'gradient'?"),
    (["--device", "gpu"], "device must name a torch device such as cpu, cuda or cuda:1 (got 'gpu')."),
    (["--n-resamples", "0"], "n_resamples must be in [1, 1000000] (got 0)."),
])
def test_bad_new_options_are_named_before_any_training(tiny_csv, tmp_path, args, message):
    result = assess(tiny_csv, tmp_path / "x", *args)
    assert result.exit_code == 2 and message in result.output, result.output
    assert not (tmp_path / "x").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="names a device this machine lacks")
def test_an_absent_device_is_named():
    result = runner.invoke(app, ["assess", "--device", "cuda"])
    assert result.exit_code == 2 and "device 'cuda' is not available on this machine (available: cpu" in result.output


def test_a_grid_with_an_unknown_estimator_or_setting_is_refused_before_any_cell_runs():
    with pytest.raises(ConfigError, match="Did you mean 'occlusion'"):
        expand_grid({"estimators": ["ocllusion"]}, {"units": ["srn"]})
    with pytest.raises(ConfigError, match="Did you mean 'epochs'"):
        expand_grid({"epoch": 2}, {"units": ["srn"]})
    with pytest.raises(ConfigError, match=r"tau must be in \(0.0, 1.0\)"):
        expand_grid({"tau": 1.0}, {"units": ["srn"]})


@pytest.mark.parametrize("option, message", [(["--unit", "lstmm"], "unknown unit 'lstmm'. Did you mean 'lstm'?"),
                                             (["--corpus", "tweet-docs"], "unknown corpus 'tweet-docs';")])
def test_assess_checks_the_unit_and_corpus_names_before_loading_anything(option, message, monkeypatch, tmp_path):
    from rnnmem.pipeline import classify

    def must_not_load(*args, **kwargs):
        raise AssertionError("loaded a corpus before checking the names")

    monkeypatch.setattr(classify, "load_corpus", must_not_load)
    result = runner.invoke(app, ["assess", *option, "--out", str(tmp_path / "run")])
    assert result.exit_code == 2 and message in result.stderr, result.output
    assert "training" not in result.stderr and not (tmp_path / "run").exists()


def test_version_prints_the_package_version():
    from rnnmem._version import __version__

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"rnnmem {__version__}"


def test_counts_take_the_number_of_their_noun():
    from rnnmem.guidance import Recommendation
    from rnnmem.report.console import sweep_summary
    from rnnmem.validation import counted

    assert [counted(n, "token") for n in (0, 1, 2, 1500)] == ["0 tokens", "1 token", "2 tokens", "1,500 tokens"]
    assert str(Recommendation(1, "ML(0.1)")) == "1 token (ML(0.1))"
    one = {"done": 1, "total": 1, "failed": 0, "running": 0, "failures": []}
    assert sweep_summary(one, "s.sqlite").startswith("1 of 1 cell done, 0 failed")


def test_help_and_version_load_no_heavy_library():
    # their speed is measured in benchmarks/cli_startup.py; here, what would make them slow
    import subprocess
    import sys

    probe = ("import sys; from typer.testing import CliRunner; from rnnmem.cli import app; "
             "assert CliRunner().invoke(app, ['--help']).exit_code == 0; "
             "assert CliRunner().invoke(app, ['--version']).exit_code == 0; "
             "print(sorted({'torch', 'scipy', 'matplotlib', 'pandas', 'transformers', 'plotly'} & set(sys.modules)))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]", loaded


def test_the_package_names_load_on_first_use():
    import rnnmem

    assert rnnmem.assess.__module__ == "rnnmem.assessment" and "assess" in dir(rnnmem)
    assert set(rnnmem.__all__) <= set(dir(rnnmem))
    with pytest.raises(AttributeError, match="no attribute 'asess'"):
        rnnmem.asess


def test_a_public_name_stays_itself_after_its_namesake_module_is_imported():
    import importlib

    import rnnmem

    importlib.import_module("rnnmem.train")  # binds the submodule rnnmem.train, which shares the name
    assert callable(rnnmem.train) and rnnmem.train.__name__ == "train"
