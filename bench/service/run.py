"""Service benchmarks: assay against Label Studio on the same machine, same workload, same run.

    .venv/bin/python bench/service/run.py [--items 100000] [--big-items 1000000] [--skip-ls]

Writes bench/service/results.json (or --results) and prints a table; see bench/service/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))

import assay_side as A  # noqa: E402
import ls_side as L  # noqa: E402
from common import RssSampler, crowd, hwm_mb, load_average, rss_mb, single  # noqa: E402


def _stop_on_term(*_: object) -> None:
    raise KeyboardInterrupt  # so that the finally blocks stop every server


def measure_import(pid: int, do: Callable[[], tuple[float, int]], *, label: str) -> dict[str, Any]:
    """One import request: wall time, items/s, the server's peak RSS and CPU."""
    with RssSampler(pid) as mem:
        wall, n = do()
    print(f"{label} import {n}: {wall:.2f} s, peak RSS {mem.peak:.0f} MB", flush=True)
    return {
        "items": n,
        "wall_s": round(wall, 2),
        "items_per_s": round(n / wall),
        "peak_rss_mb": round(mem.peak, 1),
        "server_cpu_s": round(mem.cpu, 2),
    }


def measure_serving(
    pid: int,
    *,
    label: str,
    one: Any,
    many: Callable[[], list[Any]],
    lease: Callable[..., Any],
    crowd_lease: Callable[..., Any],
    answer: Callable[..., Any],
    pairs: int,
    warmup: int,
    project_items: int,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """The same workload for both systems: one annotator's next+submit latency, then a crowd."""
    res: dict[str, Any] = {}
    with one as ann, RssSampler(pid) as use:
        res["latency"] = single(ann, lease=lease, answer=answer, count=pairs, warmup=warmup)
    # Server CPU per next+submit pair: a figure that load from other processes does not inflate.
    res["latency"]["server_cpu_ms_per_pair"] = round(use.cpu * 1000 / (pairs + warmup), 2)
    res["latency"]["project_items"] = project_items
    print(f"{label} latency: {res['latency']}", flush=True)
    clients = many()
    try:
        res["load_before_crowd"] = load_average()
        with RssSampler(pid) as use:
            res["crowd"] = crowd(
                clients,
                lease=crowd_lease,
                answer=answer,
                seconds=args.crowd_seconds,
                per_annotator=args.per_annotator,
            )
        res["crowd"]["server_cpu_s"] = round(use.cpu, 2)
        res["crowd"]["server_cpu_ms_per_answer"] = round(use.cpu * 1000 / max(1, res["crowd"]["answers"]), 1)
    finally:
        for c in clients:
            c.close()
    print(f"{label} crowd: {res['crowd']}", flush=True)
    return res


def measure_export(
    pid: int, do: Callable[[], tuple[float, int]], check: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """A whole export: wall time, items/s, and whether the server's memory stays flat."""
    before = rss_mb(pid)
    with RssSampler(pid) as mem:
        wall, size = do()
    after = rss_mb(pid)
    checked = check()
    return {
        "wall_s": round(wall, 2),
        "bytes": size,
        "items_per_s": round(checked["items"] / wall),
        "rss_before_mb": round(before, 1),
        "rss_peak_mb": round(mem.peak, 1),
        "server_cpu_s": round(mem.cpu, 2),
        "rss_after_mb": round(after, 1),
        **checked,
    }


def bench_assay(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    res: dict[str, Any] = {}
    cold = A.AssayServer(out / "assay-cold", args.port)
    cold.data_dir.mkdir(parents=True)
    try:
        res["start_cold_s"] = round(cold.start(), 2)  # empty data dir: includes the migrations
        res["idle_rss_cold_mb"] = round(cold.idle_rss(), 1)
    finally:
        cold.stop()

    data = out / "assay"
    data.mkdir(parents=True)
    t0 = time.perf_counter()
    manager, tokens = A.setup_people(data, annotators=args.annotators)
    res["cli_setup_s"] = round(time.perf_counter() - t0, 1)
    server = A.AssayServer(data, args.port)
    try:
        res["start_warm_small_s"] = round(server.start(), 2)
        res["idle_rss_mb"] = round(server.idle_rss(), 1)
        with A.client(server.base, manager) as mgr:
            work = A.create_project(mgr, "bench-work")
            body = A.ndjson(0, args.items)
            res["load_before_import"] = load_average()
            res["import"] = measure_import(server.pid, lambda: A.import_items(mgr, work, body), label="assay")
            del body
            if args.big_items:
                big = A.create_project(mgr, "bench-big")
                body = A.ndjson(0, args.big_items)
                res["import_big"] = measure_import(
                    server.pid, lambda: A.import_items(mgr, big, body), label="assay"
                )
                del body
                res["import_big"]["vm_hwm_mb"] = round(hwm_mb(server.pid), 1)
            else:
                big = work
            res.update(
                measure_serving(
                    server.pid,
                    label="assay",
                    one=A.client(server.base, tokens[0], timeout=60),
                    many=lambda: [A.client(server.base, t, timeout=60) for t in tokens],
                    lease=A.lease_fn(big),
                    crowd_lease=A.lease_fn(work),
                    answer=A.answer,
                    pairs=args.latency_pairs,
                    warmup=20,
                    project_items=args.big_items or args.items,
                    args=args,
                )
            )
        server.stop()
        t0 = time.perf_counter()
        seeded = A.seed_answers(data, project_id=work)
        res["export_seed"] = {"answers_written": seeded, "wall_s": round(time.perf_counter() - t0, 1)}
        res["start_warm_large_s"] = round(server.start(), 2)
        res["idle_rss_large_mb"] = round(server.idle_rss(), 1)
        with A.client(server.base, manager) as mgr:
            res["export"] = measure_export(
                server.pid,
                lambda: A.export_jsonl(mgr, work, out / "assay-export.jsonl"),
                lambda: A.check_export(out / "assay-export.jsonl"),
            )
        print(f"assay export: {res['export']}", flush=True)
    finally:
        server.stop()
    return res


def bench_ls(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    res: dict[str, Any] = {}
    ls = L.LabelStudio(out / "ls-data", args.ls_port)
    try:
        res["start_cold_s"] = round(ls.start(), 2)  # fresh data dir: includes the migrations
        res["idle_rss_mb"] = round(ls.idle_rss(), 1)
        people = ls.annotators(args.annotators)
        with ls.admin() as admin:
            work = L.create_project(admin, "bench-work")
            body = L.tasks(0, args.ls_items)
            res["load_before_import"] = load_average()
            res["import"] = measure_import(ls.pid, lambda: L.import_tasks(admin, work, body), label="LS")
            res.update(
                measure_serving(
                    ls.pid,
                    label="LS",
                    one=ls.client(people[0][1], timeout=120),
                    many=lambda: [ls.client(token, timeout=120) for _, token in people],
                    lease=L.lease_fn(work),
                    crowd_lease=L.lease_fn(work),
                    answer=L.answer,
                    pairs=args.ls_latency_pairs,
                    warmup=5,
                    project_items=args.ls_items,
                    args=args,
                )
            )
            done = L.create_project(admin, "bench-export")
            wall, n = L.import_tasks(admin, done, L.tasks(0, args.ls_export_items, annotated_by=people[0][0]))
            res["export_seed"] = {"answers_written": n, "wall_s": round(wall, 1)}
            res["export"] = measure_export(
                ls.pid,
                lambda: L.export_json(admin, done, out / "ls-export.json"),
                lambda: L.check_export(out / "ls-export.json"),
            )
        print(f"LS export: {res['export']}", flush=True)
        ls.stop()
        res["start_warm_s"] = round(ls.start(), 2)
        res["idle_rss_warm_mb"] = round(ls.idle_rss(), 1)
    finally:
        ls.stop()
    return res


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--items", type=int, default=100_000, help="items imported, annotated and exported")
    p.add_argument("--big-items", type=int, default=1_000_000, help="assay-only large import; 0 skips it")
    p.add_argument("--annotators", type=int, default=16)
    p.add_argument("--crowd-seconds", type=float, default=20.0, help="length of the concurrent run")
    p.add_argument("--per-annotator", type=int, default=5000, help="cap on answers per annotator")
    p.add_argument("--latency-pairs", type=int, default=500, help="assay next+submit pairs measured")
    p.add_argument("--skip-ls", action="store_true", help="measure assay only")
    p.add_argument("--ls-items", type=int, default=None, help="Label Studio import size (default --items)")
    p.add_argument("--ls-latency-pairs", type=int, default=100)
    p.add_argument("--ls-export-items", type=int, default=5000, help="annotated tasks exported from LS")
    p.add_argument("--port", type=int, default=18100)
    p.add_argument("--ls-port", type=int, default=18080)
    p.add_argument("--out", type=Path, default=None, help="work dir (default bench/out/service-<time>)")
    p.add_argument("--results", type=Path, default=ROOT / "bench" / "service" / "results.json")
    args = p.parse_args(argv)
    if args.ls_items is None:
        args.ls_items = args.items
    for name in ("items", "annotators", "latency_pairs", "ls_items", "ls_latency_pairs", "ls_export_items"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    from report import table

    args = parse(argv)
    os.chdir(ROOT)  # the Label Studio helper is found as ../shared relative to the repository root
    signal.signal(signal.SIGTERM, _stop_on_term)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = args.out or ROOT / "bench" / "out" / f"service-{stamp}"
    out.mkdir(parents=True, exist_ok=False)
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_average_at_start": load_average(),
        },
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
    }
    t0 = time.perf_counter()
    try:
        results["assay"] = bench_assay(args, out)
        if not args.skip_ls:
            results["label_studio"] = bench_ls(args, out)
    finally:
        results["total_wall_s"] = round(time.perf_counter() - t0, 1)
        args.results.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    print(f"results: {args.results}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
