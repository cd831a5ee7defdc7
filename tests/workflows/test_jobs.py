"""The database-backed job queue: coalescing, exactly-once claims, dead workers, failures, threads,
and the live quality it drives (snapshots, read-your-writes, settling by the project's method)."""

from __future__ import annotations

import importlib
import io
import os
import threading
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from assay.app import Assay
from assay.storage import jobs as store
from assay.storage.people import now
from assay.storage.tables import jobs as jobs_t
from assay.storage.tables import quality_snapshots
from assay.workflows import annotate, ingest, jobs, projects, quality
from assay.workflows.projects import Project
from tests.factories import TEXT_SCHEMA, Member, make_member, make_org, text_items


def _handle_with(monkeypatch: pytest.MonkeyPatch, fn: Any) -> None:
    """Run quality refreshes with ``fn`` for this test (the real handler is registered first, so
    that it is put back afterwards)."""
    importlib.import_module("assay.workflows.quality")
    monkeypatch.setitem(jobs._HANDLERS, jobs.QUALITY_REFRESH, fn)


def _project(hub: Assay, manager: Member, n: int = 6, **settings: Any) -> Project:
    actor = manager.actor(hub)
    project = projects.create(
        hub, actor, name=f"p{time.monotonic_ns()}", schema=TEXT_SCHEMA, settings=settings
    )
    body = b"".join(orjson.dumps(i) + b"\n" for i in text_items(n))
    ingest.import_items(hub, actor, project, source=io.BytesIO(body), fmt="jsonl", name="items.jsonl")
    return project


def _answer(hub: Assay, who: Member, project: Project, label: str) -> int:
    actor = who.actor(hub)
    lease = annotate.next_item(hub, actor, project.id)
    assert lease is not None
    annotate.submit(hub, actor, lease.assignment_id, answers={"sentiment": label}, duration_ms=4000)
    return lease.item_id


def _jobs(hub: Assay, project_id: int) -> list[Any]:
    with hub.db.read() as conn:
        return list(
            conn.execute(sa.select(jobs_t).where(jobs_t.c.project_id == project_id).order_by(jobs_t.c.id))
        )


def test_answers_queue_one_refresh_that_a_worker_runs(hub: Assay) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    people = [make_member(hub, org) for _ in range(3)]
    project = _project(hub, manager, overlap=3)
    for who in people:
        _answer(hub, who, project, "positive")
    queued = _jobs(hub, project.id)
    # Three answers, one queued refresh: they coalesce until a worker takes it.
    assert [(j.kind, j.state) for j in queued] == [(jobs.QUALITY_REFRESH, "queued")]
    assert queued[0].run_after >= queued[0].created_at + timedelta(seconds=hub.config.quality_delay_s - 0.01)
    assert jobs.run_one(hub) is None  # not due yet
    done = jobs.run_pending(hub)
    assert [d["state"] for d in done] == ["done"] and done[0]["result"]["answers"] == 3
    [job] = _jobs(hub, project.id)
    assert job.state == "done" and job.attempts == 1 and job.finished_at is not None
    with hub.db.read() as conn:
        snap = conn.execute(
            sa.select(quality_snapshots).where(quality_snapshots.c.project_id == project.id)
        ).one()
    assert snap.answers == 3 and snap.method == "ds"
    assert snap.report["annotators"] and len(snap.workers) == 3
    # A later answer queues a new refresh beside the finished one.
    _answer(hub, make_member(hub, org), project, "neutral")
    assert [j.state for j in _jobs(hub, project.id)] == ["done", "queued"]


def test_the_quality_report_reads_its_own_writes_without_a_worker(hub: Assay) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    project = _project(hub, manager, overlap=2)
    first = quality.project_quality(hub, manager.actor(hub), project.id)
    assert first["answers"] == 0
    _answer(hub, make_member(hub, org), project, "positive")
    second = quality.project_quality(hub, manager.actor(hub), project.id)
    assert second["answers"] == 1 and second["refreshed"]["computed_at"] >= first["refreshed"]["computed_at"]
    # Reading ran the queued refresh (exactly once) rather than leaving it to a worker.
    assert [j.state for j in _jobs(hub, project.id)] == ["done"]
    again = quality.project_quality(hub, manager.actor(hub), project.id)
    assert again["refreshed"] == second["refreshed"]  # served from the snapshot, nothing recomputed


@pytest.mark.parametrize("threads", [6])
def test_concurrent_workers_run_every_job_exactly_once(
    hub: Assay, monkeypatch: pytest.MonkeyPatch, threads: int
) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    project_ids = [_project(hub, manager, n=1).id for _ in range(24)]
    with hub.db.write() as conn:
        org_id = int(
            conn.execute(
                sa.text("SELECT org_id FROM projects WHERE id = :i"), {"i": project_ids[0]}
            ).scalar_one()
        )
        for pid in project_ids:
            jobs.queue_quality_refresh(hub, conn, org_id=org_id, project_id=pid)
            jobs.queue_quality_refresh(hub, conn, org_id=org_id, project_id=pid)  # coalesced
    ran: Counter[int] = Counter()
    lock = threading.Lock()

    def handler(_hub: Assay, job: Any) -> Any:
        with lock:
            ran[int(job.id)] += 1
        time.sleep(0.01)
        return {"ok": True}

    _handle_with(monkeypatch, handler)
    errors: list[BaseException] = []

    def drain() -> None:
        try:
            jobs.run_pending(hub)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    pool = [threading.Thread(target=drain) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(60)
    assert errors == []
    rows = [j for pid in project_ids for j in _jobs(hub, pid)]
    assert len(rows) == len(project_ids)
    assert [(j.state, j.attempts, j.error) for j in rows] == [("done", 1, None)] * len(rows)
    assert sorted(ran) == sorted(int(j.id) for j in rows) and set(ran.values()) == {1}


def test_a_dead_workers_job_is_taken_again_and_the_late_finish_is_refused(hub: Assay) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    project = _project(hub, manager)
    _answer(hub, make_member(hub, org), project, "positive")
    late = now() + timedelta(days=1)
    with hub.db.write() as conn:
        # Worker "dead" claims it with a lease that has already run out (it was killed mid-job).
        taken = store.claim(
            conn, worker="dead", at=now(), due_by=late, until=now() - timedelta(seconds=1), max_attempts=3
        )
        assert taken is not None and taken.attempts == 1
    outcome = jobs.run_one(hub, worker="alive")
    assert outcome is not None and outcome["state"] == "done"
    [job] = _jobs(hub, project.id)
    assert job.attempts == 2 and job.locked_by == "alive" and job.state == "done"
    with hub.db.write() as conn:
        assert not store.finish(conn, job_id=int(job.id), worker="dead", at=now())


def test_a_projects_refresh_waits_while_another_of_it_runs(hub: Assay) -> None:
    """Two server processes each run a worker: the refresh queued while one runs must not start
    beside it (the same fit twice), only after it, or once the runner's lease has run out."""
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    project, other = _project(hub, manager), _project(hub, manager)
    _answer(hub, make_member(hub, org), project, "positive")
    late = now() + timedelta(days=1)
    with hub.db.write() as conn:
        first = store.claim(conn, worker="a", at=now(), due_by=late, until=late, max_attempts=3)
        assert first is not None and first.project_id == project.id
    _answer(hub, make_member(hub, org), project, "neutral")  # queued while "a" still runs
    _answer(hub, make_member(hub, org), other, "neutral")
    with hub.db.read() as conn:
        assert store.anything_due(conn, at=now(), project_id=project.id, due_by=late) is False
    with hub.db.write() as conn:
        taken = store.claim(conn, worker="b", at=now(), due_by=late, until=late, max_attempts=3)
        # Another project's refresh is not held up by it.
        assert taken is not None and taken.project_id == other.id
        assert store.claim(conn, worker="b", at=now(), due_by=late, until=late, max_attempts=3) is None
    # The quality report does the work itself rather than wait for "a" (read-your-writes holds).
    fresh = quality.project_quality(hub, manager.actor(hub), project.id)
    assert fresh["answers"] == 2
    with hub.db.write() as conn:
        assert store.finish(conn, job_id=int(first.id), worker="a", at=now())
        taken = store.claim(conn, worker="b", at=now(), due_by=late, until=late, max_attempts=3)
        assert taken is not None and taken.project_id == project.id and taken.id != first.id


def test_a_failing_job_is_recorded_and_one_that_keeps_dying_is_given_up(
    hub: Assay, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    project = _project(hub, manager)
    _answer(hub, make_member(hub, org), project, "positive")

    def broken(_hub: Assay, _job: Any) -> Any:
        raise RuntimeError("model exploded on item 7")

    _handle_with(monkeypatch, broken)
    [outcome] = jobs.run_pending(hub)
    assert outcome["state"] == "failed" and "model exploded on item 7" in outcome["error"]
    [job] = _jobs(hub, project.id)
    assert job.state == "failed" and "RuntimeError" in job.error
    # A job whose workers die every time stops after MAX_ATTEMPTS instead of looping forever.
    _answer(hub, make_member(hub, org), project, "neutral")
    for attempt in range(jobs.MAX_ATTEMPTS):
        with hub.db.write() as conn:
            taken = store.claim(
                conn,
                worker=f"dies-{attempt}",
                at=now(),
                due_by=now() + timedelta(days=1),
                until=now() - timedelta(seconds=1),
                max_attempts=jobs.MAX_ATTEMPTS,
            )
            assert taken is not None
    assert jobs.run_pending(hub) == []
    assert [j.state for j in _jobs(hub, project.id)] == ["failed", "failed"]
    assert _jobs(hub, project.id)[1].error == "gave up after every attempt"


def test_worker_threads_refresh_in_the_background(hub: Assay) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    project = _project(hub, manager)
    hub.config = type(hub.config)(**{**hub.config.__dict__, "quality_delay_s": 0.0})
    _answer(hub, make_member(hub, org), project, "positive")
    workers = jobs.Workers(hub, count=2, poll_s=0.02)
    workers.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _jobs(hub, project.id)[0].state != "done":
            time.sleep(0.05)
    finally:
        workers.stop()
    assert _jobs(hub, project.id)[0].state == "done"


def test_the_refresh_settles_items_by_the_projects_method(hub: Assay) -> None:
    """Majority vote's posterior for three agreeing answers is 1.0; the per-answer estimate (an
    unmeasured annotator counts as 75% right) gives 0.991, under the 0.995 target.  So the item stays
    open after each answer and is settled by the refresh."""
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    project = _project(hub, manager, n=1, overlap=5, target_confidence=0.995, method="mv")
    item_id = 0
    for _ in range(3):
        item_id = _answer(hub, make_member(hub, org), project, "negative")
    with hub.db.read() as conn:
        assert conn.execute(
            sa.text("SELECT settled FROM items WHERE id = :i"), {"i": item_id}
        ).scalar_one() in (0, False)
    [outcome] = jobs.run_pending(hub)
    assert outcome["result"]["settled"] == 1
    with hub.db.read() as conn:
        row = conn.execute(sa.text("SELECT settled, open FROM items WHERE id = :i"), {"i": item_id}).one()
    assert bool(row.settled) and not bool(row.open)
    assert annotate.next_item(hub, make_member(hub, org).actor(hub), project.id) is None
    report = quality.project_quality(hub, manager.actor(hub), project.id)
    assert report["method"] == "mv" and report["adaptive_overlap"]["settled_items"] == 1


def test_a_large_projects_reader_gets_the_last_snapshot_marked_stale(hub: Assay) -> None:
    """Refreshing a big project takes tens of seconds; its reader must not wait for that."""
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    project = _project(hub, manager, overlap=2)
    _answer(hub, make_member(hub, org), project, "positive")
    first = quality.project_quality(hub, manager.actor(hub), project.id)
    assert first["answers"] == 1 and first["refreshed"]["stale"] is False
    with hub.db.write() as conn:  # as if the last refresh had been slow
        conn.execute(quality_snapshots.update().values(seconds=quality.INLINE_REFRESH_S + 30))
    _answer(hub, make_member(hub, org), project, "neutral")
    stale = quality.project_quality(hub, manager.actor(hub), project.id)
    assert stale["answers"] == 1 and stale["refreshed"]["stale"] is True
    assert [j.state for j in _jobs(hub, project.id)] == ["done", "queued"]  # left to the workers
    jobs.run_pending(hub)
    fresh = quality.project_quality(hub, manager.actor(hub), project.id)
    assert fresh["answers"] == 2 and fresh["refreshed"]["stale"] is False


def test_after_a_slow_refresh_the_next_one_waits_longer(hub: Assay, monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    hub.config = dataclasses.replace(hub.config, quality_delay_s=0.0)  # only the hold can delay it
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    project = _project(hub, manager, overlap=3)
    _answer(hub, make_member(hub, org), project, "positive")
    annotator = make_member(hub, org)

    def slow(_hub: Assay, _job: Any) -> Any:
        _answer(hub, annotator, project, "neutral")  # an answer arrives while the refresh runs
        time.sleep(0.3)
        return {"ok": True}

    _handle_with(monkeypatch, slow)
    outcome = jobs.run_one(hub, due_now=True)
    assert outcome is not None and outcome["state"] == "done"
    done, queued = _jobs(hub, project.id)
    assert queued.state == "queued"
    ran = done.finished_at - done.started_at
    assert queued.run_after >= done.finished_at + jobs.DUTY * ran - timedelta(milliseconds=5)


def test_the_server_runs_its_workers_in_a_process_of_their_own(hub: Assay) -> None:
    """`assay serve` starts the job workers in a child process (a refresh in the server's own process
    would hold the interpreter lock while annotators wait), which stops with the server."""
    import dataclasses

    from assay.web.server import start_workers, stop_workers

    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    project = _project(hub, manager)
    hub.config = dataclasses.replace(hub.config, quality_delay_s=0.0, job_workers=1)
    _answer(hub, make_member(hub, org), project, "positive")
    process = start_workers(hub.config)
    assert process is not None and process.pid != os.getpid()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and _jobs(hub, project.id)[0].state != "done":
            time.sleep(0.1)
        job = _jobs(hub, project.id)[0]
        assert job.state == "done", job
        assert f":{process.pid}:" in job.locked_by  # the child, not this process, ran it
    finally:
        stop_workers(process, timeout=30)
    assert not process.is_alive()
    assert start_workers(dataclasses.replace(hub.config, job_workers=0)) is None


def test_an_idle_worker_polls_on_a_read_and_never_takes_the_write_lock(hub: Assay) -> None:
    from sqlalchemy import event

    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    project = _project(hub, manager)
    _answer(hub, make_member(hub, org), project, "positive")  # queued, but still in its delay
    writes: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        writes.append(statement)

    # On SQLite the write engine must see nothing (not even BEGIN IMMEDIATE); PostgreSQL has one
    # engine for both, so there nothing but reads may go out.
    engine = hub.db.write_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert jobs.run_one(hub) is None
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert [w for w in writes if not w.lstrip().upper().startswith("SELECT")] == []


def test_finished_jobs_are_pruned_to_the_newest_per_project(
    hub: Assay, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "KEEP", 3)
    _handle_with(monkeypatch, lambda _hub, _job: {"ok": True})
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    project, other = _project(hub, manager), _project(hub, manager)
    with hub.db.write() as conn:
        org_id = int(
            conn.execute(sa.text("SELECT org_id FROM projects WHERE id = :i"), {"i": project.id}).scalar_one()
        )
    for _ in range(6):
        with hub.db.write() as conn:
            jobs.queue_quality_refresh(hub, conn, org_id=org_id, project_id=project.id)
        jobs.run_pending(hub)
    with hub.db.write() as conn:
        jobs.queue_quality_refresh(hub, conn, org_id=org_id, project_id=other.id)
    jobs.run_pending(hub)
    kept = _jobs(hub, project.id)
    assert len(kept) == 3 and all(j.state == "done" for j in kept)
    assert [j.id for j in kept] == sorted(j.id for j in kept)[-3:]
    assert len(_jobs(hub, other.id)) == 1  # another project's history is its own


def test_settling_after_each_answer_takes_workforce_records_from_the_last_refresh(
    hub: Assay, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The per-answer check read every gold answer of the voters' workforces (281 ms at 300k
    answers, after every answer); once a refresh has run it reads only annotators it has not seen."""
    from assay.storage import gates as gate_store
    from assay.workflows import adaptive, fitted

    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    actor = manager.actor(hub)
    project = projects.create(
        hub,
        actor,
        name="adaptive",
        schema=TEXT_SCHEMA,
        settings={"overlap": 5, "target_confidence": 0.999, "gold_rate": 0.5},
    )
    records = [
        {**item, "gold": {"sentiment": "positive"}} if i < 6 else item
        for i, item in enumerate(text_items(30))
    ]
    body = b"".join(orjson.dumps(r) + b"\n" for r in records)
    ingest.import_items(hub, actor, project, source=io.BytesIO(body), fmt="jsonl", name="items.jsonl")
    seen = [make_member(hub, org, workforce="Vendor A", vendor=True) for _ in range(3)]
    for who in seen:
        for _ in range(6):
            _answer(hub, who, project, "positive")
    jobs.run_pending(hub)
    with hub.db.read() as conn:
        model = fitted.load(store.snapshot_workers(conn, org_id=actor.org_id, project_id=project.id))
        gold_answers = conn.execute(
            sa.text(
                "SELECT count(*) FROM annotations a JOIN items i ON i.id = a.item_id "
                "WHERE a.project_id = :p AND i.is_gold"
            ),
            {"p": project.id},
        ).scalar_one()
        team_id = conn.execute(
            sa.text("SELECT DISTINCT workforce_id FROM annotations WHERE project_id = :p"), {"p": project.id}
        ).scalar_one()
    assert gold_answers > 0
    assert {f.workforce_id for f in model.values()} == {team_id}
    assert adaptive.team_records(model) == {team_id: (float(gold_answers), float(gold_answers))}

    calls: list[list[int]] = []
    read = gate_store.gold_answers

    def spy(conn: Any, **kw: Any) -> Any:
        calls.append(list(kw["user_ids"]))
        return read(conn, **kw)

    monkeypatch.setattr(gate_store, "gold_answers", spy)
    with hub.db.read() as conn:
        voted = (
            conn.execute(
                sa.text(
                    "SELECT a.item_id FROM annotations a JOIN items i ON i.id = a.item_id "
                    "WHERE a.project_id = :p AND NOT i.is_gold GROUP BY a.item_id HAVING count(*) >= 2"
                ),
                {"p": project.id},
            )
            .scalars()
            .first()
        )
    assert voted is not None
    adaptive.settle_if_sure(hub, seen[0].actor(hub), project, int(voted))
    assert calls == [[]]  # everyone voting was seen by the refresh: nothing to read
    newcomer = make_member(hub, org, workforce="Vendor A", vendor=True)
    newcomer_id = int(newcomer.actor(hub).user_id)
    for _ in range(12):
        _answer(hub, newcomer, project, "positive")
    # Of the voters, only the one the refresh has not seen is read; no workforce's gold answers are.
    assert [newcomer_id] in calls
    assert all(set(users) <= {newcomer_id} for users in calls)
