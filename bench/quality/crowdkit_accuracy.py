"""Measure crowd-kit's accuracy on every real dataset under ../shared/data/crowd and record it.

Runs each crowd-kit aggregator, in crowd-kit's own virtual environment, through
../shared/bench/crowdkit_run.py, and writes bench/quality/crowdkit_accuracy.json, which the
accuracy test (tests/quality/test_real_data.py) compares assay against.

    python bench/quality/crowdkit_accuracy.py            # all methods, all datasets
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("ASSAY_SHARED_DIR", ROOT / ".." / "shared")).resolve()
METHODS = ("mv", "wawa", "ds", "onecoin", "glad", "mace")
OUT = Path(__file__).with_name("crowdkit_accuracy.json")


def crowdkit_python() -> str:
    """Path of the Python interpreter in crowd-kit's pinned venv (made once by the helper)."""
    out = subprocess.run(
        ["bash", str(SHARED / "bench" / "crowdkit_venv.sh")], check=True, capture_output=True, text=True
    )
    return out.stdout.strip().splitlines()[-1]


def main() -> None:
    python = crowdkit_python()
    runner = SHARED / "bench" / "crowdkit_run.py"
    results: dict[str, dict[str, dict[str, float]]] = {}
    for data in sorted((SHARED / "data" / "crowd").iterdir()):
        results[data.name] = {}
        for method in METHODS:
            proc = subprocess.run(
                [python, str(runner), method, str(data / "labels.csv"), str(data / "gold.csv")],
                capture_output=True,
                text=True,
            )
            found = re.search(r": ([\d.]+) s accuracy ([\d.]+) \(n=(\d+)\)", proc.stdout)
            if proc.returncode != 0 or found is None:
                print(f"{data.name} {method}: failed\n{proc.stderr[-2000:]}", file=sys.stderr)
                continue
            secs, acc, n = float(found[1]), float(found[2]), int(found[3])
            results[data.name][method] = {"accuracy": acc, "n": n, "seconds": secs}
            print(f"{data.name:22s} {method:8s} {acc:.4f} (n={n}) {secs:.2f} s", file=sys.stderr)
    doc = {
        "tool": "crowd-kit 1.4.2 (scikit-learn 1.5.2, pandas 2.2.3), default constructor arguments",
        "command": "python bench/quality/crowdkit_accuracy.py",
        "datasets": results,
    }
    OUT.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
