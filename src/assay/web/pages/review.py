"""Review pages: the projects with answers to review, a project's queue, one item side by side."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from assay import limits
from assay.domain.people import Role
from assay.errors import Invalid
from assay.web.deps import Id
from assay.web.pages._base import PageDep, checked_form, field, render_page, safe_next
from assay.web.pages.answers import present
from assay.workflows import dashboard, review
from assay.workflows.projects import Project

router = APIRouter(include_in_schema=False)


def _with_views(project: Project, view: review.QueueItem) -> review.QueueItem:
    """Each answer also as the annotator saw it, drawn by its question's own kind (``views``), and
    each question the standing answers of the item disagree on marked in every one of them."""
    standing = [a["answers"] for a in view.annotations if a["review"] != "reject"]
    names = {name for answers in standing for name in answers}
    split = (
        {n for n in names if len({repr(answers.get(n)) for answers in standing}) > 1}
        if len(standing) > 1
        else set()
    )
    for a in view.annotations:
        a["views"] = present(project.schema, view.data, a["answers"], a.get("display_order"))
        for v in a["views"]:
            v["disagree"] = v["name"] in split
    return view


def _schema_json(project: Project) -> str:
    """The schema as the annotation screen reads it, for the fix widgets (a data attribute)."""
    return json.dumps(project.schema.model_dump(mode="json", exclude_none=True))


def _page_number(value: str | None) -> int:
    """The queue's ``page`` query parameter: a whole number from 1 (422 naming it otherwise)."""
    if value is None or value == "":
        return 1
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= MAX_PAGE:
        raise Invalid(
            f"page must be a whole number from 1 to {MAX_PAGE}, not {value[:40]!r}",
            errors=[{"loc": "query.page", "msg": "a whole number from 1", "value": value[:40]}],
        )
    return int(value)


MAX_PAGE = 100_000


@router.get("/review")
async def review_home(request: Request, page: PageDep) -> Response:
    await page.require(Role.REVIEWER, what="this page")
    rows = await run_in_threadpool(dashboard.my_work, page.hub, page.actor)
    return render_page("review_home.html", request=request, page=page, title="Review", rows=rows)


@router.get("/projects/{project_id}/review")
async def review_queue(project_id: Id, request: Request, page: PageDep) -> Response:
    await page.require_on_project(Role.REVIEWER, project_id, what="review queue")
    only_flagged = request.query_params.get("only") == "flagged"
    number = _page_number(request.query_params.get("page"))
    found = await run_in_threadpool(
        lambda: review.queue_page(page.hub, page.actor, project_id, page=number, only_flagged=only_flagged)
    )
    project = found.project
    items = [_with_views(project, v) for v in found.items]
    here = f"/projects/{project.id}/review"
    view = f"{here}?only=flagged" if only_flagged else here

    def at(n: int) -> str:
        return view if n == 1 else f"{view}{'&' if '?' in view else '?'}page={n}"

    return render_page(
        "review.html",
        request=request,
        page=page,
        title=f"Review · {project.name}",
        project=project,
        schema_json=_schema_json(project),
        items=items,
        pending=found.pending,
        flagged=found.flagged,
        only_flagged=only_flagged,
        here=here,
        number=found.page,
        previous=at(found.page - 1) if found.page > 1 else "",
        next=at(found.page + 1) if found.has_more else "",
        # Judging an answer comes back to the same page of the same view of the queue.
        back=at(found.page),
        done=request.query_params.get("done", ""),
        bulk=request.query_params.get("bulk", "")[:200],
        waiting=[a["id"] for v in items for a in v.annotations if a["pending"] and a["review"] != "reject"],
    )


@router.get("/items/{item_id}")
async def item_page(item_id: Id, request: Request, page: PageDep) -> Response:
    await page.require(Role.REVIEWER, what=f"item {item_id}")
    project, view = await run_in_threadpool(review.item, page.hub, page.actor, item_id)
    view = _with_views(project, view)
    return render_page(
        "item.html",
        request=request,
        page=page,
        title=f"Item {item_id}",
        project=project,
        view=view,
        schema_json=_schema_json(project),
    )


@router.post("/projects/{project_id}/review/accept")
async def accept_shown(project_id: Id, request: Request, page: PageDep) -> Response:
    """The queue page's "Accept all" button: every pending answer that page showed (its filter)."""
    await page.require(Role.REVIEWER, what=f"project {project_id}")
    form = await checked_form(request, page)
    ids: list[int] = []
    for value in form.getlist("annotation"):
        if not isinstance(value, str) or not value.isascii() or not value.isdigit() or len(value) > 18:
            raise Invalid(
                f"annotation must be an answer's id (a whole number), not {str(value)[:40]!r}",
                errors=[{"loc": "annotation", "msg": "a whole number"}],
            )
        ids.append(int(value))
    result = await run_in_threadpool(review.accept_many, page.hub, page.actor, project_id, ids)
    back = safe_next(field(form, "back"))
    sep = "&" if "?" in back else "?"
    done = f"accepted {result['accepted']} answers"
    skipped = result["already_judged"] + result["own"]
    if skipped:
        done += f" (skipped {skipped}: judged meanwhile or your own)"
    return RedirectResponse(f"{back}{sep}{urlencode({'bulk': done})}", status_code=303)


@router.post("/annotations/{annotation_id}/review")
async def judge(annotation_id: Id, request: Request, page: PageDep) -> Response:
    await page.require(Role.REVIEWER, what=f"annotation {annotation_id}")
    form = await checked_form(request, page)
    verdict = field(form, "verdict")
    answers: Any = None
    if verdict == "fix":
        answers = limits.loads_json(field(form, "answers") or "null", source="answers")
    result = await run_in_threadpool(
        review.judge,
        page.hub,
        page.actor,
        annotation_id,
        verdict=verdict,
        reason=field(form, "reason"),
        answers=answers,
    )
    back = safe_next(field(form, "back"))
    sep = "&" if "?" in back else "?"
    return RedirectResponse(f"{back}{sep}done={result['verdict']}-{annotation_id}", status_code=303)
