"""Text from the data that the plots' font cannot draw (emoji, scripts it lacks) is marked, not warned about."""

import warnings

import matplotlib

from rnnmem.report.style import MISSING_GLYPH, drawable, new_figure, place_labels


def test_a_character_without_a_glyph_becomes_the_marker_and_the_rest_is_kept():
    assert drawable("good 🔥 day 中文") == f"good {MISSING_GLYPH} day {MISSING_GLYPH * 2}"
    assert drawable("café, naïve — שלום 😀") == "café, naïve — שלום 😀"  # the font has these (Hebrew, some emoji)


def test_a_label_with_an_emoji_draws_without_a_glyph_warning(tmp_path):
    fig = new_figure(3, 2)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib's "Glyph ... missing from font(s)" is a UserWarning
        (note,) = place_labels(ax, [("love 💙", (0.5, 0.5), {})])
        fig.savefig(tmp_path / "label.png")
    assert note.get_text() == f"love {MISSING_GLYPH}"


def test_without_the_marker_matplotlib_would_warn(tmp_path):
    # the premise: the plots' font has no emoji, so drawing one raw warns (if a font ever gains it, drop the marker)
    fig = new_figure(3, 2)
    fig.text(0.5, 0.5, "💙")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.savefig(tmp_path / "raw.png")
    assert any("missing from font" in str(w.message) for w in caught), matplotlib.get_cachedir()
