"""The job queue's SQL: enqueue (coalescing), claim (exactly one worker), finish, and snapshots.

A job moves ``queued -> running -> done | failed``.  Claiming is one guarded UPDATE: on PostgreSQL
the candidate row is picked with ``FOR UPDATE SKIP LOCKED`` so that several server processes never
wait on each other or take the same job; on SQLite ``BEGIN IMMEDIATE`` already serialises writers.
A running job whose lease (``locked_until``) ran out belongs to a worker that died: the next claim
takes it again, counting the attempt.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from assay.storage.tables import jobs, quality_snapshots


def enqueue(
    conn: Connection, *, org_id: int, project_id: int | None, kind: str, at: datetime, run_after: datetime
) -> None:
    """Queue a job unless one of the same kind is already queued for the project (it will see
    everything this caller wrote: it has not started yet)."""
    stmt: Any = postgresql.insert(jobs) if conn.dialect.name == "postgresql" else sqlite.insert(jobs)
    stmt = stmt.values(
        org_id=org_id, project_id=project_id, kind=kind, state="queued", run_after=run_after, created_at=at
    ).on_conflict_do_nothing(index_elements=["project_id", "kind"], index_where=sa.text("state = 'queued'"))
    conn.execute(stmt)


def _due(at: datetime, due_by: datetime | None) -> sa.ColumnElement[bool]:
    """Queued and past its delay (judged at ``due_by``), or running under a lease that ran out.

    A queued job waits while another of its project and kind runs under a live lease: two
    refreshes of one project at once (two server processes, each with a worker) would do the same
    work twice, and the one finishing holds the queued one back after a slow run (``hold_queued``).
    """
    running = jobs.alias("sibling")
    busy = (
        sa.select(running.c.id)
        .where(
            running.c.project_id == jobs.c.project_id,
            running.c.kind == jobs.c.kind,
            running.c.state == "running",
            running.c.locked_until >= at,
        )
        .exists()
    )
    return sa.or_(
        sa.and_(jobs.c.state == "queued", jobs.c.run_after <= (due_by or at), ~busy),
        sa.and_(jobs.c.state == "running", jobs.c.locked_until < at),
    )


def anything_due(
    conn: Connection, *, at: datetime, project_id: int | None = None, due_by: datetime | None = None
) -> bool:
    """Whether a claim could find work, answered on a read: an idle worker polls with this, so that
    on SQLite it does not take the database's write lock twice a second for nothing."""
    probe = sa.select(jobs.c.id).where(_due(at, due_by))
    if project_id is not None:
        probe = probe.where(jobs.c.project_id == project_id)
    return conn.execute(probe.limit(1)).first() is not None


def claim(
    conn: Connection,
    *,
    worker: str,
    at: datetime,
    until: datetime,
    max_attempts: int,
    project_id: int | None = None,
    due_by: datetime | None = None,
) -> sa.Row[Any] | None:
    """Take the oldest job that is due (or whose worker's lease ran out at ``at``), or None.

    ``due_by`` (default ``at``) lets a caller take queued jobs whose delay has not run out yet;
    a lease is always judged at ``at``, the real time.
    """
    due = _due(at, due_by)
    pick = sa.select(jobs.c.id).where(due, jobs.c.attempts < max_attempts)
    if project_id is not None:
        pick = pick.where(jobs.c.project_id == project_id)
    pick = pick.order_by(jobs.c.run_after, jobs.c.id).limit(1).with_for_update(skip_locked=True)
    row = conn.execute(pick).first()
    if row is None:
        return None
    # The guard repeats the condition: between the pick and this UPDATE nobody else can have taken it
    # (row lock on PostgreSQL, the write lock on SQLite), but the guard keeps that a database fact.
    taken = conn.execute(
        jobs.update()
        .where(jobs.c.id == row.id, due)
        .values(
            state="running",
            attempts=jobs.c.attempts + 1,
            locked_by=worker,
            locked_until=until,
            started_at=at,
            error=None,
        )
        .returning(*jobs.c)
    ).first()
    return taken


def finish(
    conn: Connection,
    *,
    job_id: int,
    worker: str,
    at: datetime,
    result: Any = None,
    error: str | None = None,
    failed: bool = False,
) -> bool:
    """Record the outcome; False when the job is no longer this worker's (its lease ran out and
    another worker took it).  Older finished jobs of the same project and kind beyond the newest
    ``KEEP`` are deleted: a busy project queues a refresh every few seconds, and the table would
    otherwise grow by tens of thousands of rows a day."""
    done = conn.execute(
        jobs.update()
        .where(jobs.c.id == job_id, jobs.c.state == "running", jobs.c.locked_by == worker)
        .values(
            state="failed" if failed else "done",
            result=result,
            error=error,
            finished_at=at,
            locked_until=None,
        )
    )
    if done.rowcount != 1:
        return False
    _prune(conn, job_id=job_id)
    return True


KEEP = 50  # finished jobs kept per project and kind, for `assay jobs list` and for diagnosis


def _prune(conn: Connection, *, job_id: int) -> None:
    row = conn.execute(sa.select(jobs.c.project_id, jobs.c.kind).where(jobs.c.id == job_id)).one()
    same = sa.and_(
        jobs.c.project_id.is_(None) if row.project_id is None else jobs.c.project_id == row.project_id,
        jobs.c.kind == row.kind,
        jobs.c.state.in_(("done", "failed")),
    )
    cutoff = conn.execute(
        sa.select(jobs.c.id).where(same).order_by(jobs.c.id.desc()).offset(KEEP).limit(1)
    ).scalar_one_or_none()
    if cutoff is not None:
        conn.execute(jobs.delete().where(same, jobs.c.id <= cutoff))


def hold_queued(conn: Connection, *, project_id: int | None, kind: str, until: datetime) -> None:
    """Let the queued job of this project and kind run no sooner than ``until``."""
    same_project = jobs.c.project_id.is_(None) if project_id is None else jobs.c.project_id == project_id
    conn.execute(
        jobs.update()
        .where(same_project, jobs.c.kind == kind, jobs.c.state == "queued", jobs.c.run_after < until)
        .values(run_after=until)
    )


def give_up(conn: Connection, *, max_attempts: int, at: datetime) -> int:
    """Close jobs that used every attempt (a job that kills its worker every time must not loop)."""
    result = conn.execute(
        jobs.update()
        .where(
            jobs.c.attempts >= max_attempts,
            sa.or_(jobs.c.state == "queued", sa.and_(jobs.c.state == "running", jobs.c.locked_until < at)),
        )
        .values(
            state="failed",
            finished_at=at,
            error=sa.func.coalesce(jobs.c.error, "gave up after every attempt"),
        )
    )
    return int(result.rowcount or 0)


def pending(conn: Connection, *, org_id: int, project_id: int, kind: str) -> list[sa.Row[Any]]:
    """Queued or running jobs of a kind for a project (oldest first)."""
    return list(
        conn.execute(
            sa.select(jobs)
            .where(
                jobs.c.org_id == org_id,
                jobs.c.project_id == project_id,
                jobs.c.kind == kind,
                jobs.c.state.in_(("queued", "running")),
            )
            .order_by(jobs.c.id)
        )
    )


def latest(conn: Connection, *, limit: int) -> list[sa.Row[Any]]:
    """The newest jobs of every organisation (the operator's view)."""
    return list(conn.execute(sa.select(jobs).order_by(jobs.c.id.desc()).limit(limit)))


def get_snapshot(conn: Connection, *, org_id: int, project_id: int) -> sa.Row[Any] | None:
    return conn.execute(
        sa.select(quality_snapshots).where(
            quality_snapshots.c.org_id == org_id, quality_snapshots.c.project_id == project_id
        )
    ).first()


def snapshot_workers(conn: Connection, *, org_id: int, project_id: int) -> dict[str, Any]:
    """The fitted per-annotator figures of a project's last quality refresh ({} before the first)."""
    found = conn.execute(
        sa.select(quality_snapshots.c.workers).where(
            quality_snapshots.c.org_id == org_id, quality_snapshots.c.project_id == project_id
        )
    ).scalar_one_or_none()
    return dict(found or {})


def put_snapshot(conn: Connection, *, values: dict[str, Any]) -> None:
    """Insert or replace a project's snapshot, unless the stored one is newer (two refreshes that
    overlapped finish in either order)."""
    table = quality_snapshots
    stmt: Any = postgresql.insert(table) if conn.dialect.name == "postgresql" else sqlite.insert(table)
    stmt = stmt.values(**values)
    update = {c: stmt.excluded[c] for c in values if c != "project_id"}
    stmt = stmt.on_conflict_do_update(
        index_elements=["project_id"], set_=update, where=table.c.computed_at <= stmt.excluded.computed_at
    )
    conn.execute(stmt)


def submit(
    conn: Connection,
    *,
    org_id: int,
    project_id: int,
    kind: str,
    at: datetime,
    params: dict[str, Any],
    total: int,
) -> int | None:
    """Queue a job that was asked for (a generation), with what it was asked; None when one of the
    same kind is already queued for the project (the unique index on queued jobs says so)."""
    stmt: Any = postgresql.insert(jobs) if conn.dialect.name == "postgresql" else sqlite.insert(jobs)
    stmt = (
        stmt.values(
            org_id=org_id,
            project_id=project_id,
            kind=kind,
            state="queued",
            run_after=at,
            created_at=at,
            params=params,
            total=total,
        )
        .on_conflict_do_nothing(
            index_elements=["project_id", "kind"], index_where=sa.text("state = 'queued'")
        )
        .returning(jobs.c.id)
    )
    row = conn.execute(stmt).first()
    return None if row is None else int(row.id)


def progress(
    conn: Connection,
    *,
    job_id: int,
    worker: str,
    done: int,
    total: int,
    errors: list[dict[str, Any]],
    until: datetime,
) -> bool:
    """Record how far a running job got and extend its lease; False when the job is no longer this
    worker's (its lease ran out and another took it over): the caller must stop."""
    moved = conn.execute(
        jobs.update()
        .where(jobs.c.id == job_id, jobs.c.state == "running", jobs.c.locked_by == worker)
        .values(done=done, total=total, errors=errors, locked_until=until)
    )
    return moved.rowcount == 1


def get_job(conn: Connection, *, org_id: int, job_id: int) -> sa.Row[Any] | None:
    return conn.execute(sa.select(jobs).where(jobs.c.org_id == org_id, jobs.c.id == job_id)).first()


def active(conn: Connection, *, org_id: int, project_id: int, kind: str) -> sa.Row[Any] | None:
    """The queued or running job of that kind for the project, if any (the newest)."""
    return conn.execute(
        sa.select(jobs)
        .where(
            jobs.c.org_id == org_id,
            jobs.c.project_id == project_id,
            jobs.c.kind == kind,
            jobs.c.state.in_(("queued", "running")),
        )
        .order_by(jobs.c.id.desc())
        .limit(1)
    ).first()


def latest_of(conn: Connection, *, org_id: int, project_id: int, kind: str) -> sa.Row[Any] | None:
    """The newest job of that kind for the project, in any state."""
    return conn.execute(
        sa.select(jobs)
        .where(jobs.c.org_id == org_id, jobs.c.project_id == project_id, jobs.c.kind == kind)
        .order_by(jobs.c.id.desc())
        .limit(1)
    ).first()


def running_workers(conn: Connection) -> list[sa.Row[Any]]:
    """The running jobs and who holds them (every organisation: the operator's view)."""
    return list(conn.execute(sa.select(jobs.c.id, jobs.c.locked_by).where(jobs.c.state == "running")))


def end_lease(conn: Connection, *, job_id: int, worker: str, at: datetime) -> bool:
    """End the lease of a job whose worker is known to be gone, so the next claim takes it."""
    moved = conn.execute(
        jobs.update()
        .where(jobs.c.id == job_id, jobs.c.state == "running", jobs.c.locked_by == worker)
        .values(locked_until=at)
    )
    return moved.rowcount == 1
