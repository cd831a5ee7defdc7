"""Typed dependencies: the hub and the authenticated actor.

An actor comes from ``Authorization: Bearer <token>`` or, for the pages' own scripts, from the
session cookie.  A cookie-authenticated unsafe request (POST/PUT/PATCH/DELETE) must also carry the
session's CSRF token in ``X-CSRF-Token``: a cross-site form can send the cookie but cannot read the
token (it is only in the page's ``<meta name="csrf-token">``).

Once the actor is known, the request runs in their organisation's scope (``current_org``): on
PostgreSQL every later transaction of the request is confined to that organisation by row-level
security, whatever its queries forget.  The contextvar is set here, in the request's own task, so
the route (run in the threadpool with a copy of the context) and its streamed response inherit it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from starlette.concurrency import run_in_threadpool

from assay.app import Assay
from assay.domain.people import Actor
from assay.errors import Forbidden
from assay.storage.engine import current_org
from assay.web import sessions
from assay.workflows import access


def get_hub(request: Request) -> Assay:
    hub: Assay = request.app.state.assay
    return hub


HubDep = Annotated[Assay, Depends(get_hub)]


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def enter_org(actor: Actor) -> Actor:
    """Scope the rest of the request to the actor's organisation (row-level security on PostgreSQL)."""
    current_org.set(actor.org_id)
    return actor


def _action(request: Request) -> str:
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', request.url.path)}"


async def current_actor(request: Request, hub: HubDep) -> Actor:
    header = request.headers.get("authorization", "")
    ip = client_ip(request)
    if not header:
        cookie = request.cookies.get(sessions.COOKIE)
        found = await run_in_threadpool(sessions.resolve, hub, cookie, ip=ip) if cookie else None
        if found is not None:
            actor, session = found
            if request.method in sessions.UNSAFE_METHODS and not sessions.csrf_ok(
                session.csrf, request.headers.get("x-csrf-token")
            ):
                await run_in_threadpool(
                    access.audit_denial,
                    hub,
                    actor=actor,
                    action=_action(request),
                    status=403,
                    detail={"reason": "csrf"},
                )
                raise Forbidden(
                    "a request from a signed-in browser must send the page's CSRF token in X-CSRF-Token"
                )
            return enter_org(actor)
    scheme, _, token = header.partition(" ")
    bearer = token.strip() if scheme.lower() == "bearer" else None
    actor = await run_in_threadpool(access.authenticate, hub, token=bearer, ip=ip, action=_action(request))
    return enter_org(actor)


ActorDep = Annotated[Actor, Depends(current_actor)]

#: An object id in a URL.  Ids are 64-bit integers in the database; a larger number can name
#: nothing, and is refused as invalid input (422 naming the parameter) before any query sees it.
MAX_ID = 2**63 - 1
Id = Annotated[int, Path(ge=-MAX_ID - 1, le=MAX_ID, description="An object id.")]
