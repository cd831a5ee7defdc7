"""What the end-to-end tests share: a team with tokens, a project over HTTP, and the database ledger."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from assay.app import Assay
from assay.settings import Config
from assay.storage.tables import annotations as annotations_t
from assay.storage.tables import assignments, items, jobs
from assay.workflows import admin
from tests.factories import TEXT_SCHEMA

SENTIMENTS = ("positive", "neutral", "negative")


@dataclass(frozen=True)
class Team:
    org: str
    manager: str
    annotators: list[str]

    @staticmethod
    def headers(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


def make_team(database_url: str, data_dir: Path, *, annotators: int, org: str = "acme") -> Team:
    """An organisation with one manager and ``annotators`` annotators, each with an API token.

    Built through ``assay.workflows.admin`` (what the CLI runs) on a hub of its own: one process for
    dozens of users instead of a CLI start-up per user.  The servers migrated the database already.
    """
    with Assay(Config(data_dir=data_dir, database_url=database_url)) as hub:
        admin.create_org(hub, slug=org, name=org.title())
        admin.create_user(hub, org=org, email=f"lead@{org}.test", role="manager")
        tokens = []
        for i in range(annotators):
            email = f"ann{i}@{org}.test"
            admin.create_user(hub, org=org, email=email, role="annotator", workforce="In house")
            tokens.append(admin.create_token(hub, org=org, email=email))
        manager = admin.create_token(hub, org=org, email=f"lead@{org}.test")
    return Team(org=org, manager=manager, annotators=tokens)


def text_project(base_url: str, team: Team, *, n_items: int, settings: dict[str, Any]) -> int:
    """A sentiment project with ``n_items`` items, created and filled over HTTP; returns its id."""
    with httpx.Client(base_url=base_url + "/api/v1", headers=team.headers(team.manager), timeout=60) as http:
        created = http.post(
            "/projects", json={"name": "sentiment", "schema": TEXT_SCHEMA, "settings": settings}
        )
        assert created.status_code == 201, created.text
        project_id = int(created.json()["id"])
        body = "".join(
            f'{{"data": {{"text": "message {i}"}}, "external_id": "m-{i}"}}\n' for i in range(n_items)
        )
        imported = http.post(
            f"/projects/{project_id}/items",
            content=body.encode(),
            headers={"Content-Type": "application/x-ndjson"},
        )
        assert imported.status_code == 201, imported.text
        assert imported.json()["imported"] == n_items
    return project_id


def random_answers(rng: random.Random) -> dict[str, Any]:
    return {"sentiment": rng.choice(SENTIMENTS)}


@dataclass
class Ledger:
    """The database's own account of a project, read with plain SQL (no assay code in between)."""

    per_item: dict[int, int]  # item id → annotations
    pairs: Counter[tuple[int, int]]  # (item id, user id) → annotations
    claimed: dict[int, int]
    answered: dict[int, int]
    live_leases: dict[int, int]  # item id → assignments still 'leased'
    annotation_by_assignment: dict[int, dict[str, Any]]
    submitted_assignments: set[int]
    assignment_status: dict[int, str]

    def problems(self) -> list[str]:
        """Broken invariants, whatever the workload: the counters agree with the rows they count."""
        found = []
        dup = [pair for pair, n in self.pairs.items() if n > 1]
        if dup:
            found.append(f"{len(dup)} (item, annotator) pairs answered more than once, e.g. {dup[:3]}")
        for item_id, claimed in self.claimed.items():
            expected = self.per_item.get(item_id, 0) + self.live_leases.get(item_id, 0)
            if claimed != expected:
                found.append(f"item {item_id}: claimed={claimed} but leases+answers={expected}")
            if self.answered[item_id] != self.per_item.get(item_id, 0):
                found.append(
                    f"item {item_id}: answered={self.answered[item_id]} but {self.per_item.get(item_id, 0)} rows"
                )
        with_answer = set(self.annotation_by_assignment)
        if with_answer != self.submitted_assignments:
            found.append(
                "submitted assignments and annotations differ: "
                f"{sorted(self.submitted_assignments - with_answer)[:5]} have no annotation, "
                f"{sorted(with_answer - self.submitted_assignments)[:5]} are not 'submitted'"
            )
        return found[:20]


def read_jobs(database_url: str, project_id: int) -> list[Any]:
    """The project's background jobs (state, attempts, worker, error)."""
    engine = _engine(database_url)
    try:
        with engine.connect() as conn:
            return list(
                conn.execute(
                    sa.select(jobs.c.id, jobs.c.state, jobs.c.attempts, jobs.c.locked_by, jobs.c.error).where(
                        jobs.c.project_id == project_id
                    )
                )
            )
    finally:
        engine.dispose()


def read_ledger(database_url: str, project_id: int) -> Ledger:
    engine = _engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    annotations_t.c.id,
                    annotations_t.c.item_id,
                    annotations_t.c.user_id,
                    annotations_t.c.assignment_id,
                    annotations_t.c.idempotency_key,
                    annotations_t.c.answers,
                ).where(annotations_t.c.project_id == project_id)
            ).all()
            item_rows = conn.execute(
                sa.select(items.c.id, items.c.claimed, items.c.answered).where(
                    items.c.project_id == project_id, items.c.is_gold.is_(False)
                )
            ).all()
            lease_rows = conn.execute(
                sa.select(assignments.c.id, assignments.c.item_id, assignments.c.status).where(
                    assignments.c.project_id == project_id
                )
            ).all()
    finally:
        engine.dispose()
    per_item: Counter[int] = Counter(int(r.item_id) for r in rows)
    live: Counter[int] = Counter(int(r.item_id) for r in lease_rows if r.status == "leased")
    return Ledger(
        per_item=dict(per_item),
        pairs=Counter((int(r.item_id), int(r.user_id)) for r in rows),
        claimed={int(r.id): int(r.claimed) for r in item_rows},
        answered={int(r.id): int(r.answered) for r in item_rows},
        live_leases=dict(live),
        annotation_by_assignment={
            int(r.assignment_id): {"id": int(r.id), "key": r.idempotency_key, "answers": r.answers}
            for r in rows
        },
        submitted_assignments={int(r.id) for r in lease_rows if r.status == "submitted"},
        assignment_status={int(r.id): str(r.status) for r in lease_rows},
    )


def expire_leases_now(database_url: str, assignment_ids: list[int]) -> int:
    """Move these leases' expiry into the past, as if their holders had walked away long ago."""
    if not assignment_ids:
        return 0
    engine = _engine(database_url)
    try:
        with engine.begin() as conn:
            result = conn.execute(
                assignments.update()
                .where(assignments.c.id.in_(assignment_ids), assignments.c.status == "leased")
                .values(expires_at=datetime(2000, 1, 1, tzinfo=UTC))
            )
            return int(result.rowcount)
    finally:
        engine.dispose()


def _engine(database_url: str) -> sa.Engine:
    # SQLite: wait for the servers' write transactions instead of failing with "database is locked".
    args = {"timeout": 60} if database_url.startswith("sqlite") else {}
    return sa.create_engine(database_url, connect_args=args)
