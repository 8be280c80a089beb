"""Tests of the report rendering: the three PNG figures and the Markdown report."""

from functools import lru_cache

import re
import matplotlib.image
import numpy as np
import pytest
import torch
from torch import nn

import rnnmem
from rnnmem.data import Vocabulary
from rnnmem.report import plots, ses_plots, style
from rnnmem.report.blocks import pipe_table

LAMBDA = 0.7
VOCAB = 30


class LinearRecurrence(nn.Module):
    """h_t = lambda h_{t-1} + E[x_t], readout = h_t: r(d) = lambda^d exactly (docs/indicators.md §5)."""

    def __init__(self, k: int, lam: float = LAMBDA):
        super().__init__()
        g = torch.Generator().manual_seed(k)
        emb = torch.randn(VOCAB, k, generator=g, dtype=torch.float64)
        emb[0] = 0.0  # the neutral (pad) token carries no semantics, so occlusion removes a token entirely
        self.emb = nn.Parameter(emb)
        self.lam = lam

    def embed(self, tokens):
        return self.emb[tokens]

    def forward_embedded(self, emb):
        h = torch.zeros(emb.shape[0], emb.shape[2], dtype=emb.dtype)
        out = []
        for t in range(emb.shape[1]):
            h = self.lam * h + emb[:, t]
            out.append(h)
        return torch.stack(out, 1)

    def forward(self, tokens):
        return self.forward_embedded(self.embed(tokens))

    def initial_readout(self):
        return torch.zeros(self.emb.shape[1], dtype=torch.float64)


def _tokens():
    g = torch.Generator().manual_seed(0)
    return torch.randint(1, VOCAB, (40, 20), generator=g)


@lru_cache(maxsize=None)
def _assess(k: int, max_distance: int = 100):
    """One report per (K, max_distance), shared by the tests (none of them changes it for good)."""
    return rnnmem.assess(LinearRecurrence(k), _tokens(), max_distance=max_distance, progress=False, n_resamples=100)


@pytest.fixture()
def report():
    return _assess(3)


@pytest.fixture()
def short_report():
    return _assess(3, max_distance=3)


def _assert_real_png(path):
    assert path.exists() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 300 and image.shape[1] > 500
    rgb = np.round(image[..., :3] * 255).astype(np.uint32)
    colours = np.unique(rgb[..., 0] << 16 | rgb[..., 1] << 8 | rgb[..., 2])
    assert len(colours) > 20, f"{path.name} is (nearly) a single colour"


# -- figures -----------------------------------------------------------------------------
def test_plot_writes_three_valid_pngs(report, tmp_path):
    paths = report.plot(tmp_path / "figs")
    assert set(paths) == {"retention", "fidelity", "ses", "hull"}
    for name, path in paths.items():
        assert path == tmp_path / "figs" / f"{name}.png"
        _assert_real_png(path)


def test_retention_figure_marks_half_life_and_thresholds(report):
    fig = plots.retention_figure(report)
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert "ML(0.5)=2" in texts
    assert any("half-life" in t for t in texts) and any("horizon" in t for t in texts)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert [entry.split(":")[0] for entry in legend] == report.estimators
    assert "40 sequences" in ax.get_title()
    # the colour of an estimator is the same wherever it is drawn
    lines = {line.get_label().split(":")[0]: line.get_color() for line in ax.get_lines()}
    assert lines["occlusion"] == style.ESTIMATOR_COLORS["occlusion"]


def test_fidelity_figure_marks_the_knee(report):
    ax = plots.fidelity_figure(report).axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(label.startswith("cosine") for label in labels)
    assert any(label.startswith("R²") for label in labels)
    knee = report.fidelity_knee()
    assert knee is not None and f"knee: length {knee:g}" in labels


@pytest.mark.parametrize("k", [1, 2, 3])
def test_ses_figure_labels_its_axes_by_dimension(k, tmp_path):
    rep = _assess(k)
    fig = ses_plots.ses_figure(rep)
    ax = fig.axes[0]
    if k == 3:
        assert ax.get_xlabel().startswith("PC1 of the SES") and ax.get_ylabel().startswith("PC2 of the SES")
        assert "principal directions" in ax.get_title()
    elif k == 2:
        assert ax.get_xlabel().startswith(rep.label_names[0]) and ax.get_ylabel().startswith(rep.label_names[1])
        assert "K = 2" in ax.get_title()
    else:
        assert ax.get_xlabel() == f"SES coordinate: {rep.label_names[0]}"
        assert "frequency rank" in ax.get_ylabel()
        assert fig.axes[1].get_ylabel() == "step t (tokens read)"
        assert "K = 1" in fig.get_suptitle()
    _assert_real_png(style.save_figure(fig, tmp_path / "ses.png"))


def test_ses_figure_names_frequent_words_and_skips_special_tokens(report):
    vocab = Vocabulary(["<pad>", "<unk>"] + [f"w{i}" for i in range(2, VOCAB)])
    report.vocabulary = vocab
    try:
        ax = ses_plots.ses_figure(report).axes[0]
    finally:
        report.vocabulary = None
    names = {t.get_text() for t in ax.texts if t.get_text()}  # arrows are empty annotations
    assert len(names) == ses_plots.N_LABELLED_WORDS
    assert not any(name.startswith("<") for name in names)  # <unk> (id 1) occurs but is never named
    most_frequent = report.words()[int(report.word_points["count"].idxmax())]
    assert f"w{most_frequent}" in names
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    first = vocab.decode(report.trajectory_tokens[0][:2])
    assert any(" ".join(first) in entry for entry in legend)


# -- markdown ----------------------------------------------------------------------------
def test_markdown_headline_table(report):
    text = report.to_markdown(title="Linear recurrence")
    assert text.startswith("# Linear recurrence\n")
    assert ("| estimator | ML(0.5) [95% CI] | ML(0.1) [95% CI] | retention capacity Σ r(d) [95% CI] | "
            "recent share [95% CI] |") in text
    summary = report.summary()["estimators"]
    assert report.memory_length(0.5, "occlusion") == 2  # ceil(log 0.5 / log 0.7)
    occlusion = next(line for line in text.splitlines() if line.startswith("| occlusion |"))
    cells = [c.strip() for c in occlusion.strip("|").split("|")]
    assert cells[1].split()[0] == "2"
    assert cells[2].split()[0] == str(summary["occlusion"]["ML(0.1)"])
    assert cells[3].startswith(f"{summary['occlusion']['retention_capacity']:.3g} [")
    for name in report.estimators:
        assert f"| {name} |" in text


def test_markdown_shows_unreached_memory_length_as_greater_than(short_report):
    assert short_report.memory_length(0.1, "occlusion") is None
    text = short_report.to_markdown()
    occlusion = next(line for line in text.splitlines() if line.startswith("| occlusion |"))
    cells = [c.strip() for c in occlusion.strip("|").split("|")]
    assert cells[1].startswith("2 ")
    assert cells[2].startswith("> 3")
    assert "None" not in text and "nan" not in text.lower()


def test_markdown_sections_notes_and_images(report, tmp_path):
    assert report.notes  # max_distance 100 > the 19 measurable distances
    path = tmp_path / "report.md"
    text = report.to_markdown(path)
    assert path.read_text() == text
    for note in report.notes:
        assert f"- {note}" in text
    for section in ("## Headline", "## Retention r(d)", "## Semantic fidelity", "## What the indicators mean",
                    "## Notes", "## Images"):
        assert section in text
    for image in ("retention.png", "fidelity.png", "ses.png"):
        assert f"]({image})" in text
    rec = report.recommend_length()
    assert f"**Recommended training length**: {rec.length} tokens — {rec.rule}" in text
    assert "recent share [95% CI]" in text and "Fidelity knee" in text
    # retention rows at 0, 1, 2, 4, 8, 16 and the last distance (19)
    rows = [line.split("|")[1].strip() for line in text.split("## Retention r(d)")[1].split("##")[0].splitlines()
            if line.startswith("| ") and not line.startswith(("| d ", "| :"))]
    assert rows == ["0", "1", "2", "4", "8", "16", "19"]


def test_pipe_table_escapes_and_aligns():
    table = pipe_table(["a", "b"], [["x|y", 1.5], ["z", "line\nbreak"]])
    assert table.splitlines() == ["| a | b |", "| :--- | ---: |", "| x\\|y | 1.5 |", "| z | line break |"]


def test_html_report_is_self_contained_and_carries_tables_and_plots(report, tmp_path):
    page = report.to_html(tmp_path / "report.html", title="Toy <memory>").read_text()
    assert "http://" not in page and "https://" not in page and "<script" not in page
    images = re.findall(r'<img src="([^"]+)"', page)
    assert len(images) >= 4 and all(src.startswith("data:image/png;base64,") and len(src) > 5000 for src in images)
    assert "<title>Toy &lt;memory&gt;</title>" in page  # user text is escaped
    ml = report.memory_length(0.5, "occlusion")
    assert re.search(rf"<td>occlusion</td><td>{ml} ", page)  # the headline table, as a table
    assert page.count("<table>") >= 3
