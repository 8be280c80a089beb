"""Speed benchmark: rnnmem's work against PyTorch's own kernels, as ratios measured in one run.

    python benchmarks/speed.py                  # CPU figures -> benchmarks/results/speed-cpu.json
    python benchmarks/speed.py --device cuda    # the same on a GPU, beside the CPU ones
    python benchmarks/speed.py --quick          # small shapes, a smoke run (under 4 minutes on a GPU)
    python benchmarks/speed.py --only peer,training   # some benches -> speed-cpu-only-peer-training.json

Every figure is the median of --repeats timed runs after one warm-up, with min and max.
Figures:
1. occlusion: logical token-steps per second (N sequences x (D+1) occluded variants x T
   steps, the O(T^2) work) over the token-steps per second of a plain fused nn.LSTM
   forward on the batch shape occlusion uses; with and without prefix caching.
2. units: one training step (forward + backward) of each unit over nn.GRU's, same shapes.
3. task-free memory capacity (task_free_capacity): ours against ReservoirPy's, same reservoir and series (when reservoirpy is installed).
4. end to end: `rnnmem assess` on the README default, wall time and peak memory (on --device).
5. peer: occlusion and gradient effects against captum's FeatureAblation / Occlusion (its best
   batching of those tried) and Saliency, on the same model, data and replacement, numbers asserted equal.
6. training: rnnmem.train's token throughput against a bare PyTorch loop on the same batches.

A full run writes its summary into its device's section of docs/performance.md (--doc).

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
from rnnmem.data import Corpus
from rnnmem.indicators.retention import occlusion_effects
from rnnmem.units import UNITS, build_unit


def timed(fn, repeats: int, sync) -> dict:
    return timed_together({"run": fn}, repeats, sync)["run"]


def timed_together(fns: dict, repeats: int, sync) -> dict:
    """Each of ``fns`` warmed up once, then timed ``repeats`` times in turns (the order rotating each round).

    Things whose times are divided are timed in turns, not one after the other: on a machine
    shared with other work the load changes within minutes, and a ratio of two blocks timed
    minutes apart measures the load as much as the code.
    """
    for fn in fns.values():
        fn()
        sync()
    times = {name: [] for name in fns}
    names = list(fns)
    for round_ in range(repeats):
        for name in names[round_ % len(names):] + names[: round_ % len(names)]:
            start = time.perf_counter()
            fns[name]()
            sync()
            times[name].append(time.perf_counter() - start)
    return {name: {"median_s": statistics.median(t), "min_s": min(t), "max_s": max(t), "repeats": repeats}
            for name, t in times.items()}


def bench_occlusion(device, n, length, hidden, max_distance, budget, repeats, sync) -> dict:
    gen = torch.Generator().manual_seed(0)
    model = rnnmem.build_model("lstm", 5000, 3, hidden_size=hidden, embedding_dim=hidden).to(device).eval()
    tokens = torch.randint(1, 5000, (n, length), generator=gen)
    lengths = torch.full((n,), length)
    logical = n * (max_distance + 1) * length  # token-steps if every variant ran from the start
    kernel = nn.LSTM(hidden, hidden, batch_first=True).to(device).eval()
    batch = max(1, budget // length)
    x = torch.randn(batch, length, hidden, generator=gen).to(device)

    def occlusion(reuse):
        return lambda: occlusion_effects(model, tokens, lengths, 0, max_distance, budget_tokens=budget,
                                         reuse_prefix=reuse, progress=False)

    with torch.no_grad():
        timings = timed_together({"kernel": lambda: kernel(x), "from_start": occlusion(False),
                                  "prefix_cached": occlusion(True)}, repeats, sync)
    base = timings.pop("kernel")
    base_rate = batch * length / base["median_s"]
    out = {"shape": {"sequences": n, "length": length, "hidden": hidden, "max_distance": max_distance,
                     "kernel_batch": batch}, "lstm_forward_token_steps_per_s": base_rate, "lstm_forward": base}
    for name, run in timings.items():
        out[name] = dict(run, logical_token_steps_per_s=logical / run["median_s"],
                         ratio_to_lstm_forward=logical / run["median_s"] / base_rate)
    return out


def bench_peer(device, n, length, hidden, distances, configs, repeats, sync) -> dict:
    """rnnmem's occlusion and gradient effects against captum's on the same model, data and replacement.

    The replacement is the pad token, whose embedding is zero, so captum ablates the embeddings
    to the zero baseline. captum's forward returns the readout after the last token, [B, K]:
    its attribution per output is o_k(x) - o_k(x occluded), whose norm over k is rnnmem's
    effect. For D < T only the last D + 1 positions are captum's input (the prefix is passed
    as an extra argument), so it occludes the same positions; each variant still runs from
    the start. Saliency runs once per output k (its target), and the norm of the K gradients
    is rnnmem's ||dS(x)/de_t||.
    """
    try:
        from captum.attr import FeatureAblation, Occlusion, Saliency
    except ImportError as exc:
        return {"skipped": f"needs captum ({exc}); pip install -e '.[bench]'"}
    from rnnmem.indicators.batching import kernels_differentiable
    from rnnmem.indicators.retention import _jacobian_norms, gradient_effects

    gen = torch.Generator().manual_seed(0)
    model = rnnmem.build_model("lstm", 5000, 3, hidden_size=hidden, embedding_dim=hidden).to(device).eval()
    tokens = torch.randint(1, 5000, (n, length), generator=gen)
    lengths = torch.full((n,), length)
    emb = model.embed(tokens.to(device)).detach()
    k = model.config.num_classes
    out = {"shape": {"sequences": n, "length": length, "hidden": hidden, "outputs": k}}

    def final(suffix, prefix):
        return model.forward_embedded(torch.cat([prefix, suffix], dim=1))[:, -1]

    for max_distance in distances:
        first = length - 1 - max_distance
        suffix, prefix = emb[:, first:], emb[:, :first]
        mask = torch.arange(max_distance + 1, device=device)[None, :, None].expand(1, -1, hidden)
        effects = occlusion_effects(model, tokens, lengths, 0, max_distance, progress=False)
        runs = {"rnnmem": lambda max_distance=max_distance: occlusion_effects(model, tokens, lengths, 0, max_distance,
                                                                              progress=False)}
        for name, method, extra in (("FeatureAblation", FeatureAblation, {"feature_mask": mask}),
                                    ("Occlusion", Occlusion, {"sliding_window_shapes": (1, hidden),
                                                              "strides": (1, hidden)})):
            for per_eval in configs:
                def attribute(method=method, extra=extra, per_eval=per_eval, suffix=suffix, prefix=prefix):
                    with torch.no_grad():
                        return method(final).attribute(suffix, baselines=0.0, additional_forward_args=(prefix,),
                                                       perturbations_per_eval=per_eval, **extra)
                runs[f"{name} x{per_eval}"] = attribute
        timings = timed_together(runs, repeats, sync)
        ours = timings.pop("rnnmem")
        row = {"rnnmem": ours, "captum": {}}
        for config, run in timings.items():
            theirs = runs[config]()[:, :, 0].reshape(n, k, -1).double().norm(dim=1).flip(1).cpu().numpy()
            difference = float(np.max(np.abs(theirs - effects)))
            assert difference < 1e-4, f"captum {config} disagrees with rnnmem's occlusion by {difference}"
            row["captum"][config] = dict(run, max_abs_difference=difference)
        best = min(row["captum"], key=lambda c: row["captum"][c]["median_s"])
        row["captum_best"] = best
        row["ratio_captum_best_to_rnnmem"] = row["captum"][best]["median_s"] / ours["median_s"]
        out[f"occlusion D={max_distance}"] = row

    def saliency():
        with kernels_differentiable(model):
            grads = [Saliency(lambda e: model.forward_embedded(e)[:, -1]).attribute(emb, target=j, abs=False)
                     for j in range(k)]
        return torch.stack(grads).double().pow(2).sum(dim=(0, 3)).sqrt().cpu()

    timings = timed_together({"saliency": saliency,
                              "norms": lambda: _jacobian_norms(model, tokens, lengths - 1, trim=True),
                              "full": lambda: gradient_effects(model, tokens, lengths, length - 1, progress=False)},
                             repeats, sync)
    theirs_t, norms_t, full_t = timings["saliency"], timings["norms"], timings["full"]
    difference = float((saliency() - _jacobian_norms(model, tokens, lengths - 1, trim=True)).abs().max())
    assert difference < 1e-4, f"captum Saliency disagrees with rnnmem's Jacobian norms by {difference}"
    out["gradient"] = {"captum Saliency x K": theirs_t, "rnnmem Jacobian norms": norms_t,
                       "rnnmem gradient estimator": full_t,
                       "max_abs_difference": difference,
                       "ratio_saliency_to_jacobian_norms": theirs_t["median_s"] / norms_t["median_s"],
                       "ratio_saliency_to_full_estimator": theirs_t["median_s"] / full_t["median_s"]}
    return out


def bench_training(device, quick, repeats, sync) -> dict:
    """rnnmem.train's token throughput against a bare PyTorch loop on the same unit, batches and lengths.

    Both run one epoch over the same seeded length-sorted batches (`length_batches`) of the
    tokenised training split: the bare loop is embedding + nn.LSTM + linear read at the last
    token, AdamW and gradient clipping, nothing else; rnnmem.train also scores the test split
    after the epoch, as every run does. Both are given the corpus tokenised: the bare loop's tokens are encoded
    before the timing, rnnmem.train's in the warm-up run (`Corpus.encode` keeps them, as it keeps the baselines'
    fit, for the other models a process trains on the same data). Throughput counts real tokens (not padding);
    the padded share is that of the batches both loops run.
    """
    from rnnmem.train import length_batches

    if quick:
        rng = np.random.default_rng(0)
        words = [f"w{i}" for i in range(300)]
        texts = [" ".join(rng.choice(words, rng.integers(5, 60))) for _ in range(240)]
        corpus = Corpus("synthetic", ("a", "b"), texts[:200], [i % 2 for i in range(200)],
                                    texts[200:], [i % 2 for i in range(40)])
    else:
        corpus = rnnmem.load_corpus("tweets-docs")
    max_len, batch_size = 128, 64
    tokens, lengths, labels = corpus.encode(corpus.vocabulary, "train", max_len=max_len)
    batches = length_batches(lengths, batch_size, torch.Generator().manual_seed(0))
    real = int(lengths.sum())
    padded = sum(len(b) * int(lengths[b].max()) for b in batches)

    def rnnmem_epoch():
        model = rnnmem.build_model("lstm", len(corpus.vocabulary), corpus.num_classes).to(device)
        rnnmem.train(model, corpus, max_len=max_len, epochs=1, batch_size=batch_size, piece_epochs=0,
                     validation_fraction=0, progress=False)

    def bare_epoch():
        torch.manual_seed(0)
        emb = nn.Embedding(len(corpus.vocabulary), 64, padding_idx=0).to(device)
        lstm, head = nn.LSTM(64, 64, batch_first=True).to(device), nn.Linear(64, corpus.num_classes).to(device)
        params = [*emb.parameters(), *lstm.parameters(), *head.parameters()]
        optimizer = torch.optim.AdamW(params, lr=2e-3)
        for idx in batches:
            width = int(lengths[idx].max())
            states = lstm(emb(tokens[idx, :width].to(device)))[0]
            logits = head(states[torch.arange(len(idx), device=device), (lengths[idx] - 1).to(device)])
            loss = nn.functional.cross_entropy(logits, labels[idx].to(device))
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()

    timings = timed_together({"rnnmem": rnnmem_epoch, "bare": bare_epoch}, repeats, sync)
    ours, bare = timings["rnnmem"], timings["bare"]
    return {"corpus": corpus.name, "documents": len(tokens), "max_len": max_len, "batch_size": batch_size,
            "padded_share": 1 - real / padded, "rnnmem_train": ours, "bare_loop": bare,
            "rnnmem_tokens_per_s": real / ours["median_s"], "bare_tokens_per_s": real / bare["median_s"],
            "ratio_rnnmem_to_bare": bare["median_s"] / ours["median_s"]}


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


def bench_end_to_end(device) -> dict:
    """The README's first command after setup, in a process of its own, on ``device``."""
    arguments = ["assess", "--unit", "lstm", "--corpus", "tweets-docs", "--max-len", "128", "--device", device.type]
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "rnnmem.cli", *arguments, "--out", out, "--quiet"], check=True,
                       capture_output=True)
        wall = time.perf_counter() - start
        report = (Path(out) / "report.json").read_text()
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"command": "rnnmem " + " ".join(arguments), "wall_s": wall, "peak_rss_mib": peak_kib / 1024,
            "test_accuracy": float(report.split('"test_accuracy": ')[1].split(",")[0])}


def memory_check(device, n=10_000, length=512, hidden=256, estimators=None) -> dict:
    """An untrained LSTM-256 and its floor assessed on ``n`` random sequences of ``length`` tokens (None: the
    default estimators; the issue that set the 1,000-sequence target timed occlusion, regression and gradient)."""
    gen = torch.Generator().manual_seed(0)
    model = rnnmem.build_model("lstm", 5000, 3, hidden_size=hidden, embedding_dim=hidden).to(device).eval()
    tokens = torch.randint(1, 5000, (n, length), generator=gen)
    start = time.perf_counter()
    report = rnnmem.assess(model, tokens, max_distance=100, max_sequences=None, n_resamples=200, progress=False,
                           estimators=estimators)
    return {"sequences": n, "length": length, "hidden": hidden, "device": str(device),
            "estimators": report.meta["estimators"], "date": time.strftime("%Y-%m-%d"),
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
    parser.add_argument("--only", default="", help="comma-separated benches to run: peer, training, occlusion, units, "
                                                   "memory_capacity, end_to_end (default: all)")
    parser.add_argument("--memory-check", action="store_true", help="only the memory check: N x 512 tokens, LSTM-256")
    parser.add_argument("--sequences", type=int, default=10_000, help="the memory check's N (default 10,000)")
    parser.add_argument("--estimators", default=None, help="the memory check's estimators, comma-separated "
                                                           "(default: assess's defaults)")
    parser.add_argument("--doc", type=Path, default=Path(__file__).parent.parent / "docs" / "performance.md",
                        help="the document whose section for this device gets the summary (not with --quick)")
    args = parser.parse_args()
    device = torch.device(args.device)
    if args.memory_check:
        result = memory_check(device, n=args.sequences,
                              estimators=args.estimators.split(",") if args.estimators else None)
        named = f"-{args.sequences}" + (f"-{args.estimators.replace(',', '-')}" if args.estimators else "")
        out = args.out or Path(__file__).parent / "results" / f"memory-{device.type}{named}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2))
        print(json.dumps(result, indent=1))
        return
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    torch.manual_seed(0)
    quick = args.quick
    benches = {
        "peer": lambda: bench_peer(device, n=8 if quick else 16, length=32 if quick else 128, hidden=64,
                                   distances=(31, 7) if quick else (127, 31),
                                   configs=(8, 32) if quick else (1, 8, 32, 128), repeats=args.repeats, sync=sync),
        "training": lambda: bench_training(device, quick, repeats=1 if quick else min(args.repeats, 3), sync=sync),
        "occlusion": lambda: bench_occlusion(device, n=8 if quick else 64, length=32 if quick else 128, hidden=64,
                                             max_distance=31 if quick else 100,
                                             budget=200_000 if quick else 1_000_000, repeats=args.repeats, sync=sync),
        "units": lambda: bench_units(device, batch=16 if quick else 64, length=32 if quick else 128, hidden=64,
                                     repeats=args.repeats, sync=sync),
        "memory_capacity": lambda: bench_memory_capacity(args.repeats),
        "end_to_end": lambda: bench_end_to_end(device),
    }
    chosen = args.only.split(",") if args.only else [name for name in benches if not (
        name == "end_to_end" and (quick or args.skip_end_to_end))]
    unknown = sorted(set(chosen) - set(benches))
    if unknown:
        parser.error(f"--only: no bench named {', '.join(unknown)}; choose from {', '.join(benches)}")
    results = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": {"device": str(device), "cpu_threads": torch.get_num_threads(), "python": platform.python_version(),
                    "torch": torch.__version__, "rnnmem": rnnmem.__version__, "platform": platform.platform(),
                    "gpu": torch.cuda.get_device_name() if device.type == "cuda" else None},
    }
    for name in chosen:
        results[name] = benches[name]()
        print(f"{name}: done", flush=True)
    # a partial run is named by its benches, so that it never overwrites the full run's figures
    named = ("-quick" if quick else "") + ("-only-" + "-".join(chosen) if args.only else "")
    out = args.out or Path(__file__).parent / "results" / f"speed-{device.type}{named}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    summary = summarise(results)
    print(summary)
    if not quick:  # a quick run's shapes are too small to quote
        write_doc_section(args.doc, summary, results)
    print(f"wrote {out}")


def summarise(results: dict) -> str:
    """The figures to quote, as Markdown: the peer ratios, training throughput, occlusion, end to end."""
    machine = results["machine"]
    where = machine["gpu"] or f"CPU, {machine['cpu_threads']} threads"
    lines = [f"Run of {results['date']} on {where} (torch {machine['torch']}): "
             "ratios of times measured in this one run (above 1: rnnmem is faster).", ""]
    peer = results.get("peer", {"skipped": "not run (--only)"})
    if "skipped" in peer:
        lines.append(f"captum: {peer['skipped']}")
    else:
        shape = peer["shape"]
        lines += [f"**Against captum** ({shape['sequences']} sequences x {shape['length']} tokens, "
                  f"LSTM-{shape['hidden']}, {shape['outputs']} outputs, zero-embedding replacement):", "",
                  "| work | captum's best configuration | captum / rnnmem | largest difference |",
                  "|---|---|---:|---:|"]
        for key, row in peer.items():
            if key.startswith("occlusion"):
                best = row["captum"][row["captum_best"]]
                lines.append(f"| {key} | {row['captum_best']} per pass | **{row['ratio_captum_best_to_rnnmem']:.2f}** "
                             f"| {best['max_abs_difference']:.1e} |")
        gradient = peer["gradient"]
        lines += [f"| gradient: ‖∂S(x)/∂e_t‖ | Saliency once per output | "
                  f"**{gradient['ratio_saliency_to_jacobian_norms']:.2f}** | {gradient['max_abs_difference']:.1e} |",
                  f"| the whole gradient estimator (`gradient_effects`) | Saliency once per output | "
                  f"{gradient['ratio_saliency_to_full_estimator']:.2f} | |", ""]
    training = results.get("training")
    lines += [] if training is None else [
              f"**Training** (one epoch of {training['corpus']}, {training['documents']} documents, max_len "
              f"{training['max_len']}, batch {training['batch_size']}, LSTM-64): rnnmem.train "
              f"{training['rnnmem_tokens_per_s']:,.0f} tokens/s, the bare loop {training['bare_tokens_per_s']:,.0f}, "
              f"ratio **{training['ratio_rnnmem_to_bare']:.2f}** (rnnmem.train also scores the test split after the "
              f"epoch; its bag-of-words fit and its tokenisation, both kept by content, are paid in the warm-up run "
              f"only, as the bare loop's tokenisation is not timed); "
              f"padded share of the token-steps {training['padded_share']:.1%}.", ""]
    occlusion = results.get("occlusion")
    lines += [] if occlusion is None else [
                 "**Occlusion against the fused kernel** (logical token-steps/s over nn.LSTM's): from the start "
                 f"{occlusion['from_start']['ratio_to_lstm_forward']:.2f}, "
                 f"prefix cached {occlusion['prefix_cached']['ratio_to_lstm_forward']:.2f}."]
    if "end_to_end" in results:
        end = results["end_to_end"]
        lines += ["", f"**End to end**: `{end['command']}` took {end['wall_s']:.0f} s wall, "
                      f"peak memory {end['peak_rss_mib']:.0f} MiB."]
    return "\n".join(lines)


def write_doc_section(doc: Path, summary: str, results: dict) -> None:
    """Put ``summary`` between the markers of this device's section in ``doc`` (appended when missing)."""
    begin = f"<!-- speed.py {results['machine']['device']} -->"
    end = f"<!-- /speed.py {results['machine']['device']} -->"
    text = doc.read_text()
    block = f"{begin}\n{summary}\n{end}"
    if begin in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    doc.write_text(text)
    print(f"wrote the summary into {doc}")


if __name__ == "__main__":
    main()
