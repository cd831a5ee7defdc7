"""Flagged answers in the review queue: first, with their reasons, filterable, within compartments;
and ``/flags`` gives the same reasons, with the figures behind them."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assay.app import Assay
from assay.web.app import create_app
from assay.workflows import admin, flags, projects, review
from tests.factories import Member, make_member, make_org
from tests.web.test_pages import PASSWORD, sign_in

SCHEMA: dict[str, Any] = {
    "inputs": [{"name": "text", "kind": "text"}],
    "questions": [
        {"name": "sentiment", "kind": "choice", "options": ["positive", "neutral", "negative"]},
        {"name": "note", "kind": "text", "required": False},
    ],
}
LABELS = ["positive", "neutral", "negative"]
MACHINE = (
    "Certainly! Here is a breakdown of the sentiment:\n\n- It thanks the team\n- It praises the "
    "product\n- It asks for more\n\nI hope this helps!"
)


def _project(api: TestClient, manager: Member, items: list[dict[str, Any]], **settings: Any) -> int:
    body = {"name": f"flags-{len(items)}", "schema": SCHEMA, "settings": settings}
    r = api.post("/api/v1/projects", headers=manager.headers, json=body)
    assert r.status_code == 201, r.text
    pid = int(r.json()["id"])
    assert api.post(f"/api/v1/projects/{pid}/items", headers=manager.headers, json=items).status_code == 201
    return pid


def _label(lease: dict[str, Any]) -> str:
    """Everyone honest agrees: the label follows the item's text ("t3" -> LABELS[0])."""
    return LABELS[int(lease["item"]["data"]["text"][1:]) % 3]


def _answer(api: TestClient, who: Member, pid: int, *, flip: bool = False, **extra: Any) -> tuple[int, int]:
    """(annotation id, item id) of one answer to whatever ``next`` serves."""
    lease = api.get(f"/api/v1/projects/{pid}/next", headers=who.headers)
    assert lease.status_code == 200, lease.text
    body = lease.json()
    label = _label(body)
    answers = {"sentiment": LABELS[(LABELS.index(label) + 1) % 3] if flip else label}
    answers.update(extra.pop("answers", {}))
    r = api.post(
        f"/api/v1/assignments/{body['assignment_id']}/submit",
        headers=who.headers,
        json={"answers": answers, "duration_ms": 20_000, **extra},
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"]), int(r.json()["item_id"])


@dataclasses.dataclass
class Scene:
    pid: int
    manager: Member
    reviewer: Member
    fast: tuple[int, int]  # (annotation, item)
    bot: tuple[int, int]
    disagreement: int  # an item two honest annotators disagree on, with no flag
    items: list[int]  # every item, oldest pending first


def _scene(hub: Assay, api: TestClient, org: str | None = None) -> Scene:
    """Six items, two answers each: one too fast, one machine-written, one honest disagreement."""
    org = org or make_org(hub)
    manager = make_member(hub, org, role="manager")
    reviewer = make_member(hub, org, role="reviewer", workforce="House")
    first, second, fast, bot = (make_member(hub, org, workforce="House") for _ in range(4))
    pid = _project(api, manager, [{"data": {"text": f"t{i}"}} for i in range(6)], overlap=2)
    items = [_answer(api, first, pid)[1] for _ in range(6)]
    disagreement = _answer(api, second, pid, flip=True)[1]
    for _ in range(3):
        _answer(api, second, pid)
    return Scene(
        pid=pid,
        manager=manager,
        reviewer=reviewer,
        fast=_answer(api, fast, pid, duration_ms=1_200),
        bot=_answer(api, bot, pid, answers={"note": MACHINE}),
        disagreement=disagreement,
        items=items,
    )


def test_flagged_answers_come_first_with_their_reasons(hub: Assay, api: TestClient) -> None:
    s = _scene(hub, api)
    _, views, pending, flagged = review.queue(hub, s.reviewer.actor(hub), s.pid)
    assert (pending, flagged) == (12, 2)
    order = [v.item_id for v in views]
    # Flagged, then the disagreement, then the oldest.  The bot's note (nobody else wrote one)
    # makes its item a disagreement too, which comes first among the flagged.
    assert order[:3] == [s.bot[1], s.fast[1], s.disagreement]
    assert order[3:] == [i for i in s.items if i not in order[:3]]
    assert [v.flagged for v in views] == [True, True] + [False] * 4
    by_id = {a["id"]: a for v in views for a in v.annotations}
    assert by_id[s.fast[0]]["flags"] == [
        {
            "flag": "too_fast",
            "duration_ms": 1200,
            "below_ms": 2000,
            "text": "answered in 1.2 s, under the project's 2.0 s",
        }
    ]
    [machine] = by_id[s.bot[0]]["flags"]
    assert machine["flag"] == "machine_text" and machine["question"] == "note"
    assert machine["text"] == "note reads like model output: stock assistant phrase, bullet list"
    assert sum(bool(a["flags"]) for a in by_id.values()) == 2

    # Only the flagged items; a judged answer leaves the flagged ones.
    _, only, _, _ = review.queue(hub, s.reviewer.actor(hub), s.pid, only_flagged=True)
    assert [v.item_id for v in only] == [s.bot[1], s.fast[1]]
    review.judge(hub, s.reviewer.actor(hub), s.fast[0], verdict="accept")
    _, views, pending, flagged = review.queue(hub, s.reviewer.actor(hub), s.pid)
    assert (pending, flagged) == (11, 1)
    assert [v.item_id for v in views][:2] == [s.bot[1], s.disagreement]
    # The judged answer keeps its flag on the card, but no longer puts its item first.
    fast_view = next(v for v in views if v.item_id == s.fast[1])
    assert not fast_view.flagged and fast_view.annotations[-1]["flags"][0]["flag"] == "too_fast"
    _, only, _, _ = review.queue(hub, s.reviewer.actor(hub), s.pid, only_flagged=True)
    assert [v.item_id for v in only] == [s.bot[1]]


def test_flagged_answers_beyond_the_scan_window_still_come_first(
    hub: Assay, api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = _scene(hub, api)
    # The two flagged items are the newest answers: far outside a window of the two oldest items.
    monkeypatch.setattr(review, "QUEUE_SCAN", 2)
    _, views, _, flagged = review.queue(hub, s.manager.actor(hub), s.pid, limit=3)
    assert flagged == 2
    assert [v.item_id for v in views] == [s.bot[1], s.fast[1], s.items[0]]
    _, views, _, _ = review.queue(hub, s.manager.actor(hub), s.pid, limit=1)
    assert [v.item_id for v in views] == [s.bot[1]]


def test_a_vendor_reviewer_never_sees_another_workforces_flagged_answers(hub: Assay, api: TestClient) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    a_rev = make_member(hub, org, role="reviewer", workforce="Vendor A", vendor=True)
    a_honest, a_fast = (make_member(hub, org, workforce="Vendor A", vendor=True) for _ in range(2))
    b_honest, b_bot = (make_member(hub, org, workforce="Vendor B", vendor=True) for _ in range(2))
    items: list[dict[str, Any]] = [{"data": {"text": f"t{i}"}} for i in range(4)]
    items.append({"data": {"text": "t9"}, "gold": {"sentiment": "positive"}})
    pid = _project(api, manager, items, overlap=4, gold_rate=1.0)
    for who in (a_honest, b_honest):
        for _ in range(5):
            _answer(api, who, pid)
    # a_fast's first answer is the gold item (gold_rate=1.0), too fast like the other two.
    a_flagged = [_answer(api, a_fast, pid, duration_ms=900) for _ in range(3)]
    b_flagged = [_answer(api, b_bot, pid, answers={"note": MACHINE}) for _ in range(3)]
    gold_item = a_flagged[0][1]
    everyone = flags.flagged(hub, manager.actor(hub), projects.get(hub, manager.actor(hub), pid))
    assert {a for a, _ in a_flagged + b_flagged} <= set(everyone)
    assert set(flags.flagged(hub, a_rev.actor(hub), projects.get(hub, a_rev.actor(hub), pid))) == {
        a for a, _ in a_flagged
    }

    actor = a_rev.actor(hub)
    _, views, _, flagged = review.queue(hub, actor, pid)
    # a_fast's three answers, the gold one among them like any other (a vendor's reviewer cannot
    # tell gold apart); never Vendor B's.
    assert flagged == 3
    seen = {a["id"]: a for v in views for a in v.annotations}
    assert {a["workforce"] for a in seen.values()} == {"Vendor A"}
    assert not {a for a, _ in b_flagged} & set(seen) and b_bot.email not in str(views)
    assert gold_item in [v.item_id for v in views]
    assert [v.item_id for v in views if v.flagged] == [i for _, i in a_flagged]
    _, only, _, _ = review.queue(hub, actor, pid, only_flagged=True)
    assert [v.item_id for v in only] == [i for _, i in a_flagged]
    assert all(a["workforce"] == "Vendor A" for v in only for a in v.annotations)

    # In-house eyes (the manager) see both vendors' flagged answers, the gold one included.
    _, views, _, flagged = review.queue(hub, manager.actor(hub), pid, only_flagged=True)
    assert flagged == 6
    assert {i for _, i in a_flagged + b_flagged} == {v.item_id for v in views}


def test_flags_endpoint_keeps_its_shape(hub: Assay, api: TestClient) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    honest, fast, paster, bot, same = (make_member(hub, org) for _ in range(5))
    pid = _project(api, manager, [{"data": {"text": f"t{i}"}} for i in range(12)], overlap=5)
    for _ in range(12):
        honest_id, _ = _answer(api, honest, pid, answers={"note": "seems fine to me"})
        _answer(api, same, pid, answers={"sentiment": "positive"})
    fast_id, _ = _answer(api, fast, pid, duration_ms=300)
    paste_id, _ = _answer(
        api,
        paster,
        pid,
        answers={"note": "x" * 120},
        client={"text": {"note": {"pastes": 1, "pasted_chars": 120}}},
    )
    bot_id, _ = _answer(api, bot, pid, answers={"note": MACHINE})
    body = api.get(f"/api/v1/projects/{pid}/flags", headers=manager.headers).json()
    assert set(body) == {"ok", "project_id", "count", "annotations"}
    assert body["count"] == len(body["annotations"]) == 15
    keys = {"annotation_id", "item_id", "annotator", "workforce", "review", "created_at", "flags"}
    assert all(set(a) == keys for a in body["annotations"])
    got = {a["annotation_id"]: a["flags"] for a in body["annotations"]}
    assert got[fast_id] == [{"flag": "too_fast", "duration_ms": 300, "below_ms": 2000}]
    assert got[paste_id] == [{"flag": "pasted", "question": "note", "pasted_chars": 120}]
    assert got[bot_id] == [
        {"flag": "machine_text", "question": "note", "signals": ["stock assistant phrase", "bullet list"]}
    ]
    constant = [a for a in body["annotations"] if a["annotator"] == same.email]
    assert len(constant) == 12 and all(a["flags"] == [{"flag": "constant", "share": 1.0}] for a in constant)
    # Asked for a few annotations, the checks still judge them against the whole project.
    project = projects.get(hub, manager.actor(hub), pid)
    few = flags.flagged(hub, manager.actor(hub), project, annotation_ids=[fast_id, honest_id])
    assert list(few) == [fast_id] and few[fast_id].reasons == got[fast_id]
    # The queue's cards say the same, with the figures a reviewer reads.
    _, views, _, flagged = review.queue(hub, manager.actor(hub), pid, only_flagged=True)
    assert flagged == 15
    texts = {a["id"]: [f["text"] for f in a["flags"]] for v in views for a in v.annotations}
    assert texts[paste_id] == ["pasted 120 characters into note"]
    some_constant = next(a["annotation_id"] for a in constant)
    assert texts[some_constant] == ["gives the same answer to 100% of items"]


def _signed_in(hub: Assay, org: str, member: Member) -> TestClient:
    admin.create_user(
        hub, org=org, email=member.email, role=member.role, workforce=member.workforce, password=PASSWORD
    )
    client = TestClient(create_app(hub))
    assert sign_in(client, member.email, PASSWORD).status_code == 303
    return client


def _sections(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<section class="card" aria-label="Item (\d+)"', html)]


def test_the_review_page_shows_flags_first_and_filters_them(hub: Assay, api: TestClient) -> None:
    hub.config = dataclasses.replace(hub.config, secret_key="s" * 40)
    org = make_org(hub)
    s = _scene(hub, api, org)
    client = _signed_in(hub, org, s.reviewer)
    page = client.get(f"/projects/{s.pid}/review")
    assert page.status_code == 200
    assert _sections(page.text)[:3] == [s.bot[1], s.fast[1], s.disagreement]
    assert "answered in 1.2 s, under the project&#39;s 2.0 s" in page.text
    assert "note reads like model output: stock assistant phrase, bullet list" in page.text
    assert 'aria-label="Flagged for review"' in page.text
    assert f'href="/projects/{s.pid}/review?only=flagged">flagged for review (2)</a>' in page.text
    only = client.get(f"/projects/{s.pid}/review?only=flagged")
    assert _sections(only.text) == [s.bot[1], s.fast[1]]
    assert 'aria-current="page">flagged for review (2)' in only.text
    # Judging from the filtered view comes back to it.
    assert f'name="back" value="/projects/{s.pid}/review?only=flagged"' in only.text
    assert "style=" not in only.text
