"""Project pages for managers: create from a schema (with a live preview), import, export, settings,
lifting an annotator's pause."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from assay.domain.people import Role
from assay.errors import Forbidden, Invalid
from assay.web import sessions
from assay.web.deps import Id
from assay.web.pages._base import PageDep, checked_form, field, render_page
from assay.workflows import export, gates, project_admin
from assay.workflows import projects as project_flows

router = APIRouter(include_in_schema=False)

EXAMPLE = """inputs:
  - name: prompt
    kind: text
  - name: responses
    kind: responses
questions:
  - name: overall
    kind: preference
    scale: {min: -3, max: 3}
  - name: why
    kind: text
    required: false
"""


@router.get("/projects/new")
async def new_project(request: Request, page: PageDep) -> Response:
    await page.require(Role.MANAGER, what="this page")
    return render_page(
        "project_new.html",
        request=request,
        page=page,
        title="New project",
        form={"name": "", "description": "", "schema": EXAMPLE, "settings": "overlap: 1\n"},
        error="",
        errors=[],
    )


@router.post("/projects/new")
async def create_project(request: Request, page: PageDep) -> Response:
    await page.require(Role.MANAGER, what="this page")
    form = await checked_form(request, page)
    values = {k: field(form, k) for k in ("name", "description", "schema", "settings")}
    try:
        project = await run_in_threadpool(
            project_admin.create_from_text,
            page.hub,
            page.actor,
            name=values["name"],
            description=values["description"],
            schema_text=values["schema"],
            settings_text=values["settings"],
        )
    except Invalid as exc:
        return render_page(
            "project_new.html",
            request=request,
            page=page,
            status=422,
            title="New project",
            form=values,
            error=exc.message,
            errors=exc.errors,
        )
    return RedirectResponse(f"/projects/{project.id}", status_code=303)


@router.post("/projects/new/preview")
async def preview(request: Request, page: PageDep) -> Response:
    """JSON for the page's script: the inputs and questions, or the errors with their lines."""
    await page.require(Role.MANAGER, what="this page")
    if not sessions.csrf_ok(page.csrf, request.headers.get("x-csrf-token")):
        raise Forbidden("send the page's CSRF token in X-CSRF-Token")
    body = await request.body()
    text = body.decode("utf-8", errors="replace")
    result = await run_in_threadpool(project_admin.preview, text)
    return JSONResponse(result)


@router.get("/projects/{project_id}")
async def project_page(project_id: Id, request: Request, page: PageDep) -> Response:
    await page.require_on_project(Role.MANAGER, project_id, what="settings page")

    def load() -> tuple[Any, dict[str, int], dict[str, Any] | None]:
        from assay.workflows import generate
        from assay.workflows import models as connections

        project = project_flows.get(page.hub, page.actor, project_id)
        generation = None
        if project.schema.responses_input() is not None:
            generation = {
                "job": generate.latest(page.hub, page.actor, project.id),
                "models": [m["name"] for m in connections.list_all(page.hub, page.actor)],
            }
        return project, project_flows.counts(page.hub, page.actor, project), generation

    project, counts, generation = await run_in_threadpool(load)
    return render_page(
        "project.html",
        request=request,
        page=page,
        title=project.name,
        project=project,
        counts=counts,
        generation=generation,
        formats=export.FORMATS,
        settings_text=json.dumps(project.settings.model_dump(mode="json"), indent=2),
        saved=request.query_params.get("saved") == "1",
        error="",
        errors=[],
    )


@router.post("/projects/{project_id}/settings")
async def save_settings(project_id: Id, request: Request, page: PageDep) -> Response:
    await page.require(Role.MANAGER, what=f"project {project_id}")
    form = await checked_form(request, page)
    text = field(form, "settings")
    try:
        await run_in_threadpool(
            project_admin.update_settings, page.hub, page.actor, project_id, settings_text=text
        )
    except Invalid as exc:
        project = await run_in_threadpool(project_flows.get, page.hub, page.actor, project_id)
        counts = await run_in_threadpool(project_flows.counts, page.hub, page.actor, project)
        return render_page(
            "project.html",
            request=request,
            page=page,
            status=422,
            title=project.name,
            project=project,
            counts=counts,
            formats=export.FORMATS,
            settings_text=text,
            saved=False,
            error=exc.message,
            errors=exc.errors,
        )
    return RedirectResponse(f"/projects/{project_id}?saved=1", status_code=303)


@router.post("/projects/{project_id}/pauses/{pause_id}/lift")
async def lift_pause(project_id: Id, pause_id: Id, request: Request, page: PageDep) -> Response:
    """The dashboard's "Lift pause" button: the annotator may work again, and only their gold
    answers from now on count towards a new pause."""
    await page.require(Role.MANAGER, what=f"project {project_id}")
    await checked_form(request, page)
    await run_in_threadpool(gates.lift_pause, page.hub, page.actor, project_id, pause_id)
    return RedirectResponse(f"/projects/{project_id}/dashboard?lifted=1#paused", status_code=303)
