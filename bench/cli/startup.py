"""How long `assay --help` and every `assay X --help` take, against `python -c pass`.

    .venv/bin/python bench/cli/startup.py            # 15 runs of each, one after the other
    .venv/bin/python bench/cli/startup.py --runs 30

Each command runs in a fresh process (the installed `assay` script of this interpreter's
environment), alternating with the `python -c pass` anchor so that a change in the machine's load
hits both; the figure is the median over the runs, and "extra" is the command's median minus the
anchor's.  The target is an extra under 0.3 s for every command.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ASSAY = Path(sys.executable).with_name("assay")
TARGET_S = 0.3


def commands() -> list[list[str]]:
    import typer.main

    from assay.cli.main import app

    found: list[list[str]] = []

    def walk(command: Any, path: list[str]) -> None:
        found.append(path)
        if hasattr(command, "list_commands"):  # a group: its commands, those imported lazily too
            for name in sorted(command.list_commands(None)):
                walk(command.get_command(None, name), [*path, name])

    walk(typer.main.get_command(app), [])
    return found


def once(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    anchor_argv = [sys.executable, "-c", "pass"]
    rows = []
    anchors: list[float] = []
    for path in commands():
        argv = [str(ASSAY), *path, "--help"]
        once(argv)  # warm the file cache once
        times = []
        for _ in range(args.runs):
            anchors.append(once(anchor_argv))
            times.append(once(argv))
        rows.append((" ".join(["assay", *path, "--help"]), statistics.median(times)))
    anchor = statistics.median(anchors)
    print(f"python -c pass: median {anchor * 1000:.0f} ms over {len(anchors)} runs")
    print(f"{'command':<32} {'median':>8} {'extra':>8}")
    for name, median in rows:
        print(f"{name:<32} {median * 1000:>6.0f}ms {(median - anchor) * 1000:>6.0f}ms")
    worst = max(median - anchor for _, median in rows)
    verdict = "under" if worst < TARGET_S else "OVER"
    print(f"worst extra {worst * 1000:.0f} ms: {verdict} the {TARGET_S * 1000:.0f} ms target")


if __name__ == "__main__":
    main()
