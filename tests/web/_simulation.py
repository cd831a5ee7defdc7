"""Simulated workforces answering through the real API (shared by the vendor simulation test)."""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient

from tests.factories import Member

OPTIONS = ["positive", "neutral", "negative"]


@dataclass
class Annotator:
    member: Member
    accuracy: float
    seconds: float


@dataclass
class Run:
    project_id: int
    truth: dict[str, str]  # item text -> true label
    answers: int = 0
    gold_answers: int = 0
    paused: list[str] = field(default_factory=list)


def make_project(
    api: TestClient,
    manager: Member,
    *,
    name: str,
    n_items: int,
    gold_share: float,
    settings: dict[str, Any],
    seed: int,
) -> Run:
    rng = random.Random(seed)
    schema = {
        "inputs": [{"name": "text", "kind": "text"}],
        "questions": [{"name": "sentiment", "kind": "choice", "options": OPTIONS}],
    }
    r = api.post(
        "/api/v1/projects",
        headers=manager.headers,
        json={"name": name, "schema": schema, "settings": settings},
    )
    assert r.status_code == 201, r.text
    project_id = r.json()["id"]
    truth: dict[str, str] = {}
    records = []
    n_gold = round(n_items * gold_share)
    for i in range(n_items):
        text = f"{name} message {i}"
        truth[text] = rng.choice(OPTIONS)
        record: dict[str, Any] = {"data": {"text": text}}
        if i < n_gold:
            record["gold"] = {"sentiment": truth[text]}
        records.append(record)
    r = api.post(f"/api/v1/projects/{project_id}/items", headers=manager.headers, json=records)
    assert r.status_code == 201, r.text
    return Run(project_id, truth)


def work(
    api: TestClient,
    run: Run,
    annotators: list[Annotator],
    *,
    seed: int,
    background: Callable[[], object] | None = None,
    every: int = 100,
) -> Run:
    """Every annotator asks for the next item and answers it, until nothing is left for anyone.

    Time is simulated: the annotator whose clock is earliest goes next and spends their answer's
    duration, so fast annotators answer more items, as they do in a real queue.  ``background``
    stands for the server's job workers: it runs after every ``every`` answers.
    """
    rng = random.Random(seed)
    clock = [(rng.random(), i) for i in range(len(annotators))]
    heapq.heapify(clock)
    while clock:
        at, i = heapq.heappop(clock)
        a = annotators[i]
        r = api.get(f"/api/v1/projects/{run.project_id}/next", headers=a.member.headers)
        if r.status_code == 204:
            continue
        if r.status_code == 403:
            assert "paused" in r.json()["error"], r.text
            run.paused.append(a.member.email)
            continue
        assert r.status_code == 200, r.text
        lease = r.json()
        true = run.truth[lease["item"]["data"]["text"]]
        label = true if rng.random() < a.accuracy else rng.choice([o for o in OPTIONS if o != true])
        seconds = max(0.5, rng.gauss(a.seconds, a.seconds / 5))
        r = api.post(
            f"/api/v1/assignments/{lease['assignment_id']}/submit",
            headers=a.member.headers,
            json={"answers": {"sentiment": label}, "duration_ms": int(seconds * 1000)},
        )
        assert r.status_code == 201, r.text
        run.answers += 1
        if background is not None and run.answers % every == 0:
            background()
        heapq.heappush(clock, (at + seconds, i))
    return run
