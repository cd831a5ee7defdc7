"""`assay demo`: a demo organisation with workforces, people, four projects and their items.

A new classification project also gets simulated answers from the three workforces
(``demo.simulate``), so that the quality report, the scorecards and the vendor comparison have
something to show.  Seeding is repeatable: an existing demo keeps its projects and answers (a
project that has any answer gets no simulated ones), and gets fresh passwords (printed once; only
their hashes are stored).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import BinaryIO, cast

from assay.app import Assay
from assay.demo import content, simulate
from assay.domain.people import Actor, Role
from assay.errors import Conflict, NotFound
from assay.security import new_password
from assay.storage import people
from assay.storage import projects as project_store
from assay.workflows import admin, ingest
from assay.workflows import projects as project_flows

ORG = content.DEMO_ORG_SLUG


@dataclass
class DemoReport:
    logins: list[tuple[str, str, str, str]] = field(default_factory=list)  # email, password, role, workforce
    projects: list[tuple[int, str, int]] = field(default_factory=list)  # id, name, items imported now
    tokens: list[tuple[str, str]] = field(default_factory=list)  # email, token
    simulated: simulate.Simulated | None = None  # sample answers added now

    def describe(self, url: str) -> str:
        lines = [f"assay demo is ready at {url}", "", "Projects:"]
        for pid, name, imported in self.projects:
            lines.append(f"  {pid:>3}  {name}" + (f"  ({imported} items imported)" if imported else ""))
        if self.simulated is not None:
            sim = self.simulated
            lines += [
                "",
                f"Sample answers: {sim.answers} simulated answers on {sim.project} from "
                f"{', '.join(sim.workforces)}, so that its quality report and vendor comparison "
                "have something to show; the rest of its items are left for you.",
            ]
        lines += ["", "Logins (passwords are new on every `assay demo`):"]
        for email, password, role, workforce in self.logins:
            lines.append(f"  {email:<34} {password:<20} {role:<10} {workforce}")
        lines += ["", "API tokens (send as `Authorization: Bearer <token>`):"]
        for email, token in self.tokens:
            lines.append(f"  {email:<34} {token}")
        return "\n".join(lines)


def seed(hub: Assay) -> DemoReport:
    report = DemoReport()
    memberships: list[int] = []
    with contextlib.suppress(Conflict):  # an existing demo is reused
        admin.create_org(hub, slug=ORG, name=content.DEMO_ORG_NAME)
    for person in content.DEMO_PEOPLE:
        password = new_password()
        created = admin.create_user(
            hub,
            org=ORG,
            email=person.email,
            name=person.display_name,
            role=person.role,
            workforce=person.workforce,
            workforce_kind=person.workforce_kind or "in_house",
            password=password,
        )
        report.logins.append((person.email, password, person.role, person.workforce or "-"))
        if person.role == "annotator":
            memberships.append(created.membership_id)
    with hub.db.read() as conn:
        org = people.org_by_slug(conn, slug=ORG)
    owner = Actor(
        user_id=0,
        email="operator@localhost",
        name="operator",
        org_id=int(org.id),
        org_slug=ORG,
        membership_id=0,
        role=Role.OWNER,
        workforce_id=None,
        workforce_name=None,
    )
    for name in content.DEMO_PROJECTS:
        spec = content.load_project(name)
        try:
            with hub.db.read() as conn:
                row = project_store.find_project(conn, org_id=owner.org_id, ref=spec["name"])
            project = project_flows.get(hub, owner, int(row.id))
            imported = 0
        except NotFound:
            project = project_flows.create(
                hub,
                owner,
                name=spec["name"],
                schema=spec["schema"],
                settings=spec.get("settings"),
                description=spec.get("description", ""),
            )
            with content.items_path(name).open("rb") as fh:
                result = ingest.import_items(
                    hub,
                    owner,
                    project,
                    source=cast(BinaryIO, fh),
                    fmt="jsonl",
                    name=f"{name}.jsonl",
                    on_duplicate="skip",
                )
            imported = result.imported
        report.projects.append((project.id, project.name, imported))
        if name == simulate.PROJECT and not simulate.has_answers(hub, project):
            simulate.set_costs(hub, owner)
            report.simulated = simulate.work(hub, project, simulate.annotators(hub, memberships))
    by_role = {p.role: p.email for p in reversed(content.DEMO_PEOPLE)}
    for role in ("manager", "annotator"):
        if role in by_role:
            report.tokens.append(
                (by_role[role], admin.create_token(hub, org=ORG, email=by_role[role], name="demo"))
            )
    return report
