"""``assay aggregate`` and ``assay agreement`` read assay's own exports and other column names."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from assay.app import Assay
from assay.cli.quality import register
from assay.web.app import create_app
from assay.workflows import review
from tests.factories import make_member, make_org

# Options a spreadsheet would run as formulas: the CSV export guards them with a leading "'".
OPTIONS = ["+ve", "-ve", "=mixed"]
SCHEMA: dict[str, Any] = {
    "inputs": [{"name": "text", "kind": "text"}],
    "questions": [
        {"name": "tone", "kind": "choice", "options": OPTIONS},
        {"name": "note", "kind": "text", "required": False},
    ],
}


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(_app(), list(args))
    return result.exit_code, result.stdout, result.stderr


def _labels(stdout: str) -> dict[str, str]:
    rows = list(csv.DictReader(io.StringIO(stdout)))
    assert rows and list(rows[0]) == ["task", "label", "confidence"]
    return {r["task"]: r["label"] for r in rows}


@pytest.fixture
def api(hub: Assay) -> Iterator[TestClient]:
    with TestClient(create_app(hub), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def exports(hub: Assay, api: TestClient, tmp_path: Path) -> dict[str, Any]:
    """Three annotators on four items (one unanswered); the third annotator's answers are all
    wrong, and a reviewer rejects two of them.  Exported in every raw format."""
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    created = api.post(
        "/api/v1/projects",
        json={"name": "tones", "schema": SCHEMA, "settings": {"overlap": 3}},
        headers=manager.headers,
    )
    project_id = int(created.json()["id"])
    items = [{"data": {"text": f"message {i}"}, "external_id": f"m-{i}"} for i in range(4)]
    assert api.post(f"/api/v1/projects/{project_id}/items", json=items, headers=manager.headers).is_success
    truth = {"m-0": "+ve", "m-1": "-ve", "m-2": "=mixed"}
    wrong = {"m-0": "-ve", "m-1": "=mixed", "m-2": "+ve"}
    annotation_ids: dict[tuple[int, str], int] = {}
    item_ids: dict[str, int] = {}
    for n in range(3):
        annotator = make_member(hub, org, workforce="Vendor A", vendor=True)
        while (
            lease := api.get(f"/api/v1/projects/{project_id}/next", headers=annotator.headers)
        ).status_code == 200:
            body = lease.json()
            external = api.get(f"/api/v1/items/{body['item']['id']}", headers=manager.headers).json()[
                "external_id"
            ]
            item_ids[external] = int(body["item"]["id"])
            if external not in truth:
                api.post(f"/api/v1/assignments/{body['assignment_id']}/skip", headers=annotator.headers)
                continue
            answer = {"tone": (wrong if n == 2 else truth)[external], "note": "+1 from me"}
            done = api.post(
                f"/api/v1/assignments/{body['assignment_id']}/submit",
                json={"answers": answer},
                headers=annotator.headers,
            )
            assert done.status_code == 201, done.text
            annotation_ids[(n, external)] = int(done.json()["id"])
    reviewer = make_member(hub, org, role="reviewer").actor(hub)
    for external in ("m-0", "m-1"):
        review.judge(hub, reviewer, annotation_ids[(2, external)], verdict="reject", reason="read the guide")
    paths = {}
    for fmt in ("csv", "jsonl", "parquet"):
        response = api.get(f"/api/v1/projects/{project_id}/export?format={fmt}", headers=manager.headers)
        assert response.status_code == 200, response.text
        paths[fmt] = tmp_path / f"tones.{fmt}"
        paths[fmt].write_bytes(response.content)
    return {"paths": paths, "truth": {str(item_ids[e]): t for e, t in truth.items()}}


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_aggregate_reads_an_assay_export_for_one_question(
    exports: dict[str, Any], fmt: str, tmp_path: Path
) -> None:
    path = exports["paths"][fmt]
    workers = tmp_path / "workers.csv"
    code, out, err = _run(
        "aggregate", str(path), "--question", "tone", "--method", "mv", "--workers-out", str(workers)
    )
    assert code == 0, err
    # Task = item id; the unanswered item is no task; labels come back without the CSV's guards.
    assert _labels(out) == exports["truth"]
    counts = sorted(int(r["answers"]) for r in csv.DictReader(io.StringIO(workers.read_text())))
    assert counts == [1, 3, 3]  # the two rejected answers are no votes
    code, out, err = _run("agreement", str(path), "--question", "tone", "--bootstrap", "20")
    assert code == 0, err
    assert next(csv.DictReader(io.StringIO(out)))["items"] == "3"


def test_an_export_needs_a_question_that_it_has(exports: dict[str, Any]) -> None:
    csv_path, jsonl_path = exports["paths"]["csv"], exports["paths"]["jsonl"]
    code, out, err = _run("aggregate", str(csv_path))
    assert code == 1 and out == ""
    assert "missing column 'task'" in err and "--question" in err and "one of tone, note" in err, err
    code, _, err = _run("aggregate", str(csv_path), "--question", "mood")
    assert code == 1 and "no question 'mood'" in err and "tone, note" in err, err
    code, _, err = _run("aggregate", str(jsonl_path), "--question", "mood")
    assert code == 1 and "no answers to 'mood'" in err, err
    code, _, err = _run("aggregate", str(csv_path), "--question", "tone", "--columns", "task=item_id")
    assert code == 1 and "drop the column mapping" in err, err


def test_a_plain_file_is_not_read_as_an_export(tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    path.write_text("task,worker,label\nt1,a,x\n")
    code, _, err = _run("aggregate", str(path), "--question", "tone")
    assert code == 1 and "not an assay export" in err and "item_id" in err, err


def _mapped(tmp_path: Path) -> Path:
    path = tmp_path / "mapped.tsv"
    rows = ["item\tuser\tanswer\tseconds"]
    for t in range(6):
        truth = "yes" if t % 2 else "no"
        rows += [f"i{t}\tann\t{truth}\t3", f"i{t}\tbob\t{truth}\t4", f"i{t}\tcy\tno\t1"]
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize(
    "mapping",
    [
        ["--columns", "task=item,worker=user,label=answer"],
        ["--task-col", "item", "--worker-col", "user", "--label-col", "answer"],
        ["--columns", "task=item, worker=user", "--label-col", "answer"],
    ],
)
def test_aggregate_with_a_column_mapping(tmp_path: Path, mapping: list[str]) -> None:
    code, out, err = _run("aggregate", str(_mapped(tmp_path)), *mapping)
    assert code == 0, err
    assert _labels(out) == {f"i{t}": "yes" if t % 2 else "no" for t in range(6)}


@pytest.mark.parametrize(
    ("mapping", "words"),
    [
        (["--columns", "task:item"], "write task=COLUMN,worker=COLUMN,label=COLUMN"),
        (["--columns", "item=task"], "write task=COLUMN"),
        (["--columns", "task=item,task=user"], "names task twice"),
        (["--columns", "task=item", "--task-col", "user"], "disagree"),
        (["--columns", "task=item,worker=user"], "missing column 'label'"),
        (["--columns", "task=item,worker=person,label=answer"], "missing column 'person'"),
    ],
)
def test_a_bad_mapping_is_one_error_line(tmp_path: Path, mapping: list[str], words: str) -> None:
    code, out, err = _run("aggregate", str(_mapped(tmp_path)), *mapping)
    assert code == 1 and out == ""
    assert err.startswith("Error: ") and words in err, err


def test_labels_that_need_quotes_are_quoted(tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    path.write_text('task,worker,label\n"t,1",a,"x ""big"""\n"t,1",b,"x ""big"""\nt2,a,y\n')
    code, out, err = _run("aggregate", str(path), "--method", "mv")
    assert code == 0, err
    assert out.splitlines()[1:] == ['"t,1","x ""big""",1.000000', "t2,y,1.000000"]


def test_aggregate_loads_only_the_quality_engine(tmp_path: Path) -> None:
    # In a fresh interpreter: the command on a bare app imports no database, web, schema or pandas
    # module (pyarrow pulls pandas in, 40 MB, whenever an array is built from Python objects).
    path = tmp_path / "answers.csv"
    path.write_text("task,worker,label\nt1,a,x\nt1,b,x\nt2,a,y\n")
    script = f"""
import sys, typer
from assay.cli.quality import register
app = typer.Typer()
register(app)
try:
    app(["aggregate", {str(path)!r}, "--out", {str(tmp_path / "out.csv")!r}])
except SystemExit as exc:
    assert not exc.code, exc.code
heavy = ("sqlalchemy", "fastapi", "starlette", "alembic", "pandas", "assay.storage", "assay.web",
         "assay.workflows", "assay.domain", "assay.formats.writers")
print(sorted(m for m in sys.modules if m.startswith(heavy)))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", done.stdout
    assert (tmp_path / "out.csv").read_text().splitlines()[0] == "task,label,confidence"
