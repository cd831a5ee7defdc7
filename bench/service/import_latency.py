"""next/submit latency on one project while a large import runs into another (SQLite).

An import used to hold SQLite's write lock for its whole file, so every annotator of every
organisation waited for it (a 1M-item import: 14 s).  This runs one `assay serve` on a fresh data
directory, imports N items (one NDJSON request) into project B, and meanwhile has an annotator
lease and answer items of project A without pause; it reports next/submit p50/p99 before the import
and during it.

    .venv/bin/python bench/service/import_latency.py                       # this checkout
    .venv/bin/python bench/service/import_latency.py --code ../old-checkout  # another one's src/

``--code`` runs the server from another source tree (its ``src`` first on PYTHONPATH), so the
current code and an older one are measured one after the other on the same machine.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import assay_side
from common import AnnotatorLog, annotate_loop, percentile

PORT = 8787


def _figures(log: Any) -> dict[str, Any]:
    return {
        "pairs": len(log.submit_ms),
        "next_p50_ms": round(percentile(log.next_ms, 50), 1),
        "next_p99_ms": round(percentile(log.next_ms, 99), 1),
        "next_max_ms": round(max(log.next_ms), 1) if log.next_ms else None,
        "submit_p50_ms": round(percentile(log.submit_ms, 50), 1),
        "submit_p99_ms": round(percentile(log.submit_ms, 99), 1),
        "submit_max_ms": round(max(log.submit_ms), 1) if log.submit_ms else None,
        "errors": dict(log.errors.most_common(3)),
    }


def run(*, items: int, code: Path | None, port: int) -> dict[str, Any]:
    if code is not None:
        os.environ["PYTHONPATH"] = str((code / "src").resolve())
    with tempfile.TemporaryDirectory(prefix="assay-import-latency-") as tmp:
        data = Path(tmp)
        manager_token, (annotator_token,) = assay_side.setup_people(data, annotators=1)
        server = assay_side.AssayServer(data, port)
        server.start()
        try:
            mgr = assay_side.client(server.base, manager_token)
            ann = assay_side.client(server.base, annotator_token, timeout=120)
            a = assay_side.create_project(mgr, "annotated")
            b = assay_side.create_project(mgr, "imported")
            assay_side.import_items(mgr, a, assay_side.ndjson(0, 20_000))
            body = assay_side.ndjson(100_000, items)
            lease, answer = assay_side.lease_fn(a), assay_side.answer
            far = time.monotonic() + 600
            annotate_loop(ann, lease=lease, answer=answer, count=50, deadline=far)  # warm up
            before = annotate_loop(ann, lease=lease, answer=answer, count=300, deadline=far)
            done = threading.Event()
            outcome: dict[str, Any] = {}

            def do_import() -> None:
                try:
                    wall, n = assay_side.import_items(mgr, b, body)
                    outcome.update(wall_s=round(wall, 2), imported=n)
                except (RuntimeError, httpx.HTTPError) as exc:
                    outcome["error"] = str(exc)[:300]
                finally:
                    done.set()

            importer = threading.Thread(target=do_import)
            importer.start()
            time.sleep(0.2)  # the upload is on its way
            during = AnnotatorLog()
            while not done.is_set():
                more = annotate_loop(ann, lease=lease, answer=answer, count=10, deadline=far)
                during.next_ms += more.next_ms
                during.submit_ms += more.submit_ms
                during.errors.update(more.errors)
            importer.join()
        finally:
            server.stop()
    return {
        "code": str(code) if code else "this checkout",
        "items": items,
        "import": outcome,
        "before_import": _figures(before),
        "during_import": _figures(during),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--code", type=Path, default=None, help="run the server from this checkout's src/")
    parser.add_argument("--port", type=int, default=PORT)
    parser.add_argument("--out", type=Path, default=None, help="append the figures (JSON lines)")
    args = parser.parse_args()
    figures = run(items=args.items, code=args.code, port=args.port)
    print(json.dumps(figures, indent=2))
    if args.out is not None:
        with args.out.open("a") as fh:
            fh.write(json.dumps(figures) + "\n")


if __name__ == "__main__":
    main()
