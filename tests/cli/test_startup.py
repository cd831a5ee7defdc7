"""`assay --help` and every `assay X --help` load none of the heavy stacks.

Structural, not timed: the time they take is measured by bench/cli/startup.py (bench/README.md).
Each command's help is rendered in one fresh interpreter, in turn, and the heavy packages in
``sys.modules`` are read after each, so a command whose module pulls in the database, the web
stack or the quality engine at import is named.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = (
    "sqlalchemy",
    "alembic",
    "pyarrow",
    "numpy",
    "scipy",
    "fastapi",
    "starlette",
    "uvicorn",
    "pydantic",  # Typer reaches for it to coerce a group's absent --help flag (cli.main.Group)
    "psycopg",
    "jinja2",
    "argon2",
)

PROBE = """
import json, sys
import typer.main
from assay.cli.main import app

heavy = set(json.loads(sys.argv[1]))

def loaded():
    return sorted({name.split(".")[0] for name in sys.modules} & heavy)

def commands(command, path):
    yield path
    if hasattr(command, "list_commands"):  # a group: its commands, those imported lazily too
        for name in sorted(command.list_commands(None)):
            yield from commands(command.get_command(None, name), [*path, name])

report = {"import": loaded()}
for path in commands(typer.main.get_command(app), []):
    try:
        app([*path, "--help"], prog_name="assay")
    except SystemExit:
        pass
    report[" ".join(["assay", *path])] = loaded()
with open(sys.argv[2], "w") as fh:
    json.dump(report, fh)
"""


def test_help_loads_no_database_web_or_numeric_package(tmp_path: Path) -> None:
    out = tmp_path / "loaded.json"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(HEAVY), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report: dict[str, list[str]] = json.loads(out.read_text())
    # Every command was reached (the probe walks the command tree), the quality ones included.
    for command in ("assay", "assay serve", "assay import", "assay db backup", "assay aggregate"):
        assert command in report, sorted(report)
    assert len(report) >= 20
    assert {command: mods for command, mods in report.items() if mods} == {}
