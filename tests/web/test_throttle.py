"""Small requests that would cost the server a lot: bodies read before authorisation, random
credentials that dodge the rate limit, and audit rows without bound."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from assay.app import Assay
from assay.storage.tables import audit_events, items
from assay.throttle import Throttle, TokenBuckets
from assay.web.app import create_app
from tests.factories import TEXT_SCHEMA, make_member, make_org


def _call(
    app: Any, *, method: str, path: str, headers: dict[str, str], chunks: int, size: int
) -> tuple[int, int]:
    """Drive the ASGI app directly with a streamed body; (status, body chunks the app pulled)."""
    pulled = 0
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        if pulled >= chunks:
            return {"type": "http.disconnect"}
        pulled += 1
        return {"type": "http.request", "body": b"x" * size, "more_body": pulled < chunks}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("203.0.113.9", 50000),
        "server": ("testserver", 80),
        "state": {},
    }

    async def run() -> None:
        await app(scope, receive, send)

    asyncio.run(run())
    return status, pulled


def test_a_body_is_not_read_before_the_caller_is_authorised(hub: Assay) -> None:
    """An annotator or an anonymous client posting a 400 MB import (or any JSON body) is refused
    before the server reads more than nothing of it; nothing is imported."""
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    annotator = make_member(hub, org)
    app = create_app(hub)
    with TestClient(app) as client:
        pid = client.post(
            "/api/v1/projects", json={"name": "p", "schema": TEXT_SCHEMA}, headers=manager.headers
        ).json()["id"]
    big = {"Content-Type": "application/x-ndjson", "Content-Length": str(400 * 1024 * 1024)}
    for who, expected in ((annotator.headers, 403), ({}, 401)):
        status, pulled = _call(
            app,
            method="POST",
            path=f"/api/v1/projects/{pid}/items",
            headers={**big, **who},
            chunks=6400,
            size=64 * 1024,
        )
        assert (status, pulled) == (expected, 0)
        status, pulled = _call(
            app,
            method="POST",
            path="/api/v1/projects",
            headers={"Content-Type": "application/json", **who},
            chunks=100,
            size=64 * 1024,
        )
        assert (status, pulled) == (expected, 0)
    with hub.db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(items)).scalar_one() == 0


def _rows(hub: Assay) -> int:
    with hub.db.read() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count()).select_from(audit_events).where(audit_events.c.allowed.is_(False))
            ).scalar_one()
        )


def test_random_bearer_values_are_throttled_per_address_and_audit_rows_are_bounded(hub: Assay) -> None:
    hub.throttle = Throttle(auth_burst=5, auth_per_s=0.001, audit_burst=8, audit_per_s=0.001)
    member = make_member(hub, make_org(hub))
    with TestClient(create_app(hub), raise_server_exceptions=False) as client:
        statuses = [
            client.get("/api/v1/projects", headers={"Authorization": f"Bearer assay_{secrets.token_hex(16)}"})
            for _ in range(60)
        ]
        codes = [r.status_code for r in statuses]
        assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}
        assert all(int(r.headers["Retry-After"]) >= 1 for r in statuses[5:])
        assert _rows(hub) <= 8  # 60 refusals, a bounded number of rows
        # The valid token from the same address is throttled too (its address is out of attempts),
        # and a different address is not.
        assert client.get("/api/v1/projects", headers=member.headers).status_code == 429
    other = TestClient(create_app(hub), raise_server_exceptions=False, client=("198.51.100.7", 1234))
    assert other.get("/api/v1/projects", headers=member.headers).status_code == 200


def test_folded_denials_are_counted_in_the_next_row() -> None:
    now = [0.0]
    throttle = Throttle(audit_burst=2, audit_per_s=1.0, clock=lambda: now[0])
    assert [throttle.audit("i:x") for _ in range(5)] == [0, 0, None, None, None]
    now[0] = 1.5
    assert throttle.audit("i:x") == 3  # the three folded ones are reported with this row
    assert throttle.audit("i:y") == 0  # another client has its own budget


def test_token_buckets_wait_without_taking() -> None:
    now = [0.0]
    buckets = TokenBuckets(per_s=1.0, burst=1, clock=lambda: now[0])
    assert buckets.wait("k") == 0.0 and buckets.wait("k") == 0.0
    assert buckets.take("k") == 0.0
    assert buckets.wait("k") == 1.0
    now[0] = 0.5
    assert buckets.wait("k") == 0.5
