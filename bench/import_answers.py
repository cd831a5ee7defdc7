"""Import throughput of answers given outside assay (`import-answers`), into SQLite.

    python bench/import_answers.py                      # 200,000 answers: 40,000 items x 5 annotators
    python bench/import_answers.py --answers 1000000    # the issue's size

Answers per second for a first import (every row checked, then written a chunk per transaction)
and for a re-import of the same file (every row checked and found stored: skipped), with the
process's peak memory after each, to show that it stays flat as the file grows.
"""

from __future__ import annotations

import argparse
import io
import random
import resource
import tempfile
import time
from pathlib import Path

import orjson

from assay.app import Assay
from assay.cli import common
from assay.settings import Config
from assay.storage import migrate
from assay.workflows import admin, deliveries, ingest
from assay.workflows import projects as project_flows

SCHEMA = {
    "inputs": [{"name": "text", "kind": "text"}],
    "questions": [{"name": "sentiment", "kind": "choice", "options": ["positive", "neutral", "negative"]}],
}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=200_000)
    parser.add_argument("--annotators", type=int, default=5)
    args = parser.parse_args()
    n_items = max(1, args.answers // args.annotators)
    rng = random.Random(14)
    with tempfile.TemporaryDirectory() as tmp:
        hub = Assay(Config(data_dir=Path(tmp), database_url=f"sqlite:///{tmp}/bench.db"))
        migrate.upgrade(hub.db)
        admin.create_org(hub, slug="bench", name="Bench")
        admin.create_user(
            hub,
            org="bench",
            email="v@bench.test",
            role="annotator",
            workforce="Vendor",
            workforce_kind="vendor",
        )
        actor = common.operator(hub, "bench")
        project = project_flows.create(
            hub, actor, name="p", schema=SCHEMA, settings={"overlap": args.annotators}
        )
        items = b"".join(
            orjson.dumps({"data": {"text": f"message {i}"}, "external_id": f"x-{i}"}) + b"\n"
            for i in range(n_items)
        )
        ingest.import_items(hub, actor, project, source=io.BytesIO(items), fmt="jsonl", name=None)
        delivery = Path(tmp) / "delivery.jsonl"
        with delivery.open("wb") as out:
            for k in range(args.annotators):
                for i in range(n_items):
                    row = {
                        "external_id": f"x-{i}",
                        "annotator": f"annotator-{k}",
                        "answers": {"sentiment": rng.choice(SCHEMA["questions"][0]["options"])},  # type: ignore[index]
                        "duration_ms": rng.randrange(2_000, 60_000),
                    }
                    out.write(orjson.dumps(row) + b"\n")
        rows = n_items * args.annotators
        print(
            f"{rows:,} answers, {delivery.stat().st_size / 1e6:.0f} MB of JSONL; peak {_peak_mb():.0f} MB before"
        )
        for what in ("first import", "re-import"):
            start = time.perf_counter()
            with delivery.open("rb") as source:
                result = deliveries.import_answers(
                    hub, actor, project, source=source, fmt="jsonl", name=delivery.name, workforce="Vendor"
                )
            seconds = time.perf_counter() - start
            print(
                f"{what}: {result.imported:,} imported, {result.skipped:,} skipped in {seconds:.1f} s, "
                f"{rows / seconds:,.0f} answers/s; peak {_peak_mb():.0f} MB"
            )
        hub.close()


if __name__ == "__main__":
    main()
