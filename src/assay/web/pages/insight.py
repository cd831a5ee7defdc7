"""The project dashboard (charts, scorecards, least-agreed items) and the members page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from assay.domain.people import Role
from assay.web.deps import Id
from assay.web.pages import charts
from assay.web.pages._base import PageDep, checked_form, field, render_page
from assay.workflows import accounts, dashboard, members

router = APIRouter(include_in_schema=False)


def _vendor_charts(report: dict[str, Any], *, pause_below: float | None) -> list[tuple[str, Markup]]:
    """The vendor comparison drawn four ways, one row per workforce in the report's order (best gold
    accuracy first) so a workforce sits on the same row in every chart; none before any answers.
    """
    teams = report["workforces"]
    if not teams:
        return []

    def shares(key: str) -> list[tuple[str, float | None, float | None, float | None]]:
        return [(w["name"], w[key]["value"], w[key]["low"], w[key]["high"]) for w in teams]

    return [
        (
            "Gold accuracy",
            charts.proportion_chart(
                "Gold accuracy per workforce (95% interval)",
                shares("gold_accuracy"),
                reference=pause_below,
                reference_label="pause below",
            ),
        ),
        (
            "Agreement with the other workforces",
            charts.proportion_chart(
                "Agreement with the other workforces' consensus (95% interval)",
                shares("agreement_with_others"),
            ),
        ),
        (
            "Answers per hour",
            charts.bar_chart(
                "Answers per hour per workforce",
                [(w["name"], w["answers_per_hour"]) for w in teams],
                fmt=".1f",
            ),
        ),
        (
            "Cost per accepted answer",
            charts.bar_chart(
                "Cost per accepted answer per workforce",
                [(w["name"], w["cost_per_accepted"]) for w in teams],
                fmt=".3f",
            ),
        ),
    ]


@router.get("/projects/{project_id}/dashboard")
async def project_dashboard(project_id: Id, request: Request, page: PageDep) -> Response:
    await page.require_on_project(Role.REVIEWER, project_id, what="dashboard")
    data = await run_in_threadpool(dashboard.project_dashboard, page.hub, page.actor, project_id)
    vendor_report = None
    if page.at_least(Role.MANAGER):  # the comparison crosses compartments: managers only
        from assay.workflows import vendors

        vendor_report = await run_in_threadpool(vendors.report, page.hub, page.actor, project_id)
    q = data["quality"]
    agreement_rows = [
        (name, a["value"], a["low"], a["high"])
        for name, a in (q.get("questions") or {}).items()
        if a and a.get("value") is not None
    ]
    return render_page(
        "dashboard.html",
        request=request,
        page=page,
        title=f"Dashboard · {data['project'].name}",
        d=data,
        progress_svg=charts.line_chart("Answers over time", data["progress"], target=data["target"]),
        annotator_svg=charts.bar_chart("Answers per annotator", data["per_annotator"]),
        workforce_svg=charts.bar_chart("Answers per workforce", data["per_workforce"]),
        agreement_svg=charts.interval_chart("Agreement (Krippendorff's alpha, 95% interval)", agreement_rows),
        agreement_rows=agreement_rows,
        vendor_report=vendor_report,
        # Set by the redirect after a manager lifts a pause (POST /projects/{id}/pauses/{pause_id}/lift).
        lifted=request.query_params.get("lifted") == "1",
        vendor_charts=(
            _vendor_charts(vendor_report, pause_below=data["project"].settings.pause_below)
            if vendor_report
            else []
        ),
    )


def _members(
    request: Request, page: PageDep, *, link: str = "", link_text: str = "", expiry: str = ""
) -> Response:
    data = members.overview(page.hub, page.actor)
    return render_page(
        "members.html",
        request=request,
        page=page,
        title="Members",
        data=data,
        roles=[r.label for r in Role],
        link=link,
        link_text=link_text,
        link_expiry=expiry,
        done=request.query_params.get("done", ""),
    )


def _absolute(request: Request, token: str) -> str:
    return str(request.base_url).rstrip("/") + accounts.link_path(token)


@router.get("/members")
async def members_page(request: Request, page: PageDep) -> Response:
    await page.require(Role.MANAGER, what="this page")
    return await run_in_threadpool(_members, request, page)


@router.post("/members/invite")
async def invite(request: Request, page: PageDep) -> Response:
    await page.require(Role.MANAGER, what="this page")
    form = await checked_form(request, page)
    invited = await run_in_threadpool(
        lambda: members.invite(
            page.hub,
            page.actor,
            email=field(form, "email"),
            role=field(form, "role", "annotator"),
            workforce=field(form, "workforce"),
            workforce_kind=field(form, "workforce_kind", "in_house"),
        )
    )
    # The link is shown once, on this response only (never put into a URL or a log).
    return await run_in_threadpool(
        lambda: _members(
            request,
            page,
            link=_absolute(request, invited.link),
            link_text=f"Invited {invited.email}: they set their own password for this organisation through this link.",
            expiry="in 7 days",
        )
    )


@router.post("/members/{membership_id}/reset")
async def reset(membership_id: Id, request: Request, page: PageDep) -> Response:
    """Owners: a one-time link through which a member sets a new password here (only here)."""
    await page.require(Role.OWNER, what="this page")
    await checked_form(request, page)
    token = await run_in_threadpool(members.reset, page.hub, page.actor, membership_id)
    return await run_in_threadpool(
        lambda: _members(
            request,
            page,
            link=_absolute(request, token),
            link_text="A password link for this member: it sets their password for this organisation only.",
            expiry="in 24 hours",
        )
    )


@router.post("/members/{membership_id}")
async def update_member(membership_id: Id, request: Request, page: PageDep) -> Response:
    await page.require(Role.MANAGER, what="this page")
    form = await checked_form(request, page)
    await run_in_threadpool(
        members.update,
        page.hub,
        page.actor,
        membership_id,
        role=field(form, "role"),
        workforce=field(form, "workforce"),
        active=field(form, "active") == "on",
    )
    return RedirectResponse("/members?done=member", status_code=303)


@router.post("/tokens/{token_id}/revoke")
async def revoke(token_id: Id, request: Request, page: PageDep) -> Response:
    await page.require(Role.MANAGER, what="this page")
    await checked_form(request, page)
    await run_in_threadpool(members.revoke_token, page.hub, page.actor, token_id)
    return RedirectResponse("/members?done=token", status_code=303)
