"""Signing in and out, one-time links (invitations, resets), one's account and organisations."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from assay.errors import AssayError, BadRequest, RateLimited, Unauthorized
from assay.web import sessions
from assay.web.deps import HubDep, client_ip
from assay.web.pages._base import PageDep, checked_form, field, render_page, require_secret, safe_next
from assay.workflows import access, accounts

router = APIRouter(include_in_schema=False)


def limiter(request: Request) -> sessions.LoginLimiter:
    found: sessions.LoginLimiter | None = getattr(request.app.state, "login_limiter", None)
    if found is None:
        found = request.app.state.login_limiter = sessions.LoginLimiter()
    return found


def _signed_in(request: Request, response: Response, cookie: str) -> Response:
    sessions.set_cookie(request, response, cookie)
    return response


def _login_form(
    request: Request, *, next_path: str, email: str = "", error: str = "", status: int = 200
) -> HTMLResponse:
    token = sessions.LOGIN_FORM.new()
    response = render_page(
        "login.html",
        request=request,
        status=status,
        title="Sign in",
        login_token=token,
        next_path=next_path,
        email=email,
        error=error,
    )
    sessions.LOGIN_FORM.set(request, response, token)
    return response


@router.get("/login")
async def login_page(request: Request, hub: HubDep, next: str = "/projects") -> Response:
    require_secret(hub)
    return _login_form(request, next_path=safe_next(next))


@router.post("/login")
async def login_submit(request: Request, hub: HubDep) -> Response:
    require_secret(hub)
    form = await request.form()
    email, password = field(form, "email").strip(), field(form, "password")
    next_path = safe_next(field(form, "next"))
    if not sessions.LOGIN_FORM.ok(request, field(form, "csrf_token")):
        return _login_form(
            request,
            next_path=next_path,
            email=email,
            error="The sign-in form expired; please try again.",
            status=400,
        )
    ip = client_ip(request)
    limit = limiter(request)
    wait = limit.retry_after(email=email, ip=ip)
    if wait:
        await run_in_threadpool(
            lambda: access.audit_denial(
                hub, actor=None, action="session.login", status=429, ip=ip, detail={"reason": "throttled"}
            )
        )
        response = _login_form(
            request,
            next_path=next_path,
            email=email,
            error=f"Too many failed sign-ins. Try again in {wait} seconds.",
            status=429,
        )
        response.headers["Retry-After"] = str(wait)
        return response
    try:
        signed = await run_in_threadpool(accounts.login, hub, email=email, password=password, ip=ip)
    except Unauthorized:
        limit.failed(email=email, ip=ip)
        return _login_form(
            request, next_path=next_path, email=email, error="Wrong email or password.", status=401
        )
    limit.succeeded(email=email)
    cookie, _ = await run_in_threadpool(
        sessions.start, hub, membership_id=signed.membership_id, proven=signed.proven, ip=ip
    )
    done = RedirectResponse(next_path, status_code=303)
    sessions.LOGIN_FORM.clear(done)
    return _signed_in(request, done, cookie)


@router.post("/logout")
async def logout(request: Request, page: PageDep) -> Response:
    """Sign out: the session ends on the server, so a copy of the cookie is worth nothing."""
    await checked_form(request, page)
    await run_in_threadpool(sessions.end, page.hub, page.session)
    response = RedirectResponse("/login", status_code=303)
    sessions.clear_cookie(response)
    return response


def _account(request: Request, page: Any, *, status: int = 200, **context: Any) -> HTMLResponse:
    values = {"error": "", "saved": "", "ask_password_for": None, **context}
    return render_page(
        "account.html",
        request=request,
        page=page,
        status=status,
        title="Account",
        organisations=accounts.organisations(page.hub, page.actor),
        **values,
    )


@router.get("/account")
async def account_page(request: Request, page: PageDep) -> Response:
    saved = request.query_params.get("saved", "")
    return await run_in_threadpool(lambda: _account(request, page, saved=saved))


@router.post("/account/password")
async def change_password(request: Request, page: PageDep) -> Response:
    """Change one's own password (the current one first); every other session of it ends."""
    form = await checked_form(request, page)
    current, new, again = field(form, "current_password"), field(form, "new_password"), field(form, "repeat")
    if new != again:
        return await run_in_threadpool(
            lambda: _account(request, page, status=422, error="The two new passwords differ.")
        )
    try:
        await run_in_threadpool(
            lambda: accounts.change_password(
                page.hub, page.actor, current=current, new=new, everywhere=field(form, "everywhere") == "on"
            )
        )
    except AssayError as exc:
        status, message = exc.status, exc.message
        return await run_in_threadpool(lambda: _account(request, page, status=status, error=message))
    # The change ended every session of this membership, this one too: sign this browser in again.
    cookie, _ = await run_in_threadpool(
        lambda: sessions.start(
            page.hub, membership_id=page.actor.membership_id, proven=(), ip=client_ip(request)
        )
    )
    return _signed_in(request, RedirectResponse("/account?saved=password", status_code=303), cookie)


@router.post("/session/organisation")
async def switch_organisation(request: Request, page: PageDep) -> Response:
    """Work in another organisation: re-checked against that organisation's own credential."""
    form = await checked_form(request, page)
    wanted = field(form, "membership_id")
    password = field(form, "password") or None
    if not wanted.isdigit() or len(wanted) > 18:
        return RedirectResponse("/account", status_code=303)
    chosen = await run_in_threadpool(
        lambda: accounts.switch_to(
            page.hub, page.actor, proven=page.session.proven, membership_id=int(wanted), password=password
        )
    )
    if chosen is None:
        return await run_in_threadpool(
            lambda: _account(
                request,
                page,
                status=401 if password else 200,
                error="Wrong password for that organisation." if password else "",
                ask_password_for=int(wanted),
            )
        )
    cookie, _ = await run_in_threadpool(
        lambda: sessions.start(
            page.hub, membership_id=chosen.membership_id, proven=chosen.proven, ip=client_ip(request)
        )
    )
    await run_in_threadpool(sessions.end, page.hub, page.session)
    return _signed_in(request, RedirectResponse("/projects", status_code=303), cookie)


def _link_form(
    request: Request, token: str, link: dict[str, Any], *, error: str = "", status: int = 200
) -> Response:
    form_token = sessions.LINK_FORM.new()
    response = render_page(
        "link.html",
        request=request,
        status=status,
        title="Set your password",
        link=link,
        token=token,
        form_token=form_token,
        error=error,
    )
    sessions.LINK_FORM.set(request, response, form_token)
    return response


@router.get("/invitations/{token}")
async def link_page(token: str, request: Request, hub: HubDep) -> Response:
    """The page of a one-time link: who it is for, and a form to set the password."""
    require_secret(hub)
    link = await run_in_threadpool(accounts.read_link, hub, token)
    return _link_form(request, token, link)


@router.post("/invitations/{token}")
async def use_link(token: str, request: Request, hub: HubDep) -> Response:
    require_secret(hub)
    ip = client_ip(request)
    limit = limiter(request)
    wait = limit.retry_after(email=f"link:{token[:16]}", ip=ip)
    if wait:
        raise RateLimited("too many attempts with this link; try again later", retry_after=wait)
    form = await request.form()
    if not sessions.LINK_FORM.ok(request, field(form, "csrf_token")):
        # Before anything about the link is read: a cross-site post learns nothing.
        raise BadRequest("the form expired or came from another site; open the link again")
    link = await run_in_threadpool(accounts.read_link, hub, token)
    password, again = field(form, "password"), field(form, "repeat")
    if password != again:
        return _link_form(request, token, link, error="The two passwords differ.", status=422)
    try:
        signed = await run_in_threadpool(lambda: accounts.use_link(hub, token, password=password, ip=ip))
    except AssayError as exc:
        limit.failed(email=f"link:{token[:16]}", ip=ip)
        if exc.status == 404:
            raise
        return _link_form(request, token, link, error=exc.message, status=exc.status)
    cookie, _ = await run_in_threadpool(
        lambda: sessions.start(hub, membership_id=signed.membership_id, proven=signed.proven, ip=ip)
    )
    done = RedirectResponse("/projects", status_code=303)
    sessions.LINK_FORM.clear(done)
    return _signed_in(request, done, cookie)
