"""Speed benchmark: rnnmem's work against PyTorch's own kernels, as ratios measured in one run.

    python benchmarks/speed.py                  # CPU figures -> benchmarks/results/speed-cpu.json
    python benchmarks/speed.py --device cuda    # the same on a GPU, beside the CPU ones
    python benchmarks/speed.py --quick          # small shapes, a smoke run

Every figure is the median of --repeats timed runs after one warm-up, with min and max.
Figures:
1. occlusion: logical token-steps per second (N sequences x (D+1) occluded variants x T
   steps, the O(T^2) work) over the token-steps per second of a plain fused nn.LSTM
   forward on the batch shape occlusion uses; with and without prefix caching.
2. units: one training step (forward + backward) of each unit over nn.GRU's, same shapes.
3. task-free memory capacity (task_free_capacity): ours against ReservoirPy's, same reservoir and series (when reservoirpy is installed).
4. end to end: `rnnmem assess` on the README default, wall time and peak memory (CPU only).

    python benchmarks/speed.py --memory-check [--device cuda]

runs only the memory check, in a process of its own so that its peak is its own: the
full assessment of 10,000 random sequences of 512 tokens by a 256-unit LSTM (target:
peak host memory under 4 GiB).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

import rnnmem
from rnnmem.indicators.retention import occlusion_effects
from rnnmem.units import UNITS, build_unit


def timed(fn, repeats: int, sync) -> dict:
    fn()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times), "repeats": repeats}


def bench_occlusion(device, n, length, hidden, max_distance, budget, repeats, sync) -> dict:
    gen = torch.Generator().manual_seed(0)
    model = rnnmem.build_model("lstm", 5000, 3, hidden_size=hidden, embedding_dim=hidden).to(device).eval()
    tokens = torch.randint(1, 5000, (n, length), generator=gen)
    lengths = torch.full((n,), length)
    logical = n * (max_distance + 1) * length  # token-steps if every variant ran from the start
    kernel = nn.LSTM(hidden, hidden, batch_first=True).to(device).eval()
    batch = max(1, budget // length)
    x = torch.randn(batch, length, hidden, generator=gen).to(device)
    with torch.no_grad():
        base = timed(lambda: kernel(x), repeats, sync)
    base_rate = batch * length / base["median_s"]
    out = {"shape": {"sequences": n, "length": length, "hidden": hidden, "max_distance": max_distance,
                     "kernel_batch": batch}, "lstm_forward_token_steps_per_s": base_rate, "lstm_forward": base}
    for reuse in (False, True):
        run = timed(lambda reuse=reuse: occlusion_effects(model, tokens, lengths, 0, max_distance, budget_tokens=budget,
                                                          reuse_prefix=reuse, progress=False), repeats, sync)
        name = "prefix_cached" if reuse else "from_start"
        out[name] = dict(run, logical_token_steps_per_s=logical / run["median_s"],
                         ratio_to_lstm_forward=logical / run["median_s"] / base_rate)
    return out


def bench_units(device, batch, length, hidden, repeats, sync) -> dict:
    gen = torch.Generator().manual_seed(0)
    # the input needs a gradient as in training, where it flows on into the embedding
    x = torch.randn(batch, length, hidden, generator=gen).to(device).requires_grad_(True)
    gru = nn.GRU(hidden, hidden, batch_first=True).to(device)

    def step(module, output_of):
        def run():
            module.zero_grad(set_to_none=True)
            output_of(module(x)).sum().backward()
        return run

    base = timed(step(gru, lambda o: o[0]), repeats, sync)
    out = {"shape": {"batch": batch, "length": length, "hidden": hidden, "embedding": hidden}, "nn.GRU": base}
    for name in UNITS:
        if name == "delay":
            continue  # no parameters: nothing to train
        unit = build_unit(name, hidden, hidden).to(device)
        run = timed(step(unit, lambda o: o[0]), repeats, sync)
        out[name] = dict(run, ratio_to_gru=run["median_s"] / base["median_s"])
    return out


def bench_memory_capacity(repeats) -> dict:
    """Both sides run the same reservoir on the same series and fit every delay (ReservoirPy's API takes a model)."""
    try:
        from reservoirpy.nodes import Reservoir, Ridge
        from reservoirpy.observables import memory_capacity as theirs
    except ImportError as exc:
        return {"skipped": f"needs reservoirpy ({exc}); pip install -e '.[test]'"}
    from rnnmem import task_free_capacity as ours

    rng = np.random.default_rng(0)
    n, steps, max_delay, ridge, test_size = 100, 5000, 100, 1e-6, 0.3
    w = rng.standard_normal((n, n)) * (rng.random((n, n)) < 0.2)
    w *= 0.9 / np.abs(np.linalg.eigvals(w)).max()
    w_in = rng.uniform(-1, 1, (n, 1))
    series = rng.uniform(-0.8, 0.8, (steps, 1))

    def run_ours():
        driven = series[max_delay:, 0]
        states, h = np.zeros((len(driven), n)), np.zeros(n)
        for t, u in enumerate(driven):
            h = np.tanh(w @ h + w_in[:, 0] * u)
            states[t] = h
        return ours(states, driven, max_delay, washout=max_delay, ridge=ridge, test_length=round(steps * test_size))

    def run_theirs():
        model = Reservoir(W=w, Win=w_in, bias=0.0, lr=1.0) >> Ridge(ridge=ridge)
        return theirs(model, max_delay, as_list=True, series=series, test_size=test_size)

    ours_t = timed(run_ours, repeats, lambda: None)
    theirs_t = timed(run_theirs, repeats, lambda: None)
    agreement = float(np.max(np.abs(run_ours().per_delay - run_theirs())))
    return {"shape": {"units": n, "steps": steps, "max_delay": max_delay}, "ours": ours_t, "reservoirpy": theirs_t,
            "ratio_ours_to_theirs": ours_t["median_s"] / theirs_t["median_s"], "max_abs_difference_mc_k": agreement}


def bench_end_to_end() -> dict:
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "rnnmem.cli", "assess", "--unit", "lstm", "--corpus", "tweets-docs",
                   "--max-len", "128", "--out", out, "--quiet"]
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        wall = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"command": "rnnmem assess --unit lstm --corpus tweets-docs --max-len 128", "wall_s": wall,
            "peak_rss_mib": peak_kib / 1024}


def memory_check(device, n=10_000, length=512, hidden=256) -> dict:
    gen = torch.Generator().manual_seed(0)
    model = rnnmem.build_model("lstm", 5000, 3, hidden_size=hidden, embedding_dim=hidden).to(device).eval()
    tokens = torch.randint(1, 5000, (n, length), generator=gen)
    start = time.perf_counter()
    report = rnnmem.assess(model, tokens, max_distance=100, max_sequences=None, n_resamples=200, progress=False)
    return {"sequences": n, "length": length, "hidden": hidden, "device": str(device),
            "wall_s": time.perf_counter() - start, "n_sequences_assessed": report.meta["n_sequences"],
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "peak_cuda_mib": torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda" else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quick", action="store_true", help="small shapes (a smoke run, not figures to quote)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--skip-end-to-end", action="store_true")
    parser.add_argument("--memory-check", action="store_true", help="only the 10,000 x 512 memory check")
    args = parser.parse_args()
    device = torch.device(args.device)
    if args.memory_check:
        result = memory_check(device)
        out = args.out or Path(__file__).parent / "results" / f"memory-{device.type}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2))
        print(json.dumps(result, indent=1))
        return
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    torch.manual_seed(0)
    quick = args.quick
    results = {
        "machine": {"device": str(device), "cpu_threads": torch.get_num_threads(), "python": platform.python_version(),
                    "torch": torch.__version__, "rnnmem": rnnmem.__version__, "platform": platform.platform(),
                    "gpu": torch.cuda.get_device_name() if device.type == "cuda" else None},
        "occlusion": bench_occlusion(device, n=8 if quick else 64, length=32 if quick else 128, hidden=64,
                                     max_distance=31 if quick else 100, budget=200_000 if quick else 1_000_000,
                                     repeats=args.repeats, sync=sync),
        "units": bench_units(device, batch=16 if quick else 64, length=32 if quick else 128, hidden=64,
                             repeats=args.repeats, sync=sync),
        "memory_capacity": bench_memory_capacity(args.repeats),
    }
    if device.type == "cpu" and not (quick or args.skip_end_to_end):
        results["end_to_end"] = bench_end_to_end()
    out = args.out or Path(__file__).parent / "results" / f"speed-{device.type}{'-quick' if quick else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(json.dumps({"occlusion_ratio": {k: results["occlusion"][k]["ratio_to_lstm_forward"]
                                          for k in ("from_start", "prefix_cached")},
                      "unit_ratio_to_gru": {k: round(v["ratio_to_gru"], 2) for k, v in results["units"].items()
                                            if isinstance(v, dict) and "ratio_to_gru" in v}}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
