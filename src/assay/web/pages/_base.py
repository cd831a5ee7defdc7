"""What every page shares: the Jinja2 environment, the signed-in member, CSRF-checked forms."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import jinja2
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from assay import keys
from assay.app import Assay
from assay.domain.people import Actor, Role
from assay.errors import AssayError, Forbidden, NotFound
from assay.limits import check_text
from assay.web import render, sessions
from assay.web.deps import HubDep, client_ip, enter_org
from assay.workflows import access
from assay.workflows import projects as project_flows

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,  # every value is escaped unless it went through render_markdown
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters["markdown"] = lambda text: Markup(render.render_any(text))
env.filters["tojson_pretty"] = lambda value: json.dumps(value, indent=2, ensure_ascii=False)
# JSON as plain text for a data attribute: escaped like any attribute value, read back by a script.
env.filters["json_attr"] = lambda value: json.dumps(value, ensure_ascii=False)


class LoginRequired(Exception):
    """Raised by page dependencies; answered with a redirect to /login."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class PagesDisabled(AssayError):
    status = 503


class WrongRoleForPage(Forbidden):
    """A page of a project the member can see, for a role they do not have: 403, with the pages
    they may open instead (``links``: text and path), rather than a 404 that says it is missing."""

    def __init__(self, message: str, *, links: list[tuple[str, str]]) -> None:
        super().__init__(message)
        self.links = links


@dataclass(frozen=True)
class Page:
    """The signed-in member of a page request, with their session's CSRF token."""

    hub: Assay
    actor: Actor
    session: sessions.Session
    request: Request

    @property
    def csrf(self) -> str:
        return self.session.csrf

    def at_least(self, role: Role) -> bool:
        return self.actor.at_least(role)

    async def require(self, role: Role, *, what: str) -> None:
        """Pages a role may not see answer 404, like a page that does not exist (and are audited,
        in the threadpool: nothing writes to the database on the event loop)."""
        if not self.actor.at_least(role):
            await run_in_threadpool(
                lambda: access.audit_denial(
                    self.hub,
                    actor=self.actor,
                    action=page_action(self.request),
                    status=404,
                    detail={"role": role.label},
                )
            )
            raise NotFound(f"{what} does not exist")

    async def require_on_project(self, role: Role, project_id: int, *, what: str) -> None:
        """A project's page for ``role`` and up.  Below it, a project the member can see answers
        403 saying what they may do there (annotate it, or their work list); one they may not see,
        and another organisation's, stays 404 exactly like a missing one.  Both are audited."""
        if self.actor.at_least(role):
            return
        action = page_action(self.request)

        def refuse() -> WrongRoleForPage:
            # 404 (audited) unless the project exists in the member's organisation and is theirs to see.
            project = project_flows.get(self.hub, self.actor, project_id, action=action)
            access.audit_denial(
                self.hub,
                actor=self.actor,
                action=action,
                status=403,
                object_type="project",
                object_id=project_id,
                detail={"role": role.label},
            )
            return WrongRoleForPage(
                f"The {what} of {project.name} is for {role.label}s and above; as "
                f"{article(self.actor.role.label)} {self.actor.role.label} you can annotate this "
                "project, or go back to your work.",
                links=[
                    (f"Annotate {project.name}", f"/projects/{project.id}/annotate"),
                    ("My work", "/projects"),
                ],
            )

        raise await run_in_threadpool(refuse)


def article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def page_action(request: Request) -> str:
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', request.url.path)}"


def require_secret(hub: Assay) -> None:
    if not sessions.pages_enabled(hub):
        raise PagesDisabled(keys.missing(hub.config))


async def current_page(request: Request, hub: HubDep) -> Page:
    require_secret(hub)
    cookie = request.cookies.get(sessions.COOKIE)
    ip = client_ip(request)
    found = None
    if cookie:
        # A cookie that resolves to nobody counts against the address, like a bad token.
        wait = hub.throttle.auth_wait(ip)
        if wait > 0:
            raise await run_in_threadpool(
                lambda: access.throttled(hub, ip=ip, action=page_action(request), wait=wait)
            )
        found = await run_in_threadpool(sessions.resolve, hub, cookie, ip=ip)
        if found is None:
            hub.throttle.auth_failed(ip)
    if found is None:
        # The pages' 401: audited like the API's, then sent to the sign-in form.
        await run_in_threadpool(
            access.audit_denial,
            hub,
            actor=None,
            action=page_action(request),
            status=401,
            ip=client_ip(request),
            detail={"reason": "bad session" if cookie else "no session"},
        )
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    actor, session = found
    enter_org(actor)  # the rest of the request runs in the actor's organisation (RLS on PostgreSQL)
    return Page(hub=hub, actor=actor, session=session, request=request)


PageDep = Annotated[Page, Depends(current_page)]


async def checked_form(request: Request, page: Page) -> FormData:
    """The posted form, once its CSRF token matches the session's."""
    form = await request.form()
    token = form.get("csrf_token")
    if not isinstance(token, str) or not sessions.csrf_ok(page.csrf, token):
        await run_in_threadpool(
            access.audit_denial,
            page.hub,
            actor=page.actor,
            action=page_action(request),
            status=403,
            detail={"reason": "csrf"},
        )
        raise Forbidden("the form is out of date or came from another site; reload the page and try again")
    return form


def field(form: FormData, name: str, default: str = "") -> str:
    """A form value as text; one holding NUL or a lone surrogate is refused (422 naming the field)."""
    value = form.get(name)
    return check_text(value, where=name) if isinstance(value, str) else default


def login_url(next_path: str) -> str:
    return "/login?next=" + quote(next_path, safe="/")


def safe_next(value: str | None) -> str:
    """Only same-site paths: an open redirect after login would be a phishing aid."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/projects"


def render_page(
    name: str, *, request: Request, page: Page | None = None, status: int = 200, **context: Any
) -> HTMLResponse:
    template = env.get_template(name)
    html = template.render(
        request=request,
        user=page.actor if page else None,
        csrf_token=page.csrf if page else "",
        is_owner=bool(page and page.at_least(Role.OWNER)),
        is_manager=bool(page and page.at_least(Role.MANAGER)),
        is_reviewer=bool(page and page.at_least(Role.REVIEWER)),
        path=request.url.path,
        **context,
    )
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})
