"""`rnnmem assess --seeds 0,1,2`: one configuration trained and assessed with several seeds, its headline with the
spread across them.

A sweep of one unit at one training length: the cells run through `run_sweep` into a results store, and the
spread is the study's (`rnnmem.sweep.study`): mean and 95% t-interval across seeds, memory numbers from the
competent models only, beside the range (lowest to highest seed).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from rnnmem.errors import ConfigError
from rnnmem.fileio import write_atomically
from rnnmem.pipeline.config import RunConfig
from rnnmem.report.seed_spread import seed_spread_markdown
from rnnmem.sweep.executors import run_sweep
from rnnmem.sweep.store import ResultsStore
from rnnmem.sweep.study import comparison_table, load_study, metric_values, verdicts

SEEDS_STORE = "seeds.sqlite"


def write_seed_spread(config: RunConfig, seeds: list[int], directory: str | Path, progress: bool = True) -> str:
    """`assess_seeds` into ``directory``, and its table written there as seeds.md; returns that text."""
    text = seed_spread_markdown(assess_seeds(config, seeds, directory, progress=progress),
                                f"{config.unit} on {config.corpus}, seeds {', '.join(map(str, seeds))}")
    write_atomically(Path(directory) / "seeds.md", text)
    return text


def assess_seeds(config: RunConfig, seeds: list[int], directory: str | Path, workers: int | None = None,
                 progress: bool = True) -> dict:
    """Train and assess ``config`` once per seed into ``directory``/seeds.sqlite; the headline across seeds.

    Returns
    -------
    dict with ``rows`` (per headline metric: metric, name, mean, lo, hi (95% t-interval), low, high (range
    across seeds), n (seeds counted), n_beyond), ``verdicts`` (each seed's, `rnnmem.sweep.study.verdicts`),
    ``estimator`` and ``failures`` (summary of the sweep's failed cells).
    """
    seeds = list(dict.fromkeys(seeds))
    if len(seeds) < 2:
        raise ConfigError(f"--seeds needs at least two different seeds to show a spread, got {seeds}; "
                          "give e.g. --seeds 0,1,2 (or --seed for one run).")
    store = ResultsStore(Path(directory) / SEEDS_STORE)
    summary = run_sweep(store, [replace(config, seed=seed) for seed in seeds], workers=workers, progress=progress)
    study = load_study(store.path)
    table = comparison_table(study).set_index("metric")
    rows = []
    for metric, name in study.metrics():
        values = metric_values(study.counted(study.results, metric), metric, study.estimator)[0]
        row = table.loc[metric]
        rows.append({"metric": metric, "name": name, "mean": row["mean"], "lo": row["lo"], "hi": row["hi"],
                     "low": min(values, default=None), "high": max(values, default=None), "n": int(row["n"]),
                     "n_beyond": int(row["n_beyond"]), "max_distance": row["max_distance"]})
    return {"rows": rows, "verdicts": verdicts(study), "estimator": study.estimator, "failures": summary["failures"]}
