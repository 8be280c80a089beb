"""The estimator registry: an estimator added there alone is run by `assess` and reaches every view (report.json,
report.md, indicators.csv, the CLI summary, a sweep cell's metrics, the plots' colours, the interactive page)."""

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

import rnnmem
from known_systems import LinearRecurrence
from rnnmem.indicators import estimators as registry
from rnnmem.indicators.bootstrap import ratio_of_sums
from rnnmem.indicators.estimators import Estimator, EstimatorResult
from rnnmem.indicators.token_effects import TokenEffects
from rnnmem.report.console import run_summary
from rnnmem.report.style import estimator_color
from rnnmem.sweep.cell import cell_metrics


def measure_halving(inputs):
    """A per-token toy: each token's effect is half its yardstick per step back, so r(d) = 0.5^d exactly."""
    yardstick = inputs.swap_norms
    effect = yardstick * 0.5 ** np.arange(yardstick.shape[1])
    examples = slice(0, inputs.examples)
    return EstimatorResult(ratio_of_sums(effect, yardstick, inputs.n_resamples, inputs.seed),
                           {"halving": TokenEffects(effect[examples], yardstick[examples])})


HALVING = Estimator("halving", "#CC79A7", "half of the token per step back", measure_halving)
NEEDY = Estimator("needy", "#000000", "never runs here", measure_halving, requires=("no_such_method",),
                  requires_text="no_such_method() to call")
TOKENS = torch.randint(1, 40, (30, 10), generator=torch.Generator().manual_seed(4))


@pytest.fixture()
def with_toys(monkeypatch):
    monkeypatch.setattr(registry, "ESTIMATORS", registry.ESTIMATORS + (HALVING, NEEDY))


def test_an_estimator_added_to_the_registry_alone_reaches_every_view(with_toys, tmp_path):
    report = rnnmem.assess(LinearRecurrence(0.5), TOKENS, max_distance=9, progress=False, n_resamples=40,
                           estimators=("occlusion", "halving", "needy"), floor=LinearRecurrence(0.8), probes=False)
    assert report.estimators == ["occlusion", "halving"]
    assert any(note == "needy estimator skipped: the model has no no_such_method() to call." for note in report.notes)
    np.testing.assert_allclose(report.curve("halving"), 0.5 ** np.arange(10), atol=1e-12)

    report.to_json(tmp_path / "report.json")
    summary = json.loads((tmp_path / "report.json").read_text())["summary"]
    assert summary["estimators"]["halving"]["ML(0.5)"] == 1 and summary["estimators"]["halving"]["ML(0.1)"] == 4
    assert summary["floor"]["estimators"]["halving"]["ML(0.1)"] == 4  # the toy ignores the model

    headline = report.to_markdown().split("## Headline")[1].split("##")[0]
    assert next(line for line in headline.splitlines() if line.startswith("| halving |")).startswith(
        "| halving | 1 [1, 1] | 4 [4, 4] |")
    assert "halving (half of the token per step back)" in report.to_markdown()

    report.to_tables(tmp_path)
    table = pd.read_csv(tmp_path / "indicators.csv").set_index(["estimator", "indicator"])
    assert table.loc[("halving", "ML(0.1)"), "trained"] == 4
    assert table.loc[("halving", "retention capacity"), "trained"] == pytest.approx(2 * (1 - 0.5 ** 10))

    printed = next(line for line in run_summary(report, "toy").splitlines() if line.split()[:2] == ["halving", "ML(0.1)"])
    assert printed.split()[2:] == ["4", "4", "0"]  # trained, floor, difference

    history = SimpleNamespace(final_accuracy=0.9, test_size=200, majority_baseline=0.5, bag_of_words_baseline=0.6, best_epoch=1)
    assert cell_metrics(report, history)["halving.ML(0.1)"] == 4

    assert estimator_color("halving") == "#CC79A7"
    assert "halving" in report.token_effects
    np.testing.assert_allclose(report.token_effects["halving"].share()[0], 0.5 ** np.arange(10), atol=1e-12)
    page = report.to_interactive_html(tmp_path / "interactive.html").read_text()
    assert "#CC79A7" in page and "halving" in page


def test_the_registry_gives_the_defaults_and_refuses_a_name_it_does_not_hold(with_toys):
    assert registry.default_estimators() == ("occlusion", "regression", "replacement", "halving", "needy")
    with pytest.raises(rnnmem.ConfigError, match="Did you mean 'halving'"):
        rnnmem.assess(LinearRecurrence(0.5), TOKENS, estimators=("halvng",), progress=False)


def test_without_the_entry_the_name_is_refused():
    assert registry.registered("halving") is None and estimator_color("halving") == "#444444"
    with pytest.raises(rnnmem.ConfigError, match="unknown estimator 'halving'"):
        rnnmem.assess(LinearRecurrence(0.5), TOKENS, estimators=("halving",), progress=False)


def test_the_headline_estimator_is_occlusion_when_present_else_the_first():
    assert registry.headline_estimator(["gradient", "occlusion"]) == "occlusion"
    assert registry.headline_estimator(["regression", "gradient"]) == "regression"
    assert registry.headline_estimator([]) is None
