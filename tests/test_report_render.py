"""Tests of the report rendering: the three PNG figures and the Markdown report."""

from dataclasses import replace
from functools import lru_cache
from itertools import combinations
from types import SimpleNamespace

import re
import matplotlib.image
import numpy as np
import pandas as pd
import pytest
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text
from torch import nn

import rnnmem
from rnnmem.data import Vocabulary
from rnnmem.report import hull_plots, plots, ses_plots, style
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
    return rnnmem.assess(LinearRecurrence(k), _tokens(), max_distance=max_distance, progress=False, n_resamples=100,
                         estimators=("occlusion", "regression", "gradient", "replacement"))


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
    assert lines["occlusion"] == style.estimator_color("occlusion") == "#0072B2"


def test_fidelity_figure_names_its_curves(report):
    ax = plots.fidelity_figure(report).axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(label.startswith("cosine") for label in labels)
    assert any(label.startswith("R²") for label in labels)
    knee = report.fidelity_knee()
    assert knee is not None and any(label.startswith(f"knee: length {knee:g}") for label in labels)


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
        assert fig.axes[2].get_ylabel().startswith("sequences")  # where the 40 sequences end
        assert sum(patch.get_path().vertices.shape[0] > 0 for patch in fig.axes[2].patches) >= 1
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
    assert 5 <= len(names) <= ses_plots.N_FREQUENT_WORDS + ses_plots.N_EXTREME_WORDS
    assert not any(name.startswith("<") for name in names)  # <unk> (id 1) occurs but is never named
    most_frequent = report.words()[int(report.word_points["count"].idxmax())]
    assert f"w{most_frequent}" in names
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    first = vocab.decode(report.trajectory_tokens[0][:2])
    assert any(" ".join(first) in entry for entry in legend)


# -- labels that do not collide ---------------------------------------------------------
def _boxes(fig, artists):
    """Display boxes of artists as the saved figure has them (drawn once more, as saving does).

    For a text, the box of its letters: a label's thin leader line may cross another label's box.
    """
    renderer = (fig.canvas if hasattr(fig.canvas, "get_renderer") else FigureCanvasAgg(fig)).get_renderer()
    fig.draw_without_rendering()
    return [Text.get_window_extent(a, renderer) if isinstance(a, Text) else a.get_window_extent(renderer)
            for a in artists]


def _assert_apart(boxes, names):
    for (a, name_a), (b, name_b) in combinations(zip(boxes, names), 2):
        assert not a.overlaps(b), f"{name_a!r} overlaps {name_b!r}"


def _long_report(report, max_distance=100, lam=0.9):
    """The report with a long synthetic retention curve r(d) = lam^d for each estimator, all four alike."""
    distance = np.arange(max_distance + 1)
    columns = {"distance": distance}
    for name in report.estimators:
        r = lam ** distance
        columns.update({name: r, f"{name}_lo": r - 0.02, f"{name}_hi": r + 0.02})
    return replace(report, retention=pd.DataFrame(columns), floor=None)


@pytest.mark.parametrize("long", [False, True])
def test_retention_labels_of_estimators_with_one_memory_length_do_not_overlap(report, long):
    rep = _long_report(report) if long else report
    assert len(rep.estimators) == 4 and len({rep.memory_length(0.5, e) for e in rep.estimators}) == 1
    fig = plots.retention_figure(rep)
    ax = fig.axes[0]
    texts = [t for t in ax.texts if t.get_text()]
    labels = [t for t in texts if t.get_text().startswith("ML(0.5)=")]
    assert len(labels) == 4  # one per estimator, all at the same point of the plot
    boxes = _boxes(fig, texts)
    _assert_apart(boxes, [t.get_text() for t in texts])  # apart from each other and from the threshold names
    assert all(ax.bbox.contains(box.x0, box.y0) and ax.bbox.contains(box.x1, box.y1)
               for box, t in zip(boxes, texts) if t in labels)


def test_retention_axis_spreads_the_near_range_of_a_long_curve(report):
    ax = plots.retention_figure(_long_report(report)).axes[0]
    assert ax.get_xscale() == "symlog"
    x0, x20, x100 = (ax.transData.transform((d, 0))[0] for d in (0, 20, 100))
    assert (x20 - x0) / (x100 - x0) > 0.45  # a linear axis gives d < 20 a fifth of the width
    assert x0 < x20 < x100
    assert "100" in [t.get_text() for t in ax.get_xticklabels()]


def test_legends_sit_below_the_curves(report):
    for fig in (plots.retention_figure(report), plots.fidelity_figure(report)):
        ax = fig.axes[0]
        legend, frame = _boxes(fig, [ax.get_legend()])[0], ax.get_window_extent()
        assert legend.y1 <= frame.y0, "the legend covers the axes"


def test_fidelity_knee_is_marked_on_the_cosine_curve(report):
    ax = plots.fidelity_figure(report).axes[0]
    knee = report.fidelity_knee()
    marker = next(line for line in ax.get_lines() if line.get_label().startswith("knee"))
    table = report.fidelity.set_index("length")
    x, y = marker.get_xydata()[0]
    assert x == knee and y == pytest.approx(table.loc[knee, "cosine"])
    assert f"{table.loc[knee, 'cosine']:.2f}" in marker.get_label()
    assert any(t.get_text().startswith(f"knee: L = {knee:g}") for t in ax.texts)


def test_hull_labels_do_not_collide(report):
    fig = hull_plots.hull_figure(report)
    texts = [t for t in fig.axes[0].texts if t.get_text()]
    example = report.hull.example
    pillar_words = {token for token, pillar in zip(example["tokens"], example["pillars"]) if pillar}
    assert len(texts) == len(pillar_words) >= 3  # one label per pillar word, a repeated word named once
    _assert_apart(_boxes(fig, texts), [t.get_text() for t in texts])


def test_validity_word_labels_do_not_collide_even_when_the_extreme_words_crowd():
    rng = np.random.default_rng(0)
    valence = rng.uniform(-4, 4, 200)
    axis = 0.3 * valence + rng.normal(0, 0.3, 200)
    axis[:8] = 5.0 + 0.01 * np.arange(8)  # eight words at one extreme, nearly on one point
    valence[:8] = 3.0
    view = SimpleNamespace(valence=valence, axis=axis, words=[f"word{i}" for i in range(200)], rho=0.8, low=0.7,
                           high=0.9, n_matched=200)
    fig = plots.validity_figure(SimpleNamespace(semantic_validity={"trained": view, "untrained": None}))
    texts = [t for t in fig.axes[0].texts if t.get_text()]
    assert len(texts) == 2 * plots.N_EXTREME_WORDS
    _assert_apart(_boxes(fig, texts), [t.get_text() for t in texts])


# -- SES: where sequences end ------------------------------------------------------------
CENTRES = np.array([[3.0, 0.0], [-2.0, 2.0], [0.0, -3.0]])


def _classes_in_the_plane(n_per_class=60):
    """Sequence end points around three known centres; trajectories of the first 9 sequences, straight lines."""
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), n_per_class)
    rng.shuffle(labels)
    ends = CENTRES[labels] + rng.normal(0, 0.5, (len(labels), 2))
    trajectories = [np.linspace(0, 1, 6)[1:, None] * ends[i] for i in range(9)]
    words = [f"word{i}" for i in range(40)]
    points = rng.normal(0, 1.5, (40, 2))
    return ends, labels, trajectories, words, points


def test_report_keeps_each_sequences_end_point_and_its_class(tiny_csv):
    corpus = rnnmem.read_corpus(tiny_csv, seed=0)
    model = rnnmem.build_model("gru", len(corpus.vocabulary), corpus.num_classes, hidden_size=4, embedding_dim=4,
                               seed=0)
    rep = rnnmem.assess(model, corpus, estimators=("regression",), max_sequences=20, n_resamples=20, probes=False,
                        floor=False, progress=False)
    assert rep.sequence_points.shape == (20, corpus.num_classes) and rep.sequence_labels.shape == (20,)
    positive = list(corpus.label_names).index("pos")
    for i, (trajectory, ids) in enumerate(zip(rep.trajectories, rep.trajectory_tokens)):
        np.testing.assert_array_equal(rep.sequence_points[i], trajectory[-1])  # trajectory i is sequence i
        assert ("good" in rep.vocabulary.decode(ids)) == (rep.sequence_labels[i] == positive)  # the cue sets the class
    assert _assess(3).sequence_labels is None  # token tensors carry no class


def test_typical_trajectory_per_class_is_the_kept_one_ending_nearest_its_class_mean():
    ends, labels, trajectories, *_ = _classes_in_the_plane()
    chosen = ses_plots.typical_trajectories(trajectories, ends, labels)
    assert sorted(labels[chosen]) == [0, 1, 2]  # one per class
    for i in chosen:
        same = [j for j in range(len(trajectories)) if labels[j] == labels[i]]
        mean = ends[labels == labels[i]].mean(axis=0)
        assert i == min(same, key=lambda j: np.linalg.norm(ends[j] - mean))
    assert ses_plots.typical_trajectories(trajectories, None, None) == list(range(style.N_TRAJECTORIES))


def test_ses_figure_shows_end_point_density_class_means_and_labels_off_the_origin(tmp_path):
    ends, labels, trajectories, words, points = _classes_in_the_plane()
    counts = np.arange(40, 0, -1)
    fig = ses_plots.ses_figure_from_arrays(points, counts, words, ["alpha", "beta", "gamma"], trajectories,
                                           [f"sequence {i}" for i in range(9)], sequence_points=ends,
                                           sequence_labels=labels)
    ax = fig.axes[0]
    density = next(c for c in ax.collections if c.get_array() is not None and len(c.get_array()))
    assert density.get_array().sum() == len(ends)  # every sequence counted once
    means = {line.get_label(): line.get_xydata()[0] for line in ax.get_lines() if line.get_marker() == "X"}
    for c, name in enumerate(["alpha", "beta", "gamma"]):
        label = next(key for key in means if f"class {name} " in key)
        np.testing.assert_allclose(means[label], ends[labels == c].mean(axis=0))
        assert np.linalg.norm(means[label] - CENTRES[c]) < 0.3
    texts = [t for t in ax.texts if t.get_text()]
    names = [t.get_text() for t in texts]
    assert {"alpha", "beta", "gamma"} <= set(names) and "word0" in names
    boxes = _boxes(fig, texts)
    _assert_apart(boxes, names)
    origin = ax.transData.transform((0, 0))
    assert not any(box.contains(*origin) for box in boxes), "a label sits on the origin marker"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert sum(entry.startswith(("alpha:", "beta:", "gamma:")) for entry in legend) == 3  # a trajectory per class
    _assert_real_png(style.save_figure(fig, tmp_path / "ses.png"))


# -- markdown ----------------------------------------------------------------------------
def test_markdown_headline_table(report):
    text = report.to_markdown(title="Linear recurrence")
    assert text.startswith("# Linear recurrence\n")
    assert ("| estimator | ML(0.5) [95% CI] | ML(0.1) [95% CI] | retention capacity [95% CI] | "
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
    low, high = rec.interval
    assert f"**Recommended training length**: {rec.length} tokens, 95% interval {low} to {high} — {rec.rule}" in text
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
