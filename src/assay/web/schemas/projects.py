"""Projects: create, update and the public view (DESIGN §5 ``/api/v1/projects``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from assay.domain.schema import ProjectSchema, ProjectSettings, parse_schema, parse_settings
from assay.web.schemas._base import Body, Ok, Public, Timestamp, checked_by, optional_fields, passed_through
from assay.workflows.projects import MEMBER_SETTINGS

ProjectSettingsUpdate = optional_fields(
    ProjectSettings,
    name="ProjectSettingsUpdate",
    doc="Settings to change: merged into the project's current settings, then validated whole.",
)

MemberSettings = optional_fields(
    ProjectSettings,
    name="MemberSettings",
    doc="The settings an annotator (or a vendor's reviewer) reads: what annotating needs, nothing "
    "that describes gold or other workforces.",
    only=MEMBER_SETTINGS,
)


class ProjectCreate(Body):
    name: str = Field(description="Unique within the organisation, 1 to 200 characters.")
    project_schema: Annotated[ProjectSchema, checked_by(parse_schema, described_as=ProjectSchema)] = Field(
        alias="schema", description="Inputs (what is shown) and questions (what is asked), DESIGN §3."
    )
    settings: Annotated[
        ProjectSettings | None, checked_by(parse_settings, described_as=ProjectSettings | None)
    ] = Field(default=None, description="How the project is run; every setting has a default.")
    description: str = ""


class ProjectUpdate(Body):
    name: str | None = Field(default=None, description="A new name, unique within the organisation.")
    description: str | None = Field(default=None, description="At most 10,000 characters.")
    # Merged into the current settings by the workflow, which validates the result whole.
    settings: Annotated[
        dict[str, object] | None, checked_by(passed_through, described_as=ProjectSettingsUpdate | None)
    ] = Field(
        default=None, description="Settings to change; merged into the current ones and validated whole."
    )


class ProjectCounts(Public):
    """What is left for the caller; the totals only for those who may know about gold."""

    left: int = Field(description="Items the caller can still be given (what `next` will serve).")
    done: int = Field(description="The caller's submitted answers.")
    leased: int = Field(description="The caller's live leases.")
    items: int | None = Field(default=None, description="Items in the project (managers, reviewers).")
    gold: int | None = Field(default=None, description="Gold items (managers, reviewers).")
    annotations: int | None = Field(default=None, description="Answers collected (managers, reviewers).")
    complete: int | None = Field(
        default=None, description="Items with all their answers (managers, reviewers)."
    )
    waiting: int | None = Field(
        default=None,
        description="Items still waiting for the responses a question compares (to be generated; "
        "offered to nobody until then).",
    )


class ProjectPublic(Public):
    """A project as the caller may read it: managers and reviewers who may see gold get every
    setting (``ProjectSettings``); annotators and vendors' reviewers get ``MemberSettings``."""

    id: int
    name: str
    description: str
    project_schema: ProjectSchema = Field(alias="schema")
    settings: ProjectSettings | MemberSettings  # type: ignore[valid-type]
    created_at: Timestamp
    counts: ProjectCounts | None = Field(
        default=None, description="Present when one project is read (`GET /projects/{id}`, `PATCH`)."
    )


class ProjectList(Public):
    ok: Ok
    projects: list[ProjectPublic]
