"""``assay model add|list`` and ``assay generate``: model connections and response generation.

Loaded only when they run (``common.Commands.LAZY``).
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Annotated, Any

import typer

from assay.cli import common
from assay.cli.common import DatabaseUrl, DataDir, OrgOption, errors_to_exit, open_hub

model_app = typer.Typer(help="Model connections (OpenAI-compatible endpoints).", no_args_is_help=True)


def _with_key(hub: Any) -> None:
    """The server's secret key, which seals API keys: the same one ``assay serve`` loads."""
    from assay import keys, logs

    found = keys.load(hub.config)
    hub.config = found.config
    logs.redact(hub.config.secret_key)


@model_app.command("add")
def model_add(
    name: Annotated[str, typer.Argument(help="The connection's name, unique in the organisation.")],
    base_url: Annotated[str, typer.Option("--base-url", help="e.g. http://127.0.0.1:8080/v1")],
    model: Annotated[str, typer.Option("--model", help="The model name the server expects.")],
    api_key_stdin: Annotated[
        bool,
        typer.Option("--api-key-stdin", help="Read the API key from standard input (never an argument)."),
    ] = False,
    input_price: Annotated[
        float | None, typer.Option("--input-price", help="Price per million input tokens.")
    ] = None,
    output_price: Annotated[
        float | None, typer.Option("--output-price", help="Price per million output tokens.")
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            help="A default parameter as KEY=VALUE (a JSON value), e.g. --param temperature=0.7; repeatable.",
        ),
    ] = None,
    org: OrgOption = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Add a model connection; its host must be one ASSAY_MODEL_HOSTS allows."""
    from assay.workflows import models

    with errors_to_exit(), open_hub(data_dir, database_url) as hub:
        _with_key(hub)
        actor = common.operator(hub, org)
        body: dict[str, Any] = {"name": name, "base_url": base_url, "model": model}
        if api_key_stdin:
            key = sys.stdin.readline().strip()
            if not key:
                common.fail("--api-key-stdin: standard input held no key")
            body["api_key"] = key
        if param:
            body["params"] = _params(param)
        if input_price is not None or output_price is not None:
            body["price"] = {"input_per_mtok": input_price, "output_per_mtok": output_price}
        saved = models.add(hub, actor, body)
        common.err.print(
            f"added model {saved['name']} ({saved['model']} at {saved['base_url']})", markup=False
        )


def _params(pairs: list[str]) -> dict[str, Any]:
    import json

    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            common.fail(f"--param {pair!r}: give KEY=VALUE, e.g. temperature=0.7")
        try:
            out[key.strip()] = json.loads(raw)
        except ValueError:
            out[key.strip()] = raw  # a plain word (a stop string)
    return out


@model_app.command("list")
def model_list(org: OrgOption = None, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """The organisation's model connections (never their keys)."""
    from rich.console import Console
    from rich.table import Table

    from assay.workflows import models

    with errors_to_exit(), open_hub(data_dir, database_url) as hub:
        actor = common.operator(hub, org)
        table = Table("id", "name", "model", "base_url", "key", "price in/out per Mtok")
        for m in models.list_all(hub, actor):
            price = m["price"] or {}
            table.add_row(
                str(m["id"]),
                m["name"],
                m["model"],
                m["base_url"],
                "yes" if m["has_key"] else "no",
                f"{price.get('input_per_mtok')}/{price.get('output_per_mtok')}" if price else "",
            )
        Console(width=None if sys.stdout.isatty() else 200).print(table)


def generate_command(
    project: Annotated[str, typer.Argument(help="Project id or name.")],
    models: Annotated[str, typer.Option("--models", help="Model connection names, comma-separated.")],
    samples: Annotated[int, typer.Option("--samples", help="Responses per model and item.")] = 1,
    org: OrgOption = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Fill the responses of the items waiting for them, showing progress.

    The job runs here unless a server's job worker took it first, in which case this follows its
    progress.  Interrupted, it continues where it stopped when run again.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from assay.storage import jobs as job_store
    from assay.workflows import generate, jobs

    with errors_to_exit(), open_hub(data_dir, database_url) as hub:
        _with_key(hub)
        actor = common.operator(hub, org)
        proj = common.project_ref(hub, actor, project)
        names = [m.strip() for m in models.split(",") if m.strip()]
        # A generation killed mid-way (this command interrupted hard, a server gone) goes on now.
        jobs.release_dead_local(hub)
        job_id = generate.start(hub, actor, proj.id, models=names, samples=samples)["job_id"]
        outcome: dict[str, Any] = {}

        def work() -> None:
            outcome["run"] = jobs.run_one(hub, project_id=proj.id, due_now=True)

        runner = threading.Thread(target=work, name="assay-generate", daemon=True)
        runner.start()
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=common.err.console, transient=True) as bar:
            task = bar.add_task(f"generating for {proj.name}", total=None)
            while True:
                with hub.db.read() as conn:
                    row = job_store.get_job(conn, org_id=actor.org_id, job_id=job_id)
                view = generate.public(row)
                bar.update(task, completed=view["done"], total=view["total"] or None)
                if view["state"] in ("done", "failed"):
                    break
                time.sleep(0.25)
        runner.join(timeout=5)
        for err in view["errors"][:10]:
            where = err.get("external_id") or err["item_id"]
            common.err.print(f"item {where}: {err.get('model') or ''} {err['error']}", markup=False)
        if view["state"] == "failed":
            common.fail(f"generation job {job_id} failed: {view['error']}")
        more = f", {view['failed']} calls failed (run again to retry them)" if view["failed"] else ""
        common.err.print(f"generated for {view['done']} items of {proj.name}{more}", markup=False)


def register(app: typer.Typer) -> None:
    """Add ``model`` and ``generate`` to the given Typer app."""
    app.add_typer(model_app, name="model")
    app.command("generate")(generate_command)
