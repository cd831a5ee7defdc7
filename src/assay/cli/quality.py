"""``assay aggregate`` and ``assay agreement``: the quality engine from the command line.

Results go to stdout (or ``--out``) as CSV; messages, progress and the accuracy line go to
stderr, so the output can be piped.  Bad input ends with ``Error: <sentence>`` and exit code 1.
"""

from __future__ import annotations

import csv
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer
from rich.console import Console

if TYPE_CHECKING:
    from assay.quality import Answers

# The engine (NumPy, SciPy, pyarrow) loads only when a quality command runs, so that every other
# `assay` command starts fast.  Keep in step with assay.quality.DEFAULT_METHOD (a test checks it).
DEFAULT_METHOD = "ds"


class Method(StrEnum):
    mv = "mv"
    wawa = "wawa"
    ds = "ds"
    one_coin = "one-coin"
    glad = "glad"
    mace = "mace"


class Metric(StrEnum):
    krippendorff = "krippendorff"
    fleiss = "fleiss"
    cohen = "cohen"
    percent = "percent"


class Level(StrEnum):
    nominal = "nominal"
    ordinal = "ordinal"
    interval = "interval"


class Duplicates(StrEnum):
    keep = "keep"
    first = "first"
    last = "last"
    error = "error"


def _say(err: Console, text: str) -> None:
    err.print(text, markup=False, highlight=False, soft_wrap=True)


def _fail(err: Console, exc: Exception) -> typer.Exit:
    _say(err, f"Error: {exc}")
    return typer.Exit(code=1)


def _read(err: Console, path: Path, duplicates: str = "keep") -> Answers:
    from assay.quality import Answers, DuplicateAnswersWarning

    """Read answers; a repeated (task, worker) pair is reported on stderr, not raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DuplicateAnswersWarning)
        data = Answers.read(path, duplicates=duplicates)  # type: ignore[arg-type]
    for warning in caught:
        _say(err, f"Warning: {warning.message}")
    return data


@contextmanager
def _output(path: Path | None) -> Iterator[TextIO]:
    if path is None:
        yield sys.stdout
    else:
        with path.open("w", newline="", encoding="utf-8") as fh:
            yield fh


def aggregate_command(
    answers: Annotated[Path, typer.Argument(help="CSV/TSV/JSONL/Parquet with columns task,worker,label.")],
    method: Annotated[
        Method | None, typer.Option(help=f"Aggregation method (default: {DEFAULT_METHOD}).")
    ] = None,
    gold: Annotated[
        Path | None, typer.Option(help="Known answers (task,label): report accuracy on stderr.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Write task,label,confidence here (default: stdout).")
    ] = None,
    workers_out: Annotated[
        Path | None, typer.Option("--workers-out", help="Write worker,answers,skill here.")
    ] = None,
    duplicates: Annotated[
        Duplicates,
        typer.Option(help="A worker answering a task twice: keep both votes, first, last or error."),
    ] = Duplicates.keep,
) -> None:
    """Offline truth inference: one label and its confidence per task."""
    err = Console(stderr=True)
    name = (method or Method(DEFAULT_METHOD)).value
    try:
        with err.status(f"reading {answers.name}") as status:
            data = _read(err, answers, duplicates.value)
            from assay.quality import make, read_gold

            gold_map = read_gold(gold) if gold is not None else None
            model = make(name)
            status.update(f"{name}: fitting {len(data):,} answers")

            def progress(iteration: int, loss: float) -> None:
                status.update(f"{name}: iteration {iteration}, log-likelihood per answer {loss:.5f}")

            model.on_iteration = progress
            model.fit(data)
    except ValueError as exc:
        raise _fail(err, exc) from None
    with _output(out) as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["task", "label", "confidence"])
        writer.writerows((t, lab, f"{c:.6f}") for t, lab, c in model.rows())
    if workers_out is not None:
        _write_workers(workers_out, data, getattr(model, "skills_", None))
    if gold_map is not None:
        from assay.quality.gold import accuracy

        acc = accuracy(model, gold_map)
        if acc.n == 0:
            _say(err, "accuracy: n/a (n=0): no gold task has answers")
        else:
            _say(err, f"accuracy: {acc.value:.4f} (n={acc.n})")


def _write_workers(path: Path, data: Answers, skills: Any) -> None:
    import numpy as np

    counts = np.bincount(data.worker, minlength=data.n_workers)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["worker", "answers", "skill"])
        for i, worker in enumerate(data.workers.tolist()):
            skill = "" if skills is None else f"{float(skills[i]):.6f}"
            writer.writerow([worker, int(counts[i]), skill])


def agreement_command(
    answers: Annotated[Path, typer.Argument(help="CSV/TSV/JSONL/Parquet with columns task,worker,label.")],
    metric: Annotated[Metric, typer.Option(help="Agreement coefficient.")] = Metric.krippendorff,
    level: Annotated[
        Level, typer.Option(help="Level of measurement (Krippendorff's alpha).")
    ] = Level.nominal,
    bootstrap: Annotated[int, typer.Option(help="Bootstrap resamples for the 95% interval.")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = 0,
) -> None:
    """Inter-annotator agreement with a 95% bootstrap interval (CSV on stdout)."""
    err = Console(stderr=True)
    try:
        with err.status(f"reading {answers.name}") as status:
            data = _read(err, answers)
            status.update(f"{metric.value}: {bootstrap} bootstrap resamples")
            from assay.quality.agreement import agreement

            result = agreement(data, metric=metric.value, level=level.value, n_boot=bootstrap, seed=seed)
    except ValueError as exc:
        raise _fail(err, exc) from None
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["metric", "level", "value", "low", "high", "items"])
    shown_level = level.value if metric is Metric.krippendorff else "nominal"
    writer.writerow(
        [
            metric.value,
            shown_level,
            f"{result.value:.6f}",
            f"{result.low:.6f}",
            f"{result.high:.6f}",
            result.n_items,
        ]
    )


def register(app: typer.Typer) -> None:
    """Add ``aggregate`` and ``agreement`` to the given Typer app."""
    app.command("aggregate")(aggregate_command)
    app.command("agreement")(agreement_command)
