"""The permission matrix: every route x every actor x every object, from one table of expectations.

The table is keyed by (method, path) as the application declares them; a route the application
serves without an entry here fails the test by name, so a new route cannot ship unreviewed.
Every denial the matrix produces (401, 403, 404) must leave a row in the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass

from assay.domain.people import Role
from tests.security.cells import app_routes, build_call, outcome, send
from tests.security.conftest import ACTORS, OBJECTS, World


@dataclass(frozen=True)
class Rule:
    """Who may call a route and on what.

    Every API route checks its declared role before anything else (and before it reads a body),
    so below that role the answer is 403 whatever the id names.  ``min_role`` None: public.  ``scope``: what the path's id names — ``none`` (no object),
    ``project`` (visible to managers, reviewers and the workforces it is shared with) or
    ``assignee`` (only the annotator who holds the lease or wrote the answer).  ``role_first``: the
    role is checked before the object is looked up, so a too-low role answers 403 even for a
    foreign id (it tells nothing about the object).  ``explains``: a project page that a member
    who can see the project but lacks the role is refused with 403 and what they may do instead;
    a project they may not see is still 404.
    """

    min_role: Role | None
    ok: int = 200
    scope: str = "none"
    role_first: bool = False
    explains: bool = False


MEMBER, REVIEWER, MANAGER, OWNER = Role.ANNOTATOR, Role.REVIEWER, Role.MANAGER, Role.OWNER

EXPECTED: dict[tuple[str, str], Rule] = {
    # public
    ("GET", "/"): Rule(None, ok=303),
    ("GET", "/healthz"): Rule(None),
    ("GET", "/static"): Rule(None),
    ("GET", "/api/v1/openapi.json"): Rule(None),
    ("GET", "/api/docs"): Rule(None),
    ("GET", "/static/swagger-ui"): Rule(None),
    ("GET", "/login"): Rule(None),
    ("POST", "/login"): Rule(None, ok=400),  # a form without its login cookie is refused for everyone
    # JSON API: the role first, everywhere
    ("GET", "/api/v1/projects"): Rule(MEMBER),
    ("POST", "/api/v1/projects"): Rule(MANAGER, ok=201),
    ("GET", "/api/v1/projects/{project_id}"): Rule(MEMBER, scope="project", role_first=True),
    ("PATCH", "/api/v1/projects/{project_id}"): Rule(MANAGER, scope="project", role_first=True),
    ("POST", "/api/v1/projects/{project_id}/items"): Rule(MANAGER, ok=201, scope="project", role_first=True),
    ("POST", "/api/v1/projects/{project_id}/annotations"): Rule(
        MANAGER, ok=201, scope="project", role_first=True
    ),
    ("GET", "/api/v1/projects/{project_id}/next"): Rule(MEMBER, scope="project", role_first=True),
    ("GET", "/api/v1/projects/{project_id}/export"): Rule(MANAGER, scope="project", role_first=True),
    ("GET", "/api/v1/projects/{project_id}/quality"): Rule(REVIEWER, scope="project", role_first=True),
    # The matrix's projects ask no comparative question: allowed callers reach that refusal (422).
    ("GET", "/api/v1/projects/{project_id}/leaderboard"): Rule(
        REVIEWER, ok=422, scope="project", role_first=True
    ),
    ("GET", "/api/v1/items/{item_id}"): Rule(REVIEWER, scope="project", role_first=True),
    ("POST", "/api/v1/assignments/{assignment_id}/submit"): Rule(MEMBER, ok=201, scope="assignee"),
    ("POST", "/api/v1/assignments/{assignment_id}/skip"): Rule(MEMBER, scope="assignee"),
    ("POST", "/api/v1/assignments/{assignment_id}/extend"): Rule(MEMBER, scope="assignee"),
    ("POST", "/api/v1/annotations/{annotation_id}/revise"): Rule(MEMBER, ok=201, scope="assignee"),
    # Live chat within one's own lease; the matrix's projects ask no chat question, so the assignee
    # gets past every check to that refusal (409).
    ("GET", "/api/v1/assignments/{assignment_id}/turns"): Rule(MEMBER, ok=409, scope="assignee"),
    ("POST", "/api/v1/assignments/{assignment_id}/turns"): Rule(MEMBER, ok=409, scope="assignee"),
    ("PUT", "/api/v1/assignments/{assignment_id}/turns/{turn_id}"): Rule(MEMBER, ok=409, scope="assignee"),
    ("GET", "/api/v1/workforces"): Rule(MANAGER),
    ("POST", "/api/v1/workforces"): Rule(MANAGER, ok=201),
    # A workforce belongs to the organisation (a manager edits any of its own, 404 for another's).
    ("PATCH", "/api/v1/workforces/{workforce_id}"): Rule(MANAGER, scope="project", role_first=True),
    ("GET", "/api/v1/projects/{project_id}/vendors"): Rule(MANAGER, scope="project", role_first=True),
    ("GET", "/api/v1/projects/{project_id}/flags"): Rule(REVIEWER, scope="project", role_first=True),
    # Allowed callers get past every check to the rule that only reviewed answers become gold (409).
    ("POST", "/api/v1/items/{item_id}/gold"): Rule(MANAGER, ok=409, scope="project", role_first=True),
    ("DELETE", "/api/v1/projects/{project_id}/pauses/{pause_id}"): Rule(
        MANAGER, scope="project", role_first=True
    ),
    # Model connections and jobs belong to the organisation, like workforces.
    ("GET", "/api/v1/models"): Rule(MANAGER),
    ("POST", "/api/v1/models"): Rule(MANAGER, ok=201),
    ("DELETE", "/api/v1/models/{model_id}"): Rule(MANAGER, ok=204, scope="project", role_first=True),
    ("GET", "/api/v1/jobs/{job_id}"): Rule(MANAGER, scope="project", role_first=True),
    # Allowed callers get past every check to the rule that generation needs a responses input (422).
    ("POST", "/api/v1/projects/{project_id}/generate"): Rule(
        MANAGER, ok=422, scope="project", role_first=True
    ),
    # one-time links: public pages (a fresh link for every call); a post without the form's own
    # token is refused before the link is read
    ("GET", "/invitations/{token}"): Rule(None),
    ("POST", "/invitations/{token}"): Rule(None, ok=400),
    # pages (a role that may not see a page gets 404, like a page that does not exist; a project page
    # of a project the member can see says 403 and what they may do instead)
    ("POST", "/logout"): Rule(MEMBER, ok=303),
    ("POST", "/session/organisation"): Rule(MEMBER),  # not one of theirs: asked for a password
    ("GET", "/account"): Rule(MEMBER),
    ("POST", "/account/password"): Rule(MEMBER, ok=422),  # the two new passwords differ
    ("GET", "/projects"): Rule(MEMBER),
    ("GET", "/projects/new"): Rule(MANAGER),
    ("POST", "/projects/new"): Rule(MANAGER, ok=303),
    ("POST", "/projects/new/preview"): Rule(MANAGER),
    ("GET", "/projects/{project_id}"): Rule(MANAGER, scope="project", explains=True),
    ("POST", "/projects/{project_id}/settings"): Rule(MANAGER, ok=303, scope="project"),
    ("POST", "/projects/{project_id}/pauses/{pause_id}/lift"): Rule(MANAGER, ok=303, scope="project"),
    ("GET", "/projects/{project_id}/annotate"): Rule(MEMBER, scope="project"),
    ("GET", "/projects/{project_id}/review"): Rule(REVIEWER, scope="project", explains=True),
    ("GET", "/projects/{project_id}/dashboard"): Rule(REVIEWER, scope="project", explains=True),
    ("GET", "/review"): Rule(REVIEWER),
    ("GET", "/items/{item_id}"): Rule(REVIEWER, scope="project"),
    ("POST", "/annotations/{annotation_id}/review"): Rule(REVIEWER, ok=303, scope="project"),
    ("POST", "/projects/{project_id}/review/accept"): Rule(REVIEWER, ok=303, scope="project"),
    ("GET", "/members"): Rule(MANAGER),
    ("POST", "/members/invite"): Rule(MANAGER),
    ("POST", "/members/{membership_id}"): Rule(MANAGER, ok=303, scope="project"),
    ("POST", "/members/{membership_id}/reset"): Rule(OWNER, scope="project"),
    ("POST", "/tokens/{token_id}/revoke"): Rule(MANAGER, ok=303, scope="project"),
}

ROLE = {
    "owner": Role.OWNER,
    "manager": Role.MANAGER,
    "reviewer": Role.REVIEWER,
    "reviewer_a": Role.REVIEWER,
    "annotator_a": Role.ANNOTATOR,
    "annotator_b": Role.ANNOTATOR,
    "foreign": Role.MANAGER,
}
# The one object compartment each vendor member works in; the others are not shared with them.
COMPARTMENT = {"annotator_a": "own", "annotator_b": "other_workforce", "reviewer_a": "own"}


def expected(method: str, path: str, actor: str, obj: str) -> int:
    rule = EXPECTED[(method, path)]
    if rule.min_role is None:
        return rule.ok
    if actor in ("revoked", "anonymous"):
        return 401
    too_low = 404 if not path.startswith("/api/") else 403  # pages hide what a role may not see
    role_ok = ROLE[actor] >= rule.min_role
    if rule.scope == "none":
        return rule.ok if role_ok else too_low
    if rule.role_first and not role_ok:
        return too_low
    same_org = (actor == "foreign") == (obj == "other_org")
    if rule.scope == "assignee":
        return (
            rule.ok if (actor, obj) in (("annotator_a", "own"), ("annotator_b", "other_workforce")) else 404
        )
    everywhere = actor not in COMPARTMENT and ROLE[actor] >= Role.REVIEWER
    visible = same_org and (everywhere or COMPARTMENT.get(actor) == obj)
    if not visible:
        return 404
    if role_ok:
        return rule.ok
    return 403 if rule.explains else too_low


def test_every_route_has_an_entry(world: World) -> None:
    served = set(app_routes(world.app))
    unknown = sorted(served - set(EXPECTED))
    assert not unknown, f"routes without a permission-matrix entry (add them to EXPECTED): {unknown}"
    stale = sorted(set(EXPECTED) - served)
    assert not stale, f"permission-matrix entries for routes that no longer exist: {stale}"


def test_permission_matrix(world: World) -> None:
    wrong: list[str] = []
    unaudited: list[str] = []
    cells = 0
    for method, path in app_routes(world.app):
        assert (method, path) in EXPECTED, f"route {method} {path} has no permission-matrix entry"
        for actor in ACTORS:
            for obj in OBJECTS if "{" in path else ("own",):
                call = build_call(world, method, path, actor, obj)
                before = world.denials()
                response = send(world, call)
                got, want = outcome(response), expected(method, path, actor, obj)
                cells += 1
                where = f"{method} {path} as {actor} on {obj} ({call.url})"
                if got != want:
                    wrong.append(f"{where}: got {got}, expected {want}: {response.text[:120]}")
                public = EXPECTED[(method, path)].min_role is None
                if not public and got in (401, 403, 404) and world.denials() <= before:
                    unaudited.append(f"{where}: {got} left no audit row")
    assert cells > 500
    assert not wrong, "\n".join(wrong)
    assert not unaudited, "\n".join(unaudited)
