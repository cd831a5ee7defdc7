"""A two-organisation world for the security tests, with every actor and object the matrix names.

Organisation A has an owner, a manager, a reviewer (no workforce: reviews every compartment), a
reviewer of Vendor A (reviews that compartment only) and one annotator in each of two vendor
workforces; project ``A`` is shared with Vendor A only, project
``B`` with Vendor B only.  Organisation X is another tenant with its own manager, annotator and
project.  Pages are signed in by building the signed session cookie directly (no argon2 per login).
"""

from __future__ import annotations

import dataclasses
import itertools
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from assay.app import Assay
from assay.security import hash_token
from assay.storage.tables import api_tokens, audit_events, memberships, users
from assay.throttle import Throttle
from assay.web import sessions
from assay.web.app import create_app
from assay.workflows import admin
from tests.factories import TEXT_SCHEMA, Member, make_member, make_org

SECRET_KEY = "k" * 48
# Planted values: each must never appear in a response an annotator can reach.
GOLD_CANARY = "GOLDCANARY-51e2"
ACTORS = (
    "owner",
    "manager",
    "reviewer",
    "reviewer_a",
    "annotator_a",
    "annotator_b",
    "foreign",
    "revoked",
    "anonymous",
)
OBJECTS = ("own", "other_workforce", "other_org")
_names = itertools.count(1)


def items_with_gold(n: int, *, tag: str) -> list[dict[str, Any]]:
    """Plain items plus one gold item whose known answer is the gold canary (a valid option)."""
    rows: list[dict[str, Any]] = [
        {"data": {"text": f"{tag} message {i}"}, "external_id": f"{tag}-{i}"} for i in range(n)
    ]
    rows.append(
        {"data": {"text": f"{tag} gold"}, "external_id": f"{tag}-gold", "gold": {"sentiment": "gold"}}
    )
    return rows


GOLD_SCHEMA: dict[str, Any] = {
    "inputs": TEXT_SCHEMA["inputs"],
    "questions": [
        {"name": "sentiment", "kind": "choice", "options": ["positive", "neutral", "negative", "gold"]},
        {"name": "note", "kind": "text", "required": False},
    ],
}


@dataclass
class World:
    hub: Assay
    app: Any
    client: TestClient
    members: dict[str, Member]
    projects: dict[str, int]  # own / other_workforce / other_org
    spare: dict[str, Member] = field(default_factory=dict)

    # --- authentication -------------------------------------------------------------------
    def membership_id(self, member: Member) -> int:
        with self.hub.db.read() as conn:
            row = conn.execute(
                sa.select(memberships.c.id)
                .join(users, users.c.id == memberships.c.user_id)
                .join(api_tokens, api_tokens.c.membership_id == memberships.c.id)
                .where(users.c.email == member.email, api_tokens.c.token_hash == hash_token(member.token))
            ).one()
        return int(row.id)

    def cookie(self, member: Member, *, csrf: str = "csrf-token-for-tests") -> str:
        """A live session's cookie, as a sign-in would set it, without spending an argon2 hash."""
        cookie, _ = sessions.start(
            self.hub, membership_id=self.membership_id(member), proven=(), ip=None, csrf=csrf
        )
        return cookie

    def api_headers(self, actor: str) -> dict[str, str]:
        if actor == "anonymous":
            return {}
        return self.members[actor].headers

    def page_cookies(self, actor: str) -> dict[str, str]:
        if actor == "anonymous":
            return {}
        return {sessions.COOKIE: self.cookie(self.members[actor])}

    # --- objects ------------------------------------------------------------------------------
    def lease(self, actor: str, project: int) -> dict[str, Any]:
        response = self.client.get(f"/api/v1/projects/{project}/next", headers=self.members[actor].headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def annotate(self, actor: str, project: int, answer: str = "positive") -> tuple[int, int, int]:
        """(item id, assignment id, annotation id) of a fresh answer by ``actor``."""
        lease = self.lease(actor, project)
        submitted = self.client.post(
            f"/api/v1/assignments/{lease['assignment_id']}/submit",
            json={"answers": {"sentiment": answer}},
            headers={**self.members[actor].headers, "Idempotency-Key": secrets.token_hex(8)},
        )
        assert submitted.status_code == 201, submitted.text
        return int(lease["item"]["id"]), int(lease["assignment_id"]), int(submitted.json()["id"])

    def token_id(self, member: Member) -> int:
        with self.hub.db.read() as conn:
            row = conn.execute(
                sa.select(api_tokens.c.id).where(api_tokens.c.token_hash == hash_token(member.token))
            ).one()
        return int(row.id)

    def denials(self) -> int:
        with self.hub.db.read() as conn:
            count = conn.execute(
                sa.select(sa.func.count()).select_from(audit_events).where(audit_events.c.allowed.is_(False))
            ).scalar_one()
        return int(count)


def build_world(hub: Assay) -> Iterator[World]:
    hub.config = dataclasses.replace(hub.config, secret_key=SECRET_KEY, model_hosts=("127.0.0.1",))
    # The matrix sends hundreds of unauthenticated requests from one test client: lift the per-
    # address throttle on failed authentications (tests/web/test_throttle.py proves it).
    hub.throttle = Throttle(auth_burst=100_000)
    org_a, org_x = make_org(hub), make_org(hub)
    members = {
        "owner": make_member(hub, org_a, role="owner"),
        "manager": make_member(hub, org_a, role="manager"),
        "reviewer": make_member(hub, org_a, role="reviewer"),
        "reviewer_a": make_member(hub, org_a, role="reviewer", workforce="Vendor A", vendor=True),
        "annotator_a": make_member(hub, org_a, workforce="Vendor A", vendor=True),
        "annotator_b": make_member(hub, org_a, workforce="Vendor B", vendor=True),
        "foreign": make_member(hub, org_x, role="manager"),
        "revoked": make_member(hub, org_a, role="manager"),
    }
    spare = {"annotator_x": make_member(hub, org_x, workforce="Vendor A", vendor=True)}
    app = create_app(hub)
    with TestClient(app, raise_server_exceptions=False) as client:
        world = World(hub=hub, app=app, client=client, members=members, projects={}, spare=spare)
        settings = {"overlap": 20, "max_leases": 20}
        for key, owner, workforce in (
            ("own", members["manager"], "Vendor A"),
            ("other_workforce", members["manager"], "Vendor B"),
            ("other_org", members["foreign"], "Vendor A"),
        ):
            created = client.post(
                "/api/v1/projects",
                json={
                    "name": f"{key}-{next(_names)}",
                    "schema": GOLD_SCHEMA,
                    "settings": {**settings, "workforces": [workforce]},
                },
                headers=owner.headers,
            )
            assert created.status_code == 201, created.text
            world.projects[key] = int(created.json()["id"])
            imported = client.post(
                f"/api/v1/projects/{world.projects[key]}/items",
                json=items_with_gold(40, tag=key),
                headers=owner.headers,
            )
            assert imported.status_code == 201, imported.text
        members["annotator_x"] = spare["annotator_x"]
        admin.revoke_token(hub, org=org_a, token_id=world.token_id(members["revoked"]))
        # The revoked manager's membership is deactivated too, so their session cookie is dead as well.
        with hub.db.write() as conn:
            conn.execute(
                memberships.update()
                .where(memberships.c.id == world.membership_id(members["revoked"]))
                .values(active=False)
            )
        yield world


@pytest.fixture
def world(hub: Assay) -> Iterator[World]:
    yield from build_world(hub)
