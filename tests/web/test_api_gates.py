"""Workforces, vendor compartments, gold, pauses, qualification, adaptive overlap and flags over the API."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from assay.app import Assay
from assay.workflows import dashboard, review
from tests.factories import Member, make_member, make_org
from tests.security.cells import app_routes

SECRET = "GOLD-SECRET-51d0"
SCHEMA: dict[str, Any] = {
    "inputs": [{"name": "text", "kind": "text"}],
    "questions": [
        {"name": "sentiment", "kind": "choice", "options": ["positive", "neutral", "negative"]},
        {"name": "note", "kind": "text", "required": False},
    ],
}


def _project(api: TestClient, manager: Member, items: list[dict[str, Any]], **settings: Any) -> int:
    body = {"name": f"p{len(items)}-{sorted(settings)}", "schema": SCHEMA, "settings": settings}
    r = api.post("/api/v1/projects", headers=manager.headers, json=body)
    assert r.status_code == 201, r.text
    pid = int(r.json()["id"])
    assert api.post(f"/api/v1/projects/{pid}/items", headers=manager.headers, json=items).status_code == 201
    return pid


def _answer(api: TestClient, who: Member, pid: int, answers: dict[str, Any], **extra: Any) -> dict[str, Any]:
    lease = api.get(f"/api/v1/projects/{pid}/next", headers=who.headers)
    assert lease.status_code == 200, lease.text
    body = lease.json()
    r = api.post(
        f"/api/v1/assignments/{body['assignment_id']}/submit",
        headers=who.headers,
        json={"answers": answers, "duration_ms": 20_000, **extra},
    )
    assert r.status_code == 201, r.text
    return {**r.json(), "lease": body}


def test_workforces_are_managed_by_managers(hub: Assay, api: TestClient) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    reviewer = make_member(hub, org, role="reviewer")
    h = manager.headers
    r = api.post(
        "/api/v1/workforces", headers=h, json={"name": "Acme", "kind": "vendor", "cost_per_answer": 0.2}
    )
    assert r.status_code == 201, r.text
    acme = r.json()
    assert (acme["kind"], acme["cost_per_answer"], acme["cost_per_hour"]) == ("vendor", 0.2, None)
    assert api.post("/api/v1/workforces", headers=h, json={"name": "Acme"}).status_code == 409
    for bad, loc in [
        ({"name": "X", "kind": "contractor"}, "kind"),
        ({"name": "X", "cost_per_hour": -1}, "cost_per_hour"),
        ({"name": ""}, "name"),
        ({"name": "X", "cost_per_hour": 1, "cost_per_answer": 1}, "cost_per_answer"),
        ({"name": "X", "colour": "red"}, "colour"),
    ]:
        r = api.post("/api/v1/workforces", headers=h, json=bad)
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == loc, (bad, r.text)
    # Switching cost models in one PATCH drops the other model.
    r = api.patch(f"/api/v1/workforces/{acme['id']}", headers=h, json={"cost_per_hour": 30})
    assert r.status_code == 200 and (r.json()["cost_per_hour"], r.json()["cost_per_answer"]) == (30.0, None)
    assert (
        api.patch(f"/api/v1/workforces/{acme['id']}", headers=h, json={"kind": "in_house"}).json()["kind"]
        == "in_house"
    )
    listed = api.get("/api/v1/workforces", headers=h).json()["workforces"]
    assert [w["name"] for w in listed] == ["Acme"]
    assert api.get("/api/v1/workforces", headers=reviewer.headers).status_code == 403
    assert api.post("/api/v1/workforces", headers=reviewer.headers, json={"name": "Y"}).status_code == 403
    other = make_member(hub, make_org(hub), role="manager")
    assert (
        api.patch(f"/api/v1/workforces/{acme['id']}", headers=other.headers, json={"name": "Z"}).status_code
        == 404
    )
    assert api.get("/api/v1/workforces", headers=other.headers).json()["workforces"] == []


def test_vendor_compartments_and_other_organisations(hub: Assay, api: TestClient) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    a1 = make_member(hub, org, workforce="Vendor A", vendor=True)
    b1 = make_member(hub, org, workforce="Vendor B", vendor=True)
    a_rev = make_member(hub, org, role="reviewer", workforce="Vendor A", vendor=True)
    house_rev = make_member(hub, org, role="reviewer", workforce="House")
    items = [
        {"data": {"text": "normal"}},
        {"data": {"text": "gold"}, "gold": {"sentiment": "neutral", "note": SECRET}},
    ]
    pid = _project(api, manager, items, overlap=2, gold_rate=1.0)
    answered = {}
    for who, label in ((a1, "positive"), (b1, "negative")):
        first = _answer(api, who, pid, {"sentiment": label, "note": f"note by {who.email}"})
        second = _answer(api, who, pid, {"sentiment": label})
        answered[who.email] = (first, second)
    normal = next(x["item_id"] for x in answered[a1.email] if x["lease"]["item"]["data"]["text"] == "normal")
    gold = next(x["item_id"] for x in answered[a1.email] if x["lease"]["item"]["data"]["text"] == "gold")
    b_annotation = next(x["id"] for x in answered[b1.email] if x["item_id"] == normal)

    seen = api.get(f"/api/v1/items/{normal}", headers=a_rev.headers).json()
    assert {a["workforce"] for a in seen["annotations"]} == {"Vendor A"}
    assert b1.email not in str(seen)
    # A gold item reads like any other to a vendor's reviewer: their own answers, no known answer.
    gold_view = api.get(f"/api/v1/items/{gold}", headers=a_rev.headers)
    assert gold_view.status_code == 200 and gold_view.json()["gold"] is None and SECRET not in gold_view.text
    assert {a["workforce"] for a in gold_view.json()["annotations"]} == {"Vendor A"}
    quality = api.get(f"/api/v1/projects/{pid}/quality", headers=a_rev.headers).json()
    assert {a["user"] for a in quality["annotators"]} == {a1.email}
    assert b1.email not in str(api.get(f"/api/v1/projects/{pid}/flags", headers=a_rev.headers).json())
    # The report that sets vendors side by side is for managers (refused by role, before anything).
    assert api.get(f"/api/v1/projects/{pid}/vendors", headers=a_rev.headers).status_code == 403
    assert api.get(f"/api/v1/projects/{pid}/vendors?format=csv", headers=a1.headers).status_code == 403
    assert api.get(f"/api/v1/projects/{pid}/vendors", headers=house_rev.headers).status_code == 403
    assert api.get("/api/v1/workforces", headers=a_rev.headers).status_code == 403
    assert api.get("/api/v1/workforces", headers=house_rev.headers).status_code == 403
    actor = a_rev.actor(hub)
    board = dashboard.project_dashboard(hub, actor, pid)
    assert b1.email not in str(board) and a1.email in str(board) and board["lowest"] == []
    try:
        review.judge(hub, actor, b_annotation, verdict="accept")
        raise AssertionError("a vendor's reviewer judged another vendor's answer")
    except Exception as exc:  # the NotFound a foreign id gets
        assert type(exc).__name__ == "NotFound"
    # In-house reviewers and managers see across vendors.
    both = api.get(f"/api/v1/items/{normal}", headers=house_rev.headers).json()
    assert {a["workforce"] for a in both["annotations"]} == {"Vendor A", "Vendor B"}
    assert api.get(f"/api/v1/items/{gold}", headers=manager.headers).json()["gold"]["note"] == SECRET
    report = api.get(f"/api/v1/projects/{pid}/vendors", headers=manager.headers).json()
    assert {w["name"] for w in report["workforces"]} == {"Vendor A", "Vendor B"}

    outsiders = [make_member(hub, make_org(hub), role=role) for role in ("manager", "reviewer", "annotator")]
    for o in outsiders:
        for r in (
            api.get(f"/api/v1/projects/{pid}/vendors", headers=o.headers),
            api.get(f"/api/v1/projects/{pid}/vendors?format=csv", headers=o.headers),
            api.get(f"/api/v1/projects/{pid}/flags", headers=o.headers),
            api.get(f"/api/v1/projects/{pid}/quality", headers=o.headers),
            api.get(f"/api/v1/items/{normal}", headers=o.headers),
            api.post(
                f"/api/v1/items/{normal}/gold", headers=o.headers, json={"answers": {"sentiment": "neutral"}}
            ),
            api.delete(f"/api/v1/projects/{pid}/pauses/1", headers=o.headers),
        ):
            assert r.status_code in ((404,) if o.role == "manager" else (403, 404)), (
                o.role,
                r.request.url,
                r.text,
            )
            assert SECRET not in r.text and a1.email not in r.text


def test_gold_answers_never_reach_an_annotator(hub: Assay, api: TestClient) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    annotator = make_member(hub, org, workforce="Vendor A", vendor=True)
    items = [
        {"data": {"text": "gold one"}, "gold": {"sentiment": "neutral", "note": SECRET}},
        {"data": {"text": "normal one"}},
        {"data": {"text": "normal two"}},
    ]
    pid = _project(api, manager, items, overlap=2, gold_rate=1.0, pause_below=0.9, pause_min_gold=1)
    h = annotator.headers
    bodies: list[str] = []
    lease = api.get(f"/api/v1/projects/{pid}/next", headers=h)
    bodies.append(lease.text)
    first = lease.json()
    assert first["item"]["data"]["text"] == "gold one"  # gold_rate 1: gold comes first
    submitted = api.post(
        f"/api/v1/assignments/{first['assignment_id']}/submit",
        headers=h,
        json={"answers": {"sentiment": "positive"}},
    )
    bodies.append(submitted.text)
    annotation = submitted.json()["id"]
    # A wrong gold answer paused the annotator (pause_min_gold 1): the message must not leak the gold either.
    paused = api.get(f"/api/v1/projects/{pid}/next", headers=h)
    assert paused.status_code == 403 and "paused" in paused.json()["error"]
    bodies.append(paused.text)
    item = first["item"]["id"]
    responses = [
        api.post("/api/v1/projects", headers=h, json={"name": "x", "schema": SCHEMA}),
        api.post(f"/api/v1/projects/{pid}/items", headers=h, json=[{"data": {"text": "x"}}]),
        api.post(
            f"/api/v1/projects/{pid}/annotations?workforce=Vendor+A",
            headers=h,
            json=[{"item_id": item, "annotator": "x", "answers": {"sentiment": "neutral"}}],
        ),
        lease,
        submitted,
        api.get("/api/v1/projects", headers=h),
        api.get(f"/api/v1/projects/{pid}", headers=h),
        api.patch(f"/api/v1/projects/{pid}", headers=h, json={"name": "renamed"}),
        api.post(f"/api/v1/assignments/{first['assignment_id']}/extend", headers=h),
        api.post(f"/api/v1/assignments/{first['assignment_id']}/skip", headers=h),
        api.post(
            f"/api/v1/annotations/{annotation}/revise", headers=h, json={"answers": {"sentiment": "neutral"}}
        ),
        api.get(f"/api/v1/items/{item}", headers=h),
        api.get(f"/api/v1/projects/{pid}/export", headers=h),
        api.get(f"/api/v1/projects/{pid}/quality", headers=h),
        api.get(f"/api/v1/projects/{pid}/vendors", headers=h),
        api.get(f"/api/v1/projects/{pid}/vendors?format=csv", headers=h),
        api.get(f"/api/v1/projects/{pid}/flags", headers=h),
        api.get(f"/api/v1/projects/{pid}/leaderboard", headers=h),
        api.get("/api/v1/workforces", headers=h),
        api.post(f"/api/v1/items/{item}/gold", headers=h, json={"answers": {"sentiment": "neutral"}}),
        api.delete(f"/api/v1/projects/{pid}/pauses/1", headers=h),
        api.patch("/api/v1/workforces/1", headers=h, json={"name": "x"}),
        api.post("/api/v1/workforces", headers=h, json={"name": "x"}),
        api.get("/api/v1/models", headers=h),
        api.post(
            "/api/v1/models", headers=h, json={"name": "x", "base_url": "http://127.0.0.1:9/v1", "model": "m"}
        ),
        api.delete("/api/v1/models/1", headers=h),
        api.post(f"/api/v1/projects/{pid}/generate", headers=h, json={"models": ["x"]}),
        api.get("/api/v1/jobs/1", headers=h),
        api.get(f"/api/v1/assignments/{first['assignment_id']}/turns", headers=h),
        api.post(f"/api/v1/assignments/{first['assignment_id']}/turns", headers=h, json={"content": "hi"}),
        api.put(f"/api/v1/assignments/{first['assignment_id']}/turns/1", headers=h, json={"preferred": 1}),
    ]
    for r in responses:
        assert r.status_code < 500, r.text
        bodies.append(r.text)
    swept = {r.request.method + " " + r.request.url.path for r in responses}
    # Every route the app serves under the API (included routers too), but its own description.
    templates = {
        f"{method} {path}"
        for method, path in app_routes(api.app)
        if path.startswith("/api/v1/") and path != "/api/v1/openapi.json"
    }
    # Every API endpoint is in the sweep: a new one fails here until it is added above.
    assert {_template(path) for path in swept} == templates
    assert all(SECRET not in body for body in bodies)


def _template(swept: str) -> str:
    method, path = swept.split(" ")
    parts = path.split("/")
    names = {"projects": "{project_id}", "items": "{item_id}", "assignments": "{assignment_id}",
             "annotations": "{annotation_id}", "workforces": "{workforce_id}", "pauses": "{pause_id}",
             "models": "{model_id}", "jobs": "{job_id}", "turns": "{turn_id}"}  # fmt: skip
    for i in range(1, len(parts)):
        if parts[i].isdigit():
            parts[i] = names[parts[i - 1]]
    return method + " " + "/".join(parts)


def test_promote_a_reviewed_answer_to_gold(hub: Assay, api: TestClient) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    reviewer = make_member(hub, org, role="reviewer")
    annotator = make_member(hub, org)
    later = make_member(hub, org)
    # A promoted item was already shown to its overlap; gold_overlap 2 lets one more annotator
    # have it as gold (by default a gold item is shown as often as any other).
    pid = _project(
        api,
        manager,
        [{"data": {"text": "one"}}, {"data": {"text": "two"}}],
        overlap=1,
        gold_rate=1.0,
        gold_overlap=2,
    )
    done = _answer(api, annotator, pid, {"sentiment": "negative"})
    url = f"/api/v1/items/{done['item_id']}/gold"
    body = {"answers": {"sentiment": "negative"}}
    assert api.post(url, headers=manager.headers, json=body).status_code == 409  # not reviewed yet
    review.judge(hub, reviewer.actor(hub), done["id"], verdict="accept")
    assert api.post(url, headers=reviewer.headers, json=body).status_code == 403
    bad = api.post(url, headers=manager.headers, json={"answers": {"sentiment": "furious"}})
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == "answers.sentiment"
    r = api.post(url, headers=manager.headers, json=body)
    assert r.status_code == 201 and r.json()["gold"] == {"sentiment": "negative"}
    assert api.post(url, headers=manager.headers, json=body).status_code == 409
    assert (
        api.get(f"/api/v1/items/{done['item_id']}", headers=manager.headers).json()["gold"] == body["answers"]
    )
    # The new gold item is served to the next annotator (gold_rate 1) while normal work remains.
    assert (
        api.get(f"/api/v1/projects/{pid}/next", headers=later.headers).json()["item"]["id"] == done["item_id"]
    )


def test_pausing_needs_a_sure_shortfall_and_a_manager_can_lift_it(hub: Assay, api: TestClient) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    reviewer = make_member(hub, org, role="reviewer")
    careless = make_member(hub, org)
    unlucky = make_member(hub, org)
    gold = [{"data": {"text": f"g{i}"}, "gold": {"sentiment": "positive"}} for i in range(12)]
    normal = [{"data": {"text": f"n{i}"}} for i in range(20)]
    pid = _project(api, manager, gold + normal, overlap=2, gold_rate=1.0, pause_below=0.8, pause_min_gold=5)
    for _ in range(5):  # one miss in five: the interval still reaches 0.8, so no pause
        _answer(api, unlucky, pid, {"sentiment": "negative" if _ == 0 else "positive"})
    assert api.get(f"/api/v1/projects/{pid}/next", headers=unlucky.headers).status_code == 200
    for _ in range(5):
        _answer(api, careless, pid, {"sentiment": "neutral"})
    r = api.get(f"/api/v1/projects/{pid}/next", headers=careless.headers)
    assert r.status_code == 403 and "paused" in r.json()["error"] and "0/5" in r.json()["error"]
    paused = api.get(f"/api/v1/projects/{pid}/quality", headers=manager.headers).json()["paused"]
    assert [p["user"] for p in paused] == [careless.email]
    lift = f"/api/v1/projects/{pid}/pauses/{paused[0]['id']}"
    assert api.delete(lift, headers=reviewer.headers).status_code == 403
    assert (
        api.delete(lift, headers=make_member(hub, make_org(hub), role="manager").headers).status_code == 404
    )
    assert api.delete(lift, headers=manager.headers).status_code == 200
    assert api.delete(lift, headers=manager.headers).status_code == 404
    assert api.get(f"/api/v1/projects/{pid}/quality", headers=manager.headers).json()["paused"] == []
    # The answers that paused them are forgiven: work resumes.
    assert api.get(f"/api/v1/projects/{pid}/next", headers=careless.headers).status_code == 200


def test_passing_a_qualification_grants_its_skill(hub: Assay, api: TestClient) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    good, bad = make_member(hub, org), make_member(hub, org)
    exam = [{"data": {"text": f"q{i}"}, "gold": {"sentiment": "neutral"}} for i in range(3)]
    qual = {"grants_skill": "sentiment-pro", "threshold": 0.66, "min_answers": 3}
    exam_id = _project(api, manager, [*exam, {"data": {"text": "filler"}}], gold_rate=1.0, qualification=qual)
    body = {"name": "paid work", "schema": SCHEMA, "settings": {"required_skills": ["sentiment-pro"]}}
    work_id = api.post("/api/v1/projects", headers=manager.headers, json=body).json()["id"]
    api.post(f"/api/v1/projects/{work_id}/items", headers=manager.headers, json=[{"data": {"text": "w"}}])
    assert api.get(f"/api/v1/projects/{work_id}/next", headers=good.headers).status_code == 403
    for i in range(3):
        _answer(api, good, exam_id, {"sentiment": "neutral" if i else "positive"})  # 2 of 3
        _answer(api, bad, exam_id, {"sentiment": "positive" if i else "neutral"})  # 1 of 3
    assert api.get(f"/api/v1/projects/{work_id}/next", headers=good.headers).status_code == 200
    assert api.get(f"/api/v1/projects/{work_id}/next", headers=bad.headers).status_code == 403


def test_adaptive_overlap_settles_a_sure_item_and_keeps_it_closed(hub: Assay, api: TestClient) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    a, b, c, d = (make_member(hub, org) for _ in range(4))
    pid = _project(api, manager, [{"data": {"text": "only"}}], overlap=5, target_confidence=0.9)
    leases = {m.email: api.get(f"/api/v1/projects/{pid}/next", headers=m.headers).json() for m in (a, b, c)}
    for m in (a, b):
        r = api.post(
            f"/api/v1/assignments/{leases[m.email]['assignment_id']}/submit",
            headers=m.headers,
            json={"answers": {"sentiment": "positive"}},
        )
        assert r.status_code == 201
    # Two agreeing answers from annotators of unmeasured accuracy (0.75 each) give 36:1:1 odds, 0.947 >= 0.9.
    assert api.get(f"/api/v1/projects/{pid}/next", headers=d.headers).status_code == 204
    # A live lease on the settled item may still be skipped; the item stays closed.
    assert (
        api.post(
            f"/api/v1/assignments/{leases[c.email]['assignment_id']}/skip", headers=c.headers
        ).status_code
        == 200
    )
    assert api.get(f"/api/v1/projects/{pid}/next", headers=d.headers).status_code == 204
    adaptive = api.get(f"/api/v1/projects/{pid}/quality", headers=manager.headers).json()["adaptive_overlap"]
    assert adaptive == {
        "target_confidence": 0.9,
        "overlap": 5,
        "items": 1,
        "settled_items": 1,
        "answers_saved": 3,
    }


def test_rejecting_an_answer_of_a_settled_item_reopens_it(hub: Assay, api: TestClient) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    a, b, c = (make_member(hub, org) for _ in range(3))
    pid = _project(api, manager, [{"data": {"text": "only"}}], overlap=5, target_confidence=0.9)
    first = _answer(api, a, pid, {"sentiment": "positive"})
    _answer(api, b, pid, {"sentiment": "positive"})
    assert api.get(f"/api/v1/projects/{pid}/next", headers=c.headers).status_code == 204  # settled
    review.judge(hub, manager.actor(hub), int(first["id"]), verdict="reject", reason="wrong item")
    # The rejected vote no longer counts: the item is back in the pool and can be leased.
    assert api.get(f"/api/v1/projects/{pid}/next", headers=c.headers).status_code == 200


def test_disagreement_keeps_an_item_open(hub: Assay, api: TestClient) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    a, b, c = (make_member(hub, org) for _ in range(3))
    pid = _project(api, manager, [{"data": {"text": "only"}}], overlap=5, target_confidence=0.9)
    _answer(api, a, pid, {"sentiment": "positive"})
    _answer(api, b, pid, {"sentiment": "negative"})
    assert api.get(f"/api/v1/projects/{pid}/next", headers=c.headers).status_code == 200


def test_flags_list_fast_constant_pasted_and_machine_written_answers(hub: Assay, api: TestClient) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    honest, fast, paster, bot, same = (make_member(hub, org) for _ in range(5))
    items = [{"data": {"text": f"t{i}"}} for i in range(12)]
    pid = _project(api, manager, items, overlap=5)
    machine = (
        "Certainly! Here is a breakdown of the sentiment:\n\n**Overall**: the message is positive.\n"
        "- It thanks the team\n- It praises the product\n- It asks for more\n\nI hope this helps!"
    )
    labels = ["positive", "neutral", "negative"]
    for i in range(12):
        _answer(api, honest, pid, {"sentiment": labels[i % 3], "note": "seems fine to me"})
        _answer(api, same, pid, {"sentiment": "positive"})
    _answer(api, fast, pid, {"sentiment": "neutral"}, duration_ms=300)
    _answer(
        api,
        paster,
        pid,
        {"sentiment": "neutral", "note": "x" * 120},
        client={"text": {"note": {"pastes": 1, "pasted_chars": 120}}},
    )
    _answer(api, bot, pid, {"sentiment": "positive", "note": machine})
    r = api.get(f"/api/v1/projects/{pid}/flags", headers=manager.headers)
    assert r.status_code == 200
    kinds: dict[str, set[str]] = {}
    for a in r.json()["annotations"]:
        kinds.setdefault(a["annotator"], set()).update(f["flag"] for f in a["flags"])
    assert kinds == {
        fast.email: {"too_fast"},
        paster.email: {"pasted"},
        bot.email: {"machine_text"},
        same.email: {"constant"},
    }
    assert api.get(f"/api/v1/projects/{pid}/flags", headers=honest.headers).status_code == 403
