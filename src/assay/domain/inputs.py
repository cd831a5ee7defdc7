"""Inputs: which fields of an item's ``data`` a project shows, and how (DESIGN §3)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from assay.domain._fields import Name, Strict

INPUT_KINDS = ("text", "markdown", "chat", "responses")
CHAT_ROLES = ("user", "assistant", "system", "tool")
MAX_RESPONSES = 20


class _Input(Strict):
    kind: str  # narrowed to one Literal per subclass; declared first so documents list it first
    name: Name
    label: str | None = None
    help: str | None = None
    # An optional input may be absent (or null) in an item; the UI then shows nothing for it.
    required: bool = True


class TextInput(_Input):
    """Plain text, shown pre-wrapped."""

    kind: Literal["text"]


class MarkdownInput(_Input):
    """Markdown, rendered and sanitised (no raw HTML, no remote images)."""

    kind: Literal["markdown"]


class ChatInput(_Input):
    """A conversation: a list of ``{role, content}`` turns."""

    kind: Literal["chat"]


class ResponsesInput(_Input):
    """2..``max_responses`` model responses ``{id, content, model?}`` to compare or rank."""

    kind: Literal["responses"]
    max_responses: int = Field(default=MAX_RESPONSES, ge=2, le=MAX_RESPONSES)


Input = Annotated[TextInput | MarkdownInput | ChatInput | ResponsesInput, Field(discriminator="kind")]
"""Any input, chosen by its ``kind``."""

TEXT_KINDS = ("text", "markdown")
"""Inputs whose value is one string (what spans are drawn over and what a text answer may prefill)."""
