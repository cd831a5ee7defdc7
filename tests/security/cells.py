"""How to call each route of the application for one actor on one object.

A ``Call`` is everything the permission matrix sends: method, concrete URL, headers, cookies, body.
Objects whose success would change what later cells see (a lease, an annotation, a token) are made
fresh for the cell that uses them, so every cell starts from the same state.
"""

from __future__ import annotations

import itertools
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount

from assay.storage import models as model_store
from assay.storage.people import now
from assay.storage.tables import items, jobs, organizations, project_pauses, workforces
from assay.web import sessions
from assay.workflows import accounts, admin
from tests.factories import Member
from tests.security.conftest import GOLD_SCHEMA, World

CSRF = "csrf-token-for-tests"
_seq = itertools.count(1)

# Which annotator works in each object's compartment (leases and answers there are theirs).
WORKER = {"own": "annotator_a", "other_workforce": "annotator_b", "other_org": "annotator_x"}
WORKFORCE = {"own": "Vendor A", "other_workforce": "Vendor B", "other_org": "Vendor A"}


@dataclass
class Call:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)
    json_body: Any = None
    form: dict[str, str] | None = None
    content: bytes | None = None


def app_routes(app: Any) -> list[tuple[str, str]]:
    """Every (method, path) the application serves; HEAD is implied by GET."""
    inner = app
    while not hasattr(inner, "routes"):  # middleware (Guard, ...) keeps the app it wraps as .app
        inner = inner.app
    found: set[tuple[str, str]] = set()
    for context in iter_route_contexts(inner.routes):
        if isinstance(context.route, Mount):
            found.add(("GET", str(context.path)))
            continue
        for method in context.methods or ():
            if method != "HEAD":
                found.add((method, str(context.path)))
    return sorted(found)


def _item(world: World, obj: str) -> int:
    with world.hub.db.read() as conn:
        row = conn.execute(
            sa.select(sa.func.min(items.c.id)).where(items.c.project_id == world.projects[obj])
        ).scalar_one()
    return int(row)


def _member(world: World, obj: str) -> Member:
    return world.members[WORKER[obj]]


def _fresh_token(world: World, obj: str) -> int:
    member = _member(world, obj)
    token = admin.create_token(world.hub, org=member.org, email=member.email, name="spare")
    return world.token_id(Member(member.email, token, member.role, member.workforce, member.org))


def _workforce(world: World, obj: str) -> int:
    """The object's workforce: vendor A or B of the home organisation, or the other organisation's."""
    with world.hub.db.read() as conn:
        row = conn.execute(
            sa.select(workforces.c.id)
            .join(organizations, organizations.c.id == workforces.c.org_id)
            .where(organizations.c.slug == _member(world, obj).org, workforces.c.name == WORKFORCE[obj])
        ).one()
    return int(row.id)


def _fresh_pause(world: World, obj: str) -> int:
    """A live pause on the object's project, of a spare annotator of the object's organisation and
    workforce (not one whose leases other cells use); lifting one uses it up."""
    home = _member(world, obj)
    email = f"{_unique()}@example.com"
    admin.create_user(world.hub, org=home.org, email=email, role="annotator", workforce=WORKFORCE[obj])
    token = admin.create_token(world.hub, org=home.org, email=email, name="spare")
    member = Member(email, token, "annotator", WORKFORCE[obj], home.org)
    with world.hub.db.write() as conn:
        org_id = conn.execute(
            sa.select(organizations.c.id).where(organizations.c.slug == member.org)
        ).scalar_one()
        row = conn.execute(
            project_pauses.insert()
            .values(
                org_id=org_id,
                project_id=world.projects[obj],
                membership_id=world.membership_id(member),
                reason="planted by the permission matrix",
                created_at=now(),
            )
            .returning(project_pauses.c.id)
        ).one()
    return int(row.id)


def _org_id(world: World, obj: str) -> int:
    with world.hub.db.read() as conn:
        return int(
            conn.execute(
                sa.select(organizations.c.id).where(organizations.c.slug == _member(world, obj).org)
            ).scalar_one()
        )


def fresh_model(world: World, obj: str) -> int:
    """A model connection of the object's organisation (deleting one uses it up)."""
    with world.hub.db.write() as conn:
        made = model_store.insert_connection(
            conn,
            values={
                "org_id": _org_id(world, obj),
                "name": _unique(),
                "base_url": "http://127.0.0.1:9/v1",
                "model": "m",
                "params": {},
                "created_at": now(),
            },
        )
    assert made is not None
    return made


def finished_job(world: World, obj: str) -> int:
    """A finished generation job of the object's project."""
    at = now()
    with world.hub.db.write() as conn:
        row = conn.execute(
            jobs.insert()
            .values(
                org_id=_org_id(world, obj),
                project_id=world.projects[obj],
                kind="generate",
                state="done",
                run_after=at,
                created_at=at,
                finished_at=at,
                params={"models": ["m"], "samples": 1},
            )
            .returning(jobs.c.id)
        ).one()
    return int(row.id)


def _settings_text(obj: str) -> str:
    return json.dumps({"overlap": 20, "max_leases": 20, "workforces": [WORKFORCE[obj]]})


def path_values(world: World, method: str, path: str, obj: str) -> dict[str, int | str]:
    """The ids a path's parameters take for ``obj``; fresh leases and answers where a success consumes them."""
    project = world.projects[obj]
    values: dict[str, int | str] = {}
    if "{project_id}" in path:
        values["project_id"] = project
    if "{item_id}" in path:
        values["item_id"] = _item(world, obj)
    if "{assignment_id}" in path:
        values["assignment_id"] = int(world.lease(WORKER[obj], project)["assignment_id"])
    if "{annotation_id}" in path:
        values["annotation_id"] = world.annotate(WORKER[obj], project)[2]
    if "{membership_id}" in path:
        values["membership_id"] = world.membership_id(_member(world, obj))
    if "{token_id}" in path:
        values["token_id"] = _fresh_token(world, obj)
    if "{workforce_id}" in path:
        values["workforce_id"] = _workforce(world, obj)
    if "{pause_id}" in path:
        values["pause_id"] = _fresh_pause(world, obj)
    if "{model_id}" in path:
        values["model_id"] = fresh_model(world, obj)
    if "{turn_id}" in path:
        values["turn_id"] = 1
    if "{job_id}" in path:
        values["job_id"] = finished_job(world, obj)
    if "{token}" in path:
        values["token"] = _fresh_link(world)
    return values


def _fresh_link(world: World) -> str:
    """A live one-time link (an invitation of a spare member), so the link page has one to show."""
    home = world.members["manager"]
    email = f"{_unique()}@example.com"
    created = admin.create_user(world.hub, org=home.org, email=email, role="annotator")
    actor = home.actor(world.hub)
    return accounts.create_link(
        world.hub, org_id=actor.org_id, membership_id=created.membership_id, kind="invite", by=None
    )


def _unique() -> str:
    return f"matrix-{next(_seq)}-{secrets.token_hex(3)}"


Body = Callable[[World, str], dict[str, Any]]

# Request bodies that would succeed for an allowed caller; keyed like the expectations.
BODIES: dict[tuple[str, str], Body] = {
    ("POST", "/api/v1/projects"): lambda w, o: {"json_body": {"name": _unique(), "schema": GOLD_SCHEMA}},
    ("POST", "/api/v1/projects/{project_id}/items"): lambda w, o: {
        "json_body": [{"data": {"text": "one more"}}]
    },
    # A new annotator of the object's workforce each time, so that every allowed call stores one.
    ("POST", "/api/v1/projects/{project_id}/annotations"): lambda w, o: {
        "json_body": [
            {
                "external_id": f"{o}-0",
                "annotator": _unique(),
                "workforce": WORKFORCE[o],
                "answers": {"sentiment": "neutral"},
            }
        ]
    },
    ("POST", "/api/v1/assignments/{assignment_id}/submit"): lambda w, o: {
        "json_body": {"answers": {"sentiment": "neutral"}},
        "headers": {"Idempotency-Key": secrets.token_hex(8)},
    },
    ("POST", "/api/v1/annotations/{annotation_id}/revise"): lambda w, o: {
        "json_body": {"answers": {"sentiment": "negative"}}
    },
    ("POST", "/api/v1/workforces"): lambda w, o: {"json_body": {"name": _unique(), "kind": "vendor"}},
    ("POST", "/api/v1/assignments/{assignment_id}/turns"): lambda w, o: {"json_body": {"content": "hi"}},
    ("PUT", "/api/v1/assignments/{assignment_id}/turns/{turn_id}"): lambda w, o: {
        "json_body": {"preferred": 1, "strength": 1}
    },
    ("POST", "/api/v1/models"): lambda w, o: {
        "json_body": {"name": _unique(), "base_url": "http://127.0.0.1:9/v1", "model": "m"}
    },
    ("POST", "/api/v1/projects/{project_id}/generate"): lambda w, o: {"json_body": {"models": ["m"]}},
    ("PATCH", "/api/v1/projects/{project_id}"): lambda w, o: {
        "json_body": {"settings": {"lease_seconds": 600}}
    },
    ("PATCH", "/api/v1/workforces/{workforce_id}"): lambda w, o: {"json_body": {"cost_per_hour": 30.0}},
    ("POST", "/api/v1/items/{item_id}/gold"): lambda w, o: {
        "json_body": {"answers": {"sentiment": "neutral"}}
    },
    ("POST", "/login"): lambda w, o: {"form": {"email": "nobody@example.com", "password": "x"}},
    ("POST", "/logout"): lambda w, o: {"form": {}},
    ("POST", "/session/organisation"): lambda w, o: {"form": {"membership_id": "0"}},
    ("POST", "/account/password"): lambda w, o: {
        "form": {"current_password": "whatever", "new_password": "a" * 10, "repeat": "b" * 10}
    },
    ("POST", "/members/{membership_id}/reset"): lambda w, o: {"form": {}},
    ("POST", "/invitations/{token}"): lambda w, o: {"form": {"password": "p" * 10, "repeat": "p" * 10}},
    ("POST", "/projects/new"): lambda w, o: {
        "form": {"name": _unique(), "schema": json.dumps(GOLD_SCHEMA), "settings": "overlap: 1"}
    },
    ("POST", "/projects/new/preview"): lambda w, o: {
        "content": json.dumps(GOLD_SCHEMA).encode(),
        "headers": {"X-CSRF-Token": CSRF},
    },
    ("POST", "/projects/{project_id}/settings"): lambda w, o: {"form": {"settings": _settings_text(o)}},
    ("POST", "/projects/{project_id}/pauses/{pause_id}/lift"): lambda w, o: {"form": {}},
    ("POST", "/projects/{project_id}/review/accept"): lambda w, o: {"form": {"back": "/review"}},
    ("POST", "/annotations/{annotation_id}/review"): lambda w, o: {
        "form": {"verdict": "accept", "back": "/review"}
    },
    ("POST", "/members/invite"): lambda w, o: {
        "form": {"email": f"{_unique()}@example.com", "role": "annotator"}
    },
    ("POST", "/tokens/{token_id}/revoke"): lambda w, o: {"form": {}},
    ("POST", "/members/{membership_id}"): lambda w, o: {
        "form": {"role": "annotator", "workforce": WORKFORCE[o], "active": "on"}
    },
}

QUERIES: dict[tuple[str, str], str] = {
    ("GET", "/api/v1/projects/{project_id}/export"): "?format=jsonl",
    ("GET", "/static"): "",
}


# A mount is called on one file it serves.
STATIC_FILES = {"/static": "/static/app.css", "/static/swagger-ui": "/static/swagger-ui/swagger-ui.css"}


def build_call(world: World, method: str, path: str, actor: str, obj: str) -> Call:
    is_api = path.startswith("/api/")
    url = path.format(**path_values(world, method, path, obj)) + QUERIES.get((method, path), "")
    if path in STATIC_FILES:
        url = STATIC_FILES[path]
    call = Call(method=method, url=url)
    extra = BODIES.get((method, path), lambda w, o: {})(world, obj)
    call.json_body = extra.get("json_body")
    call.content = extra.get("content")
    call.headers.update(extra.get("headers", {}))
    if is_api:
        call.headers.update(world.api_headers(actor))
    else:
        if actor != "anonymous":
            call.cookies[sessions.COOKIE] = world.cookie(world.members[actor], csrf=CSRF)
        if "form" in extra:
            call.form = {**extra["form"], "csrf_token": CSRF}
    return call


def send(world: World, call: Call) -> Any:
    client = world.client
    client.cookies.clear()
    for name, value in call.cookies.items():
        client.cookies.set(name, value)
    kwargs: dict[str, Any] = {"headers": call.headers, "follow_redirects": False}
    if call.json_body is not None:
        kwargs["json"] = call.json_body
    if call.form is not None:
        kwargs["data"] = call.form
    if call.content is not None:
        kwargs["content"] = call.content
    response = client.request(call.method, call.url, **kwargs)
    client.cookies.clear()
    return response


def outcome(response: Any) -> int:
    """The status, with a page's redirect to the sign-in form read as the 401 it stands for."""
    if response.status_code == 303 and response.headers.get("location", "").startswith("/login?next="):
        return 401
    return int(response.status_code)
