"""Typed dependencies, and the route class that authorises a request before its body is read.

An actor comes from ``Authorization: Bearer <token>`` or, for the pages' own scripts, from the
session cookie.  A cookie-authenticated unsafe request (POST/PUT/PATCH/DELETE) must also carry the
session's CSRF token in ``X-CSRF-Token``: a cross-site form can send the cookie but cannot read the
token (it is only in the page's ``<meta name="csrf-token">``).

Every API route declares the least role that may call it (``@requires(Role.X)``, or ``PUBLIC``).
``AuthorisedRoute`` authenticates the caller and checks that role **before the request body is
read**: an anonymous client or an annotator cannot make the server receive, spool or parse a body
for a route they may not call.  Then it parses a JSON body itself with the input bounds
(``parse_json_body``), so a body too deep, with a NUL, a lone surrogate or an out-of-range number is
a 422 naming the problem, never a 500.  Checks on the object a route names (is this project
visible to the actor?) stay in the workflows.

Once the actor is known, the request runs in their organisation's scope (``current_org``): on
PostgreSQL every later transaction of the request is confined to that organisation by row-level
security, whatever its queries forget.
"""

from __future__ import annotations

import email.message
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Final, TypeVar

from fastapi import Depends, Path, Request
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from assay.app import Assay
from assay.domain.people import Actor, Role
from assay.errors import Forbidden
from assay.storage.engine import current_org
from assay.web import sessions
from assay.web.offload import Offload
from assay.workflows import access

F = TypeVar("F", bound=Callable[..., Any])


class _Public:
    def __repr__(self) -> str:
        return "PUBLIC"


PUBLIC: Final = _Public()
ROLE_ATTRIBUTE = "__assay_min_role__"


def requires(role: Role | _Public) -> Callable[[F], F]:
    """Declare the least role that may call an API route (``PUBLIC``: no authentication)."""

    def mark(endpoint: F) -> F:
        setattr(endpoint, ROLE_ATTRIBUTE, role)
        return endpoint

    return mark


def get_hub(request: Request) -> Assay:
    hub: Assay = request.app.state.assay
    return hub


HubDep = Annotated[Assay, Depends(get_hub)]


def get_offload(request: Request) -> Offload:
    offload: Offload = request.app.state.offload
    return offload


OffloadDep = Annotated[Offload, Depends(get_offload)]


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def enter_org(actor: Actor) -> Actor:
    """Scope the rest of the request to the actor's organisation (row-level security on PostgreSQL)."""
    current_org.set(actor.org_id)
    return actor


def _action(request: Request) -> str:
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', request.url.path)}"


async def authenticate(request: Request, hub: Assay) -> Actor:
    """The caller, from a bearer token or a session cookie (with its CSRF token on unsafe
    methods); 401 or 403, audited, otherwise."""
    header = request.headers.get("authorization", "")
    ip = client_ip(request)
    if not header:
        cookie = request.cookies.get(sessions.COOKIE)
        found = None
        if cookie:
            wait = hub.throttle.auth_wait(ip)
            if wait > 0:
                raise await run_in_threadpool(
                    lambda: access.throttled(hub, ip=ip, action=_action(request), wait=wait)
                )
            found = await run_in_threadpool(sessions.resolve, hub, cookie, ip=ip)
            if found is None:
                hub.throttle.auth_failed(ip)
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
            return actor
    scheme, _, token = header.partition(" ")
    bearer = token.strip() if scheme.lower() == "bearer" else None
    found_actor: Actor = await run_in_threadpool(
        access.authenticate, hub, token=bearer, ip=ip, action=_action(request)
    )
    return found_actor


async def current_actor(request: Request, hub: HubDep) -> Actor:
    """The actor ``AuthorisedRoute`` found (it runs first); any other route authenticates here."""
    actor = getattr(request.state, "actor", None)
    if not isinstance(actor, Actor):
        actor = await authenticate(request, hub)
    return enter_org(actor)


ActorDep = Annotated[Actor, Depends(current_actor)]


def _is_json(request: Request) -> bool:
    value = request.headers.get("content-type")
    if not value:
        return False
    message = email.message.Message()
    message["content-type"] = value
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def parse_json_body(body: bytes) -> Any:
    """A JSON request body within the input bounds (``assay.limits``): 422 naming the problem."""
    from assay import limits

    return limits.loads_json(body, source="request body")


class AuthorisedRoute(APIRoute):
    """An API route that authenticates and checks its declared role before FastAPI reads the body."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        role = getattr(endpoint, ROLE_ATTRIBUTE, None)
        if role is None:
            raise TypeError(
                f"API route {path} ({endpoint.__name__}) declares no role: decorate it with "
                "@requires(Role.X) or @requires(PUBLIC)"
            )
        self.min_role: Role | _Public = role  # before the base class builds the handler
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        role = self.min_role
        has_body = self.body_field is not None

        async def authorised(request: Request) -> Response:
            hub: Assay = request.app.state.assay
            if isinstance(role, Role):
                actor = enter_org(await authenticate(request, hub))
                if not actor.at_least(role):
                    await run_in_threadpool(
                        access.audit_denial,
                        hub,
                        actor=actor,
                        action=_action(request),
                        status=403,
                        detail={"role": role.label},
                    )
                    raise Forbidden(f"this needs the {role.label} role or above; you are {actor.role.label}")
                request.state.actor = actor
            if has_body and _is_json(request):
                # Parsed here, within the bounds; FastAPI then finds it already decoded.
                request._json = parse_json_body(await request.body())
            return await handler(request)

        return authorised


#: An object id in a URL.  Ids are 64-bit integers in the database; a larger number can name
#: nothing, and is refused as invalid input (422 naming the parameter) before any query sees it.
MAX_ID = 2**63 - 1
Id = Annotated[int, Path(ge=-MAX_ID - 1, le=MAX_ID, description="An object id.")]
