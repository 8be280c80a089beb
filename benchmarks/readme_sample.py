"""Regenerate the sample output in README.md from a real run of the README's first command.

    python benchmarks/readme_sample.py            # runs `rnnmem assess` (a few minutes), rewrites README.md

The summary the command prints (its standard output up to the closing "wrote ..." line)
replaces the fenced block between the markers ``<!-- sample-output -->`` and
``<!-- /sample-output -->``, so the README shows exactly what a user gets. The run's wall time
and the machine's conditions (cores, load average before and after) go to
benchmarks/results/readme_run.json: the README quotes them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
COMMAND = ["assess", "--unit", "lstm", "--corpus", "tweets-docs", "--max-len", "128"]
TIMING = Path(__file__).resolve().parent / "results" / "readme_run.json"
BLOCK = re.compile(r"(<!-- sample-output -->\n```\n).*?(```\n<!-- /sample-output -->)", re.S)


def main() -> None:
    text = README.read_text(encoding="utf-8")
    if not BLOCK.search(text):
        sys.exit("README.md has no <!-- sample-output --> block to fill")
    load_before, started = os.getloadavg()[0], time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        run = subprocess.run([sys.executable, "-m", "rnnmem.cli", *COMMAND, "--out", str(Path(out) / "lstm")],
                             capture_output=True, text=True, check=True)
    TIMING.write_text(json.dumps({
        "command": "rnnmem " + " ".join(COMMAND), "wall_s": round(time.perf_counter() - started, 1),
        "conditions": {"cpu_count": os.cpu_count(), "load_average_1min_before": round(load_before, 2),
                       "load_average_1min_after": round(os.getloadavg()[0], 2)}}, indent=2) + "\n")
    summary = run.stdout.split("\nwrote ")[0].rstrip() + "\n"
    text = README.read_text(encoding="utf-8")  # read again: the README may have been edited during the run
    README.write_text(BLOCK.sub(lambda m: m.group(1) + summary + m.group(2), text), encoding="utf-8")
    print(summary)


if __name__ == "__main__":
    main()
