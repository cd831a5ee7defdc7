"""kill -9 during submissions: nothing acknowledged is lost, nothing is half-written.

Fifty annotators submit as fast as they can while the server is SIGKILLed.  After a restart on the
same database every acknowledged (201) submission is there exactly once with its answers, the
counters agree with the rows, and retrying an unacknowledged submission with its Idempotency-Key
either stores it once or returns the answer that was committed just before the kill.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e._support import Team, make_team, random_answers, read_ledger, text_project
from tests.e2e.conftest import Launch

SUBMITTERS = 50
KILL_AFTER_ACKS = 150


@dataclass
class Attempt:
    token: str  # the annotator holding the lease
    assignment_id: int
    key: str
    body: dict[str, Any]
    annotation_id: int | None = None  # set when the server acknowledged it with a 201


@dataclass
class Record:
    lock: threading.Lock
    acked: list[Attempt]
    unacked: list[Attempt]
    failures: list[str]
    enough: threading.Event


def _submitter(
    url: str, token: str, project_id: int, rng: random.Random, record: Record, deadline: float
) -> None:
    with httpx.Client(base_url=url + "/api/v1", headers=Team.headers(token), timeout=30) as http:
        while time.monotonic() < deadline:
            try:
                got = http.get(f"/projects/{project_id}/next")
            except httpx.TransportError:
                return  # the server is gone; a lease that was never shown to us is not a submission
            if got.status_code != 200:
                with record.lock:
                    record.failures.append(f"next: {got.status_code} {got.text[:200]}")
                return
            body = {"answers": random_answers(rng), "duration_ms": rng.randrange(100, 60_000)}
            attempt = Attempt(
                token, int(got.json()["assignment_id"]), str(uuid.UUID(int=rng.getrandbits(128))), body
            )
            try:
                done = http.post(
                    f"/assignments/{attempt.assignment_id}/submit",
                    json=body,
                    headers={"Idempotency-Key": attempt.key},
                )
            except httpx.TransportError:
                with record.lock:
                    record.unacked.append(attempt)
                return
            with record.lock:
                if done.status_code == 201:
                    attempt.annotation_id = int(done.json()["id"])
                    record.acked.append(attempt)
                    if len(record.acked) >= KILL_AFTER_ACKS:
                        record.enough.set()
                else:
                    record.failures.append(f"submit: {done.status_code} {done.text[:200]}")
                    return


def _resubmit(http: httpx.Client, attempt: Attempt) -> httpx.Response:
    return http.post(
        f"/assignments/{attempt.assignment_id}/submit",
        json=attempt.body,
        headers={"Idempotency-Key": attempt.key},
    )


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_kill_9_during_submissions_loses_nothing_acknowledged(
    launch: Launch, db_url: str, tmp_path: Path
) -> None:
    server = launch(db_url, name="victim")
    team = make_team(db_url, tmp_path / "admin", annotators=SUBMITTERS)
    project_id = text_project(server.url, team, n_items=3000, settings={"overlap": 2})
    record = Record(threading.Lock(), [], [], [], threading.Event())
    deadline = time.monotonic() + 120
    threads = [
        threading.Thread(
            target=_submitter,
            args=(server.url, token, project_id, random.Random(7000 + i), record, deadline),
            daemon=True,
        )
        for i, token in enumerate(team.annotators)
    ]
    for t in threads:
        t.start()
    assert record.enough.wait(timeout=120), (
        f"only {len(record.acked)} submissions acknowledged: {record.failures}"
    )
    server.kill()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert record.failures == []
    assert record.unacked, "the kill interrupted no submission; nothing was tested"

    server.start()  # same database, fresh process
    ledger = read_ledger(db_url, project_id)
    assert ledger.problems() == []
    for attempt in record.acked:
        stored = ledger.annotation_by_assignment.get(attempt.assignment_id)
        assert stored == {"id": attempt.annotation_id, "key": attempt.key, "answers": attempt.body["answers"]}

    committed_before_retry = set(ledger.annotation_by_assignment)
    by_assignment = {a.assignment_id: a for a in record.acked}
    for attempt in record.unacked:
        with httpx.Client(
            base_url=server.url + "/api/v1", headers=Team.headers(attempt.token), timeout=30
        ) as http:
            first = _resubmit(http, attempt)
            assert first.status_code == 201, first.text
            assert first.json()["answers"] == attempt.body["answers"]
            was_committed = attempt.assignment_id in committed_before_retry
            # Committed before the kill: the retry is a replay of that answer; otherwise stored now.
            assert (first.headers.get("Idempotent-Replayed") == "true") == was_committed
            if was_committed:
                assert first.json()["id"] == ledger.annotation_by_assignment[attempt.assignment_id]["id"]
            again = _resubmit(http, attempt)
            assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
            assert again.json()["id"] == first.json()["id"]
            by_assignment[attempt.assignment_id] = attempt
    # An acknowledged submission retried after the restart is a replay of the same answer.
    for attempt in record.acked[:: max(1, len(record.acked) // 10)]:
        with httpx.Client(
            base_url=server.url + "/api/v1", headers=Team.headers(attempt.token), timeout=30
        ) as http:
            again = _resubmit(http, attempt)
            assert again.status_code == 201 and again.json()["id"] == attempt.annotation_id

    final = read_ledger(db_url, project_id)
    assert final.problems() == []
    # Exactly the attempted submissions are stored, each once, with the key and answers that were sent.
    assert set(final.annotation_by_assignment) == set(by_assignment)
    for assignment_id, attempt in by_assignment.items():
        stored = final.annotation_by_assignment[assignment_id]
        assert (stored["key"], stored["answers"]) == (attempt.key, attempt.body["answers"])
    assert server.tracebacks() == []
