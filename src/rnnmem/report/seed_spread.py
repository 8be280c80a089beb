"""What `rnnmem assess --seeds` prints and writes (seeds.md): the headline across seeds and each seed's verdict."""

from __future__ import annotations

from rnnmem.report.blocks import Bullets, Heading, Paragraph, Table, to_markdown
from rnnmem.report.format import number
from rnnmem.report.study_text import format_cell

SPREAD_NOTE = ("mean over seeds ± half-width of its 95% t-interval, and the range from the lowest to the highest "
               "seed; memory numbers count the competent seeds only (n)")


def seed_spread_blocks(spread: dict) -> list:
    """The spread (`rnnmem.sweep.seeds.assess_seeds`) as document blocks."""
    rows = [[row["name"], format_cell(row), f"{number(row['low'])} .. {number(row['high'])}", row["n"]]
            for row in spread["rows"]]
    verdicts = [f"seed {v['seed']}: {v['verdict']} (accuracy {number(v['accuracy'])}, majority {number(v['majority'])}, "
                f"bag-of-words {number(v['bag_of_words'])})" for v in spread["verdicts"]]
    failed = [f"seed {f['seed']} failed: {(f['error'] or 'unknown error').splitlines()[0]}" for f in spread["failures"]]
    return [Heading("Across seeds"), Paragraph(f"{SPREAD_NOTE}; estimator {spread['estimator']}.", note=True),
            Table(["indicator", "mean ± 95% t", "range across seeds", "n"], rows, ["l", "r", "r", "r"]),
            Heading("Verdict of each seed"), Bullets(verdicts + failed)]


def seed_spread_markdown(spread: dict, title: str) -> str:
    return to_markdown(seed_spread_blocks(spread), title)
