"""API for model connections, response generation and jobs (DESIGN §8)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response
from starlette.concurrency import run_in_threadpool

from assay.domain.people import Role
from assay.web.api.openapi import DescribedRoute, refusals
from assay.web.deps import ActorDep, HubDep, Id, requires
from assay.web.schemas.models import (
    GenerateBody,
    JobPublic,
    JobQueued,
    ModelCreateBody,
    ModelList,
    ModelPublic,
)
from assay.workflows import generate
from assay.workflows import models as connections

router = APIRouter(route_class=DescribedRoute)


@router.post("/models", status_code=201, tags=["models"], response_model=ModelPublic, responses=refusals(409))
@requires(Role.MANAGER)
async def add_model(hub: HubDep, actor: ActorDep, body: Annotated[ModelCreateBody, Body()]) -> dict[str, Any]:
    """Add a model connection; its key is sealed and never returned."""
    return await run_in_threadpool(connections.add, hub, actor, body)


@router.get("/models", tags=["models"], response_model=ModelList)
@requires(Role.MANAGER)
async def list_models(hub: HubDep, actor: ActorDep) -> dict[str, Any]:
    return {"ok": True, "models": await run_in_threadpool(connections.list_all, hub, actor)}


@router.delete("/models/{model_id}", status_code=204, tags=["models"])
@requires(Role.MANAGER)
async def delete_model(model_id: Id, hub: HubDep, actor: ActorDep) -> Response:
    """Delete a connection (responses it generated keep its name in their provenance)."""
    await run_in_threadpool(connections.delete, hub, actor, model_id)
    return Response(status_code=204)


@router.post(
    "/projects/{project_id}/generate",
    status_code=202,
    tags=["models"],
    response_model=JobQueued,
    responses=refusals(409),
)
@requires(Role.MANAGER)
async def generate_responses(
    project_id: Id, hub: HubDep, actor: ActorDep, body: Annotated[GenerateBody, Body()]
) -> dict[str, Any]:
    """Fill the responses of the items waiting for them, as a background job (see `GET /jobs/{id}`)."""
    if not isinstance(body, dict):
        body = {}
    unknown = sorted(set(body) - {"models", "samples"})
    if unknown:
        from assay.errors import Invalid, detail

        raise Invalid(
            f"{unknown[0]}: unknown field; give models and samples",
            errors=[detail(unknown[0], "unknown field")],
        )
    started = await run_in_threadpool(
        generate.start, hub, actor, project_id, models=body.get("models"), samples=body.get("samples", 1)
    )
    return {"ok": True, **started}


@router.get("/jobs/{job_id}", tags=["models"], response_model=JobPublic)
@requires(Role.MANAGER)
async def read_job(job_id: Id, hub: HubDep, actor: ActorDep) -> dict[str, Any]:
    """A background job's state and progress, with its per-item errors."""
    return {"ok": True, **await run_in_threadpool(generate.view, hub, actor, job_id)}
