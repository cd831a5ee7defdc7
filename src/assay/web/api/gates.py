"""API for workforces and the quality gates: vendor report, gold promotion, pauses, flags."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from assay.domain.people import Role
from assay.errors import Invalid
from assay.web.api.openapi import DescribedRoute, refusals
from assay.web.deps import ActorDep, HubDep, Id, requires
from assay.web.headers import attachment
from assay.web.schemas.items import GoldCreate, GoldPublic
from assay.web.schemas.quality import FlagList, Leaderboard, PauseLifted, VendorReport
from assay.web.schemas.workforces import (
    WorkforceCreateBody,
    WorkforceList,
    WorkforceSaved,
    WorkforceUpdateBody,
)
from assay.workflows import workforces

router = APIRouter(route_class=DescribedRoute)


@router.get("/workforces", tags=["workforces"], response_model=WorkforceList)
@requires(Role.MANAGER)
async def list_workforces(hub: HubDep, actor: ActorDep) -> dict[str, Any]:
    """Every workforce of the organisation with its kind, cost model and active members."""
    found = await run_in_threadpool(workforces.list_all, hub, actor)
    return {"ok": True, "workforces": found}


@router.post(
    "/workforces",
    status_code=201,
    tags=["workforces"],
    response_model=WorkforceSaved,
    responses=refusals(409),
)
@requires(Role.MANAGER)
async def create_workforce(
    hub: HubDep, actor: ActorDep, body: Annotated[WorkforceCreateBody, Body()]
) -> dict[str, Any]:
    return {"ok": True, **await run_in_threadpool(workforces.create, hub, actor, body)}


@router.patch(
    "/workforces/{workforce_id}",
    tags=["workforces"],
    response_model=WorkforceSaved,
    responses=refusals(409),
)
@requires(Role.MANAGER)
async def update_workforce(
    workforce_id: Id, hub: HubDep, actor: ActorDep, body: Annotated[WorkforceUpdateBody, Body()]
) -> dict[str, Any]:
    return {"ok": True, **await run_in_threadpool(workforces.update, hub, actor, workforce_id, body)}


@router.get(
    "/projects/{project_id}/leaderboard",
    tags=["quality"],
    response_model=Leaderboard,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
@requires(Role.REVIEWER)
async def model_leaderboard(
    project_id: Id,
    hub: HubDep,
    actor: ActorDep,
    question: Annotated[
        str | None, Query(max_length=64, description="A preference, ranking or chat question.")
    ] = None,
    workforce: Annotated[
        str | None, Query(max_length=200, description="Only this workforce's answers.")
    ] = None,
    format: Annotated[str, Query(description="json (default) or csv")] = "json",
) -> Any:
    """Models ranked by the project's pairwise answers (Bradley-Terry, Elo scale, 95% bootstrap intervals)."""
    from assay.workflows import leaderboard

    _json_or_csv(format)
    result = await run_in_threadpool(
        leaderboard.board, hub, actor, project_id, question=question, workforce=workforce
    )
    if format == "csv":
        return Response(
            leaderboard.to_csv(result),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": attachment(f"leaderboard-{project_id}.csv")},
        )
    return {"ok": True, **result}


@router.get(
    "/projects/{project_id}/vendors",
    tags=["quality"],
    response_model=VendorReport,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
@requires(Role.MANAGER)
async def vendor_report(
    project_id: Id,
    hub: HubDep,
    actor: ActorDep,
    format: Annotated[str, Query(description="json (default) or csv")] = "json",
) -> Any:
    """Workforces side by side: gold accuracy, agreement with the others' consensus, throughput, cost."""
    from assay.workflows import vendors

    _json_or_csv(format)
    result = await run_in_threadpool(vendors.report, hub, actor, project_id)
    if format == "csv":
        return Response(
            vendors.to_csv(result),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": attachment(f"vendors-{project_id}.csv")},
        )
    return result


@router.post(
    "/items/{item_id}/gold",
    status_code=201,
    tags=["items"],
    response_model=GoldPublic,
    responses=refusals(409),
)
@requires(Role.MANAGER)
async def promote_gold(item_id: Id, body: GoldCreate, hub: HubDep, actor: ActorDep) -> dict[str, Any]:
    """Make a reviewed (accepted or fixed) item gold with these known answers."""
    from assay.workflows import gates

    return await run_in_threadpool(gates.promote_gold, hub, actor, item_id, answers=body.answers)


@router.delete("/projects/{project_id}/pauses/{pause_id}", tags=["quality"], response_model=PauseLifted)
@requires(Role.MANAGER)
async def lift_pause(project_id: Id, pause_id: Id, hub: HubDep, actor: ActorDep) -> dict[str, Any]:
    """Lift an annotator's pause on a project; only gold answers after the lift count from now on."""
    from assay.workflows import gates

    return await run_in_threadpool(gates.lift_pause, hub, actor, project_id, pause_id)


@router.get("/projects/{project_id}/flags", tags=["quality"], response_model=FlagList)
@requires(Role.REVIEWER)
async def project_flags(project_id: Id, hub: HubDep, actor: ActorDep) -> dict[str, Any]:
    """Annotations flagged as too fast, constant, pasted or machine-written, for review."""
    from assay.workflows import flags

    return await run_in_threadpool(flags.project_flags, hub, actor, project_id)


def _json_or_csv(format: str) -> None:
    """The one check of a report's ``format`` parameter (the vendor comparison, the leaderboard)."""
    if format not in ("json", "csv"):
        raise Invalid(
            f"format={format!r}: choose json or csv",
            errors=[{"loc": "format", "msg": "unknown format", "value": format}],
        )
