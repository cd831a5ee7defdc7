"""``assay import`` of bad files: one line per problem, never a traceback, and hints the CLI user can type."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from assay.app import Assay
from assay.cli.main import app
from assay.limits import MAX_DEPTH
from assay.settings import Config
from assay.workflows import projects as project_flows
from tests.factories import TEXT_SCHEMA, make_member, make_org, text_items

runner = CliRunner()


@pytest.fixture
def cli_env(db_url: str, tmp_path: Path) -> dict[str, str]:
    env = {"ASSAY_DATABASE_URL": db_url, "ASSAY_DATA_DIR": str(tmp_path)}
    assert runner.invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    hub = Assay(Config.from_env(env))
    manager = make_member(hub, make_org(hub, "acme"), role="manager")
    project_flows.create(hub, manager.actor(hub), name="triage", schema=TEXT_SCHEMA)
    hub.close()
    return env


def _import(env: dict[str, str], path: Path, *extra: str) -> tuple[int, str]:
    result = runner.invoke(app, ["import", "triage", str(path), *extra], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stderr


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_deeply_nested_json_is_one_line_naming_the_item(
    cli_env: dict[str, str], tmp_path: Path, fmt: str
) -> None:
    deep = b"[" * 50_000 + b"]" * 50_000
    record = b'{"data": {"text": "x", "extra": ' + deep + b"}}"
    path = tmp_path / f"deep.{fmt}"
    path.write_bytes(b"[" + record + b"]" if fmt == "json" else record + b"\n")
    code, err = _import(cli_env, path)
    assert code == 2
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    unit = "item" if fmt == "json" else "line"
    assert lines[0].startswith(f"error: deep.{fmt}: {unit} 1")
    assert f"nested deeper than {MAX_DEPTH} levels" in lines[0]


def test_the_duplicate_hint_names_the_flag(cli_env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "items.jsonl"
    path.write_bytes(b"".join(orjson.dumps(i) + b"\n" for i in text_items(2)))
    assert _import(cli_env, path)[0] == 0
    code, err = _import(cli_env, path)
    assert code == 2
    assert "(--on-duplicate skip skips such items)" in err
    assert "on_duplicate=skip" not in err
    code, err = _import(cli_env, path, "--on-duplicate", "skip")
    assert code == 0, err
