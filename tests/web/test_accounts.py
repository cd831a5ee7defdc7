"""Accounts across organisations: no action of one organisation reaches a person's credentials,
sessions or memberships in another.

Two labs share a vendor annotator.  Each lab's manager can invite, and each lab's owner can reset;
none of it may open, lock or change anything in the other lab.  Sessions live on the server, so
signing out or changing a password ends every copy of a cookie.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from assay.app import Assay
from assay.storage.tables import audit_events, invitations, memberships, users
from assay.web import sessions
from assay.web.app import create_app
from assay.workflows import admin
from tests.factories import make_member, make_org
from tests.web.test_pages import csrf_of, set_password_through, sign_in

PASSWORD_A = "password of lab A"
PASSWORD_B = "password of lab B"


@dataclass
class Labs:
    hub: Assay
    app: Any
    a: str
    b: str
    managers: dict[str, str]  # lab -> manager email
    owners: dict[str, str]
    shared: str  # a vendor annotator who works for both labs

    def client(self) -> TestClient:
        return TestClient(self.app, raise_server_exceptions=False)

    def signed_in(self, email: str, password: str) -> TestClient:
        client = self.client()
        assert sign_in(client, email, password).status_code == 303
        return client


def _user(hub: Assay, org: str, role: str, password: str, email: str | None = None) -> str:
    email = email or make_member(hub, org, role=role).email
    admin.create_user(hub, org=org, email=email, role=role, password=password)
    return email


@pytest.fixture
def labs(hub: Assay) -> Iterator[Labs]:
    hub.config = dataclasses.replace(hub.config, secret_key="s" * 40)
    a, b = make_org(hub), make_org(hub)
    managers = {a: _user(hub, a, "manager", PASSWORD_A), b: _user(hub, b, "manager", PASSWORD_B)}
    owners = {a: _user(hub, a, "owner", PASSWORD_A), b: _user(hub, b, "owner", PASSWORD_B)}
    shared = "shared@vendor.example"
    admin.create_user(hub, org=a, email=shared, role="annotator", password=PASSWORD_A)
    admin.create_user(hub, org=b, email=shared, role="annotator", password=PASSWORD_B)
    app = create_app(hub)
    yield Labs(hub, app, a, b, managers, owners, shared)


def _invite(client: TestClient, email: str, role: str = "annotator") -> Any:
    csrf = csrf_of(client.get("/members").text)
    return client.post("/members/invite", data={"csrf_token": csrf, "email": email, "role": role})


def _link(response: Any) -> str:
    found = re.search(r'<code id="one-time-link">https?://[^/]+(/invitations/[^<]+)</code>', response.text)
    assert found, response.text[:2000]
    return found.group(1)


def _org_of(client: TestClient) -> str:
    page = client.get("/account")
    assert page.status_code == 200
    found = re.search(r"signed in to <strong>([^<]+)</strong>", page.text)
    assert found
    return found.group(1)


def test_each_organisation_has_its_own_password_for_a_shared_person(labs: Labs) -> None:
    a = labs.signed_in(labs.shared, PASSWORD_A)
    assert _org_of(a) == labs.a
    b = labs.signed_in(labs.shared, PASSWORD_B)
    assert _org_of(b) == labs.b
    # Lab A's password does not open lab B: switching there asks for lab B's own password.
    with labs.hub.db.read() as conn:
        rows = conn.execute(
            sa.select(memberships.c.id, memberships.c.org_id)
            .join(users, users.c.id == memberships.c.user_id)
            .where(users.c.email == labs.shared)
            .order_by(memberships.c.id)
        ).all()
    other = int(rows[1].id)
    csrf = csrf_of(a.get("/account").text)
    asked = a.post("/session/organisation", data={"csrf_token": csrf, "membership_id": str(other)})
    assert asked.status_code == 200 and 'name="password"' in asked.text
    wrong = a.post(
        "/session/organisation",
        data={"csrf_token": csrf, "membership_id": str(other), "password": PASSWORD_A},
    )
    assert wrong.status_code == 401
    assert _org_of(a) == labs.a
    right = a.post(
        "/session/organisation",
        data={"csrf_token": csrf, "membership_id": str(other), "password": PASSWORD_B},
        follow_redirects=False,
    )
    assert right.status_code == 303
    assert _org_of(a) == labs.b


def test_an_invitation_in_one_lab_never_sets_the_password_that_opens_another(labs: Labs) -> None:
    """Lab B's manager invites a person lab A already has, and uses the link themselves: they get a
    credential for lab B only; the person's lab A password still works and theirs does not."""
    victim = _user(labs.hub, labs.a, "manager", PASSWORD_A, email="victim@lab-a.example")
    attacker = labs.signed_in(labs.managers[labs.b], PASSWORD_B)
    invited = _invite(attacker, victim)
    assert invited.status_code == 200
    assert PASSWORD_A not in invited.text
    chosen = "attacker chose this"
    hijack = labs.client()
    assert set_password_through(hijack, _link(invited), chosen).status_code == 303
    assert _org_of(hijack) == labs.b  # the link opened the lab that made it
    # The attacker's password opens nothing of lab A, not even by switching.
    assert sign_in(labs.client(), victim, chosen).status_code == 303
    with labs.hub.db.read() as conn:
        a_membership = conn.execute(
            sa.select(memberships.c.id)
            .join(users, users.c.id == memberships.c.user_id)
            .where(users.c.email == victim)
            .order_by(memberships.c.id)
        ).first()
    assert a_membership is not None
    csrf = csrf_of(hijack.get("/account").text)
    switch = hijack.post(
        "/session/organisation", data={"csrf_token": csrf, "membership_id": str(a_membership.id)}
    )
    assert switch.status_code == 200 and 'name="password"' in switch.text  # asked, not let in
    assert _org_of(hijack) == labs.b
    # The victim signs in to lab A with their own password, unchanged.
    assert _org_of(labs.signed_in(victim, PASSWORD_A)) == labs.a


def test_a_person_without_a_password_in_one_lab_gets_none_from_another(labs: Labs) -> None:
    """A member created without a password in lab A (an invitation not yet accepted) is invited by
    lab B: lab B's link gives a credential for lab B; lab A's membership still has none."""
    email = "pending@x.example"
    admin.create_user(labs.hub, org=labs.a, email=email, role="reviewer")
    b = labs.signed_in(labs.managers[labs.b], PASSWORD_B)
    assert set_password_through(labs.client(), _link(_invite(b, email)), "chosen by lab B").status_code == 303
    with labs.hub.db.read() as conn:
        rows = conn.execute(
            sa.select(memberships.c.org_id, memberships.c.password_hash)
            .join(users, users.c.id == memberships.c.user_id)
            .where(users.c.email == email)
            .order_by(memberships.c.id)
        ).all()
    assert rows[0].password_hash is None and rows[1].password_hash is not None


def test_inviting_an_existing_member_changes_nothing_and_roles_follow_one_rule(labs: Labs) -> None:
    manager = labs.signed_in(labs.managers[labs.a], PASSWORD_A)
    again = _invite(manager, labs.owners[labs.a], role="annotator")
    assert again.status_code == 409 and "already a member" in again.text
    assert _invite(manager, labs.shared, role="reviewer").status_code == 409
    assert _invite(manager, "new-owner@x.example", role="owner").status_code == 403
    with labs.hub.db.read() as conn:
        role = conn.execute(
            sa.select(memberships.c.role)
            .join(users, users.c.id == memberships.c.user_id)
            .where(users.c.email == labs.owners[labs.a])
        ).scalar_one()
    assert role == "owner"
    # The member list's edit form refuses a manager's change to an owner, by the same rule.
    page = manager.get("/members").text
    rows = dict(re.findall(r'<th scope="row">([^<]+)</th>\s*<td><form id="m(\d+)"', page))
    demote = manager.post(
        f"/members/{rows[labs.owners[labs.a]]}",
        data={"csrf_token": csrf_of(page), "role": "annotator", "active": "on"},
    )
    assert demote.status_code == 403


def test_sign_out_ends_the_session_for_every_copy_of_the_cookie(labs: Labs) -> None:
    browser = labs.signed_in(labs.shared, PASSWORD_A)
    stolen = browser.cookies.get(sessions.COOKIE)
    assert stolen
    copy = labs.client()
    copy.cookies.set(sessions.COOKIE, stolen)
    assert copy.get("/projects").status_code == 200
    csrf = csrf_of(browser.get("/projects").text)
    assert browser.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    assert copy.get("/projects", follow_redirects=False).status_code == 303  # back to the sign-in form


def test_a_password_change_ends_the_other_sessions_and_touches_only_what_it_proves(labs: Labs) -> None:
    other_browser = labs.signed_in(labs.shared, PASSWORD_A)
    browser = labs.signed_in(labs.shared, PASSWORD_A)
    csrf = csrf_of(browser.get("/account").text)
    wrong = browser.post(
        "/account/password",
        data={
            "csrf_token": csrf,
            "current_password": "nope nope",
            "new_password": "x" * 12,
            "repeat": "x" * 12,
        },
    )
    assert wrong.status_code == 401
    changed = browser.post(
        "/account/password",
        data={
            "csrf_token": csrf,
            "current_password": PASSWORD_A,
            "new_password": "a brand new one",
            "repeat": "a brand new one",
            "everywhere": "on",  # lab B's password differs: it is not proved, so it stays
        },
        follow_redirects=False,
    )
    assert changed.status_code == 303
    assert browser.get("/projects").status_code == 200  # this browser was signed in again
    assert other_browser.get("/projects", follow_redirects=False).status_code == 303
    assert _org_of(labs.signed_in(labs.shared, "a brand new one")) == labs.a
    assert _org_of(labs.signed_in(labs.shared, PASSWORD_B)) == labs.b
    assert sign_in(labs.client(), labs.shared, PASSWORD_A).status_code == 401


def test_an_owner_resets_a_member_of_their_own_lab_only(labs: Labs) -> None:
    owner_b = labs.signed_in(labs.owners[labs.b], PASSWORD_B)
    manager_b = labs.signed_in(labs.managers[labs.b], PASSWORD_B)
    victim_session = labs.signed_in(labs.shared, PASSWORD_B)
    page = owner_b.get("/members").text
    rows = dict(re.findall(r'<th scope="row">([^<]+)</th>\s*<td><form id="m(\d+)"', page))
    shared_in_b = rows[labs.shared]
    # A manager may not; a membership of lab A is as unknown to lab B's owner as a missing one.
    manager_page = manager_b.get("/members").text
    assert (
        manager_b.post(
            f"/members/{shared_in_b}/reset", data={"csrf_token": csrf_of(manager_page)}
        ).status_code
        == 404  # the page does not exist for a manager
    )
    with labs.hub.db.read() as conn:
        in_a = conn.execute(
            sa.select(memberships.c.id)
            .join(users, users.c.id == memberships.c.user_id)
            .where(users.c.email == labs.shared)
            .order_by(memberships.c.id)
        ).first()
    assert in_a is not None
    foreign = owner_b.post(f"/members/{in_a.id}/reset", data={"csrf_token": csrf_of(page)})
    assert foreign.status_code == 404
    reset = owner_b.post(f"/members/{shared_in_b}/reset", data={"csrf_token": csrf_of(page)})
    assert reset.status_code == 200
    link = _link(reset)
    assert victim_session.get("/projects").status_code == 200  # nothing changes until the link is used
    assert set_password_through(labs.client(), link, "reset in lab B").status_code == 303
    assert victim_session.get("/projects", follow_redirects=False).status_code == 303
    assert _org_of(labs.signed_in(labs.shared, "reset in lab B")) == labs.b
    assert _org_of(labs.signed_in(labs.shared, PASSWORD_A)) == labs.a  # lab A's credential as it was
    # Single use: the link is spent.
    assert labs.client().get(link).status_code == 404


def test_links_expire_are_single_use_and_a_newer_one_replaces_the_older(labs: Labs) -> None:
    manager = labs.signed_in(labs.managers[labs.a], PASSWORD_A)
    first = _link(_invite(manager, "late@x.example"))
    owner = labs.signed_in(labs.owners[labs.a], PASSWORD_A)
    page = owner.get("/members").text
    rows = dict(re.findall(r'<th scope="row">([^<]+)</th>\s*<td><form id="m(\d+)"', page))
    second = _link(owner.post(f"/members/{rows['late@x.example']}/reset", data={"csrf_token": csrf_of(page)}))
    assert labs.client().get(first).status_code == 404  # replaced
    with labs.hub.db.write() as conn:
        conn.execute(invitations.update().values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert labs.client().get(second).status_code == 404  # expired
    assert labs.client().get("/invitations/not-a-real-token").status_code == 404


def test_a_deactivated_member_stays_signed_out_after_reactivation(labs: Labs) -> None:
    victim = labs.signed_in(labs.shared, PASSWORD_A)
    manager = labs.signed_in(labs.managers[labs.a], PASSWORD_A)
    page = manager.get("/members").text
    rows = dict(re.findall(r'<th scope="row">([^<]+)</th>\s*<td><form id="m(\d+)"', page))
    member = rows[labs.shared]
    manager.post(f"/members/{member}", data={"csrf_token": csrf_of(page), "role": "annotator"})
    assert victim.get("/projects", follow_redirects=False).status_code == 303
    manager.post(
        f"/members/{member}", data={"csrf_token": csrf_of(page), "role": "annotator", "active": "on"}
    )
    assert victim.get("/projects", follow_redirects=False).status_code == 303


def test_every_refused_account_action_is_audited(labs: Labs) -> None:
    browser = labs.signed_in(labs.shared, PASSWORD_A)
    csrf = csrf_of(browser.get("/account").text)
    browser.post(
        "/account/password",
        data={
            "csrf_token": csrf,
            "current_password": "wrong one",
            "new_password": "y" * 10,
            "repeat": "y" * 10,
        },
    )
    with labs.hub.db.read() as conn:
        actions = {
            r.action
            for r in conn.execute(sa.select(audit_events.c.action).where(audit_events.c.allowed.is_(False)))
        }
    assert "account.password" in actions
