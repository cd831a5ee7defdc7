"""`assay aggregate --method ds` as a whole process against crowd-kit's DawidSkene, same run.

    python bench/quality/bench_cli.py              # 1M answers, 5 rounds
    python bench/quality/bench_cli.py --rounds 3

Each measurement is a fresh process under /usr/bin/time -v: wall-clock seconds of the whole
process (interpreter start, imports, reading the CSV, the fit, writing the labels) and its peak
resident memory.  The runs alternate round by round (crowd-kit, `assay aggregate`, the command
alone), so machine load falls on all of them alike.  Both the best and the median of the rounds
are reported, for every run alike: on a shared machine a burst of someone else's work can double
a two-second run but hardly moves a forty-second one, so the best is the steadier ratio.

* crowd-kit: ../shared/bench/crowdkit_run.py ds ANSWERS (pandas read_csv + DawidSkene.fit_predict;
  it writes nothing).
* `assay aggregate`: the installed console script, `assay aggregate ANSWERS --method ds --out F`.
* the command alone: bench/quality/aggregate_command.py, the same command on a bare Typer app,
  a check that the `assay` entry point (which imports its commands lazily) adds nothing.

Results go to bench/quality/results_cli.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

from bench_aggregate import OUT, ROOT, SHARED, crowdkit_python, make_data

HERE = Path(__file__).resolve().parent


def measure(command: list[str]) -> dict[str, float]:
    proc = subprocess.run(
        ["/usr/bin/time", "-v", *command],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT / "src")),
    )
    wall = re.search(
        r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", proc.stderr
    )
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    accuracy = re.search(r"accuracy[: ]+([\d.]+) \(n=(\d+)\)", proc.stdout + proc.stderr)
    if proc.returncode != 0 or wall is None or rss is None:
        raise RuntimeError(f"{command} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    hours, minutes, seconds = (float(g) if g else 0.0 for g in wall.groups())
    return {
        "seconds": hours * 3600 + minutes * 60 + seconds,
        "peak_rss_mb": int(rss[1]) / 1024,
        "accuracy": float(accuracy[1]) if accuracy else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    answers, gold = make_data(200_000, 2_000)
    labels = OUT / "labels_cli.csv"
    assay = Path(sys.executable).with_name("assay")
    runs = {
        "crowd-kit ds": [crowdkit_python(), str(SHARED / "bench" / "crowdkit_run.py"), "ds", str(answers), str(gold)],
        "assay aggregate": [str(assay), "aggregate", str(answers), "--method", "ds", "--gold", str(gold), "--out", str(labels)],
        "aggregate command alone": [
            sys.executable, str(HERE / "aggregate_command.py"), "aggregate", str(answers),
            "--method", "ds", "--gold", str(gold), "--out", str(labels),
        ],
    }  # fmt: skip
    found: dict[str, list[dict[str, float]]] = {name: [] for name in runs}
    for round_no in range(args.rounds):
        for name, command in runs.items():
            result = measure(command)
            found[name].append(result)
            print(
                f"round {round_no + 1}  {name:24s} {result['seconds']:7.2f} s {result['peak_rss_mb']:6.0f} MB"
                f"  accuracy {result['accuracy']:.4f}",
                file=sys.stderr,
            )
    summary: dict[str, dict[str, dict[str, float]]] = {}
    for statistic, pick in (("best", min), ("median", statistics.median)):
        table = {
            name: {key: pick(r[key] for r in results) for key in ("seconds", "peak_rss_mb", "accuracy")}
            for name, results in found.items()
        }
        anchor = table["crowd-kit ds"]
        for name in ("assay aggregate", "aggregate command alone"):
            table[name]["speed-up"] = anchor["seconds"] / table[name]["seconds"]
            table[name]["memory ratio"] = table[name]["peak_rss_mb"] / anchor["peak_rss_mb"]
        summary[statistic] = table
        print(f"{statistic} of {args.rounds} rounds:", file=sys.stderr)
        for name, figures in table.items():
            extra = ""
            if "speed-up" in figures:
                extra = f"  {figures['speed-up']:5.1f}x faster, {figures['memory ratio']:.3f}x the memory"
            print(
                f"  {name:24s} {figures['seconds']:7.2f} s {figures['peak_rss_mb']:6.0f} MB{extra}",
                file=sys.stderr,
            )
    (HERE / "results_cli.json").write_text(
        json.dumps({"answers": 1_000_000, "rounds": args.rounds, **summary, "runs": found}, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
