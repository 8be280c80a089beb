"""Every code block of README.md runs as written, on tiny settings, and succeeds.

Python blocks run in a fresh interpreter with their sizes made small (each substitution must find its text,
so a README edit cannot slip past); bash blocks run their `rnnmem` commands with tiny options appended (the
last value of a repeated option wins) and the tiny corpus for `tweets-docs`; the TOML block is the file of
`rnnmem assess --config`. The install steps are what `.ci/run` does before running this suite in a fresh
environment, so there they have just succeeded. A block that is not code says what it is.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rnnmem.cli import app

README = Path(__file__).resolve().parents[1] / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.S | re.M)
BLOCKS = FENCE.findall(README.read_text(encoding="utf-8"))
runner = CliRunner()

# every assessment in a snippet resamples 50 times instead of 1000: the intervals' width is not under test
PRELUDE = "import functools, rnnmem\nrnnmem.assess = functools.partial(rnnmem.assess, n_resamples=50)\n"
SMALLER = {  # per python block (found by its first distinctive text): sizes made tiny
    "class MyGRU": {"(200, 40)": "(40, 12)", "max_distance=39": "max_distance=11"},
    "class DictGRU": {"(100, 30)": "(30, 12)", "max_distance=29": "max_distance=11"},
    "GPT2LMHeadModel": {},  # already tiny
}
TINY_RUN = ["--max-len", "16", "--epochs", "1", "--hidden", "8", "--embedding-dim", "4", "--max-sequences", "20",
            "--max-distance", "6", "--n-resamples", "30", "--quiet"]
TINY_CELLS = ["--units", "srn,gru", "--lengths", "8", "--seeds", "0", "--epochs", "1", "--hidden", "8",
              "--embedding-dim", "4", "--max-sequences", "20", "--max-distance", "6", "--workers", "1", "--quiet"]
TINY_OPTIONS = {"assess": TINY_RUN, "sweep": TINY_CELLS, "report": ["--quiet"]}
# commands of the bash blocks that this test does not run, and why
NOT_RUN = {
    "python3 -m venv": ".ci/run makes the fresh environment this suite runs in",
    ". .venv/bin/activate": ".ci/run makes the fresh environment this suite runs in",
    "pip install": ".ci/run installs exactly so before running the suite",
    "python -m pytest": "the suite itself",
}
NOT_CODE = {"verdict:": "the sample output of the first command (benchmarks/readme_sample.py writes it)",
            "src/rnnmem/": "the source tree"}


def kind(language: str, code: str) -> str:
    if language == "python":
        return "python"
    if language in ("bash", "toml"):
        return language
    assert any(code.startswith(start) for start in NOT_CODE), f"a README block of no known kind:\n{code[:200]}"
    return "not code"


def block_id(block) -> str:
    language, code = block
    return f"{language or 'text'}:{code.splitlines()[0][:40]}"


def test_every_readme_block_is_run_here_or_is_not_code():
    kinds = [kind(language, code) for language, code in BLOCKS]
    assert kinds.count("python") == len(SMALLER) and kinds.count("toml") == 1 and kinds.count("bash") >= 3


@pytest.mark.parametrize("code", [code for language, code in BLOCKS if language == "python"],
                         ids=[block_id(b) for b in BLOCKS if b[0] == "python"])
def test_a_python_block_runs(code, tmp_path):
    marker = next(marker for marker in SMALLER if marker in code)
    for old, new in SMALLER[marker].items():
        assert old in code, f"the README's {marker} block no longer has {old!r}; update SMALLER"
        code = code.replace(old, new)
    run = subprocess.run([sys.executable, "-c", PRELUDE + code], cwd=tmp_path, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip(), "the block prints its results"


def commands(code: str) -> list[list[str]]:
    """The `rnnmem` commands of a bash block (comments dropped), after checking every other one is in NOT_RUN."""
    out = []
    for line in code.splitlines():
        for command in line.split(" && "):
            words = shlex.split(command, comments=True)
            if not words:
                continue
            if words[0] == "rnnmem":
                out.append(words[1:])
            else:
                assert any(command.strip().startswith(start) for start in NOT_RUN), f"a README command not run: {command}"
    return out


@pytest.mark.parametrize("code", [code for language, code in BLOCKS if language == "bash"],
                         ids=[block_id(b) for b in BLOCKS if b[0] == "bash"])
def test_a_bash_blocks_commands_run(code, tiny_csv, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for args in commands(code):
        corpus = ["--corpus", str(tiny_csv)] if "--corpus" in args else []
        result = runner.invoke(app, [*args, *TINY_OPTIONS[args[0]], *corpus])
        assert result.exit_code == 0, (args, result.output)
        if args[0] == "assess":
            assert (tmp_path / args[args.index("--out") + 1] / "report.html").is_file()
        if args[0] == "report":
            assert (tmp_path / args[args.index("--out") + 1] / "comparison.md").is_file()


def test_the_toml_block_is_an_assess_config_that_runs_anywhere(tiny_csv, tmp_path):
    (toml,) = [code for language, code in BLOCKS if language == "toml"]
    config = tmp_path / "run.toml"
    config.write_text(toml)
    result = runner.invoke(app, ["assess", "--config", str(config), "--corpus", str(tiny_csv),
                                 "--out", str(tmp_path / "run"), *TINY_RUN])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run" / "report.json").is_file()
