"""Item batches shared with chosen workforces: who is offered what, who may look at what, and how a
batch is named at import (DESIGN §2: a vendor sees only the projects and item batches shared with it)."""

from __future__ import annotations

import csv
import io
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy import event

from assay.app import Assay
from assay.domain.people import Actor, Role
from assay.errors import NotFound
from assay.storage import leases
from assay.storage.tables import items
from assay.workflows import access, dashboard, review
from assay.workflows import projects as project_flows
from tests.factories import TEXT_SCHEMA, Member, make_member, make_org

SHARED = {"b1": ["Vendor A"], "b2": ["Vendor B"]}


def _project(api: TestClient, manager: Member, **settings: Any) -> int:
    body = {"name": f"batches-{len(settings)}", "schema": TEXT_SCHEMA, "settings": settings}
    response = api.post("/api/v1/projects", json=body, headers=manager.headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _records(prefix: str, n: int, batch: str | None = None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(n):
        record: dict[str, Any] = {"data": {"text": f"{prefix} {i}"}, "external_id": f"{prefix}-{i}"}
        if batch is not None:
            record["batch"] = batch
        out.append(record)
    return out


def _import(
    api: TestClient, manager: Member, project_id: int, records: list[dict[str, Any]], **params: str
) -> Any:
    body = b"".join(orjson.dumps(r) + b"\n" for r in records)
    return api.post(
        f"/api/v1/projects/{project_id}/items",
        content=body,
        params=params,
        headers={**manager.headers, "Content-Type": "application/x-ndjson"},
    )


def _batches(hub: Assay, project_id: int) -> dict[str, str | None]:
    """external_id → batch, as stored."""
    with hub.db.read() as conn:
        rows = conn.execute(
            sa.select(items.c.external_id, items.c.batch).where(items.c.project_id == project_id)
        )
        return {r.external_id: r.batch for r in rows}


def _ids(hub: Assay, project_id: int) -> dict[str, int]:
    with hub.db.read() as conn:
        rows = conn.execute(
            sa.select(items.c.external_id, items.c.id).where(items.c.project_id == project_id)
        )
        return {r.external_id: int(r.id) for r in rows}


def _offered(api: TestClient, member: Member, project_id: int) -> list[str]:
    """Every item `next` leases to the member (leases are held, not answered; max_leases is high)."""
    texts = []
    while (
        lease := api.get(f"/api/v1/projects/{project_id}/next", headers=member.headers)
    ).status_code == 200:
        texts.append(lease.json()["item"]["data"]["text"])
    assert lease.status_code == 204, lease.text
    return sorted(texts)


def _seed(hub: Assay, api: TestClient, **settings: Any) -> tuple[str, Member, int]:
    """b1 (named in the records), b2 (the upload's ?batch=), b3 (in no setting) and unbatched items."""
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    project_id = _project(api, manager, overlap=5, max_leases=20, batches=SHARED, **settings)
    assert (
        _import(api, manager, project_id, _records("one", 2, "b1") + _records("free", 2)).status_code == 201
    )
    assert _import(api, manager, project_id, _records("two", 2), batch="b2").status_code == 201
    assert _import(api, manager, project_id, _records("three", 1, "b3")).status_code == 201
    return org, manager, project_id


def test_each_vendor_is_offered_its_own_batch_and_everyone_the_rest(hub: Assay, api: TestClient) -> None:
    org, _manager, project_id = _seed(hub, api)
    assert _batches(hub, project_id) == {
        "one-0": "b1",
        "one-1": "b1",
        "free-0": None,
        "free-1": None,
        "two-0": "b2",
        "two-1": "b2",
        "three-0": "b3",
    }
    vendor_a = make_member(hub, org, workforce="Vendor A", vendor=True)
    vendor_b = make_member(hub, org, workforce="Vendor B", vendor=True)
    in_house = make_member(hub, org, workforce="Team")
    nobody = make_member(hub, org)  # an annotator with no workforce
    common = ["free 0", "free 1", "three 0"]  # unbatched, and a batch no setting names
    assert _offered(api, vendor_a, project_id) == sorted([*common, "one 0", "one 1"])
    assert _offered(api, vendor_b, project_id) == sorted([*common, "two 0", "two 1"])
    assert _offered(api, in_house, project_id) == common
    assert _offered(api, nobody, project_id) == common


def test_a_batch_opens_an_otherwise_unshared_project_to_that_batch_alone(hub: Assay, api: TestClient) -> None:
    org, _manager, project_id = _seed(hub, api, workforces=["Team"])
    vendor_a = make_member(hub, org, workforce="Vendor A", vendor=True)
    vendor_c = make_member(hub, org, workforce="Vendor C", vendor=True)
    in_house = make_member(hub, org, workforce="Team")
    listed = api.get("/api/v1/projects", headers=vendor_a.headers).json()["projects"]
    assert [p["id"] for p in listed] == [project_id]
    assert api.get(f"/api/v1/projects/{project_id}", headers=vendor_a.headers).status_code == 200
    assert _offered(api, vendor_a, project_id) == ["one 0", "one 1"]
    # A workforce with neither the project nor a batch of it sees nothing at all.
    assert api.get("/api/v1/projects", headers=vendor_c.headers).json()["projects"] == []
    assert api.get(f"/api/v1/projects/{project_id}", headers=vendor_c.headers).status_code == 404
    assert api.get(f"/api/v1/projects/{project_id}/next", headers=vendor_c.headers).status_code == 404
    # The project's own workforce gets everything but the batches shared with someone else.
    assert _offered(api, in_house, project_id) == ["free 0", "free 1", "three 0"]


def test_an_item_of_a_batch_not_shared_is_404_to_vendor_reviewers(hub: Assay, api: TestClient) -> None:
    org, manager, project_id = _seed(hub, api)
    ids = _ids(hub, project_id)
    reviewer_a = make_member(hub, org, role="reviewer", workforce="Vendor A", vendor=True)
    reviewer_b = make_member(hub, org, role="reviewer", workforce="Vendor B", vendor=True)
    in_house = make_member(hub, org, role="reviewer")  # no workforce: reviews every compartment
    for who, mine, theirs in ((reviewer_a, "one-0", "two-0"), (reviewer_b, "two-0", "one-0")):
        assert api.get(f"/api/v1/items/{ids[mine]}", headers=who.headers).status_code == 200
        assert api.get(f"/api/v1/items/{ids['free-0']}", headers=who.headers).status_code == 200
        hidden = api.get(f"/api/v1/items/{ids[theirs]}", headers=who.headers)
        assert hidden.status_code == 404 and hidden.json()["error"] == f"item {ids[theirs]} does not exist"
        # The same answer as an id that does not exist at all.
        assert api.get("/api/v1/items/999999", headers=who.headers).status_code == 404
    for ref in ids.values():
        assert api.get(f"/api/v1/items/{ref}", headers=in_house.headers).status_code == 200
        assert api.get(f"/api/v1/items/{ref}", headers=manager.headers).status_code == 200
    # The review page's workflow says the same.
    with pytest.raises(NotFound, match="does not exist"):
        review.item(hub, reviewer_a.actor(hub), ids["two-1"])


def test_the_review_queue_leaves_out_batches_shared_with_other_workforces(
    hub: Assay, api: TestClient
) -> None:
    org, manager, project_id = _seed(hub, api)
    ids = _ids(hub, project_id)
    team_reviewer = make_member(hub, org, role="reviewer", workforce="Team")
    open_reviewer = make_member(hub, org, role="reviewer")
    for who, expected in (
        (team_reviewer, {"free-0", "free-1", "three-0"}),
        (open_reviewer, set(ids)),
        (manager, set(ids)),
    ):
        shown = project_flows.shared_item_ids(hub, who.actor(hub), sorted(ids.values()))
        assert {ext for ext, ref in ids.items() if ref in shown} == expected
        assert shown == sorted(shown)  # the queue's order is kept
    # ... and through the queue itself, once Vendor A has answered an item of its batch.
    vendor_a = make_member(hub, org, workforce="Vendor A", vendor=True)
    lease = api.get(f"/api/v1/projects/{project_id}/next", headers=vendor_a.headers).json()
    while lease["item"]["id"] != ids["one-0"]:
        lease = api.get(f"/api/v1/projects/{project_id}/next", headers=vendor_a.headers).json()
    submitted = api.post(
        f"/api/v1/assignments/{lease['assignment_id']}/submit",
        json={"answers": {"sentiment": "positive"}},
        headers=vendor_a.headers,
    )
    assert submitted.status_code == 201, submitted.text
    queued = {v.item_id for v in review.queue(hub, team_reviewer.actor(hub), project_id)[1]}
    assert ids["one-0"] not in queued
    queued = {v.item_id for v in review.queue(hub, open_reviewer.actor(hub), project_id)[1]}
    assert ids["one-0"] in queued


def test_batches_arrive_from_every_format(hub: Assay, api: TestClient) -> None:
    manager = make_member(hub, make_org(hub), role="manager")
    project_id = _project(api, manager)
    url = f"/api/v1/projects/{project_id}/items"
    as_json = api.post(url, json=_records("j", 1, "json-batch"), headers=manager.headers)
    assert as_json.status_code == 201, as_json.text
    csv_body = b"external_id,text,batch\nc-1,hello,csv-batch\nc-2,no batch,\n"
    as_csv = api.post(url, content=csv_body, headers={**manager.headers, "Content-Type": "text/csv"})
    assert as_csv.status_code == 201, as_csv.text
    table = pa.table({"external_id": ["p-1", "p-2"], "text": ["a", "b"], "batch": ["pq-batch", None]})
    sink = io.BytesIO()
    pq.write_table(table, sink)
    as_parquet = api.post(url, content=sink.getvalue(), params={"format": "parquet"}, headers=manager.headers)
    assert as_parquet.status_code == 201, as_parquet.text
    # The upload's batch fills the records that name none; the same name in a record agrees with it.
    upload = _records("u", 1) + _records("v", 1, "up")
    assert _import(api, manager, project_id, upload, batch="up").status_code == 201
    assert _batches(hub, project_id) == {
        "j-0": "json-batch",
        "c-1": "csv-batch",
        "c-2": None,
        "p-1": "pq-batch",
        "p-2": None,
        "u-0": "up",
        "v-0": "up",
    }


@pytest.mark.parametrize(
    ("value", "msg"),
    [
        ("", "must be a name of 1 to 100 characters, not blank"),
        ("   ", "must be a name of 1 to 100 characters, not blank"),
        ("x" * 101, "must be a name of 1 to 100 characters; it is 101 characters long"),
        ("a\r\nb", "holds the control character U+000D; a name is one line of printable text"),
        (["b1"], "must be a string (a batch name), got list"),
        (True, "must be a string (a batch name), got bool"),
    ],
)
def test_a_bad_batch_is_422_naming_line_and_field(hub: Assay, api: TestClient, value: Any, msg: str) -> None:
    manager = make_member(hub, make_org(hub), role="manager")
    project_id = _project(api, manager)
    records = _records("ok", 2) + _records("bad", 1)
    records[2]["batch"] = value
    response = _import(api, manager, project_id, records)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"].startswith(f"line 3: batch: {msg}"), body["error"]
    assert body["errors"][0]["line"] == 3 and body["errors"][0]["field"] == "batch"
    assert _batches(hub, project_id) == {}  # all or nothing


def test_a_record_batch_that_differs_from_the_uploads_is_refused(hub: Assay, api: TestClient) -> None:
    manager = make_member(hub, make_org(hub), role="manager")
    project_id = _project(api, manager)
    records = _records("a", 1) + _records("b", 1, "other")
    response = _import(api, manager, project_id, records, batch="up")
    assert response.status_code == 422
    body = response.json()
    assert body["error"].startswith("line 2: batch: batch 'other' differs from the upload's")
    assert body["errors"][0]["line"] == 2 and body["errors"][0]["field"] == "batch"
    bad_param = _import(api, manager, project_id, _records("c", 1), batch="")
    assert bad_param.status_code == 422
    assert bad_param.json()["errors"][0]["loc"] == "batch"
    assert _batches(hub, project_id) == {}


def test_settings_batches_are_checked(hub: Assay, api: TestClient) -> None:
    manager = make_member(hub, make_org(hub), role="manager")
    for bad in ({"": ["Vendor A"]}, {"x" * 101: []}, {"b1": "Vendor A"}, {"b1": ["A", "A"]}):
        body = {"name": "p", "schema": TEXT_SCHEMA, "settings": {"batches": bad}}
        response = api.post("/api/v1/projects", json=body, headers=manager.headers)
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["errors"][0]["loc"].startswith("batches"), response.text
    project_id = _project(api, manager, batches={"b1": []})  # held back: managers only
    shown = api.get(f"/api/v1/projects/{project_id}", headers=manager.headers).json()["settings"]
    assert shown["batches"] == {"b1": []}


def test_one_shared_batch_is_read_through_its_own_index(hub: Assay) -> None:
    """A workforce given one batch of a large project must not walk every open item ahead of it."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        seen.append((statement, parameters))

    event.listen(hub.db.read_engine, "before_cursor_execute", record)
    try:
        with hub.db.read() as conn:
            leases.candidates(conn, project_id=1, user_id=1, gold=False, limit=32, only={"b1"})
    finally:
        event.remove(hub.db.read_engine, "before_cursor_execute", record)
    statement, parameters = next((s, p) for s, p in seen if "FROM items" in s)
    with hub.db.read() as conn:
        if hub.db.dialect == "sqlite":
            plan = " ".join(
                str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            )
            assert "ix_items_batch" in plan and "TEMP B-TREE" not in plan, plan
        else:
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = " ".join(str(r[0]) for r in conn.exec_driver_sql(f"EXPLAIN {statement}", parameters))
            assert "ix_items_batch" in plan and "Sort" not in plan, plan


def _actor(role: Role, workforce: str | None) -> Actor:
    return Actor(1, "a@x.example", "A", 1, "x", 1, role, 1 if workforce else None, workforce)


@pytest.mark.parametrize(
    ("role", "workforce", "project", "b1", "b2", "free"),
    [
        (Role.OWNER, None, True, True, True, True),
        (Role.MANAGER, "Vendor B", True, True, True, True),
        (Role.REVIEWER, None, True, True, True, True),
        (Role.REVIEWER, "Vendor A", True, True, False, False),
        (Role.ANNOTATOR, "Vendor A", True, True, False, False),
        (Role.ANNOTATOR, "Team", True, False, False, True),
        (Role.ANNOTATOR, "Vendor C", False, False, False, False),
        (Role.ANNOTATOR, None, False, False, False, False),
    ],
)
def test_the_sharing_rule(
    role: Role, workforce: str | None, project: bool, b1: bool, b2: bool, free: bool
) -> None:
    settings = {"workforces": ["Team"], "batches": {"b1": ["Vendor A"], "b2": ["Vendor B"]}}
    actor = _actor(role, workforce)
    scope = access.batch_scope(actor, settings)
    assert access.can_see_project(actor, settings) is project
    if project:
        assert (scope.allows("b1"), scope.allows("b2"), scope.allows(None), scope.allows("b3")) == (
            b1,
            b2,
            free,
            free,
        )


def _answer(api: TestClient, member: Member, project_id: int, item_id: int, value: str) -> int:
    """The member leases until they hold ``item_id`` (other leases are held) and answers it; how
    many items they leased."""
    lease = api.get(f"/api/v1/projects/{project_id}/next", headers=member.headers).json()
    leased = 1
    while lease["item"]["id"] != item_id:
        lease = api.get(f"/api/v1/projects/{project_id}/next", headers=member.headers).json()
        leased += 1
    submitted = api.post(
        f"/api/v1/assignments/{lease['assignment_id']}/submit",
        json={"answers": {"sentiment": value}},
        headers=member.headers,
    )
    assert submitted.status_code == 201, submitted.text
    return leased


def _work(hub: Assay, member: Member, project_id: int) -> tuple[int, int]:
    """(left for the member, their answers) on My work."""
    (row,) = [r for r in dashboard.my_work(hub, member.actor(hub)) if r.id == project_id]
    return row.left, row.done


def test_my_work_and_project_counts_leave_out_batches_shared_with_others(hub: Assay, api: TestClient) -> None:
    org, manager, project_id = _seed(hub, api)
    vendor_a = make_member(hub, org, workforce="Vendor A", vendor=True)
    vendor_b = make_member(hub, org, workforce="Vendor B", vendor=True)
    in_house = make_member(hub, org, workforce="Team")
    reviewer_a = make_member(hub, org, role="reviewer", workforce="Vendor A", vendor=True)
    # 7 items: b1 (2, Vendor A's), b2 (2, Vendor B's), 2 unbatched and 1 of a batch no setting names.
    for who, seen in ((vendor_a, 5), (vendor_b, 5), (in_house, 3)):
        assert _work(hub, who, project_id) == (seen, 0)
        shown = api.get(f"/api/v1/projects/{project_id}", headers=who.headers).json()["counts"]
        # An annotator reads what is left for them, never the project's totals.
        assert shown == {"left": seen, "done": 0, "leased": 0}, shown
    totals = api.get(f"/api/v1/projects/{project_id}", headers=manager.headers).json()["counts"]
    assert totals["items"] == 7 and totals["left"] == 7 and totals["complete"] == 0
    ids = _ids(hub, project_id)
    leased = _answer(api, vendor_a, project_id, ids["one-0"], "positive")
    assert api.get(f"/api/v1/projects/{project_id}", headers=vendor_a.headers).json()["counts"]["done"] == 1
    assert (
        api.get(f"/api/v1/projects/{project_id}", headers=manager.headers).json()["counts"]["annotations"]
        == 1
    )
    # What Vendor A had (answered or leased) is no longer left for them, and nothing of b2 ever was.
    assert _work(hub, vendor_a, project_id) == (5 - leased, 1)
    assert len(_offered(api, vendor_a, project_id)) == 5 - leased
    assert _work(hub, vendor_a, project_id)[0] == 0
    assert _work(hub, vendor_b, project_id) == (5, 0)
    # The dashboard a vendor's reviewer sees counts their share only, and no totals.
    seen = dashboard.project_dashboard(hub, reviewer_a.actor(hub), project_id)
    assert seen["counts"]["left"] == 5 and "items" not in seen["counts"] and seen["target"] is None


def test_my_work_counts_only_the_batch_that_opened_a_project(hub: Assay, api: TestClient) -> None:
    org, manager, project_id = _seed(hub, api, workforces=["Team"])
    vendor_a = make_member(hub, org, workforce="Vendor A", vendor=True)
    in_house = make_member(hub, org, workforce="Team")
    assert _work(hub, vendor_a, project_id) == (2, 0)
    assert _work(hub, in_house, project_id) == (3, 0)
    assert _work(hub, manager, project_id) == (7, 0)
    assert api.get(f"/api/v1/projects/{project_id}", headers=vendor_a.headers).json()["counts"]["left"] == 2
    assert _offered(api, vendor_a, project_id) == ["one 0", "one 1"]
    assert _work(hub, vendor_a, project_id)[0] == 0


def test_the_dashboard_lists_no_item_of_a_batch_shared_with_others(hub: Assay, api: TestClient) -> None:
    org, _manager, project_id = _seed(hub, api)
    ids = _ids(hub, project_id)
    for value in ("positive", "negative"):  # a disagreement on Vendor A's item, and on a shared one
        _answer(
            api, make_member(hub, org, workforce="Vendor A", vendor=True), project_id, ids["one-0"], value
        )
        _answer(api, make_member(hub, org, workforce="Team"), project_id, ids["free-0"], value)
    team_reviewer = make_member(hub, org, role="reviewer", workforce="Team")
    open_reviewer = make_member(hub, org, role="reviewer")
    listed = {
        r["item_id"] for r in dashboard.project_dashboard(hub, open_reviewer.actor(hub), project_id)["lowest"]
    }
    assert listed == {ids["one-0"], ids["free-0"]}
    listed = {
        r["item_id"] for r in dashboard.project_dashboard(hub, team_reviewer.actor(hub), project_id)["lowest"]
    }
    assert listed == {ids["free-0"]}


def test_exports_and_the_item_carry_its_batch(hub: Assay, api: TestClient) -> None:
    org, manager, project_id = _seed(hub, api)
    ids = _ids(hub, project_id)
    _answer(
        api, make_member(hub, org, workforce="Vendor A", vendor=True), project_id, ids["one-0"], "positive"
    )
    expected = _batches(hub, project_id)
    url = f"/api/v1/projects/{project_id}/export"
    jsonl = api.get(url, params={"format": "jsonl"}, headers=manager.headers)
    assert jsonl.status_code == 200, jsonl.text
    assert {r["external_id"]: r["batch"] for r in map(orjson.loads, jsonl.content.splitlines())} == expected
    table = list(
        csv.DictReader(io.StringIO(api.get(url, params={"format": "csv"}, headers=manager.headers).text))
    )
    assert {r["external_id"]: r["batch"] or None for r in table} == expected
    assert len(table) == 7  # one row per annotation, or per item without one
    parquet = api.get(url, params={"format": "parquet"}, headers=manager.headers)
    rows = pq.read_table(io.BytesIO(parquet.content)).to_pylist()
    assert {r["external_id"]: r["batch"] for r in rows} == expected
    # GET /items/{id} shows the batch to those who may see the item (others get a 404, as before).
    reviewer_a = make_member(hub, org, role="reviewer", workforce="Vendor A", vendor=True)
    for who, ext, batch in (
        (reviewer_a, "one-0", "b1"),
        (reviewer_a, "free-0", None),
        (manager, "two-0", "b2"),
        (manager, "three-0", "b3"),
    ):
        shown = api.get(f"/api/v1/items/{ids[ext]}", headers=who.headers)
        assert shown.status_code == 200 and shown.json()["batch"] == batch, shown.text
    assert api.get(f"/api/v1/items/{ids['two-0']}", headers=reviewer_a.headers).status_code == 404
