"""``assay aggregate`` and ``assay agreement``: the quality engine from the command line.

Results go to stdout (or ``--out``) as CSV; messages, progress and the accuracy line go to
stderr, so the output can be piped.  Bad input ends with ``Error: <sentence>`` and exit code 1.

These commands load only what they use, when they run: NumPy, pyarrow (its CSV reader reads the
answers, its CSV writer writes the labels), scipy.sparse and the chosen method; never the
database, web or schema stack.  ANSWERS is a long ``task,worker,label`` table, with other
column names given by ``--columns``/``--task-col``…, or one of assay's own exports with
``--question``.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, BinaryIO

import typer

if TYPE_CHECKING:
    import pyarrow as pa

    from assay.quality import Aggregator, Answers

# The engine (NumPy, SciPy, pyarrow) loads only when a quality command runs, so that every other
# `assay` command starts fast.  Keep in step with assay.quality.DEFAULT_METHOD (a test checks it).
DEFAULT_METHOD = "ds"
_KEYS = ("task", "worker", "label")

AnswersPath = Annotated[
    Path,
    typer.Argument(
        help="CSV/TSV/JSONL/Parquet with columns task,worker,label (see --columns), or an assay export "
        "(see --question)."
    ),
]
Question = Annotated[
    str | None,
    typer.Option(
        help="Read an assay export (csv, jsonl or parquet from `assay export`): aggregate the answers to "
        "this question, task = item id, worker = annotator; rejected answers are left out."
    ),
]
Columns = Annotated[
    str | None,
    typer.Option(help="The file's column names, e.g. task=item,worker=user,label=answer (any of the three)."),
]
TaskCol = Annotated[str | None, typer.Option("--task-col", help="Column of the task ids (default: task).")]
WorkerCol = Annotated[
    str | None, typer.Option("--worker-col", help="Column of the worker ids (default: worker).")
]
LabelCol = Annotated[str | None, typer.Option("--label-col", help="Column of the labels (default: label).")]


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


def _say(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def _fail(exc: Exception) -> typer.Exit:
    _say(f"Error: {exc}")
    return typer.Exit(code=1)


def _mapping(
    columns: str | None, task_col: str | None, worker_col: str | None, label_col: str | None
) -> dict[str, str]:
    """``--columns task=a,worker=b`` and ``--task-col a`` as one ``{"task": "a", ...}``."""
    out: dict[str, str] = {}
    for part in columns.split(",") if columns else ():
        key, sep, name = (p.strip() for p in part.partition("="))
        if not sep or key not in _KEYS or not name:
            raise ValueError(
                f"--columns {columns!r}: write task=COLUMN,worker=COLUMN,label=COLUMN (any of the three)"
            )
        if key in out:
            raise ValueError(f"--columns {columns!r} names {key} twice")
        out[key] = name
    for key, flag in zip(_KEYS, (task_col, worker_col, label_col), strict=True):
        if flag is None:
            continue
        if out.get(key, flag) != flag:
            raise ValueError(
                f"--{key}-col {flag!r} and --columns {key}={out[key]!r} disagree; give one of them"
            )
        out[key] = flag
    return out


def _read(
    path: Path,
    duplicates: str = "keep",
    *,
    columns: dict[str, str] | None = None,
    question: str | None = None,
) -> Answers:
    """Read answers; a repeated (task, worker) pair is reported on stderr, not raised."""
    from assay.quality.answers import Answers, DuplicateAnswersWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DuplicateAnswersWarning)
        data = Answers.read(path, duplicates=duplicates, columns=columns, question=question)  # type: ignore[arg-type]
    for warning in caught:
        _say(f"Warning: {warning.message}")
    return data


@contextmanager
def _output(path: Path | None) -> Iterator[BinaryIO]:
    if path is None:
        sys.stdout.flush()
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
    else:
        with path.open("wb") as fh:
            yield fh


def _text(book: Any) -> pa.Array:
    """A code book (task ids, labels) as an Arrow string array."""
    from assay.quality._arrow import strings

    return strings(book.tolist())


def _fixed6(values: Any) -> pa.Array:
    """Numbers in [0, 1] as text with six decimals (``0.950000``), without a Python loop."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from assay.quality._arrow import array

    micro = np.rint(np.asarray(values, dtype=np.float64) * 1e6).astype(np.int64)
    digits = pc.utf8_lpad(pc.cast(array(micro), pa.string()), 7, "0")
    return pc.utf8_replace_slice(digits, -6, -6, ".")


_WRITE_ROWS = 1 << 16


def _write_labels(fh: BinaryIO, model: Aggregator) -> None:
    """``task,label,confidence``, one row per task, as Python's csv would write it: Arrow's CSV
    writer, unquoted, a slice of rows at a time (a few MB whatever the number of tasks); the rare id
    or label that needs quotes goes through Python's csv instead."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    from assay.quality._arrow import array

    answers = model.answers_
    labels = _text(answers.labels)
    confidence = model.confidence_
    fh.write(b"task,label,confidence\n")
    options = pacsv.WriteOptions(include_header=False, quoting_style="none")
    for start in range(0, answers.n_tasks, _WRITE_ROWS):
        stop = min(start + _WRITE_ROWS, answers.n_tasks)
        table = pa.table(
            {
                "task": _text(answers.tasks[start:stop]),
                "label": labels.take(array(model.labels_[start:stop])),
                "confidence": _fixed6(confidence[start:stop]),
            }
        )
        if any(
            pc.any(pc.match_substring_regex(table.column(c), '[,"\r\n]')).as_py() for c in ("task", "label")
        ):
            _write_quoted(fh, table)
        else:
            pacsv.write_csv(table, fh, write_options=options)


def _write_quoted(fh: BinaryIO, table: pa.Table) -> None:
    import csv
    import io

    text = io.TextIOWrapper(fh, encoding="utf-8", newline="", write_through=True)
    rows = zip(*(table.column(c).to_pylist() for c in table.column_names), strict=True)
    csv.writer(text, lineterminator="\n").writerows(rows)
    text.detach()


class _Quiet:
    """Stands in for a rich status when stderr is not a terminal: nobody watches a spinner there
    (and rich is not even imported)."""

    def __enter__(self) -> _Quiet:
        return self

    def __exit__(self, *_exc: object) -> None:
        return None

    def update(self, _text: str) -> None:
        return None


def _status(text: str) -> Any:
    if not sys.stderr.isatty():
        return _Quiet()
    from rich.console import Console

    return Console(stderr=True).status(text)


def aggregate_command(
    answers: AnswersPath,
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
    question: Question = None,
    columns: Columns = None,
    task_col: TaskCol = None,
    worker_col: WorkerCol = None,
    label_col: LabelCol = None,
) -> None:
    """Offline truth inference: one label and its confidence per task."""
    name = (method or Method(DEFAULT_METHOD)).value
    try:
        mapping = _mapping(columns, task_col, worker_col, label_col)
        with _status(f"reading {answers.name}") as status:
            data = _read(answers, duplicates.value, columns=mapping, question=question)
            from assay.quality.aggregate import make
            from assay.quality.answers import read_gold

            gold_map = read_gold(gold) if gold is not None else None
            model = make(name)
            status.update(f"{name}: fitting {len(data):,} answers")

            def progress(iteration: int, loss: float) -> None:
                status.update(f"{name}: iteration {iteration}, log-likelihood per answer {loss:.5f}")

            model.on_iteration = progress
            model.fit(data)
    except ValueError as exc:
        raise _fail(exc) from None
    with _output(out) as fh:
        _write_labels(fh, model)
    if workers_out is not None:
        _write_workers(workers_out, data, getattr(model, "skills_", None))
    if gold_map is not None:
        from assay.quality.gold import accuracy

        acc = accuracy(model, gold_map)
        if acc.n == 0:
            _say("accuracy: n/a (n=0): no gold task has answers")
        else:
            _say(f"accuracy: {acc.value:.4f} (n={acc.n})")


def _write_workers(path: Path, data: Answers, skills: Any) -> None:
    import csv

    import numpy as np

    counts = np.bincount(data.worker, minlength=data.n_workers)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["worker", "answers", "skill"])
        for i, worker in enumerate(data.workers.tolist()):
            skill = "" if skills is None else f"{float(skills[i]):.6f}"
            writer.writerow([worker, int(counts[i]), skill])


def agreement_command(
    answers: AnswersPath,
    metric: Annotated[Metric, typer.Option(help="Agreement coefficient.")] = Metric.krippendorff,
    level: Annotated[
        Level, typer.Option(help="Level of measurement (Krippendorff's alpha).")
    ] = Level.nominal,
    bootstrap: Annotated[int, typer.Option(help="Bootstrap resamples for the 95% interval.")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = 0,
    question: Question = None,
    columns: Columns = None,
    task_col: TaskCol = None,
    worker_col: WorkerCol = None,
    label_col: LabelCol = None,
) -> None:
    """Inter-annotator agreement with a 95% bootstrap interval (CSV on stdout)."""
    import csv

    try:
        mapping = _mapping(columns, task_col, worker_col, label_col)
        with _status(f"reading {answers.name}") as status:
            data = _read(answers, columns=mapping, question=question)
            status.update(f"{metric.value}: {bootstrap} bootstrap resamples")
            from assay.quality.agreement import agreement

            result = agreement(data, metric=metric.value, level=level.value, n_boot=bootstrap, seed=seed)
    except ValueError as exc:
        raise _fail(exc) from None
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
