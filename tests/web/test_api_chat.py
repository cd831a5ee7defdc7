"""Live chat with real models behind a real OpenAI-compatible server (tests/model_server.py): turns,
server-stored candidates, judgements, branches, the submission checked against the tree, streaming,
failures, the item's shared first turn, and the exports."""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from assay.app import Assay
from tests.factories import Member, make_member, make_org
from tests.model_server import MODEL, free_port

QUESTION: dict[str, Any] = {
    "name": "conversation",
    "kind": "chat",
    "models": ["alpha", "beta"],
    "max_turns": 4,
    "rewrite": True,
}
SCHEMA: dict[str, Any] = {
    "inputs": [{"name": "topic", "kind": "text"}],
    "questions": [QUESTION],
}


def _setup(
    hub: Assay,
    api: TestClient,
    base_url: str,
    *,
    schema: dict[str, Any] = SCHEMA,
    overlap: int = 1,
    n_items: int = 2,
) -> tuple[Member, int, str]:
    hub.config = dataclasses.replace(
        hub.config, secret_key="k" * 64, model_hosts=("127.0.0.1",), model_retries=0, model_timeout_s=60
    )
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    for name, temperature in (("alpha", 0.0), ("beta", 0.9)):
        r = api.post(
            "/api/v1/models",
            headers=manager.headers,
            json={
                "name": name,
                "base_url": base_url,
                "model": MODEL,
                "params": {"temperature": temperature, "max_tokens": 8, "seed": 3},
                "price": {"input_per_mtok": 1.0, "output_per_mtok": 2.0},
            },
        )
        assert r.status_code == 201, r.text
    r = api.post(
        "/api/v1/projects",
        headers=manager.headers,
        json={"name": "chat", "schema": schema, "settings": {"overlap": overlap}},
    )
    assert r.status_code == 201, r.text
    pid = int(r.json()["id"])
    records = [{"data": {"topic": "Say hello to a friend."}, "external_id": f"c-{i}"} for i in range(n_items)]
    assert api.post(f"/api/v1/projects/{pid}/items", headers=manager.headers, json=records).status_code == 201
    return manager, pid, org


def _turn(api: TestClient, who: Member, aid: int, content: str | None, parent: int | None) -> dict[str, Any]:
    body: dict[str, Any] = {} if content is None else {"content": content}
    if parent is not None:
        body["parent"] = parent
    r = api.post(f"/api/v1/assignments/{aid}/turns", headers=who.headers, json=body)
    assert r.status_code == 200, r.text
    return dict(r.json())


def _judge(api: TestClient, who: Member, aid: int, turn: dict[str, Any], **judgement: Any) -> Any:
    return api.put(f"/api/v1/assignments/{aid}/turns/{turn['turn_id']}", headers=who.headers, json=judgement)


def test_a_conversation_of_judged_turns_with_a_rewrite_and_a_branch(
    hub: Assay, api: TestClient, model_server: Any
) -> None:
    manager, pid, org = _setup(hub, api, model_server.base_url)
    annotator = make_member(hub, org)
    lease = api.get(f"/api/v1/projects/{pid}/next", headers=annotator.headers).json()
    aid = int(lease["assignment_id"])

    first = _turn(api, annotator, aid, "Hi! Name a colour.", None)
    assert first["author"] == "human" and first["parent"] is None
    assert sorted(c["model"] for c in first["candidates"]) == ["alpha", "beta"]
    assert all(c["state"] == "done" and c["content"].strip() for c in first["candidates"]), [
        c["error"] for c in first["candidates"]
    ]
    a, b = (c["id"] for c in first["candidates"])
    # The next turn waits for this one's judgement.
    r = api.post(
        f"/api/v1/assignments/{aid}/turns",
        headers=annotator.headers,
        json={"content": "And?", "parent": first["turn_id"]},
    )
    assert r.status_code == 409 and "judge turn" in r.json()["error"]
    assert _judge(api, annotator, aid, first, preferred=a, strength=2).status_code == 200

    second = _turn(api, annotator, aid, "Why that one?", first["turn_id"])
    assert second["parent"] == first["turn_id"]
    # A turn the conversation went on from keeps its judgement.
    r = _judge(api, annotator, aid, first, preferred=b, strength=2)
    assert r.status_code == 409 and "branch" in r.json()["error"]
    c2 = second["candidates"][0]["id"]
    assert (
        _judge(
            api, annotator, aid, second, preferred=c2, strength=1, rewrite="Because it is bright."
        ).status_code
        == 200
    )
    third = _turn(api, annotator, aid, "Thanks.", second["turn_id"])
    # A branch: another user turn after the first one.
    branch = _turn(api, annotator, aid, "Name another colour.", first["turn_id"])
    tree = api.get(f"/api/v1/assignments/{aid}/turns", headers=annotator.headers).json()
    by_id = {t["turn_id"]: t for t in tree["turns"]}
    assert by_id[first["turn_id"]]["children"] == [second["turn_id"], branch["turn_id"]]
    assert by_id[second["turn_id"]]["judgement"]["rewrite"] == "Because it is bright."
    del third

    # The submission refers to the server's candidates; a made-up one is refused.
    bad = {"conversation": {"turns": [{"turn_id": first["turn_id"], "preferred": 999999, "strength": 1}]}}
    r = api.post(f"/api/v1/assignments/{aid}/submit", headers=annotator.headers, json={"answers": bad})
    assert r.status_code == 422 and "is not a candidate" in r.json()["error"]
    # So is a path that skips a turn, and an earlier turn judged otherwise than it was continued with.
    skip = {"conversation": {"turns": [{"turn_id": second["turn_id"], "preferred": c2, "strength": 1}]}}
    r = api.post(f"/api/v1/assignments/{aid}/submit", headers=annotator.headers, json={"answers": skip})
    assert r.status_code == 422 and "is not the first turn" in r.json()["error"]
    other = [
        {"turn_id": first["turn_id"], "preferred": b, "strength": 2},
        {"turn_id": branch["turn_id"], "preferred": branch["candidates"][1]["id"], "strength": 3},
    ]
    r = api.post(
        f"/api/v1/assignments/{aid}/submit",
        headers=annotator.headers,
        json={"answers": {"conversation": {"turns": other}}},
    )
    assert r.status_code == 422 and "as it was judged" in r.json()["error"]

    path = [
        {"turn_id": first["turn_id"], "preferred": a, "strength": 2},
        {"turn_id": branch["turn_id"], "preferred": "tie"},
    ]
    r = api.post(
        f"/api/v1/assignments/{aid}/submit",
        headers=annotator.headers,
        json={"answers": {"conversation": {"turns": path}}},
    )
    assert r.status_code == 201, r.text
    # The lease is over: no more turns.
    r = api.post(
        f"/api/v1/assignments/{aid}/turns",
        headers=annotator.headers,
        json={"content": "more", "parent": branch["turn_id"]},
    )
    assert r.status_code == 409

    # dpo: one pair per judged turn that is not a tie, the conversation so far as the prompt.
    r = api.get(f"/api/v1/projects/{pid}/export?format=dpo", headers=manager.headers)
    assert r.status_code == 200, r.text
    rows = [orjson.loads(line) for line in r.content.splitlines()]
    assert len(rows) == 1
    row = rows[0]
    contents = {c["id"]: c["content"] for c in first["candidates"]}
    assert row["prompt"] == [{"role": "user", "content": "Hi! Name a colour."}]
    assert row["chosen"] == [{"role": "assistant", "content": contents[a]}]
    assert row["rejected"] == [{"role": "assistant", "content": contents[b]}]
    assert (
        row["margin"] == 2.0
        and row["turn_id"] == first["turn_id"]
        and row["chosen_model"] in ("alpha", "beta")
    )
    with_ties = api.get(f"/api/v1/projects/{pid}/export?format=dpo&ties=keep", headers=manager.headers)
    tie_rows = [orjson.loads(line) for line in with_ties.content.splitlines()]
    assert len(tie_rows) == 2 and tie_rows[1]["tie"] is True
    assert tie_rows[1]["prompt"] == [
        {"role": "user", "content": "Hi! Name a colour."},
        {"role": "assistant", "content": contents[a]},
        {"role": "user", "content": "Name another colour."},
    ]
    # sft: the submitted conversation as messages.
    sft = [
        orjson.loads(line)
        for line in api.get(
            f"/api/v1/projects/{pid}/export?format=sft", headers=manager.headers
        ).content.splitlines()
    ]
    assert len(sft) == 1
    assert [m["role"] for m in sft[0]["messages"]] == ["user", "assistant", "user", "assistant"]
    assert sft[0]["messages"][1]["content"] == contents[a]
    assert sft[0]["rewritten"] == [] and sft[0]["turns"] == 2
    # jsonl keeps the whole tree, branches and provenance included.
    full = [
        orjson.loads(line)
        for line in api.get(
            f"/api/v1/projects/{pid}/export?format=jsonl", headers=manager.headers
        ).content.splitlines()
    ]
    annotated = [r for r in full if r["annotations"]]
    assert len(annotated) == 1
    turns = annotated[0]["annotations"][0]["conversation"]
    assert {t["turn_id"] for t in turns} == {
        first["turn_id"],
        second["turn_id"],
        third_id(tree, second),
        branch["turn_id"],
    }
    made = [c for t in turns for c in t["candidates"]]
    assert all(c["tokens_out"] is None or c["tokens_out"] > 0 for c in made)
    assert all(c["model_id"] == MODEL and c["latency_ms"] >= 0 for c in made)
    # A reviewer reads the same tree on the item.
    item = api.get(f"/api/v1/items/{annotated[0]['item_id']}", headers=manager.headers).json()
    assert item["annotations"][0]["conversation"] == turns
    rewritten = next(t for t in turns if t["turn_id"] == second["turn_id"])
    assert rewritten["judgement"]["rewrite"] == "Because it is bright."


def third_id(tree: dict[str, Any], second: dict[str, Any]) -> int:
    return next(t["turn_id"] for t in tree["turns"] if t["parent"] == second["turn_id"])


def test_turns_stream_as_server_sent_events(hub: Assay, api: TestClient, model_server: Any) -> None:
    _manager, pid, org = _setup(hub, api, model_server.base_url)
    annotator = make_member(hub, org)
    aid = int(api.get(f"/api/v1/projects/{pid}/next", headers=annotator.headers).json()["assignment_id"])
    with api.stream(
        "POST",
        f"/api/v1/assignments/{aid}/turns",
        headers={**annotator.headers, "Accept": "text/event-stream"},
        json={"content": "Say one word."},
    ) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        body = b"".join(r.iter_bytes())
    events = []
    for block in body.split(b"\n\n"):
        if block.strip():
            head, data = block.split(b"\n", 1)
            events.append(
                (head.removeprefix(b"event: ").decode(), orjson.loads(data.removeprefix(b"data: ")))
            )
    names = [e for e, _ in events]
    assert names[0] == "turn" and names[-1] == "done"
    assert names.count("candidate") == 2 and "delta" in names
    ids = {c["id"] for c in events[0][1]["candidates"]}
    streamed: dict[int, str] = {}
    for name, data in events:
        if name == "delta":
            assert data["id"] in ids
            streamed[data["id"]] = streamed.get(data["id"], "") + data["text"]
    final = {c["id"]: c["content"] for c in events[-1][1]["candidates"]}
    assert streamed == final


def test_a_model_that_is_down_fails_its_candidate_with_a_reason_and_blocks_nothing_else(
    hub: Assay, api: TestClient, model_server: Any
) -> None:
    manager, pid, org = _setup(hub, api, model_server.base_url)
    dead = f"http://127.0.0.1:{free_port()}/v1"
    r = api.post(
        "/api/v1/models", headers=manager.headers, json={"name": "gone", "base_url": dead, "model": "m"}
    )
    assert r.status_code == 201
    schema = {**SCHEMA, "questions": [{**QUESTION, "models": ["alpha", "gone"]}]}
    r = api.post("/api/v1/projects", headers=manager.headers, json={"name": "down", "schema": schema})
    pid = int(r.json()["id"])
    api.post(f"/api/v1/projects/{pid}/items", headers=manager.headers, json=[{"data": {"topic": "x"}}])
    annotator = make_member(hub, org)
    aid = int(api.get(f"/api/v1/projects/{pid}/next", headers=annotator.headers).json()["assignment_id"])
    turn = _turn(api, annotator, aid, "Hello?", None)
    states = {c["model"]: (c["state"], c["error"]) for c in turn["candidates"]}
    assert states["alpha"] == ("done", None)
    assert states["gone"][0] == "failed" and "unreachable" in states["gone"][1]
    ok = next(c["id"] for c in turn["candidates"] if c["model"] == "alpha")
    r = _judge(api, annotator, aid, turn, preferred=ok, strength=1)
    assert r.status_code == 422 and "retry" in r.json()["error"]
    r = api.post(
        f"/api/v1/assignments/{aid}/turns",
        headers=annotator.headers,
        json={"content": "x", "parent": turn["turn_id"]},
    )
    assert r.status_code == 409
    # A retry is the same turn posted again: the typed text is still the annotator's, nothing is lost.
    again = _turn(api, annotator, aid, "Hello?", None)
    assert again["turn_id"] != turn["turn_id"]
    tree = api.get(f"/api/v1/assignments/{aid}/turns", headers=annotator.headers).json()
    assert [t["content"] for t in tree["turns"]] == ["Hello?", "Hello?"]


def test_turns_of_another_annotators_assignment_are_not_found(
    hub: Assay, api: TestClient, model_server: Any
) -> None:
    _manager, pid, org = _setup(hub, api, model_server.base_url)
    owner, other = make_member(hub, org), make_member(hub, org)
    aid = int(api.get(f"/api/v1/projects/{pid}/next", headers=owner.headers).json()["assignment_id"])
    turn = _turn(api, owner, aid, "Mine.", None)
    assert api.get(f"/api/v1/assignments/{aid}/turns", headers=other.headers).status_code == 404
    r = api.post(f"/api/v1/assignments/{aid}/turns", headers=other.headers, json={"content": "x"})
    assert r.status_code == 404
    cid = turn["candidates"][0]["id"]
    assert _judge(api, other, aid, turn, preferred=cid, strength=1).status_code == 404
    # A turn of one's own assignment cannot be used from another one either.
    aid2 = int(api.get(f"/api/v1/projects/{pid}/next", headers=other.headers).json()["assignment_id"])
    r = api.put(
        f"/api/v1/assignments/{aid2}/turns/{turn['turn_id']}",
        headers=other.headers,
        json={"preferred": cid, "strength": 1},
    )
    assert r.status_code == 404
    forged = {"conversation": {"turns": [{"turn_id": turn["turn_id"], "preferred": cid, "strength": 1}]}}
    r = api.post(f"/api/v1/assignments/{aid2}/submit", headers=other.headers, json={"answers": forged})
    assert r.status_code == 422 and "is not a turn of this assignment" in r.json()["error"]


def test_the_items_first_turn_is_shared_so_overlap_judges_the_same_candidates(
    hub: Assay, api: TestClient, model_server: Any
) -> None:
    schema = {**SCHEMA, "questions": [{**QUESTION, "input": "topic"}]}
    manager, pid, org = _setup(hub, api, model_server.base_url, schema=schema, overlap=2, n_items=1)
    first, second = make_member(hub, org), make_member(hub, org)
    leases = [api.get(f"/api/v1/projects/{pid}/next", headers=m.headers).json() for m in (first, second)]
    assert leases[0]["item"]["id"] == leases[1]["item"]["id"]
    turns = [
        _turn(api, m, int(lease["assignment_id"]), None, None)
        for m, lease in zip((first, second), leases, strict=True)
    ]
    assert turns[0]["turn_id"] == turns[1]["turn_id"] and turns[0]["author"] == "item"
    assert turns[0]["content"] == "Say hello to a friend."
    assert {c["id"] for c in turns[0]["candidates"]} == {c["id"] for c in turns[1]["candidates"]}
    # Writing one's own first turn is not how this conversation starts.
    r = api.post(
        f"/api/v1/assignments/{leases[0]['assignment_id']}/turns",
        headers=first.headers,
        json={"content": "x"},
    )
    assert r.status_code == 422 and "item's turn" in r.json()["error"]
    cid = turns[0]["candidates"][0]["id"]
    for m, lease in zip((first, second), leases, strict=True):
        aid = int(lease["assignment_id"])
        assert (
            api.put(
                f"/api/v1/assignments/{aid}/turns/{turns[0]['turn_id']}",
                headers=m.headers,
                json={"preferred": cid, "strength": 3},
            ).status_code
            == 200
        )
        answers = {
            "conversation": {"turns": [{"turn_id": turns[0]["turn_id"], "preferred": cid, "strength": 3}]}
        }
        assert (
            api.post(
                f"/api/v1/assignments/{aid}/submit", headers=m.headers, json={"answers": answers}
            ).status_code
            == 201
        )
    # The two judged the same pair: the quality report measures their agreement on it.
    report = api.get(f"/api/v1/projects/{pid}/quality", headers=manager.headers).json()
    chat = report["chat"]["conversation"]
    assert chat["shared_turns"] == 1 and chat["pairs_compared"] == 1 and chat["agreement"]["value"] == 1.0
    assert chat["judged_turns"] == 2 and chat["position_bias"]["first_preferred"]["n"] == 2


@pytest.mark.parametrize("where", ["gold", "import"])
def test_a_conversation_answer_cannot_be_made_up_outside_a_lease(
    hub: Assay, api: TestClient, model_server: Any, where: str
) -> None:
    manager, pid, _org = _setup(hub, api, model_server.base_url)
    answers = {"conversation": {"turns": [{"turn_id": 1, "preferred": 1, "strength": 1}]}}
    if where == "gold":
        r = api.post(
            f"/api/v1/projects/{pid}/items",
            headers=manager.headers,
            json=[{"data": {"topic": "t"}, "gold": answers}],
        )
    else:
        made = api.post(
            "/api/v1/workforces", headers=manager.headers, json={"name": "Vendor", "kind": "vendor"}
        )
        assert made.status_code == 201, made.text
        rows = [{"external_id": "c-0", "annotator": "vendor-1", "workforce": "Vendor", "answers": answers}]
        r = api.post(f"/api/v1/projects/{pid}/annotations", headers=manager.headers, json=rows)
    assert r.status_code == 422, r.text
    assert "annotation screen" in r.text


def test_a_chat_question_names_model_connections_that_exist(hub: Assay, api: TestClient) -> None:
    hub.config = dataclasses.replace(hub.config, secret_key="k" * 64, model_hosts=("127.0.0.1",))
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    api.post(
        "/api/v1/models",
        headers=manager.headers,
        json={"name": "alpha", "base_url": "http://127.0.0.1:9/v1", "model": "m"},
    )
    r = api.post("/api/v1/projects", headers=manager.headers, json={"name": "typo", "schema": SCHEMA})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == "questions[0].models[1]" and "'beta'" in r.json()["error"]


def test_two_annotators_opening_an_item_at_once_share_one_first_turn(
    hub: Assay, api: TestClient, model_server: Any
) -> None:
    schema = {**SCHEMA, "questions": [{**QUESTION, "input": "topic"}]}
    _manager, pid, org = _setup(hub, api, model_server.base_url, schema=schema, overlap=2, n_items=1)
    people = [make_member(hub, org) for _ in range(2)]
    aids = [
        int(api.get(f"/api/v1/projects/{pid}/next", headers=m.headers).json()["assignment_id"])
        for m in people
    ]
    results: list[Any] = [None, None]
    start = threading.Barrier(2)

    def open_item(k: int) -> None:
        start.wait()
        results[k] = api.post(f"/api/v1/assignments/{aids[k]}/turns", headers=people[k].headers, json={})

    threads = [threading.Thread(target=open_item, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in results] == [200, 200], [r.text for r in results]
    first, second = (r.json() for r in results)
    assert first["turn_id"] == second["turn_id"]
    assert {c["id"] for c in first["candidates"]} == {c["id"] for c in second["candidates"]}
    assert all(c["state"] == "done" for c in first["candidates"] + second["candidates"])


def test_an_annotator_cannot_run_up_the_model_bill(hub: Assay, api: TestClient, model_server: Any) -> None:
    schema = {**SCHEMA, "questions": [{**QUESTION, "max_turns": 1}]}
    _manager, pid, org = _setup(hub, api, model_server.base_url, schema=schema)
    annotator = make_member(hub, org)
    aid = int(api.get(f"/api/v1/projects/{pid}/next", headers=annotator.headers).json()["assignment_id"])
    url = f"/api/v1/assignments/{aid}/turns"
    long = api.post(url, headers=annotator.headers, json={"content": "x" * 20_001})
    assert long.status_code == 422 and "20000" in long.json()["error"]
    # Retries and branches included, an assignment makes at most 4 x max_turns turns.
    for _ in range(4):
        _turn(api, annotator, aid, "Again.", None)
    r = api.post(url, headers=annotator.headers, json={"content": "Once more."})
    assert r.status_code == 409 and "the most one assignment may" in r.json()["error"]
