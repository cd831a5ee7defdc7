"""The JSON API under /api/v1.  Handlers are thin: parse, call a workflow, render."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Header, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from assay.domain.people import Role
from assay.errors import Invalid, TooLarge
from assay.formats.readers import detect_format
from assay.web.api.chat import router as chat_router
from assay.web.api.gates import router as gates_router
from assay.web.api.models import router as models_router
from assay.web.api.openapi import DescribedRoute, component, refusals, streamed
from assay.web.deps import ActorDep, HubDep, Id, OffloadDep, requires
from assay.web.headers import attachment
from assay.web.schemas.annotate import (
    AnnotationPublic,
    Done,
    LeaseExtended,
    LeasePublic,
    Revision,
    RevisionPublic,
    Submission,
)
from assay.web.schemas.deliveries import ANSWER_COLUMNS, AnswerRecord, AnswersImportResult
from assay.web.schemas.items import ImportResult, ItemDetail, ItemRecord, import_body
from assay.web.schemas.projects import ProjectCreate, ProjectList, ProjectPublic, ProjectUpdate
from assay.web.schemas.quality import QualityReport
from assay.workflows import annotate, export, ingest
from assay.workflows import projects as project_flows

router = APIRouter(prefix="/api/v1", route_class=DescribedRoute)


@router.post(
    "/projects", status_code=201, tags=["projects"], response_model=ProjectPublic, responses=refusals(409)
)
@requires(Role.MANAGER)
async def create_project(body: ProjectCreate, hub: HubDep, actor: ActorDep) -> dict[str, Any]:
    project = await run_in_threadpool(
        project_flows.create,
        hub,
        actor,
        name=body.name,
        schema=body.project_schema.model_dump(mode="json", exclude_none=True),
        settings=None if body.settings is None else body.settings.model_dump(mode="json"),
        description=body.description,
    )
    return project.public()


@router.get("/projects", tags=["projects"], response_model=ProjectList)
@requires(Role.ANNOTATOR)
async def list_projects(hub: HubDep, actor: ActorDep) -> dict[str, Any]:
    def work() -> list[dict[str, Any]]:
        return [project_flows.view(hub, actor, p) for p in project_flows.list_for(hub, actor)]

    return {"ok": True, "projects": await run_in_threadpool(work)}


@router.get("/projects/{project_id}", tags=["projects"], response_model=ProjectPublic)
@requires(Role.ANNOTATOR)
async def get_project(project_id: Id, hub: HubDep, actor: ActorDep) -> dict[str, Any]:
    def work() -> dict[str, Any]:
        project = project_flows.get(hub, actor, project_id)
        return project_flows.view(hub, actor, project, with_counts=True)

    return await run_in_threadpool(work)


@router.patch(
    "/projects/{project_id}", tags=["projects"], response_model=ProjectPublic, responses=refusals(409)
)
@requires(Role.MANAGER)
async def update_project(project_id: Id, body: ProjectUpdate, hub: HubDep, actor: ActorDep) -> dict[str, Any]:
    """Change a project; its items are reconciled with new settings (a raised overlap reopens them)."""
    from assay.workflows import project_admin

    def work() -> dict[str, Any]:
        project = project_admin.update(
            hub, actor, project_id, name=body.name, description=body.description, settings=body.settings
        )
        return project_flows.view(hub, actor, project, with_counts=True)

    return await run_in_threadpool(work)


@router.post(
    "/projects/{project_id}/items",
    status_code=201,
    tags=["items"],
    response_model=ImportResult,
    responses=refusals(409),
    # The route streams the body itself (after authorisation, to disk): described, not parsed.
    openapi_extra={"requestBody": import_body(component(ItemRecord))},
)
@requires(Role.MANAGER)
async def import_items(
    project_id: Id,
    request: Request,
    hub: HubDep,
    actor: ActorDep,
    offload: OffloadDep,
    format: Annotated[
        str | None, Query(description="jsonl, json, csv or parquet; default from Content-Type")
    ] = None,
    on_duplicate: Annotated[
        str, Query(description="error (default) or skip items whose external_id exists")
    ] = "error",
    batch: Annotated[
        str | None, Query(description="put every item of the upload in this batch (settings.batches)")
    ] = None,
) -> dict[str, Any]:
    """Import items, all-or-nothing: a JSON array, NDJSON, CSV or Parquet body, streamed to disk first."""
    project = await run_in_threadpool(project_flows.get, hub, actor, project_id, action="items.import")
    fmt = format or detect_format(filename=None, content_type=request.headers.get("content-type"))
    path = await _spooled(request, hub, what="items")
    try:
        result = await offload.run(
            ingest.import_file,
            actor,
            project,
            path=str(path),
            fmt=fmt,
            name=None,  # messages start at the position: the client knows what it sent
            on_duplicate=on_duplicate,
            batch=batch,
        )
    finally:
        path.unlink(missing_ok=True)
    return result.public()


async def _spooled(request: Request, hub: Any, *, what: str) -> Path:
    """The upload, within ``ASSAY_MAX_IMPORT_BYTES``, spooled to a temporary file (the caller
    removes it), so that memory stays flat however large it is and the import runs over an ordinary
    file in a worker process (``web.offload``), not in the server's threads.  Called once the
    caller is authorised for the import: nothing is read before."""
    limit = hub.config.max_import_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"the upload is {int(declared)} bytes; the limit is {limit} (ASSAY_MAX_IMPORT_BYTES)")
    spool = tempfile.NamedTemporaryFile(prefix="assay-import-", delete=False)  # noqa: SIM115 - closed below
    path = Path(spool.name)
    try:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise TooLarge(f"the upload is larger than {limit} bytes (ASSAY_MAX_IMPORT_BYTES)")
            spool.write(chunk)
        spool.close()
        if size == 0:
            raise Invalid(f"the request body is empty; send the {what} as JSON, NDJSON, CSV or Parquet")
    except BaseException:
        spool.close()
        path.unlink(missing_ok=True)
        raise
    return path


@router.post(
    "/projects/{project_id}/annotations",
    status_code=201,
    tags=["items"],
    response_model=AnswersImportResult,
    responses=refusals(409),
    # Streamed by the route itself after authorisation, like the item import: described, not parsed.
    openapi_extra={
        "requestBody": import_body(
            component(AnswerRecord), what="answers", name="AnswerRecord", columns=ANSWER_COLUMNS
        )
    },
)
@requires(Role.MANAGER)
async def import_answers(
    project_id: Id,
    request: Request,
    hub: HubDep,
    actor: ActorDep,
    offload: OffloadDep,
    workforce: Annotated[
        str | None,
        Query(description="the workforce of rows that name none (a workforce of this organisation)"),
    ] = None,
    format: Annotated[
        str | None, Query(description="jsonl, json, csv or parquet; default from Content-Type")
    ] = None,
) -> dict[str, Any]:
    """Import answers given outside assay (a vendor's delivery), all-or-nothing and idempotent:
    counted toward overlap and quality exactly like answers given here."""
    from assay.workflows import deliveries

    project = await run_in_threadpool(project_flows.get, hub, actor, project_id, action="annotations.import")
    fmt = format or detect_format(filename=None, content_type=request.headers.get("content-type"))
    path = await _spooled(request, hub, what="answers")
    try:
        result = await offload.run(
            deliveries.import_file, actor, project, path=str(path), fmt=fmt, name=None, workforce=workforce
        )
    finally:
        path.unlink(missing_ok=True)
    return result.public()


@router.get(
    "/projects/{project_id}/next",
    tags=["annotate"],
    response_model=LeasePublic,
    responses={204: {"description": "nothing is left for the caller"}},
)
@requires(Role.ANNOTATOR)
async def next_item(project_id: Id, hub: HubDep, actor: ActorDep) -> Any:
    lease = await run_in_threadpool(annotate.next_item, hub, actor, project_id)
    if lease is None:
        return Response(status_code=204)
    return lease.public()


@router.post(
    "/assignments/{assignment_id}/submit",
    status_code=201,
    tags=["annotate"],
    response_model=AnnotationPublic,
    responses=refusals(409),
)
@requires(Role.ANNOTATOR)
async def submit(
    assignment_id: Id,
    body: Submission,
    hub: HubDep,
    actor: ActorDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Any:
    after = BackgroundTasks()
    annotation, created = await run_in_threadpool(
        annotate.submit,
        hub,
        actor,
        assignment_id,
        answers=body.answers,
        duration_ms=body.duration_ms,
        client=body.client,
        idempotency_key=idempotency_key,
        defer=after.add_task,
    )
    # A replay answers exactly like the first call did (201), so clients can retry blindly.
    headers = {} if created else {"Idempotent-Replayed": "true"}
    # The quality gates run once the response is on its way: whether the item was gold must not
    # show in how long the annotator waited.
    return JSONResponse({"ok": True, **annotation}, status_code=201, headers=headers, background=after)


@router.post(
    "/assignments/{assignment_id}/skip", tags=["annotate"], response_model=Done, responses=refusals(409)
)
@requires(Role.ANNOTATOR)
async def skip(assignment_id: Id, hub: HubDep, actor: ActorDep) -> dict[str, Any]:
    await run_in_threadpool(annotate.skip, hub, actor, assignment_id)
    return {"ok": True}


@router.post(
    "/assignments/{assignment_id}/extend",
    tags=["annotate"],
    response_model=LeaseExtended,
    responses=refusals(409),
)
@requires(Role.ANNOTATOR)
async def extend(assignment_id: Id, hub: HubDep, actor: ActorDep) -> dict[str, Any]:
    """Renew a live lease for another lease period."""
    return await run_in_threadpool(annotate.extend, hub, actor, assignment_id)


@router.get("/items/{item_id}", tags=["items"], response_model=ItemDetail)
@requires(Role.REVIEWER)
async def get_item(item_id: Id, hub: HubDep, actor: ActorDep) -> dict[str, Any]:
    return await run_in_threadpool(export.item_detail, hub, actor, item_id)


@router.get(
    "/projects/{project_id}/export",
    tags=["export"],
    response_class=Response,
    responses=streamed("the export, streamed", export.MEDIA_TYPES.values()),
)
@requires(Role.MANAGER)
async def export_project(
    project_id: Id,
    hub: HubDep,
    actor: ActorDep,
    query: Annotated[export.ExportQuery, Query()],
) -> StreamingResponse:
    format, filters = query.format, query.filters()
    project = await run_in_threadpool(project_flows.get, hub, actor, project_id, action="project.export")
    chunks = await run_in_threadpool(export.stream, hub, actor, project, fmt=format, filters=filters)
    filename = f"{project.name}.{export.EXTENSIONS[format]}"
    return StreamingResponse(
        iterate_in_threadpool(chunks),
        media_type=export.MEDIA_TYPES[format],
        headers={"Content-Disposition": attachment(filename)},
    )


@router.get("/projects/{project_id}/quality", tags=["quality"], response_model=QualityReport)
@requires(Role.REVIEWER)
async def project_quality(project_id: Id, hub: HubDep, actor: ActorDep) -> dict[str, Any]:
    """Agreement with 95% intervals, and per-annotator and per-workforce scorecards."""
    from assay.workflows import quality

    return await run_in_threadpool(quality.project_quality, hub, actor, project_id)


@router.post(
    "/annotations/{annotation_id}/revise",
    status_code=201,
    tags=["annotate"],
    response_model=RevisionPublic,
    responses=refusals(409),
)
@requires(Role.ANNOTATOR)
async def revise(annotation_id: Id, body: Revision, hub: HubDep, actor: ActorDep) -> dict[str, Any]:
    """Correct one's own answer while its lease holds (undo); stored as a correction, never an overwrite."""
    return await run_in_threadpool(annotate.revise, hub, actor, annotation_id, answers=body.answers)


# Workforces and the quality gates live in their own module; mounted here so the app needs no change.
router.include_router(gates_router)
router.include_router(models_router)
router.include_router(chat_router)
