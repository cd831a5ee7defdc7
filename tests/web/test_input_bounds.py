"""Values that used to give a 500 (or were stored where PostgreSQL cannot store them) are 4xx now,
naming the field, and leave nothing behind; on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from assay.app import Assay
from assay.domain.schema import parse_schema, validate_answers
from assay.errors import Invalid
from assay.limits import MAX_DEPTH
from assay.storage.tables import annotations, organizations, projects, reviews, users, workforces
from assay.workflows import admin
from assay.workflows import projects as project_flows
from assay.workflows import workforces as workforce_flows
from tests.factories import TEXT_SCHEMA, make_member, make_org
from tests.web.test_pages import Site, csrf_of, site  # noqa: F401 - the pages' fixture

EXAMPLE_SCHEMA = "inputs:\n  - name: text\n    kind: text\nquestions:\n  - name: q\n    kind: choice\n    options: [a, b]\n"


def _count(hub: Assay, table: sa.Table) -> int:
    with hub.db.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


@pytest.mark.parametrize("cost", [10**400, -(10**400), float("inf")])
def test_a_cost_beyond_a_float_is_422_not_an_overflow(hub: Assay, cost: Any) -> None:
    manager = make_member(hub, make_org(hub), role="manager")
    before = _count(hub, workforces)
    with pytest.raises(Invalid) as caught:
        workforce_flows.create(hub, manager.actor(hub), {"name": "W", "cost_per_answer": cost})
    assert caught.value.status == 422
    assert caught.value.errors[0]["loc"] == "cost_per_answer"
    assert len(caught.value.message) < 200  # a 400-digit number is not echoed whole
    assert _count(hub, workforces) == before


def test_a_cost_beyond_a_float_over_the_api(hub: Assay, api: TestClient) -> None:
    manager = make_member(hub, make_org(hub), role="manager")
    before = _count(hub, workforces)
    body = b'{"name": "W", "kind": "vendor", "cost_per_answer": 1' + b"0" * 400 + b"}"
    response = api.post(
        "/api/v1/workforces", content=body, headers={**manager.headers, "Content-Type": "application/json"}
    )
    # The body is refused before the route runs: JSON cannot carry a number beyond a float.
    assert response.status_code == 422, response.text
    assert "number is infinity" in response.json()["error"]
    assert _count(hub, workforces) == before


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("a\x00b", "U+0000"),
        ("a\ud800", "U+D800"),
        ("two\r\nlines", "U+000D"),
        ("   ", "not blank"),
        ("x" * 201, "201 characters"),
    ],
)
def test_project_names_are_checked_before_anything_is_written(hub: Assay, name: str, words: str) -> None:
    manager = make_member(hub, make_org(hub), role="manager")
    with pytest.raises(Invalid) as caught:
        project_flows.create(hub, manager.actor(hub), name=name, schema=TEXT_SCHEMA)
    assert caught.value.errors[0]["loc"] == "name" and words in caught.value.message
    assert _count(hub, projects) == 0


def test_project_names_over_the_api(hub: Assay, api: TestClient) -> None:
    manager = make_member(hub, make_org(hub), role="manager")
    for raw, words in (
        (b'"a\\ud800"', "lone surrogate"),  # refused with the body, before the route runs
        (b'"a\\u0000"', "name: holds a NUL character"),
        (b'"a\\r\\nb"', "name: holds the control character U+000D"),
    ):
        body = b'{"name": ' + raw + b', "schema": {"inputs": [{"name": "text", "kind": "text"}], '
        body += b'"questions": [{"name": "q", "kind": "choice", "options": ["a", "b"]}]}}'
        response = api.post(
            "/api/v1/projects", content=body, headers={**manager.headers, "Content-Type": "application/json"}
        )
        assert response.status_code == 422, response.text
        assert words in response.json()["error"]
    assert _count(hub, projects) == 0
    fine = api.post(
        "/api/v1/projects", json={"name": "  Prüfung ☃  ", "schema": TEXT_SCHEMA}, headers=manager.headers
    )
    assert fine.status_code == 201 and fine.json()["name"] == "Prüfung ☃"


@pytest.mark.parametrize(
    ("kwargs", "loc"),
    [
        ({"name": "Acme\r\nLab"}, "organisation name"),
        ({"name": "a\x00"}, "organisation name"),
    ],
)
def test_organisation_names_are_names(hub: Assay, kwargs: dict[str, Any], loc: str) -> None:
    with pytest.raises(Invalid) as caught:
        admin.create_org(hub, slug="acme", **kwargs)
    assert caught.value.errors[0]["loc"] == loc
    assert _count(hub, organizations) == 0


@pytest.mark.parametrize(
    ("kwargs", "loc"),
    [
        ({"name": "Ann\nSmith"}, "user name"),
        ({"name": "\udc80"}, "user name"),
        ({"workforce": "Vendor\x00A"}, "workforce name"),
        ({"workforce": "x" * 101}, "workforce name"),
    ],
)
def test_user_and_workforce_names_are_names(hub: Assay, kwargs: dict[str, Any], loc: str) -> None:
    org = make_org(hub)
    before = _count(hub, users), _count(hub, workforces)
    with pytest.raises(Invalid) as caught:
        admin.create_user(hub, org=org, email="ann@example.org", role="annotator", **kwargs)
    assert caught.value.errors[0]["loc"] == loc
    assert (_count(hub, users), _count(hub, workforces)) == before


SPANS = parse_schema(
    {
        "inputs": [{"name": "text", "kind": "text"}],
        "questions": [
            {"name": "s", "kind": "spans", "input": "text", "labels": ["x"]},
            {"name": "why", "kind": "text", "required": False},
        ],
    }
)


def _deep(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("answers", "loc", "words"),
    [
        ({"s": [{"start": 0, "end": 2**64, "label": "x"}]}, "answers.s[0].end", "64-bit"),
        ({"s": [{"start": -(2**70), "end": 1, "label": "x"}]}, "answers.s[0].start", "64-bit"),
        ({"s": [], "why": "a\x00"}, "answers.why", "NUL"),
        ({"s": [], "why": "a\ud800"}, "answers.why", "lone surrogate"),
        ({"s": _deep(5000)}, "answers.s", f"nested deeper than {MAX_DEPTH} levels"),
    ],
)
def test_answers_out_of_bounds_are_named(answers: dict[str, Any], loc: str, words: str) -> None:
    with pytest.raises(Invalid) as caught:
        validate_answers(SPANS, data={"text": "hello"}, answers=answers)
    assert caught.value.errors[0]["loc"].startswith(loc)
    assert words in caught.value.message
    caught.value.message.encode("utf-8")  # the message itself can always be sent back


def test_page_forms_refuse_nul_and_deep_json(site: Site) -> None:  # noqa: F811 - the fixture
    client = site.client("manager")
    csrf = csrf_of(client.get("/projects/new").text)
    before = _count(site.hub, projects)
    page = client.post(
        "/projects/new",
        data={"csrf_token": csrf, "name": "a\x00b", "schema": "inputs: []", "settings": ""},
    )
    assert page.status_code == 422 and "name: holds a NUL character" in page.text
    named = client.post(
        "/projects/new",
        data={"csrf_token": csrf, "name": "two\nlines", "schema": EXAMPLE_SCHEMA, "settings": ""},
    )
    assert named.status_code == 422 and "U+000A" in named.text
    assert _count(site.hub, projects) == before
    with site.hub.db.read() as conn:
        annotation_id = conn.execute(sa.select(sa.func.min(annotations.c.id))).scalar_one()
    reviewer = site.client("reviewer")
    token = csrf_of(reviewer.get(f"/projects/{site.project_id}/review").text)
    for answers in ("[" * 5000 + "]" * 5000, '{"sentiment": "\\ud800"}', '{"sentiment": "a\\u0000"}'):
        fixed = reviewer.post(
            f"/annotations/{annotation_id}/review",
            data={"csrf_token": token, "verdict": "fix", "answers": answers},
            follow_redirects=False,
        )
        assert fixed.status_code == 422, fixed.text[:300]
    with site.hub.db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(reviews)).scalar_one() == 0
