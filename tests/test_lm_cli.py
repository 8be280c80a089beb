"""`rnnmem assess --task lm`: a next-token LM trained, assessed, and its context curve reported beside ML(0.1)."""

import csv
import json
import random

import pytest
from typer.testing import CliRunner

from rnnmem.cli import app
from rnnmem.indicators.context import effective_context

runner = CliRunner()
TINY_LM = ["--max-len", "40", "--epochs", "6", "--hidden", "24", "--embedding-dim", "16", "--max-distance", "12",
           "--max-sequences", "24", "--lr", "0.01", "--batch-size", "16", "--seed", "0", "--quiet"]


@pytest.fixture(scope="module")
def bigram_csv(tmp_path_factory):
    """Texts from a first-order Markov chain over 30 words: the next word is the current one's successor 90% of the time.

    A model that reads the last word predicts nearly everything (about 0.6 nats); a unigram model,
    which sees every word about equally often, cannot do better than log 30 = 3.4 nats.
    """
    rng = random.Random(0)
    words = [f"w{i}" for i in range(30)]
    successor = {w: words[(i + 7) % 30] for i, w in enumerate(words)}
    path = tmp_path_factory.mktemp("data") / "bigram.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for i in range(300):
            text = [rng.choice(words)]
            for _ in range(rng.randint(30, 40)):
                text.append(successor[text[-1]] if rng.random() < 0.9 else rng.choice(words))
            writer.writerow([" ".join(text), i % 2])
    return path


@pytest.fixture(scope="module")
def lm_run(bigram_csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "lm"
    result = runner.invoke(app, ["assess", "--task", "lm", "--unit", "gru", "--corpus", str(bigram_csv),
                                 "--out", str(out), "--estimators", "occlusion,gradient", "--tau", "0.5", *TINY_LM])
    assert result.exit_code == 0, result.output
    return out, result.output, json.loads((out / "report.json").read_text())


def test_an_lm_on_a_bigram_chain_beats_the_unigram_model_and_uses_about_one_token(lm_run):
    _, _, report = lm_run
    lm = report["language_model"]
    assert lm["test_perplexity"] < 0.5 * lm["unigram_perplexity"]
    assert lm["unigram_perplexity"] > 20  # 30 words almost equally frequent
    # the chain needs only the last word: beyond k = 1 or 2 the far context is worth nothing
    assert lm["effective_context"]["cut"] <= 3
    assert lm["rise"]["cut"][lm["ks"].index(5)] < 0.01 * lm["full_loss"]


def test_the_reported_effective_context_is_the_one_of_the_curve_it_reports(lm_run):
    out, output, report = lm_run
    lm = report["language_model"]
    for name, rise in lm["rise"].items():
        assert lm["effective_context"][name] == effective_context(lm["ks"], rise, lm["full_loss"], lm["tolerance"])
    assert lm["effective_context_interpolated"] == pytest.approx(
        effective_context(lm["ks"], lm["rise"]["cut"], lm["full_loss"], lm["tolerance"], interpolate=True))
    assert lm["ks"][-1] == 12  # the curve covers the distances the retention curve measures
    line = next(row for row in output.splitlines() if row.startswith("language model:"))
    assert f"effective context cut {lm['effective_context']['cut']} " in line and "ML(0.1)" in line
    markdown = (out / "report.md").read_text()
    assert "## Language model: the context it uses" in markdown
    assert f"| cut | {lm['effective_context']['cut']} |" in markdown


def test_an_lm_report_states_the_sketch_of_its_readout_and_keeps_the_model(lm_run):
    out, _, report = lm_run
    assert report["meta"]["model"]["task"] == "lm"
    assert any("sketched through 16 random Gaussian directions" in note for note in report["notes"])
    assert (out / "model" / "model.pt").stat().st_size > 0
    history = json.loads((out / "history.json").read_text())
    assert history["test_perplexity"] == pytest.approx(report["language_model"]["test_perplexity"])


def test_an_lm_run_honours_tau_and_reports_as_an_lm(lm_run):
    out, output, report = lm_run
    occlusion = [r for r in report["retention"]["occlusion"] if r is not None]
    assert max(occlusion) == pytest.approx(1.0) and min(occlusion) >= 0  # a share of the model's largest effect
    assert report["meta"]["recommendation_tau"] == 0.5 and "0.5" in report["summary"]["recommended_length"]["rule"]
    vocabulary = report["meta"]["model"]["vocabulary"]
    assert report["semantic_validity"] is None and report["label_names"] == [f"dim {k}" for k in range(vocabulary)]
    record = report["summary"]["training"]
    assert len(record["data_fingerprint"]) == 64 and record["versions"]["rnnmem"] and record["settings"]["max_len"] == 40
    assert 1 <= record["best_epoch"] <= record["epochs_run"] <= 6 and record["stopped"]
    assert record["competence"] == "better than the unigram model"
    training = next(line for line in output.splitlines() if line.startswith("training:"))
    assert "None" not in training and "perplexity" in training and "unknown" not in output.split("training:")[1]
    markdown = (out / "report.md").read_text()
    assert "| test perplexity |" in markdown and f"({vocabulary} in all)" in markdown



def test_the_lm_result_has_its_own_key_in_report_json_and_old_files_with_it_under_meta_still_load(lm_run):
    from rnnmem.language_model import LanguageModelResult

    _, _, report = lm_run
    assert "language_model" not in report["meta"]
    result = LanguageModelResult.from_report_json(report)
    assert result.ks == report["language_model"]["ks"] and result.effective_context["cut"] <= 3
    old = {key: value for key, value in report.items() if key != "language_model"}
    old["meta"] = {**report["meta"], "language_model": report["language_model"]}  # as written before the key
    assert LanguageModelResult.from_report_json(old) == result
    classifier = {key: value for key, value in old.items() if key != "meta"}
    assert LanguageModelResult.from_report_json({**classifier, "language_model": None}) is None

def test_an_lm_refuses_a_device_it_cannot_train_on(tmp_path):
    from rnnmem.errors import ConfigError
    from rnnmem.pipeline.config import RunConfig
    from rnnmem.pipeline.lm import train_and_assess_lm
    with pytest.raises(ConfigError, match="--task lm trains and assesses on the CPU only.*Leave out --device"):
        train_and_assess_lm(RunConfig(corpus=str(tmp_path / "never-read.csv")), device="cuda")


@pytest.mark.parametrize("args, message", [
    (["--task", "lmm"], "unknown task 'lmm'. Did you mean 'lm'?"),
    (["--task", "lm", "--max-distance", "60"], "has more than 51 tokens"),
    (["--task", "lm", "--checkpoint", "runs/x/model"], "--checkpoint cannot be combined with it"),
    (["--task", "lm", "--keep", "last"], "--keep last and --bptt-window None apply to classification only"),
])
def test_bad_lm_options_are_one_line_errors(bigram_csv, tmp_path, args, message):
    result = runner.invoke(app, ["assess", "--corpus", str(bigram_csv), "--out", str(tmp_path / "x"), *TINY_LM, *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
