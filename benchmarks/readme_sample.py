"""Regenerate the sample output in README.md from a real run of the README's first command.

    python benchmarks/readme_sample.py            # runs `rnnmem assess` (a few minutes), rewrites README.md

The summary the command prints (its standard output up to the closing "wrote ..." line)
replaces the fenced block between the markers ``<!-- sample-output -->`` and
``<!-- /sample-output -->``, so the README shows exactly what a user gets.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
COMMAND = ["assess", "--unit", "lstm", "--corpus", "tweets-docs", "--max-len", "128"]
BLOCK = re.compile(r"(<!-- sample-output -->\n```\n).*?(```\n<!-- /sample-output -->)", re.S)


def main() -> None:
    text = README.read_text(encoding="utf-8")
    if not BLOCK.search(text):
        sys.exit("README.md has no <!-- sample-output --> block to fill")
    with tempfile.TemporaryDirectory() as out:
        run = subprocess.run([sys.executable, "-m", "rnnmem.cli", *COMMAND, "--out", str(Path(out) / "lstm")],
                             capture_output=True, text=True, check=True)
    summary = run.stdout.split("\nwrote ")[0].rstrip() + "\n"
    README.write_text(BLOCK.sub(lambda m: m.group(1) + summary + m.group(2), text), encoding="utf-8")
    print(summary)


if __name__ == "__main__":
    main()
