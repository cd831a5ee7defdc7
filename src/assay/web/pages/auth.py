"""Signing in and out."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from assay.errors import Unauthorized
from assay.web import sessions
from assay.web.deps import HubDep, client_ip
from assay.web.pages._base import PageDep, checked_form, field, render_page, require_secret, safe_next
from assay.workflows import members

router = APIRouter(include_in_schema=False)


def limiter(request: Request) -> sessions.LoginLimiter:
    found: sessions.LoginLimiter | None = getattr(request.app.state, "login_limiter", None)
    if found is None:
        found = request.app.state.login_limiter = sessions.LoginLimiter()
    return found


def _login_form(
    request: Request, *, next_path: str, email: str = "", error: str = "", status: int = 200
) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
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
    response.set_cookie(
        sessions.LOGIN_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=sessions.is_https(request),
        path="/login",
    )
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
    cookie = request.cookies.get(sessions.LOGIN_COOKIE)
    if not cookie or not sessions.csrf_ok(cookie, field(form, "csrf_token")):
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
        membership_id, password_hash = await run_in_threadpool(
            members.login, hub, email=email, password=password, ip=ip
        )
    except Unauthorized:
        limit.failed(email=email, ip=ip)
        return _login_form(
            request, next_path=next_path, email=email, error="Wrong email or password.", status=401
        )
    limit.succeeded(email=email)
    session = sessions.new_session(membership_id=membership_id, password_hash=password_hash)
    done = RedirectResponse(next_path, status_code=303)
    sessions.set_cookie(request, done, sessions.encode(hub, session))
    done.delete_cookie(sessions.LOGIN_COOKIE, path="/login")
    return done


@router.post("/logout")
async def logout(request: Request, page: PageDep) -> Response:
    await checked_form(request, page)
    response = RedirectResponse("/login", status_code=303)
    sessions.clear_cookie(response)
    return response


@router.post("/session/organisation")
async def switch_organisation(request: Request, page: PageDep) -> Response:
    """Members of several organisations pick which one they work in."""
    form = await checked_form(request, page)
    wanted = field(form, "membership_id")
    chosen = (
        await run_in_threadpool(members.switch_to, page.hub, page.actor, int(wanted))
        if wanted.isdigit()
        else None
    )
    response = RedirectResponse("/projects", status_code=303)
    if chosen is not None:
        session = sessions.new_session(membership_id=chosen[0], password_hash=chosen[1])
        sessions.set_cookie(request, response, sessions.encode(page.hub, session))
    return response
