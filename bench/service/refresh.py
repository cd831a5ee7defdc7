"""How long a live-quality refresh takes as a project grows.

A refresh (the ``quality.refresh`` job every answer queues) reads every answer of the project, fits
the project's method with gold held fixed, computes the report (Krippendorff's alpha with a
500-draw bootstrap, scorecards) and settles sure items.  It starts from scratch each time, so its
cost grows with the project: this measures it at a few sizes on SQLite, with answers written
straight into the database (shaped like ``submit``'s) so that the set-up takes seconds, not hours.

    .venv/bin/python bench/service/refresh.py                  # 10k, 100k and 1M answers
    .venv/bin/python bench/service/refresh.py --answers 10000 50000

Prints one line per size: answers, items, seconds of the refresh (best of --repeat), peak RSS.
"""

from __future__ import annotations

import argparse
import random
import resource
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from assay.app import Assay
from assay.settings import Config
from assay.storage.tables import annotations, assignments, items, memberships, projects, users
from assay.workflows import admin, quality

OPTIONS = ["positive", "neutral", "negative"]
OVERLAP = 3
WORKERS = 60


def build(hub: Assay, n_answers: int, seed: int) -> tuple[int, int]:
    """An organisation, WORKERS annotators and a project whose items have OVERLAP answers each."""
    rng = random.Random(seed)
    admin.create_org(hub, slug="bench", name="Bench")
    emails = [f"a{i}@bench.test" for i in range(WORKERS)]
    for email in emails:
        admin.create_user(hub, org="bench", email=email, role="annotator", workforce="crowd")
    at = datetime.now(UTC)
    n_items = n_answers // OVERLAP
    with hub.db.write() as conn:
        org_id = int(conn.exec_driver_sql("SELECT id FROM organizations WHERE slug = 'bench'").scalar_one())
        people = conn.execute(
            users.select()
            .with_only_columns(users.c.id, memberships.c.id.label("mid"), memberships.c.workforce_id)
            .join(memberships, memberships.c.user_id == users.c.id)
        ).all()
        skill = {int(p.id): rng.uniform(0.6, 0.95) for p in people}
        schema = {
            "inputs": [{"name": "text", "kind": "text"}],
            "questions": [{"name": "sentiment", "kind": "choice", "options": OPTIONS}],
        }
        project_id = int(
            conn.execute(
                projects.insert()
                .values(org_id=org_id, name="p", schema=schema, settings={"overlap": OVERLAP}, created_at=at)
                .returning(projects.c.id)
            ).scalar_one()
        )
        item_rows, truth = [], []
        for i in range(n_items):
            label = rng.choice(OPTIONS)
            truth.append(label)
            gold = {"sentiment": label} if i % 10 == 0 else None
            item_rows.append(
                {
                    "org_id": org_id,
                    "project_id": project_id,
                    "data": {"text": f"item {i}"},
                    "gold": gold,
                    "is_gold": gold is not None,
                    "claimed": OVERLAP,
                    "answered": OVERLAP,
                    "open": False,
                    "created_at": at,
                }
            )
        conn.execute(items.insert(), item_rows)
        first = int(conn.exec_driver_sql("SELECT min(id) FROM items").scalar_one())
        lease_rows, answer_rows = [], []
        aid = 0
        for i in range(n_items):
            for p in rng.sample(people, OVERLAP):
                aid += 1
                right = rng.random() < skill[int(p.id)]
                label = truth[i] if right else rng.choice([o for o in OPTIONS if o != truth[i]])
                lease_rows.append(
                    {
                        "id": aid,
                        "org_id": org_id,
                        "project_id": project_id,
                        "item_id": first + i,
                        "user_id": int(p.id),
                        "membership_id": int(p.mid),
                        "status": "submitted",
                        "created_at": at,
                        "expires_at": at,
                        "finished_at": at,
                    }
                )
                answer_rows.append(
                    {
                        "org_id": org_id,
                        "project_id": project_id,
                        "item_id": first + i,
                        "assignment_id": aid,
                        "user_id": int(p.id),
                        "workforce_id": p.workforce_id,
                        "answers": {"sentiment": label},
                        "duration_ms": rng.randrange(2000, 30000),
                        "request_hash": "bench",
                        "created_at": at,
                    }
                )
            if len(answer_rows) >= 50_000:
                conn.execute(assignments.insert(), lease_rows)
                conn.execute(annotations.insert(), answer_rows)
                lease_rows, answer_rows = [], []
        if answer_rows:
            conn.execute(assignments.insert(), lease_rows)
            conn.execute(annotations.insert(), answer_rows)
    return org_id, project_id


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--answers", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    p.add_argument("--repeat", type=int, default=2)
    args = p.parse_args()
    print("answers    items     refresh_s  peak_rss_mb")
    for n in args.answers:
        with tempfile.TemporaryDirectory() as d, Assay(Config(data_dir=Path(d))) as hub:
            hub.migrate()
            org_id, project_id = build(hub, n, seed=n)
            best = float("inf")
            for _ in range(args.repeat):
                started = time.perf_counter()
                quality.refresh(hub, org_id=org_id, project_id=project_id)
                best = min(best, time.perf_counter() - started)
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"{n:<10,} {n // OVERLAP:<9,} {best:<10.2f} {rss:.0f}", flush=True)


if __name__ == "__main__":
    main()
