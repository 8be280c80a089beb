"""`rnnmem` command line. It only wires the library together; every number comes from the API."""

from __future__ import annotations

import json
import sys
import time
from contextlib import suppress
from pathlib import Path
from typing import Optional

import typer

from rnnmem.fileio import TERMINATED_EXIT_CODES, RunOutputs, exit_on_sigterm, json_safe, write_atomically
from rnnmem.pipeline.config import default  # the settings' defaults, written once (no heavy import)
from rnnmem.pipeline.settings import list_option

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    # help texts are plain text: as Rich markup, "[grid]" or "[0, 1)" would vanish from them
    rich_markup_mode=None,
    help="Measure how far back a recurrent network remembers: train (or load) a model, "
         "assess its memory in the Semantic Euclidean Space, and write a report.",
)
_state = {"debug": False}


def _print_version(asked: bool) -> None:
    if asked:
        from rnnmem._version import __version__
        typer.echo(f"rnnmem {__version__}")
        raise typer.Exit()


@app.callback()
def main(debug: bool = typer.Option(False, "--debug", help="Show the full traceback when something fails."),
         version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True, help="Print the version.")):
    _state["debug"] = debug
    exit_on_sigterm()  # a terminated (or hung-up) run cleans up like an interrupted one: no temporary or staging file is left
    _show_data_warnings_in_one_line()


def _show_data_warnings_in_one_line() -> None:
    """A DataWarning (data that is legal but almost certainly a mistake) as 'warning: ...', without source lines."""
    import warnings

    from rnnmem.errors import DataWarning, OutputsWarning

    shown_before = warnings.showwarning
    if getattr(shown_before, "rnnmem", False):  # installed by an earlier command in this process
        return

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, (DataWarning, OutputsWarning)):
            typer.echo(f"warning: {message}", err=True)
        else:
            shown_before(message, category, filename, lineno, file, line)

    show.rnnmem = True
    warnings.showwarning = show


def _fail(exc: BaseException, message: str | None = None) -> None:
    if _state["debug"]:
        raise exc
    typer.echo(f"error: {message or exc}", err=True)
    typer.echo("(run with --debug for the traceback)", err=True)
    raise typer.Exit(code=2)


def _guarded(fn):
    """Run a command, turning rnnmem's own errors (and unwritable outputs) into a one-line message."""
    from functools import wraps

    from rnnmem.errors import RnnmemError

    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (RnnmemError, OSError) as exc:
            _fail(exc)
        except (MemoryError, RuntimeError) as exc:
            if isinstance(exc, RuntimeError) and "allocate memory" not in str(exc):  # torch's CPU allocator
                raise
            _fail(exc, "out of memory; use a smaller --hidden, --embedding-dim, --max-len or --max-sequences "
                       "(or fewer --workers).")
        except (KeyboardInterrupt, SystemExit) as exc:
            if isinstance(exc, SystemExit) and exc.code not in TERMINATED_EXIT_CODES:  # only SIGTERM's, SIGHUP's
                raise
            if _state["debug"]:
                raise
            with suppress(OSError):  # after SIGHUP the terminal may be gone; the exit code still says why
                typer.echo("interrupted; finished work was kept (every file written so far is complete, and re-running "
                           "a sweep resumes it without redoing finished cells).", err=True)
            raise typer.Exit(code=130 if isinstance(exc, KeyboardInterrupt) else exc.code) from None
    return wrapper


@app.command()
@_guarded
def assess(
    ctx: typer.Context,
    unit: str = typer.Option(default("unit"), help="Recurrent unit to train (see `rnnmem units`)."),
    task: str = typer.Option("classify", help="'classify' (the corpus's labels) or 'lm' (a next-token language model on its texts, with the context it uses beside ML(0.1))."),
    corpus: str = typer.Option(default("corpus"), help="Corpus name (see `rnnmem corpora`) or a path to a .csv/.jsonl file."),
    out: Optional[str] = typer.Option(None, help="Output folder for report.json, report.md, plots and the model. Default: runs/UNIT-CORPUS."),
    max_len: int = typer.Option(default("max_len"), help="Training length: sequences are truncated to this many tokens."),
    keep: str = typer.Option(default("keep"), help="Which tokens truncation keeps: 'first' or 'last'."),
    doc_tokens: int = typer.Option(default("doc_tokens"), help="tweets-docs only: target tokens per document."),
    text_column: str = typer.Option(default("text_column"), help="CSV/JSONL only: column holding the text."),
    label_column: str = typer.Option(default("label_column"), help="CSV/JSONL only: column holding the class label."),
    hidden_size: int = typer.Option(default("hidden_size"), "--hidden", help="Hidden units of the recurrent unit."),
    embedding_dim: int = typer.Option(default("embedding_dim"), help="Word embedding size."),
    epochs: int = typer.Option(default("epochs"), help="Most epochs on the documents; a validation split picks the epoch kept (early stopping)."),
    batch_size: int = typer.Option(default("batch_size"), help="Training batch size."),
    lr: float = typer.Option(default("lr"), help="Adam learning rate."),
    dropout: float = typer.Option(default("dropout"), help="Dropout on the unit's inputs and on its states before the readout, while training."),
    piece_epochs: int = typer.Option(default("piece_epochs"), help="tweets-docs only: curriculum epochs on the single tweets before the documents."),
    bptt_window: Optional[int] = typer.Option(default("bptt_window"), help="Truncated BPTT window in steps (default: full sequence)."),
    checkpoint: Optional[Path] = typer.Option(None, help="Skip training: load a model folder written by an earlier run (model.json + model.pt)."),
    max_distance: int = typer.Option(default("max_distance"), help="Largest distance from the end to measure retention at."),
    estimators: Optional[list[str]] = typer.Option(
        None, metavar="<names>",
        help="Retention estimators, comma-separated or the option repeated (default: every estimator; names in docs/estimators.md)."),
    max_sequences: int = typer.Option(default("max_sequences"), help="Test sequences to assess on (seeded subset)."),
    seed: int = typer.Option(default("seed"), help="Seed for the split, initialisation, training order and bootstrap."),
    seeds: Optional[str] = typer.Option(None, help="Comma-separated seeds, e.g. 0,1,2: train and assess once per seed "
                                        "(into seeds.sqlite) and report the headline's spread across them (seeds.md)."),
    quiet: bool = typer.Option(False, help="No progress bars."),
    # the API's remaining settings, and a file to hold them all
    n_resamples: int = typer.Option(default("n_resamples"), help="Bootstrap resamples behind every 95% interval."),
    tau: float = typer.Option(default("tau"), help="Retention threshold of the recommended training length, ML(tau); in (0, 1)."),
    device: str = typer.Option("cpu", help="Where the model trains and runs: cpu, cuda, cuda:1, mps."),
    config_file: Optional[Path] = typer.Option(
        None, "--config", help="TOML file with an [assess] table of these settings by their Python names (max_len = 64, "
                   "hidden_size = 32, estimators = [\"occlusion\"]); options given on the command line override it."),
):
    """Train a unit on a corpus (or load --checkpoint), measure its memory and write the report.

    Example: rnnmem assess --unit lstm --corpus tweets-docs --max-len 128 --out runs/lstm
    """
    from rnnmem.errors import ConfigError
    from rnnmem.model import save_model
    from rnnmem.progress import showing_progress
    from rnnmem.report.console import run_summary
    from rnnmem.report.language_model import language_model_summary
    from rnnmem.pipeline.classify import assess_checkpoint, train_and_assess
    from rnnmem.pipeline.lm import TASKS, write_lm_run
    from rnnmem.pipeline.settings import assess_settings, run_config
    from rnnmem.validation import check_choice, check_device, check_seed

    started = time.perf_counter()
    # by name: Typer's vendored click and click itself have each their own ParameterSource
    given = {name for name in ctx.params if getattr(ctx.get_parameter_source(name), "name", "") == "COMMANDLINE"}
    # a repeatable option not given reads as (): the default, not an empty list
    settings = assess_settings({**ctx.params, "estimators": ctx.params["estimators"] or None}, given, config_file)
    config = run_config(settings).check()
    device = check_device(settings["device"])
    check_seed(config.seed)
    unit, corpus, quiet = config.unit, config.corpus, settings["quiet"]
    out, checkpoint = settings["out"], None if settings["checkpoint"] is None else Path(settings["checkpoint"])
    task = check_choice("task", settings["task"], TASKS)
    if task == "lm" and checkpoint is not None:
        raise ConfigError("--task lm trains its language model; --checkpoint cannot be combined with it. "
                          "Leave out --checkpoint to train one, or --task lm to re-assess a saved classifier.")
    outputs = RunOutputs(Path("runs") / f"{unit}-{Path(corpus).stem}" if out is None else out, "assess",
                         keep=(checkpoint.parent if checkpoint.is_file() else checkpoint,) if checkpoint else ())
    # entered before any training: the staging folder (made exclusively, following no link) is the writability
    # probe, and the run's files replace the earlier run's as a set, or not at all
    if seeds is not None:  # one configuration, several seeds: the headline's spread (rnnmem.sweep.seeds)
        from rnnmem.sweep.seeds import write_seed_spread
        if task == "lm" or checkpoint is not None:
            raise ConfigError("--seeds trains a classifier per seed: leave out --checkpoint and --task lm, or --seeds.")
        with outputs as staging, showing_progress(not quiet):
            text = write_seed_spread(config, list_option(seeds, int, "--seeds", "0,1,2"), staging, progress=not quiet)
        typer.echo(f"{text}\nwrote {outputs.folder}/seeds.md and seeds.sqlite (`rnnmem report` reads each seed's numbers)")
        return
    with outputs as staging, showing_progress(not quiet):
        if task == "lm":
            if not quiet:
                typer.echo(f"training {unit} as a language model (max_len {config.max_len}) on {corpus}, then "
                           "assessing ...", err=True)
            report = write_lm_run(config, staging, progress=not quiet, device=device)
        elif checkpoint is None:
            if not quiet:
                typer.echo(f"training {unit} (max_len {config.max_len}) on {corpus}, then assessing ...", err=True)
            model, data, history, report, _ = train_and_assess(config, progress=not quiet, device=device)
            save_model(model, staging / "model", data.vocabulary.to_dict(), list(data.label_names),
                       training=report.training_record())
            write_atomically(staging / "history.json", json.dumps(json_safe(
                {**vars(history), "final_accuracy": history.final_accuracy, "competence": history.verdict}), indent=2))
        else:
            report = assess_checkpoint(checkpoint, config, progress=not quiet, device=device)
        report.write_files(staging, title=f"Memory of {report.meta['model']['unit']} on {report.meta['model']['corpus']}")
    typer.echo(run_summary(report, report.meta["model"]["unit"]))
    if task == "lm":
        typer.echo(language_model_summary(report))
    typer.echo(f"\nwrote {outputs.folder}/report.md, report.html, interactive.html, report.json, indicators.csv/.tex, "
               f"token_effects.csv and plots in {time.perf_counter() - started:.0f} s")


@app.command()
@_guarded
def sweep(
    store: Path = typer.Option(..., help="Results store (SQLite file); created if missing, resumed if it exists."),
    grid: Optional[Path] = typer.Option(None, help="TOML grid file with a [grid] table; the options below override it."),
    units: Optional[str] = typer.Option(None, help="Comma-separated units, e.g. srn,lstm,gru."),
    lengths: Optional[str] = typer.Option(None, help="Comma-separated training lengths, e.g. 16,32,64."),
    seeds: Optional[str] = typer.Option(None, help="Comma-separated seeds, e.g. 0,1,2."),
    corpus: Optional[str] = typer.Option(None, help=f"Corpus name or a .csv/.jsonl path (default {default('corpus')})."),
    epochs: Optional[int] = typer.Option(None, help="Training epochs per cell."),
    hidden_size: Optional[int] = typer.Option(None, "--hidden", help="Hidden units of the recurrent unit."),
    embedding_dim: Optional[int] = typer.Option(None, help="Word embedding size."),
    doc_tokens: Optional[int] = typer.Option(None, help="tweets-docs only: target tokens per document."),
    max_distance: Optional[int] = typer.Option(None, help="Largest distance from the end to measure retention at."),
    max_sequences: Optional[int] = typer.Option(None, help="Test sequences to assess on per cell."),
    executor: str = typer.Option("local", help="'local' (worker processes) or 'ray' (a Ray cluster)."),
    workers: Optional[int] = typer.Option(None, help="Local worker processes (default: one per CPU)."),
    address: Optional[str] = typer.Option(None, help="Ray cluster address, e.g. auto (default: start a local Ray)."),
    quiet: bool = typer.Option(False, help="No progress bar."),
):
    """Run a grid of unit x training length x seed into a results store; re-run to resume or retry.

    Example: rnnmem sweep --units srn,lstm --lengths 16,32,64 --seeds 0,1 --store runs/study.sqlite
    """
    from rnnmem.report.console import sweep_summary
    from rnnmem.sweep import ResultsStore, expand_grid, load_grid_file, run_sweep

    base, axes = load_grid_file(grid) if grid else ({}, {})
    flags = {"unit": list_option(units, str, "--units", "srn,lstm"),
             "max_len": list_option(lengths, int, "--lengths", "16,32,64"),
             "seed": list_option(seeds, int, "--seeds", "0,1,2")}
    settings = {"corpus": corpus, "epochs": epochs, "hidden_size": hidden_size, "embedding_dim": embedding_dim,
                "doc_tokens": doc_tokens, "max_distance": max_distance, "max_sequences": max_sequences}
    # a flag replaces the file's value for that setting, whether the file has it as an axis or fixed
    for name, values in {**flags, **settings}.items():
        if values is not None:
            base.pop(name, None)
            axes.pop(name, None)
            (axes if name in flags else base)[name] = values
    configs = expand_grid(base, axes)
    summary = run_sweep(ResultsStore(store), configs, executor=executor, workers=workers, address=address,
                        progress=not quiet)
    typer.echo(sweep_summary(summary, store))
    if summary["failed"]:
        raise typer.Exit(code=1)


@app.command()
@_guarded
def report(
    store: Path = typer.Argument(..., help="Results store written by `rnnmem sweep`."),
    out: Optional[str] = typer.Option(None, help="Output folder (default: the store's name without .sqlite, plus -report)."),
    quiet: bool = typer.Option(False, help="No progress bars."),
):
    """Compare the units and training lengths of a sweep: tables, plots and a self-contained HTML page.

    Example: rnnmem report runs/study.sqlite --out runs/study-report
    """
    from rnnmem.errors import DataError
    from rnnmem.progress import showing_progress
    from rnnmem.sweep.study import write_study_report

    outputs = RunOutputs(store.with_name(store.stem + "-report") if out is None else out, "report")
    with outputs as staging, showing_progress(not quiet):
        try:
            written = write_study_report(store, staging)
        except (KeyError, TypeError, ValueError, IndexError) as exc:  # rows edited into another shape
            raise DataError(f"the results in {store} are not what `rnnmem sweep` writes ({type(exc).__name__}: {exc}); "
                            "re-run the sweep into a new --store, or run with --debug to see where.") from exc
    typer.echo(f"wrote {outputs.folder / written['report_html'].name}, {outputs.folder / written['comparison_md'].name} "
               f"and {len(written) - 2} more files")


@app.command()
@_guarded
def capacity(
    unit: str = typer.Option("esn", help="Recurrent unit to measure, freshly initialised and untrained (see `rnnmem units`)."),
    hidden_size: int = typer.Option(50, "--hidden", help="Hidden units of the recurrent unit."),
    length: int = typer.Option(5000, help="Steps of i.i.d. uniform input driving the unit."),
    max_delay: Optional[int] = typer.Option(None, help="Largest delay k to recall (default: 2 * hidden)."),
    washout: int = typer.Option(100, help="Leading steps left out of the fit while the initial state fades."),
    input_scale: float = typer.Option(1.0, help="Input drawn uniform in [-input_scale, input_scale]."),
    seed: int = typer.Option(0, help="Seed for the unit's initialisation and the input series."),
    per_delay: bool = typer.Option(False, "--per-delay", help="Print MC_k for every delay k."),
    json_path: Optional[Path] = typer.Option(None, "--json", help="Also write the numbers to this JSON file."),
):
    """Task-free memory capacity (Jaeger 2002) of an untrained unit driven by i.i.d. scalar input.

    Not the retention capacity sum_d r(d) that `rnnmem assess` reports for a trained model on a task.

    Example: rnnmem capacity --unit esn --hidden 50 --per-delay
    """
    from rnnmem.indicators.classical import drive_unit, task_free_capacity
    from rnnmem.validation import check_array_size

    max_delay = 2 * hidden_size if max_delay is None else max_delay
    check_array_size("the delayed targets", (length, max_delay), "Use a shorter --length or a smaller --max-delay")
    states, inputs = drive_unit(unit, hidden_size, length, seed=seed, input_scale=input_scale)
    mc = task_free_capacity(states, inputs, max_delay, washout=washout)
    first = "  ".join(f"{v:.3f}" for v in mc.per_delay[:5])
    typer.echo(f"task-free memory capacity of {unit} (Jaeger; untrained, seed {seed}): MC = {mc.total:.3f} of "
               f"{hidden_size} units (delays 1..{max_delay}; fitted on {mc.n_train} steps, scored on {mc.n_test})")
    typer.echo(f"MC_k for k = 1..{min(5, max_delay)}: {first}")
    if per_delay:
        typer.echo(f"{'k':>5s} {'MC_k':>7s} {'sum':>8s}")
        for k, value, total in zip(mc.delays, mc.per_delay, mc.per_delay.cumsum()):
            typer.echo(f"{k:5d} {value:7.4f} {total:8.3f}")
    if json_path is not None:
        write_atomically(json_path, json.dumps({
            "measure": "task-free memory capacity (Jaeger 2002)", "unit": unit, "hidden_size": hidden_size, "length": length, "max_delay": max_delay, "washout": washout,
            "input_scale": input_scale, "seed": seed, "n_train": mc.n_train, "n_test": mc.n_test,
            "total": mc.total, "per_delay": mc.per_delay.tolist()}, indent=2))
        typer.echo(f"wrote {json_path}")


@app.command()
@_guarded
def units(hidden: int = typer.Option(64, help="Hidden size at which to count parameters."),
          embedding_dim: int = typer.Option(64, help="Input (embedding) size at which to count parameters.")):
    """List the recurrent units with a one-line description and their parameter count."""
    from rnnmem.errors import ConfigError
    from rnnmem.units import UNITS, build_unit
    from rnnmem.validation import check_int, check_model_size

    check_model_size(check_int("hidden_size", hidden, low=1), check_int("embedding_dim", embedding_dim, low=1))
    width = max(map(len, UNITS))
    for name, spec in UNITS.items():
        try:
            count = f"{sum(p.numel() for p in build_unit(name, embedding_dim, hidden).parameters()):>9,d} params"
        except ConfigError:  # e.g. the delay line needs hidden to be a multiple of the embedding size
            count = f"{'n/a at this size':>16s}"
        typer.echo(f"{name:{width}s} {count}  {spec.description}")


@app.command()
def corpora():
    """List the bundled corpora (any .csv/.jsonl file also works as --corpus)."""
    from rnnmem.data import list_corpora

    for name, description in list_corpora().items():
        typer.echo(f"{name:12s} {description}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
