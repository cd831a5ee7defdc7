"""Typed dependencies: the hub and the authenticated actor."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from assay.app import Assay
from assay.domain.people import Actor
from assay.workflows import access


def get_hub(request: Request) -> Assay:
    hub: Assay = request.app.state.assay
    return hub


HubDep = Annotated[Assay, Depends(get_hub)]


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


async def current_actor(request: Request, hub: HubDep) -> Actor:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    bearer = token.strip() if scheme.lower() == "bearer" else None
    route = request.scope.get("route")
    action = f"{request.method} {getattr(route, 'path', request.url.path)}"
    return await run_in_threadpool(
        access.authenticate, hub, token=bearer, ip=client_ip(request), action=action
    )


ActorDep = Annotated[Actor, Depends(current_actor)]
