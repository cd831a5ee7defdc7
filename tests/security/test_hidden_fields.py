"""Query parameters cannot reach other tenants' rows or hidden fields, and annotators never see secrets.

Recognisable values are planted — another organisation's canary, a gold answer, password hashes,
token hashes — and every response body reachable by the caller is searched for them, with every
query parameter a route accepts (read from the routes themselves and from the pages' source) set
to hostile values: other tenants' ids and slugs, column names, SQL fragments.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

import sqlalchemy as sa

import assay.web.pages
from assay.storage.tables import api_tokens, items, memberships, projects
from assay.web import sessions
from assay.workflows import admin
from tests.security.cells import app_routes
from tests.security.conftest import GOLD_CANARY, World, items_with_gold

OTHER_CANARY = "OTHERORG-c4n4ry-93d1"
PAGES_SRC = Path(assay.web.pages.__file__).parent


def accepted_query_params(world: World) -> dict[tuple[str, str], set[str]]:
    """Every query parameter each route reads: the API's from its OpenAPI spec, the pages' from their source."""
    declared: dict[tuple[str, str], set[str]] = {key: set() for key in app_routes(world.app)}
    spec = world.client.get("/api/v1/openapi.json").json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
            declared[(method.upper(), path)] = names
    read_by_pages = set()
    for source in PAGES_SRC.glob("*.py"):
        read_by_pages |= set(re.findall(r"query_params\.get\(\"(\w+)\"", source.read_text()))
    assert read_by_pages, "found no query parameters read by the pages; has the way they read them changed?"
    for (method, path), names in declared.items():
        if method == "GET" and not path.startswith("/api/"):
            names |= read_by_pages
    return declared


def _plant(world: World) -> dict[str, Any]:
    """A gold item with a canary answer in A's own project, and canaries all over organisation X."""
    client, manager, foreign = world.client, world.members["manager"], world.members["foreign"]
    gold_items = items_with_gold(2, tag="planted")
    gold_items[-1]["gold"] = {"sentiment": "gold", "note": GOLD_CANARY}
    gold_items.append({**gold_items[-1], "external_id": "planted-gold-2"})
    created = client.post(
        "/api/v1/projects",
        json={
            "name": "planted",
            "schema": world_schema(),
            "settings": {"overlap": 1, "gold_rate": 0.9, "max_leases": 20},
        },
        headers=manager.headers,
    )
    assert created.status_code == 201, created.text
    planted = int(created.json()["id"])
    assert client.post(
        f"/api/v1/projects/{planted}/items", json=gold_items, headers=manager.headers
    ).is_success
    other = client.post(
        "/api/v1/projects",
        json={
            "name": OTHER_CANARY,
            "description": OTHER_CANARY,
            "schema": world_schema(),
            "settings": {"instructions": OTHER_CANARY},
        },
        headers=foreign.headers,
    ).json()["id"]
    rows = [{"data": {"text": OTHER_CANARY}, "external_id": OTHER_CANARY, "gold": {"note": OTHER_CANARY}}]
    assert client.post(f"/api/v1/projects/{other}/items", json=rows, headers=foreign.headers).is_success
    # Passwords for two members so that password hashes exist to be leaked.
    for who in ("annotator_a", "foreign"):
        m = world.members[who]
        admin.create_user(
            world.hub,
            org=m.org,
            email=m.email,
            role=m.role,
            workforce=m.workforce,
            password=secrets.token_hex(8),
        )
    return {"planted": planted, "other": int(other)}


def world_schema() -> dict[str, Any]:
    from tests.security.conftest import GOLD_SCHEMA

    return GOLD_SCHEMA


def _secrets(world: World) -> list[str]:
    with world.hub.db.read() as conn:
        hashes = [
            r.password_hash for r in conn.execute(sa.select(memberships.c.password_hash)) if r.password_hash
        ]
        tokens = [r.token_hash for r in conn.execute(sa.select(api_tokens.c.token_hash))]
    assert len(hashes) >= 2 and len(tokens) >= 7
    return hashes + tokens


HOSTILE = ["-1", "gold", "password_hash", "' OR '1'='1", "jsonl"]


def test_query_parameters_reach_nothing_hidden(world: World) -> None:
    planted = _plant(world)
    leaked = [*_secrets(world), OTHER_CANARY]
    # The caller's own input may be echoed back in an error; other tenants' data may not appear.
    hostile = [*HOSTILE, str(planted["other"]), world.members["foreign"].org]
    params = accepted_query_params(world)
    # Extra, undeclared filters a route must ignore.
    params_extra = ["org_id", "sort", "q", "fields"]
    assert any(params.values()), "no route declares a query parameter; the check would be empty"
    checked = 0
    for who in ("annotator_a", "reviewer_a", "manager"):
        member = world.members[who]
        forbidden = leaked + ([GOLD_CANARY] if who != "manager" else [])
        for method, path in app_routes(world.app):
            if method != "GET" or path in (
                "/static",
                "/static/swagger-ui",
                "/api/v1/openapi.json",
                "/api/docs",
            ):
                continue
            url = re.sub(r"\{\w+\}", "1", path.replace("{project_id}", str(planted["planted"])))
            names = sorted(params.get((method, path), set())) + params_extra
            for name in names:
                for value in hostile:
                    world.client.cookies.clear()
                    headers = member.headers if path.startswith("/api/") else {}
                    if not path.startswith("/api/"):
                        world.client.cookies.set(sessions.COOKIE, world.cookie(member))
                    response = world.client.get(
                        url, params={name: value}, headers=headers, follow_redirects=False
                    )
                    checked += 1
                    assert response.status_code < 500, (who, url, name, value, response.text[:200])
                    for secret in forbidden:
                        assert secret not in response.text, (who, url, name, value, secret)
    world.client.cookies.clear()
    assert checked > 300


def test_annotators_never_see_gold_or_hashes(world: World) -> None:
    """Lease and answer every item of a gold-heavy project as an annotator; search every body."""
    planted = _plant(world)["planted"]
    forbidden = [*_secrets(world), GOLD_CANARY, OTHER_CANARY]
    member = world.members["annotator_a"]
    bodies: list[str] = []
    gold_seen = 0
    for _ in range(10):
        lease = world.client.get(f"/api/v1/projects/{planted}/next", headers=member.headers)
        bodies.append(lease.text)
        if lease.status_code == 204:
            break
        assert lease.status_code == 200, lease.text
        body = lease.json()
        gold_seen += "gold" in str(body["item"]["data"]["text"])
        assert "gold" not in {k.lower() for k in body["item"]}, body["item"]
        for path in ("extend", "submit"):
            done = world.client.post(
                f"/api/v1/assignments/{body['assignment_id']}/{path}",
                json={"answers": {"sentiment": "positive"}} if path == "submit" else None,
                headers={**member.headers, "Idempotency-Key": secrets.token_hex(8)},
            )
            bodies.append(done.text)
            assert done.status_code in (200, 201), done.text
        revised = world.client.post(
            f"/api/v1/annotations/{done.json()['id']}/revise",
            json={"answers": {"sentiment": "neutral"}},
            headers=member.headers,
        )
        bodies.append(revised.text)
    assert gold_seen == 2, "the annotator should have been served both gold items"
    world.client.cookies.set(sessions.COOKIE, world.cookie(member))
    for url in (
        "/projects",
        f"/projects/{planted}/annotate",
        "/api/v1/projects",
        f"/api/v1/projects/{planted}",
    ):
        response = world.client.get(url)
        assert response.status_code == 200, (url, response.text[:200])
        bodies.append(response.text)
    world.client.cookies.clear()
    for text in bodies:
        for secret in forbidden:
            assert secret not in text, (secret, text[:300])


def test_a_vendors_reviewer_never_sees_gold_or_another_vendors_work(world: World) -> None:
    """Vendor A's annotator answers every item of a gold-heavy project shared with Vendor A, and a
    Vendor B annotator's answer is planted beside them; then Vendor A's reviewer reads every page and
    endpoint of the project.  No gold answer and nothing of Vendor B may appear."""
    planted = _plant(world)["planted"]
    annotator = world.members["annotator_a"]
    # Share the project with Vendor B as well, so that a Vendor B answer exists beside Vendor A's.
    with world.hub.db.write() as conn:
        current = conn.execute(sa.select(projects.c.settings).where(projects.c.id == planted)).scalar_one()
        conn.execute(
            projects.update()
            .where(projects.c.id == planted)
            .values(settings={**current, "workforces": ["Vendor A", "Vendor B"]})
        )
    for who in ("annotator_a", "annotator_b"):
        for _ in range(6):
            lease = world.client.get(f"/api/v1/projects/{planted}/next", headers=world.members[who].headers)
            if lease.status_code == 204:
                break
            note = f"note by {world.members[who].email}"
            world.client.post(
                f"/api/v1/assignments/{lease.json()['assignment_id']}/submit",
                json={"answers": {"sentiment": "positive", "note": note}},
                headers={**world.members[who].headers, "Idempotency-Key": secrets.token_hex(8)},
            )
    reviewer = world.members["reviewer_a"]
    forbidden = [*_secrets(world), GOLD_CANARY, OTHER_CANARY, world.members["annotator_b"].email]
    bodies: list[str] = []
    with world.hub.db.read() as conn:
        item_ids = [
            int(r.id) for r in conn.execute(sa.select(items.c.id).where(items.c.project_id == planted))
        ]
    for url in (
        f"/api/v1/projects/{planted}",
        f"/api/v1/projects/{planted}/quality",
        f"/api/v1/projects/{planted}/flags",
        f"/api/v1/projects/{planted}/vendors",
        *[f"/api/v1/items/{i}" for i in item_ids],
    ):
        response = world.client.get(url, headers=reviewer.headers)
        assert response.status_code in (200, 403, 404), (url, response.text[:200])
        bodies.append(response.text)
    world.client.cookies.set(sessions.COOKIE, world.cookie(reviewer))
    for url in (
        f"/projects/{planted}/review",
        f"/projects/{planted}/review?only=flagged",
        f"/projects/{planted}/dashboard",
        "/review",
        *[f"/items/{i}" for i in item_ids],
    ):
        response = world.client.get(url)
        assert response.status_code in (200, 404), (url, response.text[:200])
        bodies.append(response.text)
    world.client.cookies.clear()
    assert any(annotator.email in b for b in bodies), "the reviewer should see their own vendor's work"
    for text in bodies:
        for secret in forbidden:
            assert secret not in text, (secret, text[:300])
