"""What the quality gates read after each answer, as a project grows.

After a gold answer the pause/qualification gate reads that annotator's gold answers in the
project; after a normal answer (with adaptive overlap) the settling check needs the voters'
accuracies and their workforces' gold records.  Both run in the server after the response, once
per answer, so their cost must not grow with the project.  This builds projects of a few sizes on
SQLite (``refresh.build``: 60 annotators in one workforce, overlap 3, 10% gold), runs one refresh
(the snapshot the settling check reads), and times, best of ``--repeat``:

- ``pause read``: one annotator's gold answers (through ``ix_annotations_user``);
- ``settle read, workforces``: every gold answer of the voters' workforce (here: of all 60
  annotators), as the settling check read them before it took workforce records from the
  snapshot (kept here as the reference);
- ``settle read, snapshot``: what it reads now: the snapshot's per-annotator figures, summed per
  workforce (``adaptive.team_records``).

    .venv/bin/python bench/service/gates.py                   # 30k, 300k and 1M answers
    .venv/bin/python bench/service/gates.py --answers 30000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from refresh import build

from assay.app import Assay
from assay.settings import Config
from assay.storage import gates as gate_store
from assay.storage import jobs as job_store
from assay.workflows import adaptive, quality


def best_ms(fn: Callable[[], Any], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def measure(n: int, repeat: int) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory() as d, Assay(Config(data_dir=Path(d))) as hub:
        hub.migrate()
        org_id, project_id = build(hub, n, seed=n)
        quality.refresh(hub, org_id=org_id, project_id=project_id)
        with hub.db.read() as conn:
            users = [
                int(u) for u in conn.exec_driver_sql("SELECT DISTINCT user_id FROM annotations").scalars()
            ]

            def pause() -> Any:
                return gate_store.gold_answers(conn, org_id=org_id, project_id=project_id, user_ids=users[:1])

            def settle_old() -> Any:
                # Every annotator here is in the one workforce: its gold answers are all of theirs.
                return gate_store.gold_answers(conn, org_id=org_id, project_id=project_id, user_ids=users)

            def settle_new() -> Any:
                return adaptive.team_records(
                    job_store.snapshot_workers(conn, org_id=org_id, project_id=project_id)
                )

            return best_ms(pause, repeat), best_ms(settle_old, repeat), best_ms(settle_new, repeat)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--answers", type=int, nargs="+", default=[30_000, 300_000, 1_000_000])
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args()
    print("answers    pause_read_ms  settle_read_workforces_ms  settle_read_snapshot_ms")
    for n in args.answers:
        pause, old, new = measure(n, args.repeat)
        print(f"{n:<10,} {pause:<14.1f} {old:<26.1f} {new:.2f}", flush=True)


if __name__ == "__main__":
    main()
