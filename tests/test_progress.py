"""Progress fits where the output goes: bars on a terminal, one line per stage in a file or log, nothing when silenced."""

import io
import sys

import pytest
import torch

import rnnmem
from rnnmem.progress import LogLine, progress_bar, stage


class Terminal(io.StringIO):
    def isatty(self):
        return True


def assess_into(path, monkeypatch, **options):
    model = rnnmem.build_model("gru", 30, 3, hidden_size=8, embedding_dim=4, seed=0)
    tokens = torch.randint(1, 30, (24, 12), generator=torch.Generator().manual_seed(0))
    with path.open("w") as log:
        monkeypatch.setattr(sys, "stderr", log)
        rnnmem.assess(model, tokens, max_distance=8, n_resamples=30, probes=False,
                      estimators=("occlusion", "regression", "gradient"), **options)
    return path.read_text()


def test_an_assessment_logged_to_a_file_writes_at_most_one_line_per_stage(tmp_path, monkeypatch):
    text = assess_into(tmp_path / "log.txt", monkeypatch)
    assert "\r" not in text, repr(text[:300])
    stages = [line.split(": ")[1] for line in text.splitlines() if line.startswith("rnnmem: ")]
    assert len(stages) == len(set(stages)), text
    # each estimator, the floor (everything measured on it inside one line) and the nested bootstraps' absence
    assert {"SES points", "occlusion", "regression", "gradient", "fidelity", "hull", "untrained floor"} <= set(stages), text
    assert "bootstrap" not in stages and "occlusion variants" not in stages, text


def test_progress_false_logs_nothing(tmp_path, monkeypatch):
    assert "rnnmem:" not in assess_into(tmp_path / "quiet.txt", monkeypatch, progress=False)


def test_a_log_line_counts_the_steps_and_the_time():
    out = io.StringIO()
    for _ in progress_bar(range(3), "probes", file=out):
        pass
    with stage("fit"):  # sys.stderr is pytest's capture: not a terminal either
        pass
    assert out.getvalue().startswith("rnnmem: probes: 3 of 3 done in ") and out.getvalue().endswith(" s\n")
    assert out.getvalue().count("\n") == 1


def test_a_log_line_silences_the_bars_opened_inside_it():
    out = io.StringIO()
    with progress_bar(total=1, desc="outer", file=out) as outer:
        assert isinstance(outer, LogLine)
        inner = progress_bar(range(2), "inner", file=out)
        assert inner.disable
        list(inner)
    assert "inner" not in out.getvalue() and out.getvalue().count("rnnmem: outer") == 1


def test_on_a_terminal_nested_bars_draw_below_each_other_and_only_two_levels_show():
    out = Terminal()
    with progress_bar(total=1, desc="stage", file=out) as outer:
        with progress_bar(total=2, desc="steps", file=out) as inner:
            deeper = progress_bar(total=2, desc="deeper", file=out)
            assert (outer.pos, abs(inner.pos)) == (0, 1) and deeper.disable
        # a closed bar frees its level for the next one
        with progress_bar(total=2, desc="next", file=out) as following:
            assert abs(following.pos) == 1 and not following.disable
    assert "stage" in out.getvalue() and "\r" in out.getvalue()


def test_the_sweeps_cell_bar_writes_a_line_per_step_in_a_log():
    out = io.StringIO()
    with progress_bar(total=2, desc="cells", file=out, each_step=True) as bar:
        bar.set_postfix(failed=0)
        bar.update()
        bar.update()
    lines = out.getvalue().splitlines()
    assert lines[:2] == ["rnnmem: cells: 1 of 2 (failed 0)", "rnnmem: cells: 2 of 2 (failed 0)"], lines
    assert len(lines) == 3 and lines[2].startswith("rnnmem: cells: 2 of 2 (failed 0) done in")


@pytest.fixture(autouse=True)
def no_open_bars_left():
    yield
    from rnnmem import progress
    assert progress._depth() == 0


def test_a_stage_that_fails_logs_no_done_line():
    out = io.StringIO()
    with pytest.raises(ValueError), progress_bar(total=1, desc="loading", file=out):
        raise ValueError("bad file")
    assert out.getvalue() == ""
