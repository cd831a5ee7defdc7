"""`assay model add|list` and `assay generate` against the real model server, on SQLite and
PostgreSQL; a generation killed with SIGKILL mid-way continues where it stopped when run again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from assay.cli.main import app
from tests.model_server import MODEL

runner = CliRunner()
SCHEMA: dict[str, Any] = {
    "inputs": [
        {"name": "prompt", "kind": "text"},
        {"name": "responses", "kind": "responses", "required": False},
    ],
    "questions": [{"name": "best", "kind": "ranking"}],
}


@pytest.fixture
def cli_env(db_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "ASSAY_DATABASE_URL": db_url,
        "ASSAY_DATA_DIR": str(tmp_path),
        "ASSAY_MODEL_HOSTS": "127.0.0.1",
        "ASSAY_MODEL_RETRIES": "1",
        # The key that seals API keys, as `assay serve` would find it (made on first use).
        "ASSAY_SECRET_KEY_FILE": str(tmp_path / "secret_key"),
    }


def _run(env: dict[str, str], *args: str, input: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=env, input=input)
    return result.exit_code, result.stdout, result.stderr


def _items(url: str) -> dict[str, Any]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT external_id, data, waiting FROM items")).all()
    finally:
        engine.dispose()
    out = {}
    for ext, data, waiting in rows:
        data = orjson.loads(data) if isinstance(data, str) else data
        out[ext] = (data.get("responses"), bool(waiting))
    return out


def _job(url: str) -> tuple[str, int] | None:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(sa.text("SELECT state, done FROM jobs WHERE kind = 'generate'")).first()
    finally:
        engine.dispose()
    return None if row is None else (row[0], int(row[1]))


def test_model_commands_and_a_killed_generation_that_goes_on(
    cli_env: dict[str, str], tmp_path: Path, model_server: Any, db_url: str
) -> None:
    from assay.app import Assay
    from assay.settings import Config
    from assay.workflows import projects as project_flows
    from tests.factories import make_member

    assert _run(cli_env, "db", "upgrade")[0] == 0
    assert _run(cli_env, "org", "create", "acme")[0] == 0
    for name in ("alpha", "beta"):
        code, _, err = _run(
            cli_env,
            "model",
            "add",
            name,
            "--base-url",
            model_server.base_url,
            "--model",
            MODEL,
            "--param",
            "max_tokens=8",
            "--param",
            f"temperature={0.2 if name == 'alpha' else 0.9}",
        )
        assert code == 0, err
    # The key comes from standard input, never from an argument that `ps` would show.
    code, _, err = _run(
        cli_env,
        "model",
        "add",
        "keyed",
        "--base-url",
        model_server.base_url,
        "--model",
        MODEL,
        "--api-key-stdin",
        "--input-price",
        "0.5",
        input="sk-cli-secret-0042\n",
    )
    assert code == 0, err
    code, out, _ = _run(cli_env, "model", "list")
    assert code == 0 and "alpha" in out and "beta" in out and "sk-cli-secret" not in out
    code, _, err = _run(
        cli_env, "model", "add", "evil", "--base-url", "http://169.254.169.254/v1", "--model", "m"
    )
    assert code == 2 and "base_url: 169.254.169.254:80 is not among the hosts" in err

    hub = Assay(Config.from_env({"ASSAY_DATABASE_URL": db_url}))
    try:
        manager = make_member(hub, "acme", role="manager").actor(hub)
        project_flows.create(hub, manager, name="gen", schema=SCHEMA)
    finally:
        hub.db.dispose()
    items = tmp_path / "items.jsonl"
    items.write_bytes(
        b"".join(
            orjson.dumps({"data": {"prompt": f"Write the number {i} in words."}, "external_id": f"n{i}"})
            + b"\n"
            for i in range(24)
        )
    )
    assert _run(cli_env, "import", "gen", str(items))[0] == 0

    # Kill a generation hard once a few items are stored.
    env = {**os.environ, **cli_env, "ASSAY_MODEL_CONCURRENCY": "2"}
    log = tmp_path / "generate.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "assay.cli.main", "generate", "gen", "--models", "alpha,beta"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = _job(db_url)
        if job is not None and job[1] >= 4:
            break
        if proc.poll() is not None:
            pytest.fail(f"generate ended before it could be killed: {log.read_text(errors='replace')}")
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert _job(db_url)[0] == "running"  # type: ignore[index]
    before = _items(db_url)
    filled = {k: v[0] for k, v in before.items() if not v[1]}
    assert 0 < len(filled) < 24

    code, _, err = _run(cli_env, "generate", "gen", "--models", "alpha,beta")
    assert code == 0, err
    assert "generated for" in err
    after = _items(db_url)
    for ext, (responses, waiting) in after.items():
        assert not waiting, ext
        assert [r["id"] for r in responses] == ["alpha", "beta"], ext  # each (model, sample) once
    for ext, responses in filled.items():
        assert after[ext][0] == responses  # what was stored before the kill was not asked again
    assert _job(db_url)[0] == "done"  # type: ignore[index]
