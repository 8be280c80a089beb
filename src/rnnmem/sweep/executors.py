"""Run a grid's cells into a results store: local processes by default, Ray for clusters.

Every run registers the grid, frees cells left 'running' by dead processes, and attempts
each cell that is not done once; finished cells are never re-run. Each result is written
the moment its cell finishes, so an interrupted sweep loses at most the cells in flight.

Every cell runs on one torch thread, whatever the executor: CPU kernels split their sums
differently with the thread count (on a 16-core machine, 16 threads vs 1 changed the
metrics in the 7th digit and the old, unbounded recency ratio in the 4th), and one thread per cell keeps a
grid's numbers independent of --workers and of the executor. Cells run side by side
instead, one per core. The report records the count (meta.threads).

Local workers die with the sweep that started them: each watches its parent's pid and
exits within a second of the parent's death (even by SIGKILL, which runs no cleanup), so
no orphan goes on claiming cells; the cell it was running stays 'running' under its pid
until the next sweep on the store frees it and says so (see `ResultsStore.release_orphans`,
which also sees through a reused pid). A worker killed alone breaks the pool: the sweep ends
the others, frees every cell in flight and says how many. When the
sweep itself is interrupted or terminated, it tells its workers to stop at once and frees
their cells before it exits.
"""

from __future__ import annotations

import json
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from multiprocessing import get_context

from rnnmem.errors import ConfigError, RnnmemError
from rnnmem.pipeline.config import RunConfig
from rnnmem.progress import progress_bar, ticking
from rnnmem.sweep.cell import run_cell
from rnnmem.sweep.store import ResultsStore

EXECUTORS = ("local", "ray")
PARENT_POLL_SECONDS = 0.5


def run_sweep(store: ResultsStore, configs: list[RunConfig], executor: str = "local", workers: int | None = None,
              address: str | None = None, progress: bool = True) -> dict:
    """Run every cell of ``configs`` that the store does not hold as done.

    Parameters
    ----------
    store : ResultsStore
        Where cells and results live; shared safely with other sweeps.
    configs : list[RunConfig]
        The grid (duplicates are run once).
    executor : {"local", "ray"}
        Local worker processes, or Ray tasks (results come back to this process, which
        alone writes the store, so remote machines need no access to it).
    workers : int, optional
        Local executor: worker processes (default: one per CPU). Ignored by Ray, which
        runs as many cells at once as the cluster has CPUs.
    address : str, optional
        Ray only: cluster address (e.g. "auto"); None starts a local Ray instance.
    progress : bool
        Show a progress bar over the grid's cells.

    Returns
    -------
    dict
        Counts of the grid's cells by status (done, failed, running, pending), ``total``,
        ``attempted`` (cells run by this call), ``reclaimed`` (cells of the store left 'running'
        by processes that no longer exist, freed; those of this grid are run) and ``failures``: unit,
        max_len, seed and error of each failed cell.
    """
    if executor not in EXECUTORS:
        raise ConfigError(f"unknown executor {executor!r}; use one of {', '.join(EXECUTORS)}.")
    if workers is not None and workers < 1:
        raise ConfigError(f"workers must be a positive integer, got {workers}.")
    if not configs:
        raise ConfigError("the grid has no cells; give at least one unit, length and seed.")
    configs = list({c.key: c for c in configs}.values())
    store.add(configs)
    reclaimed = store.release_orphans()  # said in the summary: cells a killed sweep or worker left 'running'
    keys = [c.key for c in configs]
    status = _statuses(store)
    todo = [k for k in keys if status[k] != "done"]
    outcomes = _run_ray(store, todo, address) if executor == "ray" else _run_local(store, todo, workers)
    # redrawn (or logged) at every finished cell (mininterval 0): cells are minutes apart, a skipped one would hide
    bar = progress_bar(total=len(keys), initial=len(keys) - len(todo), desc="cells", unit="cell", shown=progress,
                       each_step=True, mininterval=0)
    failed = 0
    try:
        with ticking(bar):
            for outcome in outcomes:
                failed += outcome == "failed"
                bar.set_postfix(failed=failed)
                bar.update(outcome is not None)
    finally:
        # close the generator now (not at garbage collection) so an interrupt releases its cells
        outcomes.close()
        bar.close()
    return {**_summary(store, keys, attempted=len(todo)), "reclaimed": reclaimed}


def attempt(store_path: str, key: str) -> str | None:
    """Claim one cell, run it and store its result or error.

    Returns "done" or "failed", or None when the cell was not claimable (another sweep is
    running it or finished it since this sweep looked).
    """
    store = ResultsStore(store_path)
    config = store.claim(keys=[key])
    if config is None:
        return None
    try:
        result = run_cell(config)
    except Exception as exc:  # any error fails this cell only; the sweep goes on
        store.fail(key, _describe(exc))
        return "failed"
    except BaseException as exc:
        # interrupted (Ctrl-C): failed cells are retried next run, a 'running' one would
        # stay claimed for as long as this process (e.g. a notebook kernel) lives
        store.fail(key, f"interrupted ({type(exc).__name__})")
        raise
    store.finish(key, result)
    return "done"


def _run_local(store: ResultsStore, keys: list[str], workers: int | None):
    workers = min(workers or os.cpu_count() or 1, max(len(keys), 1))
    if workers == 1:
        with _one_torch_thread():
            yield from (attempt(str(store.path.resolve()), key) for key in keys)
        return
    # spawn, not fork: forking a process that has used torch's thread pools can deadlock
    context = get_context("spawn")
    # a lock-free flag, not an Event: Event.set() waits for every waiting worker to wake, and hangs for ever on one
    # that died waiting (SIGTERM to the whole process group, as `timeout` sends, kills the workers first)
    stop = context.RawValue("b", 0)
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_init_worker,
                               initargs=(os.getpid(), stop))
    try:
        futures = [pool.submit(attempt, str(store.path.resolve()), key) for key in keys]
        for future in as_completed(futures):
            yield future.result()
    except BrokenProcessPool:
        # the pool ends the other workers too: once they are gone, every cell in flight is an orphan
        pool.shutdown(wait=True, cancel_futures=True)
        freed = store.release_orphans()
        raise RnnmemError(f"a worker process died (killed, or out of memory? or, from a Python script, is run_sweep "
                          "called outside `if __name__ == '__main__':`?); finished cells are saved and the "
                          f"{freed} cell(s) in flight went back to pending. Re-run to continue, with fewer workers "
                          "if memory ran out.") from None
    except BaseException:
        # interrupted or terminated: workers stop now instead of finishing their cells (SIGTERM, unlike Ctrl-C,
        # reaches only this process), and their cells go back to pending
        stop.value = 1
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        if stop.value:
            store.release_orphans()


def _init_worker(parent: int, stop) -> None:
    """Pool initializer: one torch thread, and exit as soon as the sweep that started this worker is gone or stops."""
    _single_threaded()
    threading.Thread(target=_exit_when_orphaned, args=(parent, stop), name="rnnmem-parent-watch", daemon=True).start()


def _exit_when_orphaned(parent: int, stop) -> None:
    # an orphan is re-parented (to init or a subreaper), so its parent pid changes
    while os.getppid() == parent and not stop.value:
        time.sleep(PARENT_POLL_SECONDS)
    os._exit(1)  # at once: the cell in flight is freed by the parent or the next sweep, as after any crash


def _single_threaded() -> None:
    """One torch thread per worker (see the module docstring)."""
    import torch

    torch.set_num_threads(1)


@contextmanager
def _one_torch_thread():
    """One torch thread while cells run in this process; the caller's setting is restored after."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _run_ray(store: ResultsStore, keys: list[str], address: str | None):
    try:
        import ray
    except ImportError:
        raise ConfigError("Ray is not installed; pip install 'rnnmem[ray]' (or use --executor local)") from None
    started_here = not ray.is_initialized()
    if started_here:
        options = {"include_dashboard": False} if address is None else {}
        try:
            ray.init(address=address, log_to_driver=False, **options)
        except ConnectionError as exc:
            raise ConfigError(f"cannot reach a Ray cluster at {address} ({exc}); start one with `ray start --head` "
                              "or leave out --address to start a local Ray instance.") from None
    pending = {}
    try:
        remote = ray.remote(num_cpus=1)(_ray_cell)
        # claim before submitting, so a concurrent sweep on this store skips these cells
        for key in keys:
            config = store.claim(keys=[key])
            if config is None:
                yield None
            else:
                pending[remote.remote(config.to_json())] = key
        while pending:
            [ref], _ = ray.wait(list(pending), num_returns=1)
            yield _store_ray_outcome(store, pending.pop(ref), ref, ray)
    except BaseException as exc:
        # the driver owns the claims: hand them back for the next run (see attempt())
        for key in pending.values():
            store.fail(key, f"interrupted ({type(exc).__name__})")
        raise
    finally:
        if started_here:
            ray.shutdown()


def _ray_cell(config_json: str) -> tuple[str, object]:
    """Body of the Ray task: run a cell where Ray placed it and send back (status, result or error)."""
    _single_threaded()  # as in the local executor (see the module docstring)
    try:
        return "done", run_cell(RunConfig.from_dict(json.loads(config_json)))
    except Exception as exc:
        return "failed", _describe(exc)


def _store_ray_outcome(store: ResultsStore, key: str, ref, ray) -> str:
    try:
        status, payload = ray.get(ref)
    except ray.exceptions.RayError as exc:  # the worker died or the task could not run at all
        status, payload = "failed", _describe(exc)
    if status == "done":
        store.finish(key, payload)
    else:
        store.fail(key, payload)
    return status


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _statuses(store: ResultsStore) -> dict[str, str]:
    cells = store.cells()
    return dict(zip(cells["key"], cells["status"]))


def _summary(store: ResultsStore, keys: list[str], attempted: int) -> dict:
    cells = store.cells()
    cells = cells[cells["key"].isin(keys)]
    counts = cells["status"].value_counts()
    failures = cells[cells["status"] == "failed"]
    return {"total": len(keys), "attempted": attempted,
            **{status: int(counts.get(status, 0)) for status in ("done", "failed", "running", "pending")},
            "failures": [{"key": row.key, "unit": row.unit, "max_len": int(row.max_len), "seed": int(row.seed),
                          "error": row.error} for row in failures.itertuples()]}
