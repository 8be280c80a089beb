"""`rnnmem` command line. It only wires the library together; every number comes from the API."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Measure how far back a recurrent network remembers: train (or load) a model, "
         "assess its memory in the Semantic Euclidean Space, and write a report.",
)
_state = {"debug": False}


@app.callback()
def main(debug: bool = typer.Option(False, "--debug", help="Show the full traceback when something fails.")):
    _state["debug"] = debug


def _fail(exc: Exception) -> None:
    if _state["debug"]:
        raise exc
    typer.echo(f"error: {exc}", err=True)
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
    return wrapper


@app.command()
@_guarded
def assess(
    unit: str = typer.Option("lstm", help="Recurrent unit to train (see `rnnmem units`)."),
    corpus: str = typer.Option("tweets-docs", help="Corpus name (see `rnnmem corpora`) or a path to a .csv/.jsonl file."),
    out: Path = typer.Option(None, help="Output folder for report.json, report.md, plots and the model. Default: runs/UNIT-CORPUS."),
    max_len: int = typer.Option(128, help="Training length: sequences are truncated to this many tokens."),
    keep: str = typer.Option("first", help="Which tokens truncation keeps: 'first' or 'last'."),
    doc_tokens: int = typer.Option(128, help="tweets-docs only: target tokens per document."),
    text_column: str = typer.Option("text", help="CSV/JSONL only: column holding the text."),
    label_column: str = typer.Option("label", help="CSV/JSONL only: column holding the class label."),
    hidden_size: int = typer.Option(64, "--hidden", help="Hidden units of the recurrent unit."),
    embedding_dim: int = typer.Option(64, help="Word embedding size."),
    epochs: int = typer.Option(4, help="Training epochs."),
    batch_size: int = typer.Option(64, help="Training batch size."),
    lr: float = typer.Option(3e-3, help="Adam learning rate."),
    bptt_window: Optional[int] = typer.Option(None, help="Truncated BPTT window in steps (default: full sequence)."),
    checkpoint: Optional[Path] = typer.Option(None, help="Skip training: load a model folder written by an earlier run (model.json + model.pt)."),
    max_distance: int = typer.Option(100, help="Largest distance from the end to measure retention at."),
    estimators: str = typer.Option("occlusion,regression,gradient", help="Comma-separated retention estimators."),
    max_sequences: int = typer.Option(256, help="Test sequences to assess on (seeded subset)."),
    seed: int = typer.Option(0, help="Seed for the split, initialisation, training order and bootstrap."),
    quiet: bool = typer.Option(False, help="No progress bars."),
):
    """Train a unit on a corpus (or load --checkpoint), measure its memory and write the report.

    Example: rnnmem assess --unit lstm --corpus tweets-docs --max-len 128 --out runs/lstm
    """
    import rnnmem
    from rnnmem.data import Vocabulary

    started = time.perf_counter()
    out = out or Path("runs") / f"{unit}-{Path(corpus).stem}"
    _check_writable(out)
    options = {"seed": seed}
    if corpus == "tweets-docs":
        options["doc_tokens"] = doc_tokens
    if Path(corpus).suffix in (".csv", ".jsonl"):
        options.update(text_column=text_column, label_column=label_column)
    data = rnnmem.load_corpus(corpus, **options)
    history = None
    if checkpoint is not None:
        model, meta = rnnmem.load_model(checkpoint)
        vocabulary = Vocabulary.from_dict(meta["vocabulary"]) if meta.get("vocabulary") else data.vocabulary
        if model.config.num_classes != data.num_classes:
            raise rnnmem.ModelProtocolError(
                f"the checkpoint predicts {model.config.num_classes} classes but {data.name} has "
                f"{data.num_classes}; assess it on the corpus it was trained for.")
        unit = model.config.unit
    else:
        vocabulary = data.vocabulary
        model = rnnmem.build_model(unit, len(vocabulary), data.num_classes, hidden_size=hidden_size,
                                   embedding_dim=embedding_dim, pad_id=vocabulary.pad_id, seed=seed)
        typer.echo(f"training {unit} on {data.name} ({len(data.train_texts)} sequences, max_len {max_len}) ...", err=True)
        history = rnnmem.train(model, data, max_len=max_len, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
                               keep=keep, bptt_window=bptt_window, vocabulary=vocabulary, progress=not quiet)
        rnnmem.save_model(model, out / "model", vocabulary.to_dict(), list(data.label_names))
    typer.echo("assessing memory ...", err=True)
    report = rnnmem.assess(model, data, max_distance=max_distance, estimators=[e.strip() for e in estimators.split(",") if e.strip()],
                           vocabulary=vocabulary, max_sequences=max_sequences, seed=seed, progress=not quiet)
    report.meta["model"] = {"unit": unit, "hidden_size": model.config.hidden_size, "corpus": data.name,
                            "train_max_len": max_len if history else None,
                            "test_accuracy": history.final_accuracy if history else None,
                            "checkpoint": str(checkpoint) if checkpoint else None}
    report.meta["corpus_notes"] = data.notes
    report.to_json(out / "report.json")
    report.plot(out)
    report.to_markdown(out / "report.md", title=f"Memory of {unit} on {data.name}")
    if history is not None:
        (out / "history.json").write_text(json.dumps(history.__dict__, indent=2))
    typer.echo(_summary_table(report, unit, history))
    typer.echo(f"\nwrote {out}/report.md, report.json and plots in {time.perf_counter() - started:.0f} s")


def _summary_table(report, unit: str, history) -> str:
    import pandas as pd

    summary = report.summary()
    rows = []
    for name, values in summary["estimators"].items():
        rows.append({
            "unit": unit, "estimator": name,
            "accuracy": f"{history.final_accuracy:.3f}" if history else "-",
            "ML(0.5)": _ml(values["ML(0.5)"], report), "ML(0.1)": _ml(values["ML(0.1)"], report),
            "capacity": f"{values['capacity']:.2f}",
        })
    table = pd.DataFrame(rows).to_string(index=False)
    rec = summary["recommended_length"]
    return f"{table}\nrecommended training length: {rec['length']} tokens ({rec['rule']})"


def _ml(value, report) -> str:
    return str(value) if value is not None else f"> {int(report.retention['distance'].max())}"


def _check_writable(out: Path) -> None:
    from rnnmem.errors import ConfigError

    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"cannot write to the output folder {out} ({exc.strerror}); pass --out with a writable folder.") from None


@app.command()
def units(hidden: int = typer.Option(64, help="Hidden size at which to count parameters."),
          embedding_dim: int = typer.Option(64, help="Input (embedding) size at which to count parameters.")):
    """List the recurrent units with a one-line description and their parameter count."""
    from rnnmem.units import UNITS, build_unit

    for name, spec in UNITS.items():
        params = sum(p.numel() for p in build_unit(name, embedding_dim, hidden).parameters())
        typer.echo(f"{name:8s} {params:>9,d} params  {spec.description}")


@app.command()
def corpora():
    """List the bundled corpora (any .csv/.jsonl file also works as --corpus)."""
    from rnnmem.data import list_corpora

    for name, description in list_corpora().items():
        typer.echo(f"{name:12s} {description}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
