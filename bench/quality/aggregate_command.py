"""`assay aggregate` (and `assay agreement`) on a bare Typer app: the command without `assay`'s start-up.

    python bench/quality/aggregate_command.py aggregate ANSWERS --method ds --out OUT

What `assay aggregate` costs once the `assay` entry point imports its other commands lazily: the
same command function, options and code path, registered on an app that holds nothing else.
"""

from __future__ import annotations

import typer

from assay.cli.quality import register

app = typer.Typer(add_completion=False)
register(app)

if __name__ == "__main__":
    app()
