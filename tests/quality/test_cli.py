from __future__ import annotations

import csv
import io
from pathlib import Path

import typer
from typer.testing import CliRunner

from assay.cli.quality import register


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def _write(tmp_path: Path) -> tuple[Path, Path]:
    rows = ["task,worker,label"]
    gold = ["task,label"]
    for t in range(20):
        truth = "pos" if t % 2 else "neg"
        wrong = "neg" if t % 2 else "pos"
        rows += [f"t{t},a,{truth}", f"t{t},b,{truth}", f"t{t},c,{wrong if t % 5 == 0 else truth}"]
        gold.append(f"t{t},{truth}")
    answers, gold_path = tmp_path / "answers.csv", tmp_path / "gold.csv"
    answers.write_text("\n".join(rows) + "\n")
    gold_path.write_text("\n".join(gold[:17]) + "\n")  # 16 gold tasks
    return answers, gold_path


def test_aggregate_prints_labels_on_stdout_and_accuracy_on_stderr(tmp_path: Path) -> None:
    answers, gold = _write(tmp_path)
    result = CliRunner().invoke(_app(), ["aggregate", str(answers), "--gold", str(gold)])
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["task", "label", "confidence"]
    assert len(rows) == 20 and {r["task"]: r["label"] for r in rows}["t3"] == "pos"
    assert all(0.5 <= float(r["confidence"]) <= 1 for r in rows)
    assert result.stderr.strip().splitlines()[-1] == "accuracy: 1.0000 (n=16)"


def test_aggregate_every_method_with_out_and_workers_out(tmp_path: Path) -> None:
    answers, _ = _write(tmp_path)
    for method in ("mv", "wawa", "ds", "one-coin", "glad", "mace"):
        out, workers = tmp_path / f"{method}.csv", tmp_path / f"{method}-workers.csv"
        args = [
            "aggregate",
            str(answers),
            "--method",
            method,
            "--out",
            str(out),
            "--workers-out",
            str(workers),
        ]
        result = CliRunner().invoke(_app(), args)
        assert result.exit_code == 0, result.stderr
        assert result.stdout == ""
        assert len(out.read_text().splitlines()) == 21
        header, *lines = workers.read_text().splitlines()
        assert header == "worker,answers,skill" and len(lines) == 3


def test_aggregate_reports_bad_input_in_one_sentence(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("task,worker\n1,a\n")
    result = CliRunner().invoke(_app(), ["aggregate", str(bad)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "Error: bad.csv: missing column 'label'" in result.stderr


def test_aggregate_warns_about_repeated_answers_on_stderr(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("task,worker,label\n1,a,x\n1,a,x\n2,b,y\n")
    result = CliRunner().invoke(_app(), ["aggregate", str(path), "--method", "mv"])
    assert result.exit_code == 0
    assert "1 answers repeat" in result.stderr
    result = CliRunner().invoke(_app(), ["aggregate", str(path), "--duplicates", "error"])
    assert result.exit_code == 1 and "rows 1 and 2" in result.stderr


def test_agreement_prints_one_csv_row(tmp_path: Path) -> None:
    answers, _ = _write(tmp_path)
    for metric in ("krippendorff", "fleiss", "cohen", "percent"):
        result = CliRunner().invoke(
            _app(), ["agreement", str(answers), "--metric", metric, "--bootstrap", "50"]
        )
        assert result.exit_code == 0, result.stderr
        (row,) = list(csv.DictReader(io.StringIO(result.stdout)))
        assert row["metric"] == metric
        assert float(row["low"]) <= float(row["value"]) <= float(row["high"])
    result = CliRunner().invoke(_app(), ["agreement", str(answers), "--level", "interval"])
    assert result.exit_code == 1 and "numeric labels" in result.stderr
