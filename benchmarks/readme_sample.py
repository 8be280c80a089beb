"""Regenerate the sample output in README.md from a real run of the README's first command, and its seed spread.

    python benchmarks/readme_sample.py                # the sample, then its spread across seeds (~5 min idle)
    python benchmarks/readme_sample.py --spread-only  # only the spread across seeds 0, 1, 2 (~3 x 80 s idle)
    python benchmarks/readme_sample.py --versus aaef8f4 [--rounds 3]  # wall time against an earlier commit
    python benchmarks/readme_sample.py --stages       # where one run's time goes

The summary the command prints (its standard output up to the closing "wrote ..." line)
replaces the fenced block between the markers ``<!-- sample-output -->`` and
``<!-- /sample-output -->``, so the README shows exactly what a user gets. The run's wall time
and the machine's conditions (cores, load average before and after) go to
benchmarks/results/readme_run.json: the README quotes them.

The comparison (``--versus``): the README's command with ``--quiet``, run alternately on this checkout and
on the given commit (checked out into a temporary git worktree, run with this environment's packages), each
``--rounds`` times, so that both see the same machine; every wall time, the medians, their ratio and each
run's held-out accuracy go to benchmarks/results/readme_versus.json. It leaves the README alone.

The stages (``--stages``): the README's command run in this process, with a timer around each of the
functions named in ``STAGES`` (nested: training includes its epochs and the bag of words), into
benchmarks/results/readme_stages.json. Its wall time starts after the script's own imports (the libraries the
stages use among them); what no stage covers is the CLI's own work.

The spread: the same command with ``--seeds 0,1,2`` trains and assesses the README default once per
seed. Each seed's verdict and headline (held-out accuracy; ML(0.5), ML(0.1) and retention capacity of
occlusion and of the replacement reference) and their range across seeds go to
benchmarks/results/readme_seeds.json, and one sentence with those ranges replaces the text between
``<!-- seed-spread -->`` and ``<!-- /seed-spread -->``. As in `rnnmem assess --seeds`, memory numbers
range over the competent seeds only, and an ML past the measured range 0..D reads "> D".
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rnnmem.indicators.catalogue import beyond_range
from rnnmem.report.format import memory_length_text, number
from rnnmem.sweep.seeds import SEEDS_STORE
from rnnmem.sweep.study import load_study, measured_distance, verdicts

README = Path(__file__).resolve().parent.parent / "README.md"
COMMAND = ["assess", "--unit", "lstm", "--corpus", "tweets-docs", "--max-len", "128"]
RESULTS = Path(__file__).resolve().parent / "results"
TIMING = RESULTS / "readme_run.json"
SPREAD = RESULTS / "readme_seeds.json"
VERSUS = RESULTS / "readme_versus.json"
STAGES_FILE = RESULTS / "readme_stages.json"
SEEDS = [0, 1, 2]
SPREAD_ESTIMATORS = ("occlusion", "replacement")
SPREAD_INDICATORS = (("ML(0.5)", "ML(0.5)"), ("ML(0.1)", "ML(0.1)"), ("retention_capacity", "retention capacity"))
BLOCK = re.compile(r"(<!-- sample-output -->\n```\n).*?(```\n<!-- /sample-output -->)", re.S)
SPREAD_BLOCK = re.compile(r"(<!-- seed-spread -->\n).*?(\n<!-- /seed-spread -->)", re.S)


def conditions(load_before: float) -> dict:
    return {"cpu_count": os.cpu_count(), "load_average_1min_before": round(load_before, 2),
            "load_average_1min_after": round(os.getloadavg()[0], 2)}


def replace_block(pattern: re.Pattern, text: str) -> None:
    readme = README.read_text(encoding="utf-8")  # read again: the README may have been edited during the run
    README.write_text(pattern.sub(lambda m: m.group(1) + text + m.group(2), readme), encoding="utf-8")


def sample() -> None:
    load_before, started = os.getloadavg()[0], time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        run = subprocess.run([sys.executable, "-m", "rnnmem.cli", *COMMAND, "--out", str(Path(out) / "lstm")],
                             capture_output=True, text=True, check=True)
    TIMING.write_text(json.dumps({
        "command": "rnnmem " + " ".join(COMMAND), "wall_s": round(time.perf_counter() - started, 1),
        "conditions": conditions(load_before)}, indent=2) + "\n")
    summary = run.stdout.split("\nwrote ")[0].rstrip() + "\n"
    replace_block(BLOCK, summary)
    print(summary)


def seed_record(cell: dict, verdict: str) -> dict:
    """One seed's verdict and headline; an ML past the measured range is None beside its D (``last_measured``)."""
    metrics = cell["result"]["metrics"]
    record = {"seed": int(cell["config"]["seed"]), "verdict": verdict, "accuracy": metrics["accuracy"],
              "majority": metrics["majority_baseline"], "bag_of_words": metrics["bag_of_words_baseline"]}
    for estimator in SPREAD_ESTIMATORS:
        for key, _ in SPREAD_INDICATORS:
            record[f"{estimator}.{key}"] = metrics.get(f"{estimator}.{key}")
        record[f"{estimator}.last_measured"] = measured_distance(cell["result"], estimator)
    return record


def spread(records: list[dict]) -> dict:
    """Lowest and highest value of each headline number across seeds: accuracy over every seed, memory numbers over
    the competent ones (an ML past the range counted as D + 1, `beyond_range`, with the smallest D kept)."""
    competent = [r for r in records if r["verdict"] == "competent"]
    out = {"accuracy": {"low": min(r["accuracy"] for r in records), "high": max(r["accuracy"] for r in records),
                        "n": len(records)}}
    for estimator in SPREAD_ESTIMATORS:
        for key, _ in SPREAD_INDICATORS:
            metric = f"{estimator}.{key}"
            if key.startswith("ML"):
                values = [beyond_range(r[metric], r[f"{estimator}.last_measured"]) for r in competent]
            else:
                values = [r[metric] for r in competent if r[metric] is not None]
            out[metric] = {"low": min(values, default=None), "high": max(values, default=None), "n": len(values),
                           "last_measured": min((r[f"{estimator}.last_measured"] for r in competent), default=None)}
    return out


def value_range(entry: dict, censored: bool) -> str:
    """"low to high" (one value when they are equal), an ML above its D as "> D"."""
    def read(value) -> str:
        return memory_length_text(value, entry["last_measured"]) if censored else number(value)

    low, high = read(entry["low"]), read(entry["high"])
    return low if low == high else f"{low} to {high}"


def spread_sentence(record: dict) -> str:
    seeds, ranges = record["seeds"], record["spread"]
    competent = [r["seed"] for r in seeds if r["verdict"] == "competent"]
    others = [f"seed {r['seed']} {r['verdict']}" for r in seeds if r["verdict"] != "competent"]
    memory = "; ".join(
        f"{estimator} " + ", ".join(f"{label} {value_range(ranges[f'{estimator}.{key}'], key.startswith('ML'))}"
                                    for key, label in SPREAD_INDICATORS)
        for estimator in SPREAD_ESTIMATORS) if competent else "no memory numbers, as no seed learned its task"
    who = "all three seeds competent" if not others else (
        f"memory numbers from the competent seeds {', '.join(map(str, competent)) or 'none'} ({'; '.join(others)})")
    return (f"How much this sample varies across seeds: the same command with `--seeds {','.join(map(str, SEEDS))}` "
            f"gave held-out accuracy {value_range(ranges['accuracy'], False)} ({who}); {memory} "
            f"(lowest to highest seed; `python benchmarks/readme_sample.py --spread-only`, "
            f"benchmarks/results/{SPREAD.name}).")


def seed_spread() -> None:
    load_before, started = os.getloadavg()[0], time.perf_counter()
    command = [*COMMAND, "--seeds", ",".join(map(str, SEEDS)), "--quiet"]
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([sys.executable, "-m", "rnnmem.cli", *command, "--out", str(Path(out) / "lstm")],
                       capture_output=True, text=True, check=True)
        study = load_study(Path(out) / "lstm" / SEEDS_STORE)
    by_seed = {v["seed"]: v["verdict"] for v in verdicts(study)}
    records = sorted((seed_record(cell, by_seed[int(cell["config"]["seed"])]) for cell in study.results),
                     key=lambda r: r["seed"])
    record = {"command": "rnnmem " + " ".join(command), "wall_s": round(time.perf_counter() - started, 1),
              "conditions": conditions(load_before), "seeds": records, "spread": spread(records)}
    SPREAD.write_text(json.dumps(record, indent=2) + "\n")
    sentence = spread_sentence(record)
    replace_block(SPREAD_BLOCK, sentence)
    print(sentence)


# (module, function or Class.method, what it is), timed by --stages
STAGES = (
    ("rnnmem.data.registry", "load_corpus", "loading the corpus"),
    ("rnnmem.train", "train", "training"),
    ("rnnmem.train", "_train_epoch", "training: the epochs"),
    ("rnnmem.train", "evaluate", "training: scoring validation and test after each epoch"),
    ("rnnmem.baselines", "baselines", "training: the majority and bag-of-words baselines"),
    ("rnnmem.assessment", "assess", "assessing the model and its floor"),
    ("rnnmem.indicators.replacement", "replaced_together", "assessing: occlusion's and the reference's replays"),
    ("rnnmem.assessment_views", "probe_table", "assessing: the probes"),
    ("rnnmem.memory_report", "MemoryReport.write_files", "writing the files"),
    ("rnnmem.memory_report", "MemoryReport.plot", "writing: the figures"),
    ("rnnmem.memory_report", "MemoryReport.to_interactive_html", "writing: the interactive page"),
)


def stages() -> None:
    load_before, started = os.getloadavg()[0], time.perf_counter()
    import rnnmem.cli
    import rnnmem.pipeline.classify  # noqa: F401  (loads what the command will call, so that it can be wrapped)

    seconds = {}

    def timed(name, function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            begun = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - begun
        return wrapper

    for module_name, attribute, name in STAGES:
        owner = importlib.import_module(module_name)
        *classes, function_name = attribute.split(".")
        for class_name in classes:
            owner = getattr(owner, class_name)
        function = getattr(owner, function_name)
        wrapper = timed(name, function)
        setattr(owner, function_name, wrapper)
        for module in list(sys.modules.values()):  # the modules that imported it by name
            if getattr(module, function_name, None) is function:
                setattr(module, function_name, wrapper)
    with tempfile.TemporaryDirectory() as out:
        sys.argv = ["rnnmem", *COMMAND, "--quiet", "--out", str(Path(out) / "lstm")]
        try:
            rnnmem.cli.app()
        except SystemExit as stop:
            if stop.code:
                raise
    record = {"command": "rnnmem " + " ".join(COMMAND) + " --quiet", "wall_s": round(time.perf_counter() - started, 1),
              "stages_s": {name: round(seconds.get(name, 0.0), 2) for *_, name in STAGES},
              "conditions": conditions(load_before)}
    STAGES_FILE.write_text(json.dumps(record, indent=2) + "\n")
    for name, value in record["stages_s"].items():
        print(f"{value:6.2f} s  {name}")
    print(f"{record['wall_s']:6.1f} s  in all")


def timed_run(source: Path) -> dict:
    """One run of the README's command on the package under ``source`` (a checkout's src/): its wall time and
    held-out accuracy."""
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "rnnmem.cli", *COMMAND, "--quiet", "--out", str(Path(out) / "lstm")],
                       capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": str(source)})
        wall = time.perf_counter() - started
        report = json.loads((Path(out) / "lstm" / "report.json").read_text())
    return {"wall_s": round(wall, 1), "accuracy": report["meta"]["model"]["test_accuracy"]}


def versus(commit: str, rounds: int) -> None:
    repository = README.parent
    here = subprocess.run(["git", "-C", str(repository), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True, check=True).stdout.strip()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as scratch:
        tree = Path(scratch) / "tree"
        subprocess.run(["git", "-C", str(repository), "worktree", "add", "--detach", str(tree), commit],
                       capture_output=True, text=True, check=True)
        try:
            runs = {here: [], commit: []}
            for _ in range(rounds):  # alternated, so that a slow spell of the machine falls on both
                runs[commit].append(timed_run(tree / "src"))
                runs[here].append(timed_run(repository / "src"))
        finally:
            subprocess.run(["git", "-C", str(repository), "worktree", "remove", "--force", str(tree)],
                           capture_output=True, text=True, check=True)
    median = {name: statistics.median(run["wall_s"] for run in done) for name, done in runs.items()}
    record = {"command": "rnnmem " + " ".join(COMMAND) + " --quiet", "this": here, "versus": commit,
              "runs": runs, "median_wall_s": median, "speedup": round(median[commit] / median[here], 2),
              "conditions": conditions(load_before)}
    VERSUS.write_text(json.dumps(record, indent=2) + "\n")
    print(f"{commit}: median {median[commit]:.1f} s; {here} (this checkout): median {median[here]:.1f} s; "
          f"speedup {record['speedup']:.2f}x ({rounds} runs each, alternated)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spread-only", action="store_true",
                        help="only the spread across seeds (keeps the sample and its timing)")
    parser.add_argument("--versus", metavar="COMMIT",
                        help="only time the command here against COMMIT (keeps the README as it is)")
    parser.add_argument("--rounds", type=int, default=3, help="runs on each side with --versus")
    parser.add_argument("--stages", action="store_true",
                        help="only time one run's stages in this process (keeps the README as it is)")
    args = parser.parse_args()
    if args.versus:
        versus(args.versus, args.rounds)
        return
    if args.stages:
        stages()
        return
    text = README.read_text(encoding="utf-8")
    for pattern, name in ((BLOCK, "sample-output"), (SPREAD_BLOCK, "seed-spread")):
        if not pattern.search(text):
            sys.exit(f"README.md has no <!-- {name} --> block to fill")
    if not args.spread_only:
        sample()
    seed_spread()


if __name__ == "__main__":
    main()
