"""The `assay` command line (Typer).  Commands are thin: parse, call a workflow, print.

Commands import what they run inside their bodies, so that `assay --help` and every `assay X --help`
load no database, web or NumPy code (tests/cli/test_startup.py; figures in bench/README.md).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, BinaryIO, cast

import typer

from assay import settings
from assay.cli import common
from assay.cli.common import Commands, DatabaseUrl, DataDir, Group, OrgOption, errors_to_exit, open_hub
from assay.domain.filters import HELP as FILTER_HELP

# Plain help text, not Rich's panels: rendering help with Rich imports Markdown and layout code
# that costs a tenth of a second on every `--help` (bench/cli/startup.py).
PLAIN: Any = {"no_args_is_help": True, "rich_markup_mode": None, "cls": Group}
app = typer.Typer(
    name="assay",
    help="assay: collect, quality-control and export expert human data for AI training.",
    add_completion=False,
    pretty_exceptions_enable=False,
    **{**PLAIN, "cls": Commands},
)
db_app = typer.Typer(help="Database maintenance.", **PLAIN)
org_app = typer.Typer(help="Organisations (tenants).", **PLAIN)
user_app = typer.Typer(help="Users and memberships.", **PLAIN)
token_app = typer.Typer(help="API tokens.", **PLAIN)
jobs_app = typer.Typer(help="The background job queue (quality refreshes).", **PLAIN)
app.add_typer(db_app, name="db")
app.add_typer(jobs_app, name="jobs")
app.add_typer(org_app, name="org")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")


@app.command(epilog=settings.help_text())
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Run the server (migrates the database first)."""
    from assay.web.server import serve as run_server

    with errors_to_exit(), open_hub(data_dir, database_url, migrate=False) as hub:
        run_server(hub, host=host, port=port, migrate=True)


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Seed the demo and exit.")] = False,
) -> None:
    """Create a demo organisation, users, workforces and projects with sample items, then serve."""
    from assay.demo.seed import seed
    from assay.web.server import serve as run_server

    with errors_to_exit(), open_hub(data_dir, database_url) as hub:
        if not hub.config.model_hosts:
            # The demo may call models served on this machine (ASSAY_MODEL_HOSTS widens it).
            from dataclasses import replace

            from assay.llm.hosts import LOOPBACK

            hub.config = replace(hub.config, model_hosts=LOOPBACK)
        report = seed(hub)
        url = f"http://{host}:{port}"
        typer.echo(report.describe(url), err=False)
        if not no_serve:
            # The demo is one process: without a key to share, it signs with a key of its own.
            run_server(hub, host=host, port=port, ephemeral_key=True)


@jobs_app.command("run")
def jobs_run(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    wait: Annotated[bool, typer.Option(help="Also run jobs still waiting out their delay.")] = True,
) -> None:
    """Run every queued job now and exit (for servers started with ASSAY_JOB_WORKERS=0, or cron)."""
    from assay.workflows import jobs

    with errors_to_exit(), open_hub(data_dir, database_url) as hub:
        done = jobs.run_pending(hub, due_now=wait)
        failed = [d for d in done if d["state"] == "failed"]
        for d in failed:
            common.err.print(f"job {d['id']} ({d['kind']}) failed: {d['error']}", markup=False)
        common.err.print(f"ran {len(done)} jobs, {len(failed)} failed", markup=False)
        if failed:
            raise typer.Exit(1)


@jobs_app.command("list")
def jobs_list(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    limit: Annotated[int, typer.Option(help="How many of the latest jobs to show.")] = 20,
) -> None:
    """Show the latest jobs of every organisation: state, attempts, worker, error."""
    from rich.console import Console
    from rich.table import Table

    from assay.storage import jobs as job_store

    with errors_to_exit(), open_hub(data_dir, database_url) as hub:
        with hub.db.read() as conn:
            rows = job_store.latest(conn, limit=limit)
        table = Table("id", "kind", "project", "state", "attempts", "created", "finished", "worker", "error")
        for r in rows:
            table.add_row(
                str(r.id),
                r.kind,
                str(r.project_id),
                r.state,
                str(r.attempts),
                r.created_at.isoformat(timespec="seconds"),
                r.finished_at.isoformat(timespec="seconds") if r.finished_at else "",
                r.locked_by or "",
                (r.error or "")[:80],
            )
        # Piped output is not cut to an 80-column guess: it is read by scripts and people's pagers.
        Console(width=None if sys.stdout.isatty() else 200).print(table)


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Apply the database migrations."""
    from assay.storage import migrate

    with errors_to_exit(), open_hub(data_dir, database_url, migrate=False) as hub:
        hub.migrate()
        common.err.print(f"database at revision {migrate.current(hub.db)}", markup=False)


@db_app.command("backup")
def db_backup(
    file: Annotated[Path, typer.Argument(help="Backup file to write (gzip-compressed JSON lines).")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Write a consistent backup of the whole database (SQLite or PostgreSQL)."""
    from assay.storage import backup

    with errors_to_exit(), open_hub(data_dir, database_url) as hub:
        counts = backup.backup_file(hub.db, file)
        common.err.print(f"wrote {file}: {sum(counts.values())} rows in {len(counts)} tables", markup=False)


@db_app.command("restore")
def db_restore(
    file: Annotated[Path, typer.Argument(help="A file written by `assay db backup`.")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Restore a backup into an empty database (either backend); all or nothing."""
    from assay.storage import backup

    with errors_to_exit(), open_hub(data_dir, database_url, migrate=False) as hub:
        counts = backup.restore_file(hub.db, file)
        common.err.print(f"restored {sum(counts.values())} rows from {file}", markup=False)


@org_app.command("create")
def org_create(
    slug: Annotated[str, typer.Argument(help="Short name: lowercase letters, digits, dashes.")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create an organisation."""
    from assay.workflows import admin

    with errors_to_exit(), open_hub(data_dir, database_url) as hub:
        org_id = admin.create_org(hub, slug=slug, name=name)
        common.err.print(f"created organisation {slug} (id {org_id})", markup=False)


@user_app.command("create")
def user_create(
    org: Annotated[str, typer.Option("--org", help="Organisation slug.")],
    email: Annotated[str, typer.Option("--email", help="The user's email (their login).")],
    role: Annotated[str, typer.Option("--role", help="owner, manager, reviewer or annotator.")],
    workforce: Annotated[
        str | None, typer.Option("--workforce", help="Workforce name; created (in-house) if new.")
    ] = None,
    vendor: Annotated[
        bool, typer.Option("--vendor", help="A new workforce is a vendor, not in-house.")
    ] = False,
    name: Annotated[str | None, typer.Option("--name", help="Display name.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    url: Annotated[
        str, typer.Option("--url", help="The server's address, for the invitation link.")
    ] = "http://127.0.0.1:8000",
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a user (or update their membership) in an organisation.  Without --password-stdin,
    prints a one-time invitation link (alone on stdout) through which they set their own password."""
    from assay.errors import Conflict
    from assay.workflows import admin

    with errors_to_exit():
        password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
        with open_hub(data_dir, database_url) as hub:
            created = admin.create_user(
                hub,
                org=org,
                email=email,
                role=role,
                name=name,
                workforce=workforce,
                workforce_kind="vendor" if vendor else "in_house",
                password=password,
            )
            common.err.print(
                f"{email} is {'an' if role[:1] in 'aeiou' else 'a'} {role} of {org} (membership {created.membership_id})",
                markup=False,
            )
            if password is None:
                try:
                    token = admin.link(hub, org=org, email=email, kind="invite")
                except Conflict:  # they have a password here already: nothing to hand over
                    return
                common.err.print(
                    "no password given: they set their own through this one-time link (7 days, works once)",
                    markup=False,
                )
                typer.echo(url.rstrip("/") + accounts_link_path(token))


@user_app.command("reset-password")
def user_reset_password(
    org: Annotated[str, typer.Option("--org", help="Organisation slug.")],
    email: Annotated[str, typer.Option("--email", help="The member who forgot their password.")],
    url: Annotated[
        str, typer.Option("--url", help="The server's address, for the link.")
    ] = "http://127.0.0.1:8000",
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Print a one-time link (alone on stdout, 24 hours) through which a member sets a new password
    in this organisation; their password elsewhere stays as it is."""
    from assay.workflows import admin

    with errors_to_exit(), open_hub(data_dir, database_url) as hub:
        token = admin.link(hub, org=org, email=email, kind="reset")
        typer.echo(url.rstrip("/") + accounts_link_path(token))


def accounts_link_path(token: str) -> str:
    from assay.workflows import accounts

    return accounts.link_path(token)


@token_app.command("create")
def token_create(
    org: Annotated[str, typer.Option("--org", help="Organisation slug.")],
    email: Annotated[str, typer.Option("--email", help="The member the token acts as.")],
    name: Annotated[str, typer.Option("--name", help="A label to tell tokens apart.")] = "cli",
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Print a new API token, alone on stdout (it is stored hashed and never shown again)."""
    from assay.workflows import admin

    with errors_to_exit(), open_hub(data_dir, database_url) as hub:
        typer.echo(admin.create_token(hub, org=org, email=email, name=name))


@app.command("import")
def import_(
    project: Annotated[str, typer.Argument(help="Project id or name.")],
    file: Annotated[Path, typer.Argument(help="Items: JSONL, JSON array, CSV or Parquet.", exists=False)],
    format: Annotated[
        str | None,
        typer.Option("--format", help="jsonl, json, csv or parquet (default: from the file name)."),
    ] = None,
    on_duplicate: Annotated[
        str, typer.Option("--on-duplicate", help="error (default) or skip items whose external_id exists.")
    ] = "error",
    batch: Annotated[
        str | None,
        typer.Option(
            "--batch",
            help="Put every item in this batch (settings.batches shares a batch with chosen workforces).",
        ),
    ] = None,
    org: OrgOption = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Import items into a project: all-or-nothing, with a progress bar."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    from assay.formats.readers import detect_format
    from assay.workflows import ingest

    with errors_to_exit():
        if not file.is_file():
            common.fail(f"{file}: no such file")
        with open_hub(data_dir, database_url) as hub:
            actor = common.operator(hub, org)
            proj = common.project_ref(hub, actor, project)
            fmt = format or detect_format(filename=file.name, content_type=None)
            size = file.stat().st_size
            columns = (
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
            )
            with (
                Progress(*columns, console=common.err.console, transient=True) as bar,
                file.open("rb") as raw,
            ):
                task = bar.add_task(f"importing {file.name}", total=size)
                source = common.Counting(raw, lambda n: bar.advance(task, n))
                result = ingest.import_items(
                    hub,
                    actor,
                    proj,
                    source=cast(BinaryIO, source),
                    fmt=fmt,
                    name=file.name,
                    on_duplicate=on_duplicate,
                    batch=batch,
                    skip_hint="--on-duplicate skip",
                )
            skipped = f", skipped {result.skipped_duplicates} duplicates" if result.skipped_duplicates else ""
            common.err.print(
                f"imported {result.imported} items ({result.gold} gold) into {proj.name}{skipped}",
                markup=False,
            )


@app.command("export")
def export_(
    project: Annotated[str, typer.Argument(help="Project id or name.")],
    format: Annotated[str, typer.Option("--format", help="jsonl, csv, parquet, dpo or sft.")] = "jsonl",
    out: Annotated[Path | None, typer.Option("--out", help="Output file (default: stdout).")] = None,
    min_answers: Annotated[int | None, typer.Option(help=FILTER_HELP["min_answers"])] = None,
    min_confidence: Annotated[float | None, typer.Option(help=FILTER_HELP["min_confidence"])] = None,
    reviewed_only: Annotated[
        bool, typer.Option("--reviewed-only", help=FILTER_HELP["reviewed_only"])
    ] = False,
    ties: Annotated[str | None, typer.Option(help=FILTER_HELP["ties"])] = None,
    org: OrgOption = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Export a project's items, answers and labels, streamed."""
    from assay.domain.exports import ExportFilters
    from assay.workflows import export

    with errors_to_exit(), open_hub(data_dir, database_url) as hub:
        filters = ExportFilters.parse(
            dict(
                min_answers=min_answers, min_confidence=min_confidence, reviewed_only=reviewed_only, ties=ties
            )
        )
        actor = common.operator(hub, org)
        proj = common.project_ref(hub, actor, project)
        chunks = export.stream(hub, actor, proj, fmt=format, filters=filters)
        if out is None:
            sink = common.stdout_bytes()
            for chunk in chunks:
                sink.write(chunk)
            sink.flush()
            return
        tmp = out.with_name(out.name + ".part")
        with tmp.open("wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
        tmp.replace(out)  # never leave a half-written export under the real name
        common.err.print(f"wrote {out}", markup=False)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
