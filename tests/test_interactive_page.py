"""The interactive pages (one assessment, one study): their per-token numbers and, in a real headless
Chromium driven by Playwright, that they load without console errors and that their menus change what
is shown."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest
import torch

import rnnmem
from known_systems import LinearRecurrence
from rnnmem.indicators.token_effects import TokenEffects
from rnnmem.report.interactive import run_figure
from rnnmem.sweep import ResultsStore, RunConfig, run_cell
from rnnmem.sweep.study import write_study_report

LAMBDA = 0.6
CHROMIUM = shutil.which("chromium")
try:
    from playwright.sync_api import sync_playwright
except ImportError:  # the test extra brings it
    sync_playwright = None
needs_browser = pytest.mark.skipif(CHROMIUM is None or sync_playwright is None,
                                   reason="needs Debian's chromium (apt-get install chromium) and playwright "
                                          "(pip install -e '.[test]')")


def test_a_token_share_is_its_effect_over_its_yardstick_and_undefined_without_a_yardstick():
    effects = TokenEffects(effect=np.array([[0.3, 0.2, np.nan]]), yardstick=np.array([[0.6, 0.0, 1.0]]))
    share = effects.share()
    assert share[0, 0] == pytest.approx(0.5)
    assert np.isnan(share[0, 1]) and np.isnan(share[0, 2])


def test_every_token_of_a_linear_recurrence_keeps_lambda_to_the_d():
    """h_t = λ h_{t-1} + e_t: each token's share of itself in the final state is λ^d, for every estimator."""
    tokens = torch.randint(1, 40, (30, 12), generator=torch.Generator().manual_seed(0))
    report = rnnmem.assess(LinearRecurrence(LAMBDA), tokens, max_distance=11, progress=False, n_resamples=20,
                           probes=False, estimators=("occlusion", "gradient", "replacement"))
    assert set(report.token_effects) == {"occlusion", "gradient", "replacement"}
    expected = LAMBDA ** np.arange(12)
    for name in ("occlusion", "gradient"):  # replacement's effect depends on the drawn token, not only on d
        share = report.token_effects[name].share()
        assert share.shape == (20, 12), name  # the first 20 sequences, distances 0..11
        np.testing.assert_allclose(share, np.broadcast_to(expected, share.shape), rtol=1e-6, err_msg=name)
    assert [len(t) for t in report.trajectories] == [12] * 20


@pytest.mark.parametrize("dim", [1, 3])
def test_a_page_without_per_token_effects_says_so_and_draws_any_ses(dim, tmp_path):
    tokens = torch.randint(1, 40, (10, 8), generator=torch.Generator().manual_seed(1))
    report = rnnmem.assess(LinearRecurrence(LAMBDA, dim=dim), tokens, estimators=["regression"], progress=False,
                           n_resamples=20, probes=False)
    assert report.token_effects == {}
    text = report.to_interactive_html(tmp_path / "page.html").read_text()
    assert "no per-token effects were measured" in text
    assert "regression has no per-token value" in text
    assert ("step t (tokens read)" in text) == (dim == 1)  # a 1-D SES is drawn against the step
    assert ("PC1 of the K = 3 SES" in text) == (dim == 3)


@pytest.fixture(scope="module")
def run_page(tiny_csv, tmp_path_factory):
    torch.manual_seed(0)
    corpus = rnnmem.load_corpus(str(tiny_csv))
    model = rnnmem.build_model("gru", len(corpus.vocabulary), corpus.num_classes, hidden_size=8, embedding_dim=8)
    rnnmem.train(model, corpus, max_len=16, epochs=1, progress=False)
    # max_distance 6 < most lengths: some tokens are not measured, and the page must say so, not fail
    report = rnnmem.assess(model, corpus, max_distance=6, progress=False, n_resamples=20, probes=False,
                           estimators=("occlusion", "regression", "gradient", "replacement"))
    folder = tmp_path_factory.mktemp("run")
    report.write_files(folder, title="tiny gru")
    report.model = model  # for the checks of its predictions
    return report, folder / "interactive.html"


@pytest.fixture(scope="module")
def study_page(tiny_csv, tmp_path_factory):
    root = tmp_path_factory.mktemp("study")
    store = ResultsStore(root / "study.sqlite")
    for unit in ("srn", "gru"):
        for length in (8, 16):
            config = RunConfig(unit=unit, max_len=length, seed=0, corpus=str(tiny_csv), hidden_size=8,
                                embedding_dim=8, epochs=1, max_distance=6, max_sequences=20, n_resamples=20)
            result = run_cell(config)
            # graded competent (one epoch does not learn the cue): the page draws the memory of competent models only
            result["metrics"].update(accuracy=0.95, majority_baseline=0.5, bag_of_words_baseline=0.95, test_size=200)
            store.add([config])
            store.claim()
            store.finish(config.key, result)
    return write_study_report(store.path, root / "out")["interactive_html"]


def test_each_sequence_is_named_with_its_true_label_and_the_models_prediction(run_page):
    report, path = run_page
    text = path.read_text()
    names = report.label_names
    # the prediction is the class the readout after the last token ranks first: the model run again here
    for i, ids in enumerate(report.trajectory_tokens[:3]):
        with torch.no_grad():
            predicted = int(report.model(torch.tensor([ids]))[0, -1].argmax())
        true = names[int(report.sequence_labels[i])]
        assert f"sequence {i + 1} ({len(ids)} tokens; true {true}, predicted {names[predicted]})" in text


def test_the_run_page_and_the_report_link_each_other_and_the_slider_plays(run_page):
    _, path = run_page
    page_text, report_text = path.read_text(), (path.parent / "report.html").read_text()
    assert '<a href="report.html">' in page_text and '<a href="interactive.html">' in report_text
    report = run_page[0]
    figure = run_figure(report)
    plays = [menu for menu in figure["layout"]["updatemenus"] if menu.get("type") == "buttons"]
    assert len(plays) == len(report.trajectory_tokens)  # a play/pause pair per sequence
    assert [menu.get("visible") for menu in plays].count(True) == 1
    first = plays[0]["buttons"][0]
    steps = figure["layout"]["sliders"][0]["steps"]
    # play runs through the shown sequence's frames, the very ones the slider's steps show
    assert first["label"].endswith("play") and first["args"][0] == [step["args"][0][0] for step in steps]
    assert {frame["name"] for frame in figure["frames"]} >= set(first["args"][0])
    assert figure["layout"]["sliders"][0]["len"] >= 0.8  # of the page's width, beside the play buttons: ~800 px


def test_the_run_page_is_one_offline_file_of_bounded_size(run_page):
    _, path = run_page
    text = path.read_text()
    assert not re.search(r"<script[^>]*\bsrc=", text), "the page loads a script from elsewhere"
    assert "Plotly.newPlot" in text
    assert path.stat().st_size < 6_000_000  # plotly.js itself is ~4.8 MB


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


def _open(browser, path):
    """A page showing ``path``, and the list its console errors and uncaught exceptions are appended to."""
    page = browser.new_page(viewport={"width": 1200, "height": 1100})
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(path.resolve().as_uri())
    page.wait_for_selector("g.heatmaplayer, g.scatterlayer")
    return page, errors


def _choose(page, menu: int, label: str) -> None:
    page.locator("g.updatemenu-header-group").nth(menu).click()
    page.locator("g.updatemenu-dropdown-button", has_text=label).click()


def _shown_tokens(page) -> list[str]:
    return page.eval_on_selector_all("g.heatmaplayer text", "cells => cells.map(cell => cell.textContent)")


def _token_colours(page) -> str:
    return page.get_attribute("g.heatmaplayer image", "href")


@needs_browser
def test_choosing_another_sequence_shows_its_tokens(browser, run_page):
    report, path = run_page
    page, errors = _open(browser, path)
    words = [report.vocabulary.decode(ids) for ids in report.trajectory_tokens[:2]]
    assert _shown_tokens(page) == [w[:10] for w in words[0]]
    _choose(page, 0, f"sequence 2 ({len(words[1])} tokens;")
    assert _shown_tokens(page) == [w[:10] for w in words[1]]
    assert errors == []


@needs_browser
def test_switching_the_estimator_recolours_the_tokens_and_the_slider_moves_the_step(browser, run_page):
    _, path = run_page
    page, errors = _open(browser, path)
    before = _token_colours(page)
    _choose(page, 1, "gradient")
    assert _token_colours(page) != before
    assert "gradient" in page.text_content("g.annotation-text-g >> nth=0")
    last = page.locator("g.heatmaplayer text").last.bounding_box()  # the last token: d = 0, always measured
    page.mouse.move(last["x"] + last["width"] / 2, last["y"] + last["height"] / 2)
    hover = page.text_content("g.hoverlayer")
    assert "distance from the end d = 0" in hover and re.search(r"share held r = \d", hover), hover
    page.locator("rect.slider-rail-touch-rect").scroll_into_view_if_needed()  # a click must land on screen
    rail = page.locator("rect.slider-rail-touch-rect").bounding_box()
    page.mouse.click(rail["x"] + 2, rail["y"] + rail["height"] / 2)  # the start of the rail: step 0
    assert page.text_content("g.slider-container text.slider-label") == "step 0: start"  # the current value
    assert errors == []


@needs_browser
def test_the_study_page_shows_the_chosen_training_length(browser, study_page):
    page, errors = _open(browser, study_page)

    def retention_dashes() -> set[str]:  # each training length has its own dash in the retention panel
        return set(page.eval_on_selector_all(
            "g.subplot.xy g.scatterlayer path.js-line",
            "lines => lines.filter(l => parseFloat(l.style.strokeWidth) > 0).map(l => l.style.strokeDasharray)"))

    assert len(retention_dashes()) == 2
    _choose(page, 0, "L = 16")
    assert len(retention_dashes()) == 1 and retention_dashes() != {""}  # L = 16 is drawn dashed, L = 8 solid
    _choose(page, 1, "ML(0.1)")
    assert "ML(0.1)" in page.text_content("g.g-y2title")
    assert errors == []


@needs_browser
def test_the_pages_link_each_other_and_play_moves_the_step_until_paused(browser, run_page):
    _, path = run_page
    page, errors = _open(browser, path)
    page.click("nav a[href='report.html']")
    page.wait_for_selector("nav a[href='interactive.html']")  # report.html, which links back
    page.click("nav a[href='interactive.html']")
    page.wait_for_selector("g.heatmaplayer")

    def step() -> str:
        return page.text_content("g.slider-container text.slider-label")

    before = step()
    page.locator("g.updatemenu-button", has_text="play").click()
    page.wait_for_function("start => document.querySelector('g.slider-container text.slider-label').textContent "
                           "!== start", arg=before, timeout=10_000)
    page.locator("g.updatemenu-button", has_text="pause").click()
    paused = step()
    page.wait_for_timeout(1000)  # several play steps long
    assert step() == paused
    # pausing interrupts the play animation, whose promise plotly.js rejects without a reason ("undefined")
    assert [error for error in errors if error != "undefined"] == []


def test_the_study_page_marks_a_mean_past_the_measured_range_as_a_lower_bound():
    from types import SimpleNamespace

    import pandas as pd
    from plotly.subplots import make_subplots

    from rnnmem.report.interactive_study import _metric_traces

    table = pd.DataFrame({"unit": "gru", "max_len": [8, 16], "metric": "ML(0.1)", "mean": [3.0, 7.0], "lo": [2.0, 7.0],
                          "hi": [4.0, 7.0], "n": 3, "n_beyond": [0, 2], "max_distance": 6})
    fig = make_subplots(rows=1, cols=2)
    _metric_traces(fig, SimpleNamespace(units=["gru"]), table, "ML(0.1)", visible=True)
    (line,) = fig.data
    assert list(line.marker.symbol) == ["circle", "triangle-up"] and list(line.y) == [3.0, 7.0]


@needs_browser
def test_the_estimator_menu_sits_beside_the_sequence_menu_not_over_its_label(browser, run_page):
    _, path = run_page
    page, errors = _open(browser, path)
    sequence, estimator = (page.locator("g.updatemenu-header-group").nth(i).bounding_box() for i in (0, 1))
    # the sequence labels name the truth and the prediction: their header is far wider than "occlusion"'s
    assert sequence["width"] > 250 and sequence["x"] + sequence["width"] <= estimator["x"]
    assert errors == []
