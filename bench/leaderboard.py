"""The model leaderboard against LMSYS FastChat's Elo MLE, on simulated battles of known strengths.

    .venv/bin/python bench/leaderboard.py --fastchat-python /path/to/venv/bin/python
    .venv/bin/python bench/leaderboard.py --battles 20000 --boot 100 --rounds 3

10 models 50 Elo apart fight ``--battles`` battles (15% ties, the rest Bradley-Terry draws).  assay's
``assay.quality.leaderboard`` and FastChat's ``compute_elo_mle_with_tie`` (``fschat`` 0.2.36 from
PyPI; later releases call it ``compute_mle_elo``) fit the same battles, point estimate and
``--boot`` bootstrap rounds each, alternating round by round in one session.  FastChat runs in the
interpreter given (a virtualenv with ``fschat scikit-learn pandas``: a benchmark dependency only),
timed inside that process, so neither side pays for starting Python or importing its libraries.

Printed: the largest rating difference (Elo points), whether the order is the same, how often each
side's 95% interval covers the generating strength (without ties, where the generating strengths
are the model's own parameters), and the time ratios.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from assay.quality.leaderboard import leaderboard

FASTCHAT = r"""
import json, sys, time
import pandas as pd
from fastchat.serve.monitor.elo_analysis import compute_elo_mle_with_tie, get_bootstrap_result
rows, boot = json.load(open(sys.argv[1])), int(sys.argv[2])
words = {1.0: "model_a", 0.0: "model_b", 0.5: "tie"}
df = pd.DataFrame([{"model_a": a, "model_b": b, "winner": words[o]} for a, b, o in rows])
t0 = time.perf_counter(); point = compute_elo_mle_with_tie(df); t1 = time.perf_counter()
samples = get_bootstrap_result(df, compute_elo_mle_with_tie, boot) if boot else None
t2 = time.perf_counter()
out = {"point_s": t1 - t0, "boot_s": t2 - t1, "rating": {k: float(v) for k, v in point.items()}}
if samples is not None:
    out["low"] = {k: float(v) for k, v in samples.quantile(0.025).items()}
    out["high"] = {k: float(v) for k, v in samples.quantile(0.975).items()}
print(json.dumps(out))
"""


def strengths(k: int = 10) -> dict[str, float]:
    return {f"model-{i}": 1000 + 50 * (i - (k - 1) / 2) for i in range(k)}


def battles(n: int, *, ties: float, seed: int) -> list[tuple[str, str, float]]:
    true = strengths()
    names = list(true)
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        a, b = rng.choice(len(names), 2, replace=False)
        if rng.random() < ties:
            out.append((names[a], names[b], 0.5))
            continue
        p = 1 / (1 + 10 ** ((true[names[b]] - true[names[a]]) / 400))
        out.append((names[a], names[b], 1.0 if rng.random() < p else 0.0))
    return out


def run_assay(rows: list[tuple[str, str, float]], boot: int) -> dict[str, object]:
    t0 = time.perf_counter()
    point = leaderboard(rows, n_boot=0)
    t1 = time.perf_counter()
    board = leaderboard(rows, n_boot=boot) if boot else point
    t2 = time.perf_counter()
    return {
        "point_s": t1 - t0,
        "boot_s": t2 - t1,
        "rating": {m["model"]: m["rating"] for m in point},
        "low": {m["model"]: m["low"] for m in board},
        "high": {m["model"]: m["high"] for m in board},
    }


def run_fastchat(python: str, rows: list[tuple[str, str, float]], boot: int) -> dict[str, object]:
    with tempfile.NamedTemporaryFile("w", suffix=".json") as fh:
        json.dump(rows, fh)
        fh.flush()
        done = subprocess.run(
            [python, "-c", FASTCHAT, fh.name, str(boot)], capture_output=True, text=True, check=True
        )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def coverage(result: dict[str, object]) -> float:
    true = strengths()
    low, high = result["low"], result["high"]
    assert isinstance(low, dict) and isinstance(high, dict)
    return sum(low[m] <= true[m] <= high[m] for m in true) / len(true)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--battles", type=int, default=50_000)
    parser.add_argument("--boot", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--coverage-runs", type=int, default=10)
    parser.add_argument("--fastchat-python", default=None, help="an interpreter with fschat installed")
    args = parser.parse_args()

    rows = battles(args.battles, ties=0.15, seed=1)
    timings: dict[str, list[tuple[float, float]]] = {"assay": [], "fastchat": []}
    last: dict[str, dict[str, object]] = {}
    for _ in range(args.rounds):
        last["assay"] = run_assay(rows, args.boot)
        timings["assay"].append((float(last["assay"]["point_s"]), float(last["assay"]["boot_s"])))  # type: ignore[arg-type]
        if args.fastchat_python:
            last["fastchat"] = run_fastchat(args.fastchat_python, rows, args.boot)
            timings["fastchat"].append(
                (float(last["fastchat"]["point_s"]), float(last["fastchat"]["boot_s"]))
            )  # type: ignore[arg-type]
    ours = last["assay"]["rating"]
    assert isinstance(ours, dict)
    order = sorted(ours, key=lambda m: -ours[m])
    print(f"{args.battles} battles, 10 models, 15% ties, {args.boot} bootstrap rounds, {args.rounds} rounds")
    print(
        "assay order:",
        " > ".join(order),
        "| true order:",
        " > ".join(sorted(strengths(), key=lambda m: -strengths()[m])),
    )
    for side, times in timings.items():
        if times:
            point = statistics.median(t[0] for t in times)
            boot = statistics.median(t[1] for t in times)
            print(
                f"{side:9s} point fit {point * 1000:8.1f} ms   bootstrap {boot:7.2f} s   (median of {len(times)})"
            )
    if "fastchat" in last:
        theirs = last["fastchat"]["rating"]
        assert isinstance(theirs, dict)
        diff = max(abs(ours[m] - theirs[m]) for m in ours)
        same = order == sorted(theirs, key=lambda m: -theirs[m])
        a, f = timings["assay"], timings["fastchat"]
        ratio_point = statistics.median(x[0] for x in f) / statistics.median(x[0] for x in a)
        ratio_boot = statistics.median(x[1] for x in f) / max(statistics.median(x[1] for x in a), 1e-9)
        print(f"largest rating difference: {diff:.3f} Elo; same order: {same}")
        print(f"assay faster: {ratio_point:.1f}x on the point fit, {ratio_boot:.1f}x on the bootstrap")
    covered: dict[str, list[float]] = {"assay": [], "fastchat": []}
    for seed in range(args.coverage_runs):
        tie_free = battles(max(2000, args.battles // 10), ties=0.0, seed=100 + seed)
        covered["assay"].append(coverage(run_assay(tie_free, args.boot)))
        if args.fastchat_python:
            covered["fastchat"].append(coverage(run_fastchat(args.fastchat_python, tie_free, args.boot)))
    for side, shares in covered.items():
        if shares:
            print(
                f"{side:9s} 95% intervals cover the true strength: {statistics.mean(shares):.1%} ({len(shares)} runs x 10 models)"
            )


if __name__ == "__main__":
    main()
