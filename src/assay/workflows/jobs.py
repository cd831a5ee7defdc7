"""Background work on the database-backed job queue (``storage.jobs``), and the threads that run it.

Each ``assay serve`` process runs ``ASSAY_JOB_WORKERS`` worker threads (default 1).  They poll the
``jobs`` table, claim one due job at a time and run it outside any request.  Nothing else is
needed: on SQLite the queue is the same file, and on PostgreSQL any number of processes share it
(``SKIP LOCKED`` hands each job to exactly one).  A worker that dies mid-job (kill -9) leaves the
job ``running`` with a lease; when the lease runs out another worker takes it again, up to
``MAX_ATTEMPTS`` times.

Kinds:
- ``quality.refresh``: queued in the same transaction as every answer, review and gold change of a
  project (coalesced: at most one queued per project), run ``ASSAY_QUALITY_DELAY_S`` later.  It
  fits the project's truth-inference method, stores the quality report as the project's snapshot,
  and settles the items adaptive overlap may close (see ``workflows.quality.refresh``).
"""

from __future__ import annotations

import importlib
import logging
import os
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Connection

from assay import logs
from assay.app import Assay
from assay.storage import jobs as store
from assay.storage.engine import org_scope
from assay.storage.people import now

log = logging.getLogger("assay.jobs")

QUALITY_REFRESH = "quality.refresh"
LEASE = timedelta(minutes=10)
MAX_ATTEMPTS = 3


def worker_name() -> str:
    """Unique per thread and process, readable in the jobs table (host:pid:random)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _gone(worker: str) -> bool:
    """Whether ``worker`` (``host:pid:random``) was a process of this machine that no longer runs.
    A pid taken by another process since counts as running: the lease then decides, as ever."""
    host, _, rest = worker.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname()[:60] or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def release_dead_local(hub: Assay) -> int:
    """End at once the leases of running jobs whose worker was a process on this machine that is
    gone (killed, crashed), instead of waiting out ``LEASE``: a job killed mid-way then continues
    as soon as the next worker or ``assay generate`` looks.  How many were released."""
    with hub.db.read() as conn:
        held = [(int(r.id), r.locked_by) for r in store.running_workers(conn) if r.locked_by]
    dead = [(job_id, worker) for job_id, worker in held if _gone(worker)]
    if not dead:
        return 0
    released = 0
    with hub.db.write() as conn:
        for job_id, worker in dead:
            released += store.end_lease(conn, job_id=job_id, worker=worker, at=now())
    for job_id, worker in dead:
        logs.event(log, "job.worker_gone", level=logging.WARNING, job=job_id, worker=worker)
    return released


DUTY = 4.0  # after a job ran t seconds, the next of its project and kind waits at least DUTY * t


def queue_quality_refresh(hub: Assay, conn: Connection, *, org_id: int, project_id: int) -> None:
    """Queue a refresh of the project's quality; call it inside the write that changed the answers, so
    that the answer and the promise to look at it commit together.  One INSERT: it waits
    ``ASSAY_QUALITY_DELAY_S``, and ``run_one`` pushes it further out after a slow refresh."""
    at = now()
    store.enqueue(
        conn,
        org_id=org_id,
        project_id=project_id,
        kind=QUALITY_REFRESH,
        at=at,
        run_after=at + timedelta(seconds=hub.config.quality_delay_s),
    )


Handler = Callable[[Assay, Any], Any]

#: Job kind -> what runs it.  Features register here (``@jobs.handler(KIND)``) when imported; the
#: queue itself knows no feature, and ``FEATURES`` names the modules that hold handlers so that a
#: worker (or ``assay jobs run``) has them all before it claims a job.
_HANDLERS: dict[str, Handler] = {}
FEATURES = ("assay.workflows.quality", "assay.workflows.generate")


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the function that runs jobs of ``kind`` (called with the hub and the job's row)."""

    def register(fn: Handler) -> Handler:
        if _HANDLERS.get(kind, fn) is not fn:
            raise ValueError(f"job kind {kind!r} already has a handler")
        _HANDLERS[kind] = fn
        return fn

    return register


def _handler_for(kind: str) -> Handler | None:
    if kind not in _HANDLERS:
        for module in FEATURES:
            importlib.import_module(module)
    return _HANDLERS.get(kind)


def run_one(
    hub: Assay, *, worker: str | None = None, project_id: int | None = None, due_now: bool = False
) -> dict[str, Any] | None:
    """Claim and run one due job; returns what happened, or None when nothing was due.

    ``due_now`` takes queued jobs before their delay has run out (the quality report does, to read
    its own writes; tests do, to drive the queue without waiting).
    """
    worker = worker or worker_name()
    at = now()
    due_by = at + timedelta(days=36500) if due_now else None
    with hub.db.read() as conn:
        if not store.anything_due(conn, at=at, project_id=project_id, due_by=due_by):
            return None
    with hub.db.write() as conn:
        store.give_up(conn, max_attempts=MAX_ATTEMPTS, at=at)
        job = store.claim(
            conn,
            worker=worker,
            at=at,
            until=at + LEASE,
            max_attempts=MAX_ATTEMPTS,
            project_id=project_id,
            due_by=due_by,
        )
    if job is None:
        return None
    started = time.perf_counter()
    fields: dict[str, Any] = {
        "job": int(job.id),
        "kind": job.kind,
        "org": job.org_id,
        "project": job.project_id,
        "attempt": int(job.attempts),
    }
    waited = round((job.started_at - job.created_at).total_seconds(), 3)
    logs.event(log, "job.claimed", **fields, waited=waited, worker=worker)
    run = _handler_for(job.kind)
    try:
        if run is None:
            raise ValueError(f"unknown job kind {job.kind!r}")
        with org_scope(int(job.org_id)):
            result = run(hub, job)
    except Exception as exc:  # a failed job is recorded, never lost, and never stops the worker
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:2000]
        seconds = logs.seconds_since(started)
        logs.event(
            log, "job.failed", level=logging.ERROR, exc_info=True, **fields, error=error, seconds=seconds
        )
        with hub.db.write() as conn:
            store.finish(conn, job_id=int(job.id), worker=worker, at=now(), error=error, failed=True)
        return {"id": int(job.id), "kind": job.kind, "state": "failed", "error": error}
    finished = now()
    with hub.db.write() as conn:
        store.finish(conn, job_id=int(job.id), worker=worker, at=finished, result=result)
        # A project whose refresh takes 40 s is refreshed every few minutes while answers stream
        # in, instead of keeping a worker busy for good: the job queued meanwhile waits DUTY times
        # as long as this one ran (decided here, off the submit path).
        store.hold_queued(
            conn,
            project_id=job.project_id,
            kind=job.kind,
            until=finished + DUTY * (finished - job.started_at),
        )
    logs.event(log, "job.finished", **fields, seconds=logs.seconds_since(started))
    return {"id": int(job.id), "kind": job.kind, "state": "done", "result": result}


def run_pending(hub: Assay, *, limit: int = 1000, due_now: bool = True) -> list[dict[str, Any]]:
    """Run queued jobs until none is left (or ``limit``); with ``due_now`` delayed jobs count as due."""
    worker = worker_name()
    release_dead_local(hub)
    done: list[dict[str, Any]] = []
    for _ in range(limit):
        outcome = run_one(hub, worker=worker, due_now=due_now)
        if outcome is None:
            break
        done.append(outcome)
    return done


class Workers:
    """The job threads of one server process.  ``stop`` lets the running job finish."""

    def __init__(self, hub: Assay, *, count: int, poll_s: float = 0.5) -> None:
        self.hub = hub
        self.count = count
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        try:
            release_dead_local(self.hub)
        except Exception:  # never a reason not to start
            logs.event(log, "job.release_failed", level=logging.ERROR, exc_info=True)
        for i in range(self.count):
            thread = threading.Thread(target=self._loop, name=f"assay-jobs-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _loop(self) -> None:
        worker = worker_name()
        while not self._stop.is_set():
            try:
                outcome = run_one(self.hub, worker=worker)
            except Exception:  # the database went away for a moment: wait and go on
                logs.event(log, "job.queue_unreachable", level=logging.ERROR, exc_info=True, worker=worker)
                outcome = None
            if outcome is None:
                self._stop.wait(self.poll_s)

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()
