"""Speed, peak memory and accuracy of assay against crowd-kit on synthetic answers.

    python bench/quality/bench_aggregate.py               # 1M answers, crowd-kit and assay; 10M, assay
    python bench/quality/bench_aggregate.py --quick       # 100k answers, a smoke run

Synthetic data (seeded): 5 answers per task, 5 classes, 2,000 workers with mixed reliability —
70% good (accuracy 0.7-0.95), 20% mediocre (0.35-0.7), 10% spammers (half answer at random, half
always give one label).  Each measurement is a fresh process under /usr/bin/time -v: wall time
(read + fit, as the runner prints it) and peak resident memory of the whole process.  Results go
to bench/quality/results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("ASSAY_SHARED_DIR", ROOT / ".." / "shared")).resolve()
OUT = ROOT / "bench" / "out"
HERE = Path(__file__).resolve().parent


def make_data(
    n_tasks: int, n_workers: int, *, k: int = 5, per_task: int = 5, seed: int = 0
) -> tuple[Path, Path]:
    answers, gold = (
        OUT / f"synthetic_{n_tasks * per_task}.csv",
        OUT / f"synthetic_{n_tasks * per_task}_gold.csv",
    )
    if answers.exists() and gold.exists():
        return answers, gold
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    kind = rng.choice(3, n_workers, p=[0.7, 0.2, 0.1])
    skill = np.where(kind == 0, rng.uniform(0.7, 0.95, n_workers), rng.uniform(0.35, 0.7, n_workers))
    random_spammer = (kind == 2) & (rng.random(n_workers) < 0.5)
    constant_spammer = (kind == 2) & ~random_spammer
    favourite = rng.integers(0, k, n_workers)
    truth = rng.integers(0, k, n_tasks)
    task = np.repeat(np.arange(n_tasks), per_task)
    # Distinct workers per task: a random offset plus multiples of a stride that is coprime with W.
    start = rng.integers(0, n_workers, n_tasks)
    worker = (np.repeat(start, per_task) + np.tile(np.arange(per_task) * 7919, n_tasks)) % n_workers
    right = rng.random(len(task)) < skill[worker]
    label = np.where(right, truth[task], (truth[task] + rng.integers(1, k, len(task))) % k)
    label = np.where(random_spammer[worker], rng.integers(0, k, len(task)), label)
    label = np.where(constant_spammer[worker], favourite[worker], label)
    order = rng.permutation(len(task))
    table = pa.table(
        {
            "task": pa.array(np.char.add("t", task[order].astype(str))),
            "worker": pa.array(np.char.add("w", worker[order].astype(str))),
            "label": pa.array(np.char.add("c", label[order].astype(str))),
        }
    )
    pacsv.write_csv(table, answers)
    gold_rows = rng.choice(n_tasks, min(n_tasks, 20_000), replace=False)
    pacsv.write_csv(
        pa.table(
            {
                "task": pa.array(np.char.add("t", gold_rows.astype(str))),
                "label": pa.array(np.char.add("c", truth[gold_rows].astype(str))),
            }
        ),
        gold,
    )
    return answers, gold


def measure(python: str, runner: Path, method: str, answers: Path, gold: Path) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    proc = subprocess.run(
        ["/usr/bin/time", "-v", python, str(runner), method, str(answers), str(gold)],
        capture_output=True,
        text=True,
        env=env,
    )
    found = re.search(r": ([\d.]+) s accuracy ([\d.]+)", proc.stdout)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    if proc.returncode != 0 or found is None or rss is None:
        raise RuntimeError(f"{runner.name} {method} failed:\n{proc.stdout}\n{proc.stderr[-3000:]}")
    return {"seconds": float(found[1]), "accuracy": float(found[2]), "peak_rss_mb": int(rss[1]) / 1024}


def crowdkit_python() -> str:
    out = subprocess.run(
        ["bash", str(SHARED / "bench" / "crowdkit_venv.sh")], check=True, capture_output=True, text=True
    )
    return out.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="100k answers, no 10M run")
    args = parser.parse_args()
    results: dict[str, dict[str, dict[str, float]]] = {}
    sizes = [(20_000, 2_000)] if args.quick else [(200_000, 2_000), (2_000_000, 20_000)]
    ck = crowdkit_python()
    for n_tasks, n_workers in sizes:
        answers, gold = make_data(n_tasks, n_workers)
        key = f"{n_tasks * 5:,} answers"
        results[key] = {}
        runs = [("assay", "mv"), ("assay", "ds")]
        if n_tasks <= 200_000:
            runs = [("crowd-kit", "mv"), ("crowd-kit", "ds"), *runs]
        for tool, method in runs:
            if tool == "crowd-kit":
                found = measure(ck, SHARED / "bench" / "crowdkit_run.py", method, answers, gold)
            else:
                found = measure(sys.executable, HERE / "assay_run.py", method, answers, gold)
            results[key][f"{tool} {method}"] = found
            print(
                f"{key:>18s}  {tool:9s} {method:3s} {found['seconds']:8.2f} s "
                f"{found['peak_rss_mb']:8.0f} MB  accuracy {found['accuracy']:.4f}",
                file=sys.stderr,
            )
    name = "results_quick.json" if args.quick else "results.json"
    (HERE / name).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
