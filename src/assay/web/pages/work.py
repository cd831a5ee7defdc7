"""My work (the projects shared with me and what is left for me) and the annotation screen's page."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from assay.web.deps import Id
from assay.web.pages._base import PageDep, render_page
from assay.web.render import render_markdown
from assay.workflows import dashboard, gates
from assay.workflows import projects as project_flows

router = APIRouter(include_in_schema=False)


@router.get("/projects")
async def my_projects(request: Request, page: PageDep) -> Response:
    def load() -> tuple[list[dashboard.WorkRow], dict[int, int]]:
        rows = dashboard.my_work(page.hub, page.actor)
        # Managers see who is paused where at a glance: a pause waits on them to look and lift it.
        return rows, gates.paused_counts(page.hub, page.actor, [r.id for r in rows])

    rows, paused = await run_in_threadpool(load)
    totals = bool(rows) and all("items" in r.counts for r in rows)
    return render_page(
        "projects.html", request=request, page=page, title="My work", rows=rows, paused=paused, totals=totals
    )


@router.get("/projects/{project_id}/annotate")
async def annotate_page(project_id: Id, request: Request, page: PageDep) -> Response:
    project = await run_in_threadpool(project_flows.get, page.hub, page.actor, project_id)
    context = {
        "id": project.id,
        "name": project.name,
        "instructions": Markup(render_markdown(project.settings.instructions or "")),
        # JSON for the page's script, read from a data attribute (no inline script under the CSP).
        "schema_json": json.dumps(project.schema.model_dump(mode="json", exclude_none=True)),
    }
    return render_page(
        "annotate.html", request=request, page=page, title=f"Annotate · {project.name}", project=context
    )
