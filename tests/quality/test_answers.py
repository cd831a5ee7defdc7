from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from assay.quality import Answers, DuplicateAnswersWarning, read_gold

ROWS = [("t1", "w1", "a"), ("t1", "w2", "b"), ("t2", "w1", "b"), ("t10", "w3", "a")]


def _as_tuples(answers: Answers) -> list[tuple[object, object, object]]:
    return sorted(
        zip(
            answers.tasks[answers.task].tolist(),
            answers.workers[answers.worker].tolist(),
            answers.labels[answers.label].tolist(),
            strict=True,
        )
    )


def test_rows_frames_tables_and_files_give_the_same_answers(tmp_path: Path) -> None:
    frame = pd.DataFrame(ROWS, columns=["task", "worker", "label"])
    (tmp_path / "a.csv").write_text("task,worker,label\n" + "\n".join(",".join(r) for r in ROWS) + "\n")
    (tmp_path / "a.tsv").write_text("task\tworker\tlabel\n" + "\n".join("\t".join(r) for r in ROWS) + "\n")
    (tmp_path / "a.jsonl").write_text(
        "\n".join(json.dumps(dict(zip(["task", "worker", "label"], r, strict=True))) for r in ROWS)
    )
    pq.write_table(pa.Table.from_pandas(frame), tmp_path / "a.parquet")
    built = [
        Answers.from_rows(ROWS),
        Answers.from_rows([{"task": t, "worker": w, "label": lab} for t, w, lab in ROWS]),
        Answers.from_frame(frame),
        Answers.from_arrow(pa.Table.from_pandas(frame)),
        *(Answers.read(tmp_path / f"a.{ext}") for ext in ("csv", "tsv", "jsonl", "parquet")),
    ]
    for answers in built:
        assert _as_tuples(answers) == sorted(ROWS)
        assert answers.labels.tolist() == ["a", "b"]
        assert (answers.n_tasks, answers.n_workers, len(answers)) == (3, 3, 4)


def test_code_books_sort_numbers_numerically() -> None:
    answers = Answers.from_rows([(1, "w", "10"), (2, "w", "9"), (3, "w", "1")])
    assert answers.labels.tolist() == ["1", "9", "10"]


def test_csv_keeps_ids_as_text(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("task,worker,label\n007,NA,1\n7,w,1\n")
    answers = Answers.read(path)
    assert sorted(answers.tasks.tolist()) == ["007", "7"]
    assert "NA" in answers.workers.tolist()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("task,worker\n1,a\n", "missing column 'label'"),
        ("task,worker,label\n", "no answers"),
        ("task,worker,label\n1,a,x\n2,b,\n", "row 2: column 'label' is empty"),
    ],
)
def test_bad_files_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        Answers.read(path)


def test_nan_label_in_a_frame_names_the_row() -> None:
    frame = pd.DataFrame({"task": [1, 2], "worker": ["a", "b"], "label": [1.0, np.nan]})
    with pytest.raises(ValueError, match="row 2: column 'label' is empty"):
        Answers.from_frame(frame)


def test_label_outside_the_declared_set_is_refused() -> None:
    with pytest.raises(ValueError, match=r"row 2: label 'c' is not one of the declared labels"):
        Answers.from_rows([(1, "w", "a"), (2, "w", "c")], labels=["a", "b"])
    answers = Answers.from_rows([(1, "w", "b")], labels=["a", "b"])
    assert answers.labels.tolist() == ["a", "b"] and answers.label.tolist() == [1]


def test_duplicates_are_kept_with_a_warning_that_counts_them() -> None:
    rows = [(1, "w", "a"), (1, "w", "b"), (1, "w", "b"), (2, "w", "a")]
    with pytest.warns(DuplicateAnswersWarning, match="2 answers repeat"):
        kept = Answers.from_rows(rows)
    assert len(kept) == 4
    first = Answers.from_rows(rows, duplicates="first")
    last = Answers.from_rows(rows, duplicates="last")
    assert _as_tuples(first) == [(1, "w", "a"), (2, "w", "a")]
    assert _as_tuples(last) == [(1, "w", "b"), (2, "w", "a")]
    with pytest.raises(ValueError, match="rows 1 and 2 both answer the same task"):
        Answers.from_rows(rows, duplicates="error")


def test_gold_file_and_encoding(tmp_path: Path) -> None:
    path = tmp_path / "gold.csv"
    path.write_text("task,label\nt1,a\nt2,zz\nunseen,a\n")
    answers = Answers.from_rows(ROWS)
    tasks, labels = answers.encode_gold(read_gold(path))
    assert answers.tasks[tasks].tolist() == ["t1", "t2"]
    assert labels.tolist() == [0, -1]


def test_from_codes_checks_ranges() -> None:
    answers = Answers.from_codes(task=[0, 1], worker=[0, 0], label=[1, 0])
    assert (answers.n_tasks, answers.n_labels) == (2, 2)
    with pytest.raises(ValueError, match="column 'label'"):
        Answers.from_codes(task=[0], worker=[0], label=[3], labels=2)
