"""The canonical error body, ``{"ok": false, "error", "errors": [{"loc", "msg", ...}], "status"}``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ErrorEntry(BaseModel):
    """One problem: where it is and what is wrong, with context such as the ``value`` or ``line``."""

    model_config = ConfigDict(extra="allow")

    loc: str = Field(
        description="Where: a field path (`settings.overlap`, `questions[2].scale.max`, "
        "`path.project_id`), a record of an upload (`item 3`, `line 12`), or empty."
    )
    msg: str = Field(description="What is wrong there.")


class ErrorBody(BaseModel):
    """Every failure of the API, whatever its status."""

    model_config = ConfigDict(extra="forbid")

    ok: Literal[False]
    error: str = Field(description="One sentence saying what went wrong, naming the first problem.")
    errors: list[ErrorEntry] = Field(description="Every problem found, one entry each (may be empty).")
    status: int = Field(description="The HTTP status, repeated.")
