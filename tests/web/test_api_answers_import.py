"""Answers from outside: `POST /api/v1/projects/{id}/annotations` (a vendor's delivery)."""

from __future__ import annotations

import dataclasses
import io
import random
from datetime import UTC, datetime
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from assay.app import Assay
from assay.errors import Conflict, Unauthorized
from assay.security import hash_password
from assay.storage import people
from assay.storage.tables import memberships, users
from assay.web import sessions
from assay.web.app import create_app
from assay.workflows import accounts, admin, jobs, members
from tests.factories import TEXT_SCHEMA, Member, make_member, make_org, text_items

OPTIONS = ("positive", "neutral", "negative")
NDJSON = {"Content-Type": "application/x-ndjson"}


def _project(api: TestClient, manager: Member, **settings: Any) -> int:
    response = api.post(
        "/api/v1/projects",
        json={"name": "p", "schema": TEXT_SCHEMA, "settings": settings},
        headers=manager.headers,
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _items(api: TestClient, manager: Member, project_id: int, records: list[dict[str, Any]]) -> None:
    r = api.post(f"/api/v1/projects/{project_id}/items", json=records, headers=manager.headers)
    assert r.status_code == 201, r.text


def _workforce(api: TestClient, manager: Member, name: str, kind: str = "vendor") -> None:
    r = api.post("/api/v1/workforces", json={"name": name, "kind": kind}, headers=manager.headers)
    assert r.status_code == 201, r.text


def _ndjson(rows: list[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in rows)


def _post(
    api: TestClient, who: Member, project_id: int, body: bytes | list[dict[str, Any]], **params: str
) -> Any:
    url = f"/api/v1/projects/{project_id}/annotations"
    if isinstance(body, list):
        return api.post(url, json=body, params=params, headers=who.headers)
    return api.post(url, content=body, params=params, headers={**who.headers, **NDJSON})


def _annotations(api: TestClient, manager: Member, item_id: int) -> list[dict[str, Any]]:
    r = api.get(f"/api/v1/items/{item_id}", headers=manager.headers)
    assert r.status_code == 200, r.text
    return list(r.json()["annotations"])


def _exported(api: TestClient, manager: Member, project_id: int) -> list[dict[str, Any]]:
    r = api.get(f"/api/v1/projects/{project_id}/export?format=jsonl", headers=manager.headers)
    assert r.status_code == 200, r.text
    return [orjson.loads(line) for line in r.content.splitlines()]


def _item_ids(hub: Assay, api: TestClient, manager: Member, project_id: int) -> list[int]:
    return sorted(int(i["item_id"]) for i in _exported(api, manager, project_id))


@pytest.fixture
def setup(hub: Assay, api: TestClient) -> tuple[Member, int, list[int]]:
    manager = make_member(hub, make_org(hub), role="manager")
    project_id = _project(api, manager)
    _items(api, manager, project_id, text_items(4))
    _workforce(api, manager, "Vendor A")
    return manager, project_id, _item_ids(hub, api, manager, project_id)


def test_a_delivery_in_every_format_is_stored_like_submitted_answers(
    hub: Assay, api: TestClient, setup: tuple[Member, int, list[int]]
) -> None:
    manager, pid, ids = setup
    json_rows = [
        {"item_id": ids[0], "annotator": "ann-1", "answers": {"sentiment": "positive"}, "duration_ms": 4200},
        {"external_id": "x-1", "annotator": "ann-1", "answers": {"sentiment": "neutral"}},
    ]
    r = _post(api, manager, pid, json_rows, workforce="Vendor A")
    assert r.status_code == 201, r.text
    assert r.json() == {"ok": True, "imported": 2, "skipped": 0, "annotators": 1, "annotators_created": 1}
    ndjson = _ndjson([{"external_id": "x-1", "annotator": "ann-2", "answers": {"sentiment": "positive"}}])
    assert _post(api, manager, pid, ndjson, workforce="Vendor A").json()["imported"] == 1
    csv_body = (
        b"external_id,annotator,workforce,answers,created_at,duration_ms,key\n"
        b'x-2,ann-1,Vendor A,"{""sentiment"": ""negative""}",2026-01-31T12:00:00Z,900,k-1\n'
    )
    r = api.post(
        f"/api/v1/projects/{pid}/annotations",
        content=csv_body,
        headers={**manager.headers, "Content-Type": "text/csv"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["annotators_created"] == 0  # ann-1 of Vendor A is known by now
    # Parquet types its columns: answers as a struct (or JSON text), created_at as a timestamp.
    table = pa.table(
        {
            "item_id": [ids[3]],
            "annotator": ["ann-3"],
            "answers": [{"sentiment": "neutral"}],
            "created_at": pa.array([datetime(2026, 2, 1, 8, 30, tzinfo=UTC)], pa.timestamp("us", tz="UTC")),
            "duration_ms": [1500],
        }
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    r = api.post(
        f"/api/v1/projects/{pid}/annotations?workforce=Vendor+A",
        content=buffer.getvalue(),
        headers={**manager.headers, "Content-Type": "application/vnd.apache.parquet"},
    )
    assert r.status_code == 201, r.text

    first = _annotations(api, manager, ids[0])
    assert [(a["workforce"], a["answers"], a["duration_ms"]) for a in first] == [
        ("Vendor A", {"sentiment": "positive"}, 4200)
    ]
    # Named as the vendor named them, and marked as imported (a trainer can tell a delivery's
    # answers from those given here).
    assert first[0]["annotator"] == "ann-1" and first[0]["provenance"] == "imported", first[0]
    assert "original_answers" not in first[0] or first[0]["original_answers"] is None
    typed = _annotations(api, manager, ids[3])[0]
    assert typed["answers"] == {"sentiment": "neutral"} and typed["created_at"].startswith("2026-02-01T08:30")
    dated = _annotations(api, manager, ids[2])[0]
    assert dated["created_at"].startswith("2026-01-31T12:00:00") and dated["duration_ms"] == 900
    counts = api.get(f"/api/v1/projects/{pid}", headers=manager.headers).json()["counts"]
    assert counts["annotations"] == 5, counts
    # The export reads them as any other answers.
    export = api.get(f"/api/v1/projects/{pid}/export?format=jsonl", headers=manager.headers)
    lines = [orjson.loads(line) for line in export.content.splitlines()]
    assert sum(len(line["annotations"]) for line in lines) == 5
    exported = [a for line in lines for a in line["annotations"]]
    assert {a["provenance"] for a in exported} == {"imported"}
    assert not any(a["annotator"].endswith(".invalid") for a in exported)


def test_reimporting_a_delivery_writes_nothing_new(
    hub: Assay, api: TestClient, setup: tuple[Member, int, list[int]]
) -> None:
    manager, pid, ids = setup
    rows = [
        {"item_id": ids[0], "annotator": "a", "answers": {"sentiment": "positive"}},
        {"item_id": ids[1], "annotator": "a", "answers": {"sentiment": "negative"}, "key": "row-2"},
    ]
    assert _post(api, manager, pid, rows, workforce="Vendor A").json()["imported"] == 2
    again = _post(
        api,
        manager,
        pid,
        [*rows, {"item_id": ids[2], "annotator": "b", "answers": {"sentiment": "neutral"}}],
        workforce="Vendor A",
    )
    assert again.status_code == 201, again.text
    assert (again.json()["imported"], again.json()["skipped"]) == (1, 2)
    assert len(_annotations(api, manager, ids[0])) == 1
    same = _post(api, manager, pid, rows, workforce="Vendor A")
    assert (same.json()["imported"], same.json()["skipped"]) == (0, 2)
    # Changing a stored answer, or reusing a key for another item, is refused: never overwritten.
    changed = _post(
        api, manager, pid, [{**rows[0], "answers": {"sentiment": "neutral"}}], workforce="Vendor A"
    )
    assert changed.status_code == 422
    assert "never overwritten" in changed.json()["error"] and changed.json()["errors"][0]["line"] == 1
    moved = _post(api, manager, pid, [{**rows[1], "item_id": ids[3]}], workforce="Vendor A")
    assert moved.status_code == 422 and "'row-2' was imported before" in moved.json()["error"]
    assert _annotations(api, manager, ids[3]) == []


def test_every_bad_row_is_named_and_nothing_is_written(
    hub: Assay, api: TestClient, setup: tuple[Member, int, list[int]]
) -> None:
    manager, pid, ids = setup
    other = make_member(hub, make_org(hub), role="manager")
    other_pid = _project(api, other)
    _items(api, other, other_pid, text_items(1))
    foreign = _item_ids(hub, api, other, other_pid)[0]
    good = {"item_id": ids[0], "annotator": "a", "answers": {"sentiment": "positive"}}
    rows: list[dict[str, Any]] = [
        good,
        {"item_id": foreign, "annotator": "a", "answers": {"sentiment": "positive"}},
        {"item_id": 10**9, "annotator": "a", "answers": {"sentiment": "positive"}},
        {**good, "item_id": ids[1], "answer": {}},
        {**good, "item_id": ids[2], "answers": {"sentiment": "happy"}},
        {**good, "item_id": ids[3], "answers": {"sentiment": "positive", "mood": 1}},
        good,
        {**good, "item_id": ids[1], "duration_ms": -5},
        {**good, "item_id": ids[1], "created_at": "yesterday"},
        {**good, "item_id": ids[1], "annotator": ""},
        {"annotator": "a", "answers": {"sentiment": "positive"}},
        {**good, "item_id": ids[2], "annotator": "b", "key": "k"},
        {**good, "item_id": ids[3], "annotator": "b", "key": "k"},
    ]
    r = _post(api, manager, pid, rows, workforce="Vendor A")
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["ok"] is False and body["status"] == 422 and "nothing was imported" in body["error"]
    found = {(e["line"], e["field"]) for e in body["errors"]}
    assert found == {
        (2, "item_id"),
        (3, "item_id"),
        (4, "answer"),
        (5, "answers.sentiment"),
        (6, "answers.mood"),
        (7, "annotator"),
        (8, "duration_ms"),
        (9, "created_at"),
        (10, "annotator"),
        (11, "item_id"),
        (13, "key"),
    }, body["errors"]
    by_line = {e["line"]: e["msg"] for e in body["errors"]}
    # Another organisation's item and a missing one read the same: nothing tells them apart.
    assert by_line[2].replace(str(foreign), "N") == by_line[3].replace(str(10**9), "N")
    assert "repeats" in by_line[7] or "already on item 1" in by_line[7]
    assert "did you mean 'answers'" in by_line[4]
    assert by_line[13] == "'k' repeats item 12"
    for item_id in ids:
        assert _annotations(api, manager, item_id) == []
    # Not JSON at all: the line is named.
    broken = _post(api, manager, pid, _ndjson([good]) + b"{not json\n", workforce="Vendor A")
    assert broken.status_code == 422 and broken.json()["errors"][0]["line"] == 2
    assert "line 2" in broken.json()["error"]
    # No workforce at all, or an empty upload.
    assert _post(api, manager, pid, [good]).json()["errors"][0]["field"] == "workforce"
    assert _post(api, manager, pid, b"", workforce="Vendor A").status_code == 422
    assert _annotations(api, manager, ids[0]) == []


def test_an_upload_over_the_import_limit_is_413(hub: Assay, setup: tuple[Member, int, list[int]]) -> None:
    manager, pid, ids = setup
    hub.config = dataclasses.replace(hub.config, max_import_bytes=4096)
    with TestClient(create_app(hub), raise_server_exceptions=False) as api:
        row = {"item_id": ids[0], "annotator": "a" * 100, "answers": {"sentiment": "positive"}}
        r = _post(api, manager, pid, _ndjson([row] * 40), workforce="Vendor A")
        assert r.status_code == 413, r.text
        assert "ASSAY_MAX_IMPORT_BYTES" in r.json()["error"]
        assert _annotations(api, manager, ids[0]) == []


def test_imported_answers_count_toward_overlap(hub: Assay, api: TestClient) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    pid = _project(api, manager, overlap=2)
    _items(api, manager, pid, text_items(1))
    _workforce(api, manager, "Vendor A")
    (item_id,) = _item_ids(hub, api, manager, pid)
    annotator = make_member(hub, org, role="annotator", workforce="In-house")
    rows = [{"item_id": item_id, "annotator": n, "answers": {"sentiment": "positive"}} for n in ("a", "b")]
    assert _post(api, manager, pid, rows, workforce="Vendor A").status_code == 201
    # The item holds its overlap of answers: nobody in assay is given it any more.
    assert api.get(f"/api/v1/projects/{pid}/next", headers=annotator.headers).status_code == 204
    counts = api.get(f"/api/v1/projects/{pid}", headers=manager.headers).json()["counts"]
    assert counts["annotations"] == 2, counts


def test_an_imported_answer_leaves_room_under_a_higher_overlap(hub: Assay, api: TestClient) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    pid = _project(api, manager, overlap=2)
    _items(api, manager, pid, text_items(1))
    _workforce(api, manager, "Vendor A")
    (item_id,) = _item_ids(hub, api, manager, pid)
    annotator = make_member(hub, org, role="annotator", workforce="In-house")
    rows = [{"item_id": item_id, "annotator": "a", "answers": {"sentiment": "positive"}}]
    assert _post(api, manager, pid, rows, workforce="Vendor A").status_code == 201
    lease = api.get(f"/api/v1/projects/{pid}/next", headers=annotator.headers)
    assert lease.status_code == 200 and lease.json()["item"]["id"] == item_id
    second = make_member(hub, org, role="annotator", workforce="In-house")
    submitted = api.post(
        f"/api/v1/assignments/{lease.json()['assignment_id']}/submit",
        json={"answers": {"sentiment": "positive"}},
        headers=annotator.headers,
    )
    assert submitted.status_code == 201
    assert api.get(f"/api/v1/projects/{pid}/next", headers=second.headers).status_code == 204


def test_who_may_import_and_what_they_may_name(
    hub: Assay, api: TestClient, setup: tuple[Member, int, list[int]]
) -> None:
    manager, pid, ids = setup
    org = manager.org
    row = [{"item_id": ids[0], "annotator": "a", "answers": {"sentiment": "positive"}}]
    for role in ("annotator", "reviewer"):
        member = make_member(hub, org, role=role)
        assert _post(api, member, pid, row, workforce="Vendor A").status_code == 403
    owner = make_member(hub, org, role="owner")
    outsider = make_member(hub, make_org(hub), role="manager")
    assert _post(api, outsider, pid, row, workforce="Vendor A").status_code == 404
    # A workforce of another organisation is as absent as one that does not exist.
    _workforce(api, outsider, "Their vendor")
    for name in ("Their vendor", "Nobody"):
        r = _post(api, manager, pid, row, workforce=name)
        assert r.status_code == 404, r.text
        assert r.json()["error"] == f"workforce {name!r} does not exist"
    row_named = [{**row[0], "workforce": "Their vendor"}]
    r = _post(api, manager, pid, row_named)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "workforce"
    assert _post(api, owner, pid, row, workforce="Vendor A").status_code == 201


def test_an_external_annotator_can_never_sign_in(
    hub: Assay, api: TestClient, setup: tuple[Member, int, list[int]]
) -> None:
    manager, pid, ids = setup
    row = [{"item_id": ids[0], "annotator": "vendor-person", "answers": {"sentiment": "positive"}}]
    assert _post(api, manager, pid, row, workforce="Vendor A").status_code == 201
    assert _annotations(api, manager, ids[0])[0]["annotator"] == "vendor-person"
    email = _email_of(hub, "vendor-person")
    with pytest.raises(Conflict, match="can never sign in"):
        admin.create_token(hub, org=manager.org, email=email)
    with pytest.raises(Conflict, match="can never sign in"):
        admin.create_user(hub, org=manager.org, email=email, role="annotator", password="a long passphrase 1")
    with pytest.raises(Conflict, match="can never sign in"):
        admin.create_user(hub, org=make_org(hub), email=email, role="manager")
    membership_id = _membership_of(hub, email)
    # The members page shows who delivered, offers no link for them, and keeps their workforce.
    owner = make_member(hub, manager.org, role="owner")
    hub.config = dataclasses.replace(hub.config, secret_key="s" * 40)
    api.cookies.set(sessions.COOKIE, _cookie(hub, owner))
    page = api.get("/members")
    api.cookies.clear()
    assert page.status_code == 200 and email in page.text and "never signs in" in page.text
    assert f"/members/{membership_id}/reset" not in page.text
    with pytest.raises(Conflict, match="only whether they are active can change"):
        members.update(
            hub, owner.actor(hub), membership_id, role="manager", workforce="Vendor A", active=True
        )
    members.update(hub, owner.actor(hub), membership_id, role="annotator", workforce="Vendor A", active=False)
    for kind in ("invite", "reset"):
        with pytest.raises(Conflict, match="can never sign in"):
            accounts.create_link(
                hub, org_id=manager.actor(hub).org_id, membership_id=membership_id, kind=kind, by=None
            )
    # Even a credential written behind every workflow's back opens nothing: no sign-in, no token.
    with hub.db.write() as conn:
        conn.execute(
            memberships.update()
            .where(memberships.c.id == membership_id)
            .values(password_hash=hash_password("p" * 12))
        )
    with pytest.raises(Unauthorized):
        accounts.login(hub, email=email, password="p" * 12, ip=None)
    with hub.db.read() as conn:
        assert people.actor_for_membership(conn, membership_id=membership_id) is None


def _cookie(hub: Assay, member: Member) -> str:
    """A live session of ``member``, as a sign-in would open it (without an argon2 hash)."""
    cookie, _ = sessions.start(hub, membership_id=member.actor(hub).membership_id, proven=(), ip=None)
    return cookie


def _email_of(hub: Assay, external_name: str) -> str:
    """The address made up for an external annotator's user row (under the reserved .invalid)."""
    with hub.db.read() as conn:
        email = conn.execute(
            sa.select(users.c.email)
            .join(memberships, memberships.c.user_id == users.c.id)
            .where(memberships.c.external_name == external_name)
        ).scalar_one()
    assert str(email).endswith(".invalid")
    return str(email)


def _membership_of(hub: Assay, email: str) -> int:
    with hub.db.read() as conn:
        row = conn.execute(
            sa.select(memberships.c.id, memberships.c.external)
            .join(users, users.c.id == memberships.c.user_id)
            .where(users.c.email == email)
        ).one()
    assert row.external is True
    return int(row.id)


def _delivery(
    rng: random.Random, items: list[int], truth: dict[int, str], *, accuracy: float, team: str
) -> list[dict[str, Any]]:
    rows = []
    for n in range(5):
        for item_id in items:
            right = truth[item_id]
            label = right if rng.random() < accuracy else rng.choice([o for o in OPTIONS if o != right])
            rows.append(
                {
                    "item_id": item_id,
                    "annotator": f"{team}-{n}",
                    "answers": {"sentiment": label},
                    "duration_ms": rng.randrange(5_000, 30_000),
                }
            )
    return rows


def test_the_vendor_comparison_ranks_deliveries_of_vendors_who_never_signed_in(
    hub: Assay, api: TestClient
) -> None:
    rng = random.Random(1403)
    manager = make_member(hub, make_org(hub), role="manager")
    pid = _project(api, manager, overlap=10, gold_rate=0.2)
    n_items, n_gold = 60, 30
    truth = {}
    records = []
    for i in range(n_items):
        label = rng.choice(OPTIONS)
        record: dict[str, Any] = {"data": {"text": f"message {i}"}, "external_id": f"m-{i}"}
        if i < n_gold:
            record["gold"] = {"sentiment": label}
        truth[f"m-{i}"] = label
        records.append(record)
    _items(api, manager, pid, records)
    by_id = {int(i["item_id"]): truth[i["external_id"]] for i in _exported(api, manager, pid)}
    for name in ("Good vendor", "Noisy vendor"):
        _workforce(api, manager, name)
    ids = sorted(by_id)
    good = _delivery(rng, ids, by_id, accuracy=0.92, team="g")
    noisy = _delivery(rng, ids, by_id, accuracy=0.55, team="n")
    assert _post(api, manager, pid, _ndjson(good), workforce="Good vendor").json()["imported"] == len(good)
    assert _post(api, manager, pid, _ndjson(noisy), workforce="Noisy vendor").json()["imported"] == len(noisy)
    jobs.run_pending(hub)

    report = api.get(f"/api/v1/projects/{pid}/vendors", headers=manager.headers).json()
    ranked = [w["name"] for w in report["workforces"]]
    assert ranked == ["Good vendor", "Noisy vendor"], report["workforces"]
    good_card, noisy_card = report["workforces"]
    assert good_card["gold_accuracy"]["n"] == noisy_card["gold_accuracy"]["n"] == 5 * n_gold
    assert good_card["gold_accuracy"]["low"] > noisy_card["gold_accuracy"]["high"]
    (comparison,) = report["comparisons"]
    assert comparison["p_value"] < 0.001, comparison
    quality = api.get(f"/api/v1/projects/{pid}/quality", headers=manager.headers).json()
    teams = {w["name"]: w for w in quality["workforces"]}
    assert teams["Good vendor"]["gold_accuracy"]["value"] > teams["Noisy vendor"]["gold_accuracy"]["value"]


def test_the_documented_row_is_the_checked_row() -> None:
    """One contract: the API's AnswerRecord names exactly the fields the import checks."""
    from assay.domain.answer_rows import ROW_FIELDS
    from assay.web.schemas.deliveries import AnswerRecord

    assert tuple(AnswerRecord.model_fields) == ROW_FIELDS


def test_a_delivery_that_fails_half_way_leaves_nothing(hub: Assay, api: TestClient) -> None:
    """The rows are written a chunk per transaction; when a later chunk fails (here another import
    stores one of its answers between two chunks), what the earlier chunks wrote is deleted again
    and the counters are given back."""
    from assay.storage.tables import annotations, assignments, items
    from assay.workflows import deliveries
    from assay.workflows import projects as project_flows

    manager = make_member(hub, make_org(hub), role="manager")
    pid = _project(api, manager, overlap=5)
    _items(api, manager, pid, text_items(700))
    _workforce(api, manager, "Vendor A")
    ids = _item_ids(hub, api, manager, pid)
    rows = [
        {"item_id": i, "annotator": name, "answers": {"sentiment": "neutral"}}
        for name in ("a", "b", "c")
        for i in ids
    ]
    assert len(rows) > deliveries.CHUNK
    actor = manager.actor(hub)
    project = project_flows.get(hub, actor, pid)
    late = rows[deliveries.CHUNK]  # the first row of the second chunk
    raced: list[int] = []

    def meanwhile(written: int) -> None:
        if not raced:
            raced.append(written)
            other = deliveries.import_answers(
                hub,
                actor,
                project,
                source=io.BytesIO(_ndjson([late])),
                fmt="jsonl",
                name=None,
                workforce="Vendor A",
            )
            assert other.imported == 1

    with pytest.raises(Conflict, match="another import stored some of these answers"):
        deliveries.import_answers(
            hub,
            actor,
            project,
            source=io.BytesIO(_ndjson(rows)),
            fmt="jsonl",
            name=None,
            workforce="Vendor A",
            progress=meanwhile,
        )
    assert raced == [deliveries.CHUNK]
    with hub.db.read() as conn:
        stored = conn.execute(sa.select(annotations.c.item_id).where(annotations.c.project_id == pid)).all()
        leases_left = conn.execute(
            sa.select(sa.func.count()).where(assignments.c.project_id == pid)
        ).scalar_one()
        counted = conn.execute(
            sa.select(sa.func.sum(items.c.claimed), sa.func.sum(items.c.answered)).where(
                items.c.project_id == pid
            )
        ).one()
    assert [r.item_id for r in stored] == [late["item_id"]] and leases_left == 1
    assert tuple(counted) == (1, 1)
    # Importing the delivery again now completes it (the raced answer is skipped).
    again = deliveries.import_answers(
        hub, actor, project, source=io.BytesIO(_ndjson(rows)), fmt="jsonl", name=None, workforce="Vendor A"
    )
    assert (again.imported, again.skipped) == (len(rows) - 1, 1)
