"""`assay aggregate` (and `assay agreement`) on a bare Typer app: the command without `assay`'s start-up.

    python bench/quality/aggregate_command.py aggregate ANSWERS --method ds --out OUT

The same command function, options and code path, registered on an app that holds nothing else:
beside the installed `assay aggregate` it shows what the `assay` entry point adds (nothing, since
it imports its other commands lazily).
"""

from __future__ import annotations

import typer

from assay.cli.quality import register

app = typer.Typer(add_completion=False)
register(app)

if __name__ == "__main__":
    app()
