from __future__ import annotations

import csv
import io
from typing import Any

import orjson
import pyarrow.parquet as pq
from fastapi.testclient import TestClient

from assay.app import Assay
from tests.factories import (
    PREFERENCE_SCHEMA,
    TEXT_SCHEMA,
    Member,
    make_member,
    make_org,
    preference_items,
    text_items,
)


def _project(api: TestClient, manager: Member, schema: dict[str, Any] = TEXT_SCHEMA, **settings: Any) -> int:
    response = api.post(
        "/api/v1/projects",
        json={"name": "p", "schema": schema, "settings": settings},
        headers=manager.headers,
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _count(api: TestClient, manager: Member, project_id: int) -> int:
    return int(api.get(f"/api/v1/projects/{project_id}", headers=manager.headers).json()["counts"]["items"])


def test_import_ndjson_json_and_csv(hub: Assay, api: TestClient) -> None:
    manager = make_member(hub, make_org(hub), role="manager")
    project_id = _project(api, manager)
    url = f"/api/v1/projects/{project_id}/items"
    ndjson = b"".join(orjson.dumps(i) + b"\n" for i in text_items(3))
    r1 = api.post(url, content=ndjson, headers={**manager.headers, "Content-Type": "application/x-ndjson"})
    assert r1.status_code == 201, r1.text
    assert r1.json()["imported"] == 3
    r2 = api.post(url, json=text_items(2, start=3), headers=manager.headers)
    assert r2.json()["imported"] == 2
    csv_body = b'external_id,text,priority\nc-1,"hello, world",5\nc-2,second,0\n'
    r3 = api.post(url, content=csv_body, headers={**manager.headers, "Content-Type": "text/csv"})
    assert r3.status_code == 201, r3.text
    assert _count(api, manager, project_id) == 7


def test_a_bad_line_names_line_and_field_and_imports_nothing(hub: Assay, api: TestClient) -> None:
    manager = make_member(hub, make_org(hub), role="manager")
    project_id = _project(api, manager)
    items: list[dict[str, Any]] = text_items(12000)
    items[4999] = {"data": {"txt": "typo"}}
    body = b"".join(orjson.dumps(i) + b"\n" for i in items)
    response = api.post(
        f"/api/v1/projects/{project_id}/items",
        content=body,
        headers={**manager.headers, "Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 422
    error = response.json()
    assert "line 5000" in error["error"] and "data.text" in error["error"], error
    assert error["errors"][0]["line"] == 5000
    assert _count(api, manager, project_id) == 0


def test_duplicate_external_ids_are_reported_or_skipped(hub: Assay, api: TestClient) -> None:
    manager = make_member(hub, make_org(hub), role="manager")
    project_id = _project(api, manager)
    url = f"/api/v1/projects/{project_id}/items"
    assert api.post(url, json=text_items(3), headers=manager.headers).status_code == 201
    again = api.post(url, json=text_items(4), headers=manager.headers)
    assert again.status_code == 422
    assert "x-0" in again.json()["error"] and "already" in again.json()["error"]
    in_file = api.post(
        url, json=[*text_items(1, start=10), *text_items(1, start=10)], headers=manager.headers
    )
    assert in_file.status_code == 422 and "repeats" in in_file.json()["error"]
    assert _count(api, manager, project_id) == 3
    skipped = api.post(f"{url}?on_duplicate=skip", json=text_items(5), headers=manager.headers)
    assert skipped.status_code == 201, skipped.text
    assert skipped.json()["imported"] == 2 and skipped.json()["skipped_duplicates"] == 3
    assert _count(api, manager, project_id) == 5


def test_import_needs_a_manager_and_a_visible_project(hub: Assay, api: TestClient) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    project_id = _project(api, manager)
    annotator = make_member(hub, org)
    outsider = make_member(hub, make_org(hub), role="owner")
    url = f"/api/v1/projects/{project_id}/items"
    assert api.post(url, json=text_items(1), headers=annotator.headers).status_code == 403
    assert api.post(url, json=text_items(1), headers=outsider.headers).status_code == 404
    assert api.post(url, content=b"", headers=manager.headers).status_code == 422


def _annotate(hub: Assay, api: TestClient, org: str, project_id: int, answers: list[dict[str, Any]]) -> None:
    for answer in answers:
        annotator = make_member(hub, org, workforce="Vendor A", vendor=True)
        while (
            lease := api.get(f"/api/v1/projects/{project_id}/next", headers=annotator.headers)
        ).status_code == 200:
            r = api.post(
                f"/api/v1/assignments/{lease.json()['assignment_id']}/submit",
                json={"answers": answer, "duration_ms": 1000},
                headers=annotator.headers,
            )
            assert r.status_code == 201, r.text


def test_jsonl_and_csv_exports_carry_answers_labels_and_provenance(hub: Assay, api: TestClient) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    project_id = _project(api, manager, overlap=3)
    items = text_items(2)
    items[0]["data"]["text"] = '=HYPERLINK("http://evil")'
    items[1]["data"]["text"] = " \n＝1+1"  # blanks, then a full-width equals sign
    api.post(f"/api/v1/projects/{project_id}/items", json=items, headers=manager.headers)
    _annotate(
        hub,
        api,
        org,
        project_id,
        [{"sentiment": "positive"}, {"sentiment": "positive"}, {"sentiment": "negative"}],
    )
    response = api.get(f"/api/v1/projects/{project_id}/export?format=jsonl", headers=manager.headers)
    assert response.status_code == 200
    rows = [orjson.loads(line) for line in response.content.splitlines()]
    assert [r["external_id"] for r in rows] == ["x-0", "x-1"]
    first = rows[0]
    assert len(first["annotations"]) == 3
    assert {a["workforce"] for a in first["annotations"]} == {"Vendor A"}
    assert all(a["annotator"].endswith(".example") and a["assignment_id"] for a in first["annotations"])
    assert first["labels"]["sentiment"]["value"] == "positive"
    assert abs(first["labels"]["sentiment"]["confidence"] - 2 / 3) < 1e-9

    csv_response = api.get(f"/api/v1/projects/{project_id}/export?format=csv", headers=manager.headers)
    table = list(csv.DictReader(io.StringIO(csv_response.text)))
    assert len(table) == 6
    assert {row["data.text"] for row in table} == {'\'=HYPERLINK("http://evil")', "' \n＝1+1"}

    parquet = api.get(f"/api/v1/projects/{project_id}/export?format=parquet", headers=manager.headers)
    assert pq.read_table(io.BytesIO(parquet.content)).num_rows >= 2


def test_dpo_export_is_what_trl_reads(hub: Assay, api: TestClient) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    project_id = _project(api, manager, schema=PREFERENCE_SCHEMA, overlap=2)
    api.post(f"/api/v1/projects/{project_id}/items", json=preference_items(2), headers=manager.headers)
    _annotate(
        hub,
        api,
        org,
        project_id,
        [
            {"overall": 2, "helpful": 5, "why": "b is right"},
            {"overall": 3, "helpful": 6, "why": "b is clearer"},
        ],
    )
    response = api.get(f"/api/v1/projects/{project_id}/export?format=dpo", headers=manager.headers)
    rows = [orjson.loads(line) for line in response.content.splitlines()]
    assert len(rows) == 2
    assert rows[0]["prompt"] == "question 0"
    assert rows[0]["chosen"] == "answer b0" and rows[0]["rejected"] == "answer a0"
    assert {r["margin"] for r in rows} == {2.5} and {r["tie"] for r in rows} == {False}
    assert [t["text"] for t in rows[0]["rationales"]] == ["b is right", "b is clearer"]
    # `why` is a rationale, not a completion: no SFT rows are made of it.
    sft = api.get(f"/api/v1/projects/{project_id}/export?format=sft", headers=manager.headers)
    assert sft.status_code == 422 and "completion: true" in sft.json()["error"]


def test_export_rejects_unknown_formats_and_non_managers(hub: Assay, api: TestClient) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    project_id = _project(api, manager)
    bad = api.get(f"/api/v1/projects/{project_id}/export?format=xml", headers=manager.headers)
    assert bad.status_code == 422 and "xml" in bad.json()["error"]
    annotator = make_member(hub, org)
    assert api.get(f"/api/v1/projects/{project_id}/export", headers=annotator.headers).status_code == 403
    no_prompt = api.get(f"/api/v1/projects/{project_id}/export?format=dpo", headers=manager.headers)
    assert no_prompt.status_code == 422
