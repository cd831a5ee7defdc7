"""Import error reporting: every problem of a file in one pass, a true count, nothing half-written."""

from __future__ import annotations

import dataclasses
import io
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from assay.app import Assay
from assay.errors import Invalid
from assay.storage.tables import items
from assay.web.app import create_app
from assay.workflows import ingest
from assay.workflows import projects as project_flows
from tests.factories import TEXT_SCHEMA, make_member, make_org, text_items

CHAT_SCHEMA: dict[str, Any] = {
    "inputs": [{"name": "text", "kind": "text"}, {"name": "chat", "kind": "chat", "required": False}],
    "questions": [{"name": "label", "kind": "choice", "options": ["a", "b"]}],
}


def _setup(hub: Assay, schema: dict[str, Any] = TEXT_SCHEMA, limit: int = 20) -> tuple[Any, Any]:
    hub.config = dataclasses.replace(hub.config, import_error_limit=limit)
    manager = make_member(hub, make_org(hub), role="manager")
    actor = manager.actor(hub)
    project = project_flows.create(hub, actor, name="p", schema=schema)
    return actor, project


def _import(hub: Assay, actor: Any, project: Any, blob: bytes, fmt: str, **kwargs: Any) -> Invalid:
    with pytest.raises(Invalid) as caught:
        ingest.import_items(hub, actor, project, source=io.BytesIO(blob), fmt=fmt, name="items.x", **kwargs)
    return caught.value


def _stored(hub: Assay) -> int:
    with hub.db.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(items)).scalar_one())


def test_csv_reports_every_problem_up_to_the_limit_and_counts_the_rest(hub: Assay) -> None:
    actor, project = _setup(hub, limit=5)
    rows = [b"text,priority"] + [b"t%d,%s" % (i, b"high" if i % 2 else b"1") for i in range(60)]
    exc = _import(hub, actor, project, b"\n".join(rows) + b"\n", "csv")
    assert exc.message.startswith("items.x: line 3: column 'priority' must be an integer, got 'high'")
    assert "(and 29 more problems); nothing was imported" in exc.message
    assert len(exc.errors) == 5
    assert [e["loc"] for e in exc.errors] == ["line 3", "line 5", "line 7", "line 9", "line 11"]
    assert _stored(hub) == 0


def test_a_jsonl_syntax_error_is_reported_with_the_problems_after_it(hub: Assay) -> None:
    actor, project = _setup(hub)
    lines = [orjson.dumps(r) for r in text_items(6)]
    lines[1] = b'{"data": {"text": "unterminated}'
    lines[4] = b'{"data": {"text": 5}}'
    exc = _import(hub, actor, project, b"\n".join(lines), "jsonl")
    assert [e["loc"] for e in exc.errors] == ["line 2", "line 5: data.text"]
    assert "(and 1 more problem)" in exc.message
    assert _stored(hub) == 0


def test_a_json_array_reports_what_came_before_its_syntax_error(hub: Assay) -> None:
    actor, project = _setup(hub)
    blob = b'[{"data": {"text": 1}}, {"data": {"text": "ok"}}, {"data" {}}, {"data": {"text": 2}}]'
    exc = _import(hub, actor, project, blob, "json")
    assert [e["loc"] for e in exc.errors] == ["item 1: data.text", "item 3"]
    assert "not valid JSON" in exc.errors[1]["msg"]


def test_an_empty_required_csv_cell_is_missing_not_an_empty_text(hub: Assay) -> None:
    actor, project = _setup(hub)
    exc = _import(hub, actor, project, b"external_id,text\nx-1,hello\nx-2,\n", "csv")
    assert exc.message == "items.x: line 3: data.text: is required (a string); nothing was imported"
    assert _stored(hub) == 0


def test_a_csv_column_that_is_not_an_input_is_refused_with_a_guess(hub: Assay) -> None:
    actor, project = _setup(hub)
    # A Label Studio-like export: one row per annotation, columns the project does not have.
    blob = b"id,txt,annotator,sentiment\n1,good,ann1,positive\n"
    exc = _import(hub, actor, project, blob, "csv")
    messages = [e["msg"] for e in exc.errors]
    assert any("column 'txt'" in m and "did you mean 'text'?" in m for m in messages)
    assert any("column 'annotator'" in m for m in messages)
    assert exc.errors[0]["loc"] == "line 1"
    assert _stored(hub) == 0


@pytest.mark.parametrize(
    ("fmt", "blob", "loc"),
    [
        ("jsonl", b'{"data": {"text": "a\\u0000b"}}\n', "line 1: data.text"),
        ("jsonl", b'{"data": {"text": "ok"}, "meta": {"n": 9223372036854775808}}\n', "line 1: meta.n"),
        ("json", b'[{"data": {"text": "ok"}, "gold": {"label": "a\\u0000"}}]', "item 1: gold.label"),
        ("csv", b'text,chat\nx,"[{""role"": ""user"", ""content"": ""\\ud800""}]"\n', "line 2"),
        ("csv", b"text\na\x00b\n", "line 2: data.text"),
    ],
)
def test_values_that_cannot_be_stored_are_422_naming_the_place(
    hub: Assay, fmt: str, blob: bytes, loc: str
) -> None:
    actor, project = _setup(hub, schema=CHAT_SCHEMA)
    exc = _import(hub, actor, project, blob, fmt)
    assert exc.status == 422
    assert exc.errors[0]["loc"].startswith(loc), exc.errors
    assert _stored(hub) == 0


def test_existing_external_ids_are_reported_after_another_problem_too(hub: Assay) -> None:
    actor, project = _setup(hub)
    ok = b"".join(orjson.dumps(r) + b"\n" for r in text_items(3))
    ingest.import_items(hub, actor, project, source=io.BytesIO(ok), fmt="jsonl", name="a.jsonl")
    blob = b'{"data": {"text": 1}}\n' + ok
    exc = _import(hub, actor, project, blob, "jsonl")
    assert [e["loc"] for e in exc.errors] == [
        "line 1: data.text",
        "line 2: external_id",
        "line 3: external_id",
        "line 4: external_id",
    ]
    assert "(on_duplicate=skip skips such items)" in exc.errors[1]["msg"]
    hinted = _import(hub, actor, project, ok, "jsonl", skip_hint="--on-duplicate skip")
    assert "(--on-duplicate skip skips such items)" in hinted.message
    assert _stored(hub) == 3


def test_the_api_says_the_problem_once_without_naming_the_body(hub: Assay) -> None:
    api = TestClient(create_app(hub))
    manager = make_member(hub, make_org(hub), role="manager")
    project_id = api.post(
        "/api/v1/projects", json={"name": "p", "schema": TEXT_SCHEMA}, headers=manager.headers
    ).json()["id"]
    body = b'{"data": {"text": "ok"}}\n{"data": {}}\n'
    response = api.post(
        f"/api/v1/projects/{project_id}/items",
        content=body,
        headers={**manager.headers, "Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 422
    assert response.json()["error"] == "line 2: data.text: is required (a string); nothing was imported"
