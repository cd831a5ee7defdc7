"""What every command shares: building the hub from flags, printing errors the way the API words them."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, BinaryIO, ClassVar, TypeVar

import typer
from typer.core import TyperGroup

from assay.errors import AssayError, Invalid
from assay.settings import Config

if TYPE_CHECKING:
    from rich.console import Console

    from assay.app import Assay
    from assay.domain.people import Actor

# Only what every command's --help needs is imported here: the database, the web stack, the
# quality engine and Rich load inside the commands that use them (tests/cli/test_startup.py).


class _Stderr:
    """Rich's console on stderr, made on first use."""

    @cached_property
    def console(self) -> Console:
        from rich.console import Console

        return Console(stderr=True)

    def print(self, *objects: Any, **options: Any) -> None:
        self.console.print(*objects, **options)


err = _Stderr()
T = TypeVar("T")


class Group(TyperGroup):
    """A group whose own ``--help`` flag is False, not None, when a subcommand runs: Typer builds
    a pydantic validator to coerce a None flag, which costs every subcommand's start a twentieth
    of a second (bench/cli/startup.py)."""

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)
        if option is not None and option.default is None:
            option.default = False
        return option


class Commands(Group):
    """The top-level group.  ``aggregate`` and ``agreement`` live in ``assay.cli.quality``,
    ``import-answers`` in ``assay.cli.deliveries``; each is imported only when it runs or the list
    of commands is shown, not for other commands."""

    LAZY: ClassVar[dict[str, str]] = {
        "aggregate": "assay.cli.quality",
        "agreement": "assay.cli.quality",
        "import-answers": "assay.cli.deliveries",
        "model": "assay.cli.models",
        "generate": "assay.cli.models",
    }

    def list_commands(self, ctx: Any) -> list[str]:
        names = super().list_commands(ctx)
        return names + [name for name in self.LAZY if name not in names]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in self.LAZY and cmd_name not in self.commands:
            holder = typer.Typer(rich_markup_mode=None)
            importlib.import_module(self.LAZY[cmd_name]).register(holder)
            built = typer.main.get_command(holder)
            for name, command in getattr(built, "commands", {built.name: built}).items():
                self.commands.setdefault(name, command)
        return super().get_command(ctx, cmd_name)


DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data directory (SQLite). Env: ASSAY_DATA_DIR.", show_default=False),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url", help="Database URL (PostgreSQL). Env: ASSAY_DATABASE_URL.", show_default=False
    ),
]
OrgOption = Annotated[
    str | None, typer.Option("--org", help="Organisation slug; may be left out when there is only one.")
]


def fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False, markup=True, soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def errors_to_exit() -> Iterator[None]:
    """Print an AssayError as one line on stderr (plus its details) and exit non-zero."""
    try:
        yield
    except AssayError as exc:
        err.print(f"error: {exc.message}", markup=False, highlight=False, soft_wrap=True)
        for e in exc.errors[1:10]:
            err.print(
                f"  {e.get('loc', '')}: {e.get('msg', '')}", markup=False, highlight=False, soft_wrap=True
            )
        raise typer.Exit(1 if exc.status != 422 else 2) from None


def open_hub(data_dir: Path | None, database_url: str | None, *, migrate: bool = True, **extra: Any) -> Assay:
    from assay.app import Assay

    config = Config.from_env(data_dir=data_dir, database_url=database_url, **extra)
    hub = Assay(config)
    if migrate:
        hub.migrate()
    return hub


def operator(hub: Assay, org: str | None) -> Actor:
    """The person at the server's console acts as an owner of the chosen organisation."""
    from assay.domain.people import Actor, Role
    from assay.storage import people

    with hub.db.read() as conn:
        if org is None:
            slugs = people.org_slugs(conn)
            if len(slugs) != 1:
                raise Invalid(
                    "choose an organisation with --org (there are "
                    + (", ".join(slugs) if slugs else "none yet; create one with `assay org create`")
                    + ")"
                )
            org = slugs[0]
        row = people.org_by_slug(conn, slug=org)
    return Actor(
        user_id=0,
        email="operator@localhost",
        name="operator",
        org_id=int(row.id),
        org_slug=row.slug,
        membership_id=0,
        role=Role.OWNER,
        workforce_id=None,
        workforce_name=None,
    )


def project_ref(hub: Assay, actor: Actor, ref: str) -> Any:
    from assay.storage import projects
    from assay.workflows import projects as project_flows

    with hub.db.read() as conn:
        row = projects.find_project(conn, org_id=actor.org_id, ref=ref)
    return project_flows.get(hub, actor, int(row.id))


def run(fn: Callable[[], T]) -> T:
    with errors_to_exit():
        return fn()


def stdout_bytes() -> Any:
    return sys.stdout.buffer


class Counting:
    """A read-through file wrapper that advances a progress bar."""

    def __init__(self, raw: BinaryIO, advance: Any) -> None:
        self.raw = raw
        self.advance = advance

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.advance(len(data))
        return data

    def readinto(self, buf: Any) -> int:
        n = self.raw.readinto(buf)  # type: ignore[attr-defined]
        self.advance(n or 0)
        return int(n or 0)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)
