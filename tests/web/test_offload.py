"""Imports run in worker processes beside the server (``web.offload``), answering exactly as they
would from a thread: the same results, the same error bodies, nothing half-written; a worker that
dies costs its one request a 503, not the server its imports."""

from __future__ import annotations

import asyncio
import inspect
import os
import pickle
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from assay import errors
from assay.app import Assay
from assay.web.app import create_app
from assay.web.offload import Offload
from tests.factories import TEXT_SCHEMA, make_member, make_org, text_items


def worker_pid(_hub: Assay) -> int:
    return os.getpid()


def die(_hub: Assay) -> None:
    os._exit(3)  # as a worker killed by the kernel would: no exception, no reply


@pytest.fixture
def offload(hub: Assay) -> Iterator[Offload]:
    pool = Offload(hub)
    pool.start()
    try:
        yield pool
    finally:
        pool.stop()


@pytest.fixture
def served(hub: Assay, offload: Offload) -> Iterator[TestClient]:
    with TestClient(create_app(hub, offload=offload), raise_server_exceptions=False) as client:
        yield client


def _ndjson(items: list[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(i) + b"\n" for i in items)


def test_an_import_runs_in_a_worker_process_and_answers_as_from_a_thread(
    hub: Assay, offload: Offload, served: TestClient
) -> None:
    assert offload.processes == 1
    assert asyncio.run(offload.run(worker_pid)) != os.getpid()
    manager = make_member(hub, make_org(hub), role="manager")
    created = served.post(
        "/api/v1/projects", json={"name": "p", "schema": TEXT_SCHEMA, "settings": {}}, headers=manager.headers
    )
    project_id = created.json()["id"]
    url = f"/api/v1/projects/{project_id}/items"
    ndjson = {**manager.headers, "Content-Type": "application/x-ndjson"}
    # More than one chunk, so the worker writes several transactions before the import commits.
    done = served.post(url, content=_ndjson(text_items(2500)), headers=ndjson)
    assert done.status_code == 201, done.text
    assert done.json()["imported"] == 2500
    bad = text_items(3, start=5000)
    bad[2] = {"data": {"txt": "typo"}}
    refused = served.post(url, content=_ndjson(bad), headers=ndjson)
    assert refused.status_code == 422
    body = refused.json()
    assert body["ok"] is False and body["status"] == 422
    assert body["errors"][0]["line"] == 3 and "data.text" in body["error"], body
    project = served.get(f"/api/v1/projects/{project_id}", headers=manager.headers).json()
    assert project["counts"]["items"] == 2500  # nothing of the refused file
    annotator = make_member(hub, manager.org)
    assert served.get(f"/api/v1/projects/{project_id}/next", headers=annotator.headers).status_code == 200


def test_an_answers_import_runs_in_a_worker_process_too(hub: Assay, served: TestClient) -> None:
    manager = make_member(hub, make_org(hub), role="manager")
    created = served.post(
        "/api/v1/projects", json={"name": "p", "schema": TEXT_SCHEMA, "settings": {}}, headers=manager.headers
    )
    project_id = created.json()["id"]
    assert served.post(
        f"/api/v1/projects/{project_id}/items", json=text_items(2), headers=manager.headers
    ).is_success
    assert served.post(
        "/api/v1/workforces", json={"name": "V", "kind": "vendor"}, headers=manager.headers
    ).is_success
    url = f"/api/v1/projects/{project_id}/annotations?workforce=V"
    rows = [
        {"external_id": f"x-{i}", "annotator": "kim", "answers": {"sentiment": "neutral"}} for i in range(2)
    ]
    done = served.post(url, json=rows, headers=manager.headers)
    assert done.status_code == 201, done.text
    assert done.json() == {"ok": True, "imported": 2, "skipped": 0, "annotators": 1, "annotators_created": 1}
    refused = served.post(url, json=[{**rows[0], "answers": {"sentiment": "happy"}}], headers=manager.headers)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "answers.sentiment"
    assert served.post(url, json=rows, headers=manager.headers).json()["skipped"] == 2


def test_a_worker_that_dies_costs_one_request_a_503_and_the_next_gets_a_new_worker(
    offload: Offload,
) -> None:
    with pytest.raises(errors.Unavailable) as died:
        asyncio.run(offload.run(die))
    assert died.value.status == 503 and "try again" in died.value.message
    assert asyncio.run(offload.run(worker_pid)) != os.getpid()


def test_without_worker_processes_the_same_function_runs_in_a_thread(hub: Assay) -> None:
    assert asyncio.run(Offload(hub).run(worker_pid)) == os.getpid()  # the in-process app's
    hub.config = replace(hub.config, import_workers=0)
    inline = Offload(hub)
    inline.start()  # ASSAY_IMPORT_WORKERS=0: starts nothing
    try:
        assert inline.processes == 0
        assert asyncio.run(inline.run(worker_pid)) == os.getpid()
    finally:
        inline.stop()


def _every_error_class() -> list[type[errors.AssayError]]:
    found: list[type[errors.AssayError]] = []
    todo: list[type[errors.AssayError]] = [errors.AssayError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


@pytest.mark.parametrize("cls", _every_error_class(), ids=lambda c: c.__name__)
def test_every_error_crosses_a_process_boundary_whole(cls: type[errors.AssayError]) -> None:
    """An error raised in a worker is pickled back: its class, sentence, details and extras too,
    whatever its constructor asks for (every subclass, found at run time, so a new one is covered)."""
    params = inspect.signature(cls).parameters
    extra: dict[str, Any] = {  # what a constructor asks for beyond the sentence (retry_after, item)
        name: 7 for name, p in params.items() if p.kind is p.KEYWORD_ONLY and p.default is p.empty
    }
    if "errors" in params:
        extra["errors"] = [errors.detail("line 3: data.text", "is required", line=3)]
    error = cls("the upload is wrong", **extra)
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is cls
    assert back.to_dict() == error.to_dict()
    assert vars(back) == vars(error) and str(back) == str(error)
