"""``assay import-answers``: a vendor's delivery of answers, from a file.

Loaded only when it runs (``common.Commands.LAZY``), like the quality commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, BinaryIO, cast

import typer

from assay.cli import common
from assay.cli.common import DatabaseUrl, DataDir, OrgOption, errors_to_exit, open_hub


def import_answers_command(
    project: Annotated[str, typer.Argument(help="Project id or name.")],
    file: Annotated[Path, typer.Argument(help="Answers: JSONL, JSON array, CSV or Parquet.", exists=False)],
    workforce: Annotated[
        str,
        typer.Option(
            "--workforce", help="The workforce that delivered them (rows may name another in `workforce`)."
        ),
    ],
    format: Annotated[
        str | None,
        typer.Option("--format", help="jsonl, json, csv or parquet (default: from the file name)."),
    ] = None,
    org: OrgOption = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Import answers given outside assay: all-or-nothing, idempotent, counted like answers given here.

    Each row names the item (item_id or external_id), the annotator (the vendor's name for them,
    made an external member of the workforce, who can never sign in), the answers, and optionally
    created_at, duration_ms and a key.  Importing the same file again writes nothing new.
    """
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    from assay.formats.readers import detect_format
    from assay.workflows import deliveries

    with errors_to_exit():
        if not file.is_file():
            common.fail(f"{file}: no such file")
        with open_hub(data_dir, database_url) as hub:
            actor = common.operator(hub, org)
            proj = common.project_ref(hub, actor, project)
            fmt = format or detect_format(filename=file.name, content_type=None)
            columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
            with (
                Progress(*columns, console=common.err.console, transient=True) as bar,
                file.open("rb") as raw,
            ):
                task = bar.add_task(f"checking {file.name}", total=file.stat().st_size)
                source = common.Counting(raw, lambda n: bar.advance(task, n))
                result = deliveries.import_answers(
                    hub,
                    actor,
                    proj,
                    source=cast(BinaryIO, source),
                    fmt=fmt,
                    name=file.name,
                    workforce=workforce,
                )
            skipped = f", skipped {result.skipped} imported before" if result.skipped else ""
            created = f" ({result.annotators_created} new)" if result.annotators_created else ""
            common.err.print(
                f"imported {result.imported} answers by {len(result.annotators)} annotators{created} "
                f"into {proj.name}{skipped}",
                markup=False,
            )


def register(app: typer.Typer) -> None:
    """Add ``import-answers`` to the given Typer app."""
    app.command("import-answers")(import_answers_command)
