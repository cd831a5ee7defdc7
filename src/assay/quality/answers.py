"""The one input contract of the quality engine: answers in a long (task, worker, label) shape.

Every aggregator and agreement measure takes an :class:`Answers`: three int-coded NumPy arrays
(one entry per answer) plus the code books that map codes back to the original task ids, worker
ids and label names.  Build one from rows, a pandas/polars DataFrame, a pyarrow table or a file;
all constructors go through pyarrow, so pandas and polars are never imported here.

Code books are sorted (numerically when every value is a number), so the codes, and therefore
tie-breaking, do not depend on the order of the input rows.  A declared label set keeps its
declared order instead.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from assay.quality._arrow import array, numbers
from assay.quality._files import read_answers, read_table
from assay.quality._types import IntArray

COLUMNS = ("task", "worker", "label")
DuplicatePolicy = Literal["keep", "first", "last", "error"]


class DuplicateAnswersWarning(UserWarning):
    """A worker answered the same task more than once; the answers were kept as separate votes."""


@dataclass(frozen=True, eq=False)
class Answers:
    """Int-coded answers: ``task[i]`` got ``label[i]`` from ``worker[i]``.

    ``tasks``, ``workers`` and ``labels`` are the code books: ``tasks[task[i]]`` is the original
    task id.  ``extra`` holds further per-answer columns (e.g. ``duration_ms``) aligned with them.
    """

    task: IntArray
    worker: IntArray
    label: IntArray
    tasks: np.ndarray[Any, Any]
    workers: np.ndarray[Any, Any]
    labels: np.ndarray[Any, Any]
    extra: Mapping[str, np.ndarray[Any, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.task)
        if len(self.worker) != n or len(self.label) != n:
            raise ValueError("task, worker and label arrays must have the same length")
        for name, codes, book in (
            ("task", self.task, self.tasks),
            ("worker", self.worker, self.workers),
            ("label", self.label, self.labels),
        ):
            if n and (int(codes.min()) < 0 or int(codes.max()) >= len(book)):
                raise ValueError(
                    f"column '{name}': codes must lie in 0..{len(book) - 1} (the code book size)"
                )

    def __len__(self) -> int:
        return len(self.task)

    @property
    def n_tasks(self) -> int:
        return len(self.tasks)

    @property
    def n_workers(self) -> int:
        return len(self.workers)

    @property
    def n_labels(self) -> int:
        return len(self.labels)

    # -- constructors -------------------------------------------------------------------------

    @classmethod
    def from_codes(
        cls,
        *,
        task: Sequence[int] | np.ndarray[Any, Any],
        worker: Sequence[int] | np.ndarray[Any, Any],
        label: Sequence[int] | np.ndarray[Any, Any],
        n_tasks: int | None = None,
        n_workers: int | None = None,
        labels: Sequence[Any] | int | None = None,
    ) -> Answers:
        """Wrap already int-coded arrays; code books default to ``0..n-1``."""
        arrays = [np.asarray(a, dtype=np.intp) for a in (task, worker, label)]
        if len(arrays[0]) == 0:
            raise ValueError("answers are empty: give at least one (task, worker, label)")
        t, w, lab = arrays
        book = np.arange(int(lab.max()) + 1) if labels is None else labels
        if isinstance(book, int):
            book = np.arange(book)
        return cls(
            task=t,
            worker=w,
            label=lab,
            tasks=np.arange(n_tasks if n_tasks is not None else int(t.max()) + 1),
            workers=np.arange(n_workers if n_workers is not None else int(w.max()) + 1),
            labels=np.asarray(book),
        )

    @classmethod
    def from_rows(
        cls,
        rows: Iterable[Sequence[Any] | Mapping[str, Any]],
        *,
        labels: Sequence[Any] | None = None,
        duplicates: DuplicatePolicy = "keep",
    ) -> Answers:
        """From ``(task, worker, label)`` tuples or ``{"task", "worker", "label"}`` mappings."""
        cols: tuple[list[Any], list[Any], list[Any]] = ([], [], [])
        for i, row in enumerate(rows):
            try:
                values = [row[c] for c in COLUMNS] if isinstance(row, Mapping) else list(row)[:3]
            except KeyError as exc:
                raise ValueError(
                    f"row {i + 1}: missing key {exc}; every row needs task, worker, label"
                ) from None
            if len(values) != 3:
                raise ValueError(f"row {i + 1}: expected (task, worker, label), got {len(values)} values")
            for col, value in zip(cols, values, strict=True):
                col.append(value)
        table = {c: _to_arrow(v, c) for c, v in zip(COLUMNS, cols, strict=True)}
        return _build(table, source="rows", labels=labels, duplicates=duplicates)

    @classmethod
    def from_frame(
        cls,
        frame: Any,
        *,
        columns: Mapping[str, str] | None = None,
        labels: Sequence[Any] | None = None,
        duplicates: DuplicatePolicy = "keep",
        extra: Sequence[str] = (),
    ) -> Answers:
        """From a pandas or polars DataFrame (duck-typed); ``columns`` renames e.g. ``{"task": "item"}``."""
        if hasattr(frame, "to_arrow") and not hasattr(frame, "to_pandas_dtype"):
            return cls.from_arrow(
                frame.to_arrow(), columns=columns, labels=labels, duplicates=duplicates, extra=extra
            )
        names = _column_names(columns)
        present = [str(c) for c in getattr(frame, "columns", [])]
        table = {}
        for key in (*COLUMNS, *extra):
            name = names.get(key, key)
            if name not in present:
                raise ValueError(f"frame: missing column '{name}' (columns are {present}); rename or add it")
            table[key] = _to_arrow(frame[name], name)
        return _build(table, source="frame", labels=labels, duplicates=duplicates)

    @classmethod
    def from_arrow(
        cls,
        table: pa.Table,
        *,
        columns: Mapping[str, str] | None = None,
        labels: Sequence[Any] | None = None,
        duplicates: DuplicatePolicy = "keep",
        extra: Sequence[str] = (),
        source: str = "table",
    ) -> Answers:
        """From a pyarrow Table with (at least) the columns task, worker, label."""
        names = _column_names(columns)
        cols = {}
        for key in (*COLUMNS, *extra):
            name = names.get(key, key)
            if name not in table.column_names:
                raise ValueError(
                    f"{source}: missing column '{name}' (columns are {table.column_names}); rename or add it"
                )
            cols[key] = table.column(name)
        return _build(cols, source=source, labels=labels, duplicates=duplicates)

    @classmethod
    def read(
        cls,
        path: str | Path,
        *,
        format: str | None = None,
        labels: Sequence[Any] | None = None,
        duplicates: DuplicatePolicy = "keep",
        extra: Sequence[str] = (),
        columns: Mapping[str, str] | None = None,
        question: str | None = None,
    ) -> Answers:
        """Read CSV, TSV, JSONL or Parquet (by extension, or ``format``); every column as a string.

        ``columns`` renames, e.g. ``{"task": "item", "worker": "user"}``; ``question`` reads an
        assay export (``assay export --format csv|jsonl|parquet``): task = item id, worker =
        annotator, label = the answer to that question, rejected answers left out.
        """
        table = read_answers(path, format=format, columns=columns, question=question, extra=extra)
        cols = {name: table.column(name) for name in (*COLUMNS, *extra)}
        del table  # the columns are freed one by one as they are encoded
        answers = _build(cols, source=Path(path).name, labels=labels, duplicates=duplicates)
        # Arrow's allocator keeps freed pages for reuse by Arrow; NumPy cannot use them, so hand
        # them back now, before a fit allocates its arrays (a third of the peak on large files).
        _release()
        return answers

    # -- helpers --------------------------------------------------------------------------------

    def encode_gold(self, gold: Mapping[Any, Any]) -> tuple[IntArray, IntArray]:
        """Gold answers as ``(task codes, label codes)``; tasks nobody answered are left out.

        A gold label that no worker ever gave gets code -1: it can never be matched.
        """
        # Index only the gold tasks: a dict over every task id would cost ~80 bytes per task.
        wanted = {_key(t) for t in gold}
        task_index = {v: i for i, v in enumerate(self.tasks.tolist()) if v in wanted}
        label_index = _index(self.labels)
        pairs = [
            (task_index[_key(t)], label_index.get(_key(lab), -1))
            for t, lab in gold.items()
            if _key(t) in task_index
        ]
        arr = np.asarray(pairs, dtype=np.intp).reshape(-1, 2)
        return arr[:, 0], arr[:, 1]


def read_gold(path: str | Path, *, format: str | None = None) -> dict[str, str]:
    """Read a gold file with columns ``task,label`` into ``{task: label}``."""
    table = read_table(path, format=format)
    for name in ("task", "label"):
        if name not in table.column_names:
            raise ValueError(
                f"{Path(path).name}: missing column '{name}' (columns are {table.column_names}); "
                "a gold file needs task,label"
            )
    tasks, gold_labels = table.column("task").to_pylist(), table.column("label").to_pylist()
    for i, (t, lab) in enumerate(zip(tasks, gold_labels, strict=True)):
        if t is None or lab is None or t == "" or lab == "":
            raise ValueError(
                f"{Path(path).name}: row {i + 1} has an empty task or label; fill it in or drop it"
            )
    del table
    pa.default_memory_pool().release_unused()  # as in Answers.read: give Arrow's free pages back
    return dict(zip(tasks, gold_labels, strict=True))


# -- internals ----------------------------------------------------------------------------------


def _key(value: Any) -> Any:
    """Dictionary key for code-book lookups: numpy scalars compare like Python ones."""
    return value.item() if isinstance(value, np.generic) else value


def _index(book: np.ndarray[Any, Any]) -> dict[Any, int]:
    return {_key(v): i for i, v in enumerate(book.tolist())}


def _column_names(columns: Mapping[str, str] | None) -> dict[str, str]:
    return dict(columns or {})


def _to_arrow(values: Any, name: str) -> pa.ChunkedArray | pa.Array:
    """A column as pyarrow, NaN read as missing (pandas' marker for it)."""
    if isinstance(values, pa.Array | pa.ChunkedArray):
        return values
    if hasattr(values, "to_arrow"):  # polars Series
        return values.to_arrow()
    try:
        return pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # Mixed types (e.g. ints and strings): compare them by their text.
        return pa.array([None if v is None or v != v else str(v) for v in values])


def _natural_order(book: pa.Array) -> IntArray:
    """Sort order for a code book: numeric when every value reads as a number, else by text.

    Sorting happens in Arrow (C++): code books of millions of task ids stay fast.
    """
    text = book if pa.types.is_string(book.type) else pc.cast(book, pa.string())
    by_text = numbers(pc.array_sort_indices(text)).astype(np.intp)
    try:
        # One value first: ids such as "t17" fail at once instead of after parsing the whole book.
        pc.cast(book.slice(0, 1), pa.float64())
        as_float = pc.cast(book, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return by_text
    # Numbers first, text breaking ties ("1" before "1.0"): a stable sort of the text order.
    return by_text[np.argsort(numbers(as_float)[by_text], kind="stable")]


def _check_present(col: pa.ChunkedArray | pa.Array, name: str, source: str) -> None:
    if col.null_count == 0 and not pa.types.is_floating(col.type):
        return  # the common case: nothing to look for, so no mask is built
    missing = col.is_null(nan_is_null=True)
    if pc.any(missing).as_py():
        row = int(np.flatnonzero(missing.to_pylist())[0])
        raise ValueError(
            f"{source}: row {row + 1}: column '{name}' is empty (null/NaN); fill it in or drop the row"
        )


def _encode(col: pa.ChunkedArray | pa.Array) -> tuple[IntArray, np.ndarray[Any, Any]]:
    """Codes in sorted code-book order: one hashing pass, then a remap of the small code book.

    A dictionary-encoded column (as the file reader gives) is used as it is: its int32 indices are
    remapped without ever building a string per answer.
    """
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()  # dictionary chunks get one unified dictionary
    encoded = col if pa.types.is_dictionary(col.type) else pc.dictionary_encode(col)
    del col
    _release()  # unifying a million ids leaves tens of MB of Arrow pages behind
    indices = numbers(encoded.indices)
    dictionary = encoded.dictionary
    used = np.bincount(indices, minlength=len(dictionary)) > 0
    if not used.all():  # e.g. a categorical column with categories nobody answered
        dictionary = dictionary.filter(array(used))
        indices = (np.cumsum(used) - 1)[indices]
    order = _natural_order(dictionary)
    rank = np.empty(len(order), dtype=np.intp)
    rank[order] = np.arange(len(order))
    codes: IntArray = rank[indices]
    return codes, _book(dictionary.take(array(order)))


def _release() -> None:
    """Hand the pages Arrow's allocator keeps for reuse back to the system: NumPy cannot use them,
    so between the columns of a large file they only raise the peak."""
    pa.default_memory_pool().release_unused()


def _book(arr: pa.Array) -> np.ndarray[Any, Any]:
    out = np.empty(len(arr), dtype=object)
    out[:] = arr.to_pylist()
    return out


def _encode_declared(
    col: pa.ChunkedArray | pa.Array, declared: Sequence[Any], source: str
) -> tuple[IntArray, np.ndarray[Any, Any]]:
    book = pa.array(list(declared))
    if len(set(book.to_pylist())) != len(book):
        raise ValueError(f"declared labels {list(declared)} repeat a value; list each label once")
    values, value_set = col, book
    if book.type != col.type:
        values, value_set = pc.cast(col, pa.string()), pc.cast(book, pa.string())
    codes = pc.index_in(values, value_set=value_set)
    if codes.null_count:
        row = int(np.flatnonzero(codes.is_null().to_pylist())[0])
        raise ValueError(
            f"{source}: row {row + 1}: label {values[row].as_py()!r} is not one of the declared labels "
            f"{list(declared)}; correct the answer or declare the label"
        )
    return numbers(codes).astype(np.intp), _book(book)


def _build(
    cols: dict[str, pa.ChunkedArray | pa.Array],
    *,
    source: str,
    labels: Sequence[Any] | None,
    duplicates: DuplicatePolicy,
) -> Answers:
    if duplicates not in ("keep", "first", "last", "error"):
        raise ValueError(f"duplicates={duplicates!r}: choose keep, first, last or error")
    if len(cols["task"]) == 0:
        raise ValueError(f"{source}: no answers; give at least one row with task, worker, label")
    for name in COLUMNS:
        _check_present(cols[name], name, source)
    # Each column leaves ``cols`` (every caller passes a dict of its own) as it is encoded: when
    # nothing else holds it (as in ``Answers.read``), its Arrow memory is freed before the next
    # column's arrays grow.
    task, tasks = _encode(cols.pop("task"))
    worker, workers = _encode(cols.pop("worker"))
    if labels is None:
        label, label_book = _encode(cols.pop("label"))
    else:
        label, label_book = _encode_declared(cols.pop("label"), labels, source)
    _release()
    extra = {k: _values(v) for k, v in cols.items()}
    keep = _deduplicate(task, worker, n_workers=len(workers), policy=duplicates, source=source)
    if keep is not None:
        task, worker, label = task[keep], worker[keep], label[keep]
        extra = {k: v[keep] for k, v in extra.items()}
    return Answers(
        task=task, worker=worker, label=label, tasks=tasks, workers=workers, labels=label_book, extra=extra
    )


def _values(col: pa.ChunkedArray | pa.Array) -> np.ndarray[Any, Any]:
    """An extra column as NumPy: numbers as they are, anything else as Python objects."""
    if (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)) and not col.null_count:
        return numbers(col)
    if pa.types.is_dictionary(col.type):
        col = col.cast(col.type.value_type)
    out = np.empty(len(col), dtype=object)
    out[:] = col.to_pylist()
    return out


def _deduplicate(
    task: IntArray, worker: IntArray, *, n_workers: int, policy: DuplicatePolicy, source: str
) -> IntArray | None:
    """Rows to keep under ``policy``, or None to keep them all."""
    key = task.astype(np.int64)
    key *= n_workers
    key += worker
    key.sort()  # in place: the unsorted key is rebuilt below only when there are repeats
    n_dup = int(np.count_nonzero(key[1:] == key[:-1]))
    if n_dup == 0:
        return None
    key = task.astype(np.int64) * n_workers + worker
    uniq = pc.unique(array(key))
    if policy == "keep":
        warnings.warn(
            f"{source}: {n_dup} answers repeat a (task, worker) pair already answered; each is kept as "
            "a separate vote (pass duplicates='first', 'last' or 'error' to change that)",
            DuplicateAnswersWarning,
            stacklevel=3,
        )
        return None
    group = numbers(pc.index_in(array(key), value_set=uniq)).astype(np.intp)
    if policy == "error":
        first_row = np.full(len(uniq), -1, dtype=np.intp)
        _, first_idx = np.unique(group, return_index=True)
        first_row[group[first_idx]] = first_idx
        dup_rows = np.flatnonzero(first_row[group] != np.arange(len(group)))
        row = int(dup_rows[0])
        raise ValueError(
            f"{source}: rows {int(first_row[group[row]]) + 1} and {row + 1} both answer the same task by "
            f"the same worker ({n_dup} such repeats); drop the repeats or pass duplicates='first' or 'last'"
        )
    if policy == "first":
        _, idx = np.unique(group, return_index=True)
        return np.sort(idx)
    _, idx = np.unique(group[::-1], return_index=True)
    return np.sort(len(group) - 1 - idx)
