"""``assay.Client`` for models in the loop: connections, generation jobs, live chat turns and the
leaderboard, against the app on a loopback port and the real model server."""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from assay import Client
from assay.app import Assay
from assay.client import ApiError
from assay.web.app import create_app
from assay.workflows import jobs
from tests.factories import make_member, make_org
from tests.model_server import MODEL, free_port


@pytest.fixture
def served(hub: Assay) -> Iterator[str]:
    """The app on a real loopback port (uvicorn in a thread), sharing the test's hub."""
    config = uvicorn.Config(create_app(hub), host="127.0.0.1", port=free_port(), log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_the_client_drives_connections_generation_and_a_chat(
    hub: Assay, served: str, model_server: Any
) -> None:
    with contextlib.ExitStack() as stack:
        _drive(hub, served, model_server, stack)


def _drive(hub: Assay, served: str, model_server: Any, stack: contextlib.ExitStack) -> None:
    hub.config = dataclasses.replace(
        hub.config, secret_key="k" * 64, model_hosts=("127.0.0.1",), model_retries=0
    )
    org = make_org(hub)
    manager, annotator = make_member(hub, org, role="manager"), make_member(hub, org)
    lead = stack.enter_context(Client(served, manager.token))
    for name in ("alpha", "beta"):
        made = lead.add_model(
            name, base_url=model_server.base_url, model=MODEL, params={"max_tokens": 6}, api_key="sk-x"
        )
        assert made["has_key"] is True and "api_key" not in made
    assert [m["name"] for m in lead.models()] == ["alpha", "beta"]
    generated = lead.create_project(
        "gen",
        schema={
            "inputs": [
                {"name": "prompt", "kind": "text"},
                {"name": "responses", "kind": "responses", "required": False},
            ],
            "questions": [{"name": "better", "kind": "preference", "scale": {"min": -1, "max": 1}}],
        },
    )
    lead.import_items(generated["id"], [{"data": {"prompt": "Say hi."}}])
    job_id = lead.generate(generated["id"], ["alpha", "beta"])
    jobs.run_pending(hub)
    assert lead.job(job_id)["state"] == "done"

    chat = lead.create_project(
        "chat",
        schema={
            "inputs": [{"name": "topic", "kind": "text"}],
            "questions": [{"name": "conversation", "kind": "chat", "models": ["alpha", "beta"]}],
        },
    )
    lead.import_items(chat["id"], [{"data": {"topic": "anything"}}])
    worker = stack.enter_context(Client(served, annotator.token))
    lease = worker.next(chat["id"])
    assert lease is not None
    aid = int(lease["assignment_id"])
    turn = worker.turn(aid, "Hello.")
    cid = turn["candidates"][0]["id"]
    assert (
        worker.judge_turn(aid, turn["turn_id"], {"preferred": cid, "strength": 2})["judgement"]["strength"]
        == 2
    )
    assert worker.turns(aid)["turns"][0]["judgement"]["preferred"] == cid
    worker.submit(
        aid, {"conversation": {"turns": [{"turn_id": turn["turn_id"], "preferred": cid, "strength": 2}]}}
    )
    board = lead.leaderboard(chat["id"])
    assert board["battles"] == 1 and {m["model"] for m in board["models"]} == {"alpha", "beta"}
    lead.delete_model(lead.models()[0]["id"])
    assert [m["name"] for m in lead.models()] == ["beta"]
    with pytest.raises(ApiError) as refused:
        worker.turns(999_999)
    assert refused.value.status == 404
