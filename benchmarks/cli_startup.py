"""How long `rnnmem --help` and `rnnmem --version` take, from a fresh interpreter to the exit (issue 20's target:
under 1.5 s each on a 2-core machine). The CLI imports torch, SciPy and matplotlib only inside the commands that
need them, and the package's public names load on first use, so these two never wait for them.

    python benchmarks/cli_startup.py                 # 7 runs of each, writes benchmarks/results/cli_startup.json
    python benchmarks/cli_startup.py --repeats 3 --out /tmp/startup.json

Each run is a new process (`python -m rnnmem.cli ...`, as the `rnnmem` script does), so the figure includes the
interpreter's start and every import; the median and the slowest run are written with the machine's conditions
(cores, load average before the runs), since on a shared machine the load moves the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "cli_startup.json"
COMMANDS = {"--help": ["--help"], "--version": ["--version"]}
TARGET_S = 1.5


def time_command(args: list[str], repeats: int) -> list[float]:
    """Wall seconds of ``repeats`` fresh runs of the CLI with ``args`` (a failing run stops the benchmark)."""
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "rnnmem.cli", *args], check=True, capture_output=True)
        seconds.append(time.perf_counter() - started)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", type=Path, default=RESULTS)
    options = parser.parse_args()
    load_before = os.getloadavg()[0]
    subprocess.run([sys.executable, "-m", "rnnmem.cli", "--version"], check=True, capture_output=True)  # warm disk cache
    figures = {}
    for name, args in COMMANDS.items():
        seconds = time_command(args, options.repeats)
        figures[name] = {"median_s": round(statistics.median(seconds), 3), "slowest_s": round(max(seconds), 3),
                         "runs": len(seconds), "under_target": max(seconds) < TARGET_S}
    record = {"target_s": TARGET_S, "commands": figures,
              "conditions": {"cpu_count": os.cpu_count(), "load_average_1min_before": round(load_before, 2),
                             "python": platform.python_version(), "platform": platform.platform()}}
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
