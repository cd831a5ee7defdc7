"""`assay import-answers`: a vendor's delivery from a file, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from assay.cli.main import app
from tests.factories import text_items

runner = CliRunner()


@pytest.fixture
def cli_env(db_url: str, tmp_path: Path) -> dict[str, str]:
    return {"ASSAY_DATABASE_URL": db_url, "ASSAY_DATA_DIR": str(tmp_path)}


def _run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_import_answers_from_a_file_once(cli_env: dict[str, str], tmp_path: Path) -> None:
    from assay.app import Assay
    from assay.settings import Config
    from assay.workflows import admin, export
    from assay.workflows import projects as project_flows
    from tests.factories import make_member

    assert _run(cli_env, "db", "upgrade")[0] == 0
    assert _run(cli_env, "org", "create", "acme")[0] == 0
    hub = Assay(Config.from_env({"ASSAY_DATABASE_URL": cli_env["ASSAY_DATABASE_URL"]}))
    try:
        manager = make_member(hub, "acme", role="manager").actor(hub)
        admin.create_user(
            hub,
            org="acme",
            email="lead@vendor.test",
            role="annotator",
            workforce="Vendor A",
            workforce_kind="vendor",
        )
        schema = {
            "inputs": [{"name": "text", "kind": "text"}],
            "questions": [{"name": "label", "kind": "choice", "options": ["a", "b"]}],
        }
        project_flows.create(hub, manager, name="triage", schema=schema, settings={"overlap": 3})
        items = tmp_path / "items.jsonl"
        items.write_bytes(b"".join(orjson.dumps(i) + b"\n" for i in text_items(3)))
        assert _run(cli_env, "import", "triage", str(items))[0] == 0

        delivery = tmp_path / "delivery.csv"
        delivery.write_text(
            "external_id,annotator,answers,duration_ms\n"
            'x-0,kim,"{""label"": ""a""}",3000\n'
            'x-1,kim,"{""label"": ""b""}",2500\n'
            'x-1,lee,"{""label"": ""b""}",\n'
        )
        code, _, err = _run(cli_env, "import-answers", "triage", str(delivery), "--workforce", "Vendor A")
        assert code == 0, err
        assert "imported 3 answers by 2 annotators (2 new) into triage" in err
        code, _, err = _run(cli_env, "import-answers", "triage", str(delivery), "--workforce", "Vendor A")
        assert code == 0 and "imported 0 answers" in err and "skipped 3 imported before" in err, err

        bad = tmp_path / "bad.jsonl"
        bad.write_bytes(
            orjson.dumps({"external_id": "x-2", "annotator": "kim", "answers": {"label": "a"}})
            + b"\n"
            + orjson.dumps({"external_id": "x-2", "annotator": "ann", "answers": {"label": "c"}})
            + b"\n"
        )
        code, _, err = _run(cli_env, "import-answers", "triage", str(bad), "--workforce", "Vendor A")
        assert code == 2 and "bad.jsonl: line 2: answers.label" in err and "nothing was imported" in err, err
        code, _, err = _run(cli_env, "import-answers", "triage", str(delivery), "--workforce", "Vendor Z")
        assert code != 0 and "workforce 'Vendor Z' does not exist" in err, err

        project = project_flows.get(hub, manager, 1)
        lines = [
            orjson.loads(x)
            for x in b"".join(export.stream(hub, manager, project, fmt="jsonl", filters=None)).splitlines()
        ]
        answers = {
            (r["external_id"], a["workforce"], a["answers"]["label"]) for r in lines for a in r["annotations"]
        }
        assert answers == {("x-0", "Vendor A", "a"), ("x-1", "Vendor A", "b")}
        assert sum(len(r["annotations"]) for r in lines) == 3
    finally:
        hub.close()
