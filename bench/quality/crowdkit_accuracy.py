"""Measure crowd-kit's accuracy on every real dataset under ../shared/data/crowd and record it.

Runs each crowd-kit aggregator, in crowd-kit's own virtual environment, through
../shared/bench/crowdkit_run.py, and writes bench/quality/crowdkit_accuracy.json, which the
accuracy test (tests/quality/test_real_data.py) compares assay against.

    python bench/quality/crowdkit_accuracy.py                          # all methods, all datasets
    python bench/quality/crowdkit_accuracy.py --only mace_sorted_rows  # update one entry

``mace_sorted_rows`` is crowd-kit's MACE on the same answers with the rows sorted by worker and
label.  crowd-kit 1.4.2's MACE depends on the order of its input rows: it reads each worker's
strategy counts in sorted order (``groupby(["worker", "label"]).sum().unstack().values``) but
indexes them with ``pd.factorize``'s first-appearance codes, so on a file not sorted by worker its
workers get one another's strategies (``zheng_d_jn-product``: 0.929 as given, 0.828 sorted;
``bluebirds``: 0.750 and 0.861).  Sorted, the two orders agree, and that is MACE as published.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("ASSAY_SHARED_DIR", ROOT / ".." / "shared")).resolve()
METHODS = ("mv", "wawa", "ds", "onecoin", "glad", "mace", "mace_sorted_rows")
OUT = Path(__file__).with_name("crowdkit_accuracy.json")


def crowdkit_python() -> str:
    """Path of the Python interpreter in crowd-kit's pinned venv (made once by the helper)."""
    out = subprocess.run(
        ["bash", str(SHARED / "bench" / "crowdkit_venv.sh")], check=True, capture_output=True, text=True
    )
    return out.stdout.strip().splitlines()[-1]


def _sorted_copy(labels: Path, into: Path) -> Path:
    """``labels`` with its rows sorted by worker, then label (then task, for a stable file)."""
    with labels.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    rows.sort(key=lambda r: (r["worker"], r["label"], r["task"]))
    out = into / "labels.csv"
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["task", "worker", "label"], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--only", action="append", choices=METHODS, help="rerun these entries, keep the others"
    )
    args = parser.parse_args()
    chosen = tuple(args.only or METHODS)
    python = crowdkit_python()
    runner = SHARED / "bench" / "crowdkit_run.py"
    kept = json.loads(OUT.read_text())["datasets"] if args.only and OUT.exists() else {}
    results: dict[str, dict[str, dict[str, float]]] = {}
    for data in sorted((SHARED / "data" / "crowd").iterdir()):
        results[data.name] = dict(kept.get(data.name, {}))
        with tempfile.TemporaryDirectory() as tmp:
            for method in chosen:
                labels = data / "labels.csv"
                if method == "mace_sorted_rows":
                    labels = _sorted_copy(labels, Path(tmp))
                proc = subprocess.run(
                    [
                        python,
                        str(runner),
                        method.removesuffix("_sorted_rows"),
                        str(labels),
                        str(data / "gold.csv"),
                    ],
                    capture_output=True,
                    text=True,
                )
                found = re.search(r": ([\d.]+) s accuracy ([\d.]+) \(n=(\d+)\)", proc.stdout)
                if proc.returncode != 0 or found is None:
                    print(f"{data.name} {method}: failed\n{proc.stderr[-2000:]}", file=sys.stderr)
                    continue
                secs, acc, n = float(found[1]), float(found[2]), int(found[3])
                results[data.name][method] = {"accuracy": acc, "n": n, "seconds": secs}
                print(f"{data.name:22s} {method:16s} {acc:.4f} (n={n}) {secs:.2f} s", file=sys.stderr)
    doc = {
        "tool": "crowd-kit 1.4.2 (scikit-learn 1.5.2, pandas 2.2.3), default constructor arguments",
        "command": "python bench/quality/crowdkit_accuracy.py",
        "datasets": results,
    }
    OUT.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
