"""`rnnmem assess --seeds`: one configuration over several seeds, the headline with its spread across them."""

import re

import numpy as np
import pytest
from typer.testing import CliRunner

from rnnmem.cli import app
from rnnmem.sweep import ResultsStore
from rnnmem.sweep.study import t_interval

TINY = ["--max-len", "16", "--epochs", "1", "--hidden", "8", "--embedding-dim", "4", "--max-distance", "8",
        "--max-sequences", "20", "--n-resamples", "30", "--estimators", "occlusion", "--quiet"]


def test_seeds_report_the_mean_interval_and_range_of_each_seed_s_numbers(tiny_csv, tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["assess", "--unit", "gru", "--corpus", str(tiny_csv), "--out", str(out),
                                      "--seeds", "0,1", *TINY])
    assert result.exit_code == 0, result.output
    results = ResultsStore(out / "seeds.sqlite").results()
    assert sorted(r["config"]["seed"] for r in results) == [0, 1]
    accuracies = [r["result"]["metrics"]["accuracy"] for r in results]
    assert len(set(accuracies)) > 1  # the seeds differ, so the spread is not trivially zero
    text = (out / "seeds.md").read_text()
    row = next(line for line in text.splitlines() if line.startswith("| Test accuracy |")).split("|")
    mean, lo, hi = t_interval(accuracies)
    assert row[2].strip() == f"{mean:.3g} ± {(hi - lo) / 2:.3g}"
    assert row[3].strip() == f"{min(accuracies):.3g} .. {max(accuracies):.3g}" and row[4].strip() == "2"
    for seed in (0, 1):
        assert re.search(rf"^- seed {seed}: (competent|not above the majority baseline|below bag-of-words|unknown) ",
                         text, re.M)
    assert "| Test accuracy |" in result.output and "seeds.sqlite" in result.output
    # memory numbers count the competent seeds only, and say how many
    verdicts = [line for line in text.splitlines() if line.startswith("- seed ")]
    competent = sum(": competent (" in line for line in verdicts)
    capacity = next(line for line in text.splitlines() if line.startswith("| Retention capacity"))
    assert capacity.rstrip(" |").endswith(str(competent))
    assert np.isfinite(mean)


@pytest.mark.parametrize("args, message", [
    (["--seeds", "4"], "--seeds needs at least two different seeds"),
    (["--seeds", "0,x"], "--seeds must be a comma-separated list like 0,1,2"),
    (["--seeds", "0,1", "--task", "lm"], "--seeds trains a classifier per seed"),
])
def test_seeds_that_cannot_give_a_spread_are_refused(tiny_csv, tmp_path, args, message):
    result = CliRunner().invoke(app, ["assess", "--corpus", str(tiny_csv), "--out", str(tmp_path / "x"), *args, *TINY])
    assert result.exit_code == 2 and message in result.output, result.output
