"""The command line, in-process with Typer's runner, against SQLite and PostgreSQL."""

from __future__ import annotations

import io
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


def _run(env: dict[str, str], *args: str, input: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=env, input=input)
    return result.exit_code, result.stdout, result.stderr


def test_help_lists_the_design_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in (
        "serve",
        "demo",
        "db",
        "org",
        "user",
        "token",
        "import",
        "export",
        "aggregate",
        "agreement",
    ):
        assert command in result.stdout


def test_org_user_token_import_export_round_trip(cli_env: dict[str, str], tmp_path: Path) -> None:
    from assay.app import Assay
    from assay.security import hash_token
    from assay.settings import Config
    from assay.storage import people
    from assay.workflows import projects as project_flows

    assert _run(cli_env, "db", "upgrade")[0] == 0
    assert _run(cli_env, "org", "create", "acme", "--name", "Acme Lab")[0] == 0
    code, _, err = _run(cli_env, "org", "create", "acme")
    assert code != 0 and "already exists" in err
    code, _, err = _run(
        cli_env,
        "user",
        "create",
        "--org",
        "acme",
        "--email",
        "Lead@Acme.test",
        "--role",
        "manager",
        "--password-stdin",
        input="correct horse battery\n",
    )
    assert code == 0, err
    code, _, err = _run(
        cli_env,
        "user",
        "create",
        "--org",
        "acme",
        "--email",
        "ann@acme.test",
        "--role",
        "annotator",
        "--workforce",
        "Vendor A",
        "--vendor",
    )
    assert code == 0, err
    code, out, _ = _run(cli_env, "token", "create", "--org", "acme", "--email", "lead@acme.test")
    assert code == 0 and out.startswith("assay_") and len(out.strip().splitlines()) == 1
    token = out.strip()

    hub = Assay(Config.from_env({"ASSAY_DATABASE_URL": cli_env["ASSAY_DATABASE_URL"]}))
    with hub.db.read() as conn:
        manager = people.actor_for_token(conn, token_hash=hash_token(token))
    assert manager is not None and manager.role.label == "manager" and manager.email == "lead@acme.test"
    schema = {
        "inputs": [{"name": "text", "kind": "text"}],
        "questions": [{"name": "label", "kind": "choice", "options": ["a", "b"]}],
    }
    project = project_flows.create(hub, manager, name="triage", schema=schema, settings={"overlap": 1})

    items = tmp_path / "items.jsonl"
    items.write_bytes(b"".join(orjson.dumps(i) + b"\n" for i in text_items(50)))
    code, _, err = _run(cli_env, "import", "triage", str(items))
    assert code == 0, err
    assert "imported 50 items" in err

    bad = tmp_path / "bad.jsonl"
    lines = [orjson.dumps(i) for i in text_items(10, start=100)]
    lines[6] = b'{"data": {"text": 5}}'
    bad.write_bytes(b"\n".join(lines) + b"\n")
    code, _, err = _run(cli_env, "import", str(project.id), str(bad))
    assert code == 2 and "line 7" in err and "data.text" in err and "nothing was imported" in err

    out_file = tmp_path / "out.jsonl"
    code, _, err = _run(cli_env, "export", "triage", "--format", "jsonl", "--out", str(out_file))
    assert code == 0, err
    rows = [orjson.loads(line) for line in out_file.read_bytes().splitlines()]
    assert len(rows) == 50 and rows[0]["external_id"] == "x-0"
    code, out, _ = _run(cli_env, "export", "triage", "--format", "csv")
    assert code == 0 and out.splitlines()[0].startswith("item_id")

    # --batch puts the whole file in one batch; a bad name is refused before anything is read.
    batched = tmp_path / "batched.jsonl"
    batched.write_bytes(b"".join(orjson.dumps(i) + b"\n" for i in text_items(4, start=200)))
    code, _, err = _run(cli_env, "import", "triage", str(batched), "--batch", " ")
    assert code == 2 and "batch=' '" in err and "not blank" in err, err
    code, _, err = _run(cli_env, "import", "triage", str(batched), "--batch", "hard")
    assert code == 0 and "imported 4 items" in err, err
    code, out, _ = _run(cli_env, "export", "triage", "--format", "jsonl")
    batches = [orjson.loads(line)["batch"] for line in out.splitlines()]
    assert batches == [None] * 50 + ["hard"] * 4
    hub.close()


def test_unknown_project_and_missing_file_are_clear_errors(cli_env: dict[str, str], tmp_path: Path) -> None:
    assert _run(cli_env, "org", "create", "acme")[0] == 0
    code, _, err = _run(cli_env, "import", "nope", str(tmp_path / "missing.jsonl"))
    assert code != 0 and "no such file" in err
    (tmp_path / "x.jsonl").write_text("{}\n")
    code, _, err = _run(cli_env, "import", "nope", str(tmp_path / "x.jsonl"))
    assert code != 0 and "project 'nope' does not exist" in err


def test_bad_role_is_refused(cli_env: dict[str, str]) -> None:
    assert _run(cli_env, "org", "create", "acme")[0] == 0
    code, _, err = _run(cli_env, "user", "create", "--org", "acme", "--email", "a@b.c", "--role", "boss")
    assert code != 0 and "unknown role 'boss'" in err


def test_demo_seeds_four_projects(cli_env: dict[str, str]) -> None:
    code, out, err = _run(cli_env, "demo", "--no-serve")
    assert code == 0, err
    assert "owner@demo.assay.local" in out
    assert out.count("items imported") == 4
    assert "ranking  (60 items imported)" in out
    code, out, _ = _run(cli_env, "demo", "--no-serve")  # a second run keeps the data, new passwords
    assert code == 0 and "items imported" not in out


def test_export_filters_pass_through_and_bad_ones_name_the_flag(cli_env: dict[str, str]) -> None:
    code, _, err = _run(cli_env, "demo", "--no-serve")
    assert code == 0, err
    code, out, err = _run(cli_env, "export", "classify", "--format", "jsonl")
    assert code == 0, err
    assert sum(len(orjson.loads(line)["annotations"]) for line in out.splitlines()) > 0
    # The demo's simulated answers are unreviewed: with --reviewed-only no answer is left.
    code, out, err = _run(cli_env, "export", "classify", "--format", "jsonl", "--reviewed-only")
    assert code == 0, err
    assert [orjson.loads(line)["annotations"] for line in out.splitlines()] == [[]] * len(out.splitlines())
    args = ("export", "preference", "--format", "dpo", "--min-answers", "2", "--min-confidence", "0.6")
    assert _run(cli_env, *args, "--ties", "keep")[0] == 0
    code, _, err = _run(cli_env, *args, "--ties", "maybe")
    assert code == 2 and "ties" in err and "'drop' or 'keep'" in err, err
    code, _, err = _run(cli_env, "export", "preference", "--format", "dpo", "--min-answers", "0")
    assert code == 2 and "min_answers" in err and "at least 1" in err, err
    code, _, err = _run(cli_env, "export", "classify", "--format", "csv", "--min-answers", "2")
    assert code == 2 and "min_answers does not apply to the csv export" in err, err
    # The preference project's only text question is a rationale; the rubric's rewrite is a completion.
    code, _, err = _run(cli_env, "export", "preference", "--format", "sft")
    assert code == 2 and "completion: true" in err, err
    assert _run(cli_env, "export", "rubric", "--format", "sft", "--min-answers", "1")[0] == 0


def test_cli_default_method_is_the_engines() -> None:
    from assay.cli import quality as cli_quality
    from assay.quality import DEFAULT_METHOD

    assert cli_quality.DEFAULT_METHOD == DEFAULT_METHOD


def test_jobs_run_drains_the_queue_and_list_shows_it(cli_env: dict[str, str], tmp_path: Path) -> None:
    from assay.app import Assay
    from assay.settings import Config
    from assay.workflows import annotate, jobs
    from assay.workflows import projects as project_flows
    from tests.factories import TEXT_SCHEMA, make_member, make_org

    assert _run(cli_env, "db", "upgrade")[0] == 0
    with Assay(Config(data_dir=tmp_path, database_url=cli_env["ASSAY_DATABASE_URL"])) as hub:
        org = make_org(hub)
        manager = make_member(hub, org, role="manager").actor(hub)
        project = project_flows.create(hub, manager, name="p", schema=TEXT_SCHEMA)
        from assay.workflows import ingest

        body = b"".join(orjson.dumps(i) + b"\n" for i in text_items(2))
        ingest.import_items(hub, manager, project, source=io.BytesIO(body), fmt="jsonl", name="i.jsonl")
        annotator = make_member(hub, org).actor(hub)
        lease = annotate.next_item(hub, annotator, project.id)
        assert lease is not None
        annotate.submit(hub, annotator, lease.assignment_id, answers={"sentiment": "neutral"})
    code, out, _ = _run(cli_env, "jobs", "list")
    assert code == 0 and jobs.QUALITY_REFRESH in out and "queued" in out
    code, _, err = _run(cli_env, "jobs", "run")
    assert code == 0 and "ran 1 jobs, 0 failed" in err, err
    code, out, _ = _run(cli_env, "jobs", "list")
    assert code == 0 and "queued" not in out and "done" in out
    code, _, err = _run(cli_env, "jobs", "run")
    assert code == 0 and "ran 0 jobs" in err


def test_a_user_created_without_a_password_gets_a_one_time_link(cli_env: dict[str, str]) -> None:
    """`assay user create` without --password-stdin made a user who could never sign in, silently;
    now it prints the link through which they set their own password (and a reset makes another)."""
    from assay.app import Assay
    from assay.settings import Config
    from assay.workflows import accounts

    assert _run(cli_env, "org", "create", "lab")[0] == 0
    code, out, err = _run(
        cli_env, "user", "create", "--org", "lab", "--email", "new@lab.test", "--role", "reviewer",
        "--url", "https://assay.lab.test/",
    )  # fmt: skip
    assert code == 0, err
    link = out.strip()
    assert link.startswith("https://assay.lab.test/invitations/") and "one-time link" in err
    token = link.rsplit("/", 1)[1]
    config = Config.from_env({"ASSAY_DATABASE_URL": cli_env["ASSAY_DATABASE_URL"]})
    with Assay(config) as hub:
        assert accounts.read_link(hub, token)["email"] == "new@lab.test"
        accounts.use_link(hub, token, password="chosen by them", ip=None)
    # With a password set, creating again hands out nothing; a reset link is for that.
    code, out, _ = _run(
        cli_env, "user", "create", "--org", "lab", "--email", "new@lab.test", "--role", "reviewer"
    )
    assert code == 0 and out.strip() == ""
    code, out, err = _run(cli_env, "user", "reset-password", "--org", "lab", "--email", "new@lab.test")
    assert code == 0 and out.strip().startswith("http://127.0.0.1:8000/invitations/"), err
    code, _, err = _run(cli_env, "user", "reset-password", "--org", "lab", "--email", "nobody@lab.test")
    assert code != 0 and "not a member" in err
