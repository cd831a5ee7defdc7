"""JSON-array and JSONL import throughput: the readers alone, and whole imports into SQLite.

    python bench/import_json.py                    # 200,000 preference items (~110 MB as a JSON array)
    python bench/import_json.py --items 50000 --repeat 5

What the input bounds cost is measured by running this script against two checkouts one after the
other on the same machine (see bench/README.md): the code before the bounds and the current code.
Each figure is the best of ``--repeat`` passes, so a busy machine shows less of its noise.  The
script uses only interfaces both versions have (``iter_records``, ``ingest.import_items``).
"""

from __future__ import annotations

import argparse
import io
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from assay.app import Assay
from assay.formats.readers import iter_records
from assay.settings import Config
from assay.workflows import admin, ingest
from assay.workflows import projects as project_flows

SCHEMA = {
    "inputs": [{"name": "prompt", "kind": "text"}, {"name": "responses", "kind": "responses"}],
    "questions": [{"name": "overall", "kind": "preference", "scale": {"min": -3, "max": 3}}],
}
WORDS = [
    "the",
    "a",
    "model",
    "answer",
    "user",
    "asks",
    "why",
    "how",
    "data",
    "label",
    "quality",
    "vendor",
    "item",
    "review",
    "json",
]


def _text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)) + ' with "quotes", [brackets] and {braces}\n'


def records(n: int) -> list[dict[str, Any]]:
    rng = random.Random(7)
    return [
        {
            "data": {
                "prompt": _text(rng, 30),
                "responses": [
                    {"id": "a", "content": _text(rng, 60), "model": "m1"},
                    {"id": "b", "content": _text(rng, 60), "model": "m2"},
                ],
            },
            "external_id": f"x-{i}",
            "meta": {"source": "bench", "n": i, "tags": ["a", "b"]},
        }
        for i in range(n)
    ]


def best_of(repeat: int, run: Any) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = records(args.items)
    blobs = {
        "json": orjson.dumps(rows),
        "jsonl": b"".join(orjson.dumps(r) + b"\n" for r in rows),
    }
    del rows
    try:  # the depth guard alone (only the code with the input bounds has it)
        from assay.formats._depth import DepthGuard
    except ImportError:
        pass
    else:

        def scan(b: bytes = blobs["json"]) -> None:
            guard = DepthGuard(io.BytesIO(b), limit=65)
            while guard.read(1 << 16):
                pass

        seconds = best_of(args.repeat, scan)
        print(
            f"depth guard alone over the JSON array: {seconds:.2f} s ({len(blobs['json']) / 1e6 / seconds:,.0f} MB/s)"
        )
    for fmt, blob in blobs.items():
        seconds = best_of(
            args.repeat,
            lambda b=blob, f=fmt: sum(1 for _ in iter_records(io.BytesIO(b), fmt=f, name="bench")),
        )
        print(
            f"read {fmt:5}: {args.items:,} items ({len(blob) / 1e6:.0f} MB) in {seconds:.2f} s: "
            f"{args.items / seconds:,.0f} items/s"
        )
    with tempfile.TemporaryDirectory() as tmp:
        hub = Assay(Config(data_dir=Path(tmp)))
        hub.migrate()
        admin.create_org(hub, slug="bench")
        admin.create_user(hub, org="bench", email="lead@bench.test", role="manager")
        from assay.cli.common import operator

        actor = operator(hub, "bench")
        counter = iter(range(10**9))
        for fmt, blob in blobs.items():

            def run(b: bytes = blob, f: str = fmt) -> None:
                project = project_flows.create(hub, actor, name=f"p{next(counter)}", schema=SCHEMA)
                ingest.import_items(hub, actor, project, source=io.BytesIO(b), fmt=f, name="bench")

            seconds = best_of(args.repeat, run)
            print(
                f"import {fmt:5} into SQLite: {args.items:,} items in {seconds:.2f} s: {args.items / seconds:,.0f} items/s"
            )
        hub.close()


if __name__ == "__main__":
    main()
