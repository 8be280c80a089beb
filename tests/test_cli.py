import json

import pytest
from typer.testing import CliRunner

import rnnmem
from rnnmem.cli import app
from rnnmem.units import UNITS

runner = CliRunner()
TINY = ["--max-len", "16", "--epochs", "2", "--hidden", "8", "--embedding-dim", "4", "--max-distance", "10",
        "--max-sequences", "20", "--seed", "3", "--quiet"]


def test_cli_report_equals_the_api(tiny_csv, tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(app, ["assess", "--unit", "gru", "--corpus", str(tiny_csv), "--out", str(out), *TINY])
    assert result.exit_code == 0, result.output
    for name in ("report.json", "report.md", "interactive.html", "retention.png", "fidelity.png", "ses.png", "model/model.pt"):
        assert (out / name).stat().st_size > 0, name
    written = json.loads((out / "report.json").read_text())

    corpus = rnnmem.read_corpus(tiny_csv, seed=3)
    model = rnnmem.build_model("gru", len(corpus.vocabulary), corpus.num_classes, hidden_size=8, embedding_dim=4, seed=3)
    history = rnnmem.train(model, corpus, max_len=16, epochs=2, lr=3e-3, seed=3, progress=False)
    report = rnnmem.assess(model, corpus, max_distance=10, max_sequences=20, seed=3, progress=False)
    expected = report.to_dict()
    assert written["retention"] == expected["retention"]
    # the CLI's record adds the corpus options and the data fingerprint; the verdict and the measured numbers are the same
    assert written["summary"]["verdict"] == expected["summary"]["verdict"]
    record_free = ("training",)
    assert {k: v for k, v in written["summary"].items() if k not in record_free} == \
        {k: v for k, v in expected["summary"].items() if k not in record_free}
    assert written["summary"]["training"]["test_accuracy"] == pytest.approx(history.final_accuracy)
    assert written["meta"]["model"]["test_accuracy"] == pytest.approx(history.final_accuracy)
    assert "ML(0.5)" in result.output and "recommended training length" in result.output


def test_cli_reassesses_a_checkpoint_without_training(tiny_csv, tmp_path):
    first = runner.invoke(app, ["assess", "--unit", "srn", "--corpus", str(tiny_csv), "--out", str(tmp_path / "a"), *TINY])
    assert first.exit_code == 0, first.output
    again = runner.invoke(app, ["assess", "--checkpoint", str(tmp_path / "a" / "model"), "--corpus", str(tiny_csv),
                                "--out", str(tmp_path / "b"), *TINY])
    assert again.exit_code == 0, again.output
    a = json.loads((tmp_path / "a" / "report.json").read_text())
    b = json.loads((tmp_path / "b" / "report.json").read_text())
    assert a["retention"] == b["retention"]


@pytest.mark.parametrize("args, message", [
    (["--unit", "lstn"], "Did you mean 'lstm'"),
    (["--corpus", "tweet-docs"], "tweets-docs"),
    (["--estimators", "ocllusion"], "Did you mean 'occlusion'"),
    (["--epochs", "0"], "epochs must be a positive integer"),
    (["--max-distance", "-1"], "max_distance must be >= 0 (got -1)"),
])
def test_cli_errors_are_one_line_without_traceback(tiny_csv, tmp_path, args, message):
    base = ["assess", "--corpus", str(tiny_csv), "--out", str(tmp_path / "x"), *TINY]
    result = runner.invoke(app, base + args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_cli_unwritable_output_is_named(tiny_csv, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = runner.invoke(app, ["assess", "--corpus", str(tiny_csv), "--out", str(blocker / "sub"), *TINY])
    assert result.exit_code == 2 and "cannot write to the output folder" in result.output


def test_units_and_corpora_list_everything():
    units = runner.invoke(app, ["units", "--hidden", "10", "--embedding-dim", "5"])
    assert units.exit_code == 0
    lstm_params = 4 * (10 * 5 + 10 * 10 + 2 * 10)
    assert f"{lstm_params:,d}" in units.output
    rows = units.output.splitlines()
    assert [row.split()[0] for row in rows] == list(UNITS)
    # one column for the counts, however long a unit's name: each count (or "n/a at this size") ends at the same place
    ends = {row.index(" params") + 7 if " params" in row else row.index("n/a at this size") + 16 for row in rows}
    assert len(ends) == 1
    corpora = runner.invoke(app, ["corpora"])
    assert "tweets-docs" in corpora.output and "tweets " in corpora.output


def test_cli_sweep_then_report_writes_the_comparison(tiny_csv, tmp_path):
    store = tmp_path / "study.sqlite"
    swept = runner.invoke(app, ["sweep", "--units", "srn,gru", "--lengths", "8", "--seeds", "0", "--corpus", str(tiny_csv),
                                "--epochs", "1", "--hidden", "8", "--embedding-dim", "4", "--max-distance", "6",
                                "--max-sequences", "12", "--workers", "1", "--store", str(store), "--quiet"])
    assert swept.exit_code == 0, swept.output
    assert "2 of 2 cells done, 0 failed" in swept.output
    reported = runner.invoke(app, ["report", str(store), "--out", str(tmp_path / "rep")])
    assert reported.exit_code == 0, reported.output
    table = (tmp_path / "rep" / "comparison.md").read_text()
    assert "srn" in table and "gru" in table
    assert (tmp_path / "rep" / "report.html").stat().st_size > 10_000


def test_cli_report_on_an_empty_store_says_what_to_do(tmp_path):
    missing = runner.invoke(app, ["report", str(tmp_path / "none.sqlite"), "--out", str(tmp_path / "r")])
    assert missing.exit_code == 2 and "rnnmem sweep" in missing.output
