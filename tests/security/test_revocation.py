"""Revoking a token or a membership takes effect on the very next request, over the API and the pages."""

from __future__ import annotations

from typing import Any

from assay.web import sessions
from tests.security.cells import CSRF
from tests.security.conftest import World


def _as_manager(world: World) -> None:
    world.client.cookies.clear()
    world.client.cookies.set(sessions.COOKIE, world.cookie(world.members["manager"], csrf=CSRF))


def _page(world: World, member: str, url: str) -> Any:
    world.client.cookies.clear()
    world.client.cookies.set(sessions.COOKIE, world.cookie(world.members[member]))
    response = world.client.get(url, follow_redirects=False)
    world.client.cookies.clear()
    return response


def test_revoked_token_fails_on_the_next_request(world: World) -> None:
    member = world.members["annotator_a"]
    assert world.client.get("/api/v1/projects", headers=member.headers).status_code == 200
    _as_manager(world)
    revoked = world.client.post(
        f"/tokens/{world.token_id(member)}/revoke", data={"csrf_token": CSRF}, follow_redirects=False
    )
    assert revoked.status_code == 303, revoked.text
    world.client.cookies.clear()
    before = world.denials()
    after = world.client.get("/api/v1/projects", headers=member.headers)
    assert after.status_code == 401
    assert after.json() == {
        "ok": False,
        "error": "the token is unknown or revoked",
        "errors": [],
        "status": 401,
    }
    assert world.denials() == before + 1
    # The person's browser session is a separate credential and stays valid.
    assert _page(world, "annotator_a", "/projects").status_code == 200


def test_deactivated_membership_ends_token_and_session_at_once(world: World) -> None:
    member = world.members["annotator_b"]
    project = world.projects["other_workforce"]
    assert world.client.get(f"/api/v1/projects/{project}", headers=member.headers).status_code == 200
    assert _page(world, "annotator_b", f"/projects/{project}/annotate").status_code == 200
    cookie = world.cookie(member)  # issued before the change, replayed after it
    _as_manager(world)
    done = world.client.post(
        f"/members/{world.membership_id(member)}",
        data={"csrf_token": CSRF, "role": "annotator", "workforce": "Vendor B"},  # no "active": deactivate
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    world.client.cookies.clear()
    before = world.denials()
    assert world.client.get(f"/api/v1/projects/{project}", headers=member.headers).status_code == 401
    world.client.cookies.set(sessions.COOKIE, cookie)
    page = world.client.get(f"/projects/{project}/annotate", follow_redirects=False)
    world.client.cookies.clear()
    assert page.status_code == 303
    assert page.headers["location"].startswith("/login?next=")
    assert world.denials() == before + 2
