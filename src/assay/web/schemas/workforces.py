"""Workforces: groups of annotators, in-house or a vendor's, with an optional cost model.

The workflow (``assay.workflows.workforces``) checks the bodies; these models describe them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from assay.web.schemas._base import Body, Ok, Public, Timestamp, checked_by, passed_through

Kind = Literal["in_house", "vendor"]


class WorkforceCreate(Body):
    """Paid per hour or per answer, not both."""

    name: str = Field(min_length=1, max_length=100, description="Unique within the organisation.")
    kind: Kind = "in_house"
    cost_per_hour: float | None = Field(default=None, ge=0)
    cost_per_answer: float | None = Field(default=None, ge=0)


class WorkforceUpdate(Body):
    """Any of the fields; null clears a cost."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    kind: Kind | None = None
    cost_per_hour: float | None = Field(default=None, ge=0)
    cost_per_answer: float | None = Field(default=None, ge=0)


# The bodies as sent: the workflow checks them, with its own messages.
WorkforceCreateBody = Annotated[dict[str, Any], checked_by(passed_through, described_as=WorkforceCreate)]
WorkforceUpdateBody = Annotated[dict[str, Any], checked_by(passed_through, described_as=WorkforceUpdate)]


class WorkforcePublic(Public):
    id: int
    name: str
    kind: Kind
    cost_per_hour: float | None
    cost_per_answer: float | None
    created_at: Timestamp
    members: int | None = Field(default=None, description="Active members (in lists).")


class WorkforceSaved(WorkforcePublic):
    ok: Ok


class WorkforceList(Public):
    ok: Ok
    workforces: list[WorkforcePublic]
