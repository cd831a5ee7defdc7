"""Model connections, generation and jobs (DESIGN §8).

The workflows (``assay.workflows.models``, ``assay.workflows.generate``) check the bodies with their
own messages; these models describe them, and describe every response exactly."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from assay.web.schemas._base import Body, Ok, Public, Timestamp, checked_by, passed_through


class Price(Body):
    input_per_mtok: float | None = Field(default=None, ge=0, description="Price per million input tokens.")
    output_per_mtok: float | None = Field(default=None, ge=0, description="Price per million output tokens.")


class ModelCreate(Body):
    """An OpenAI-compatible chat-completions endpoint (`POST {base_url}/chat/completions`).

    `base_url` must be on a host the operator allows (`ASSAY_MODEL_HOSTS`)."""

    name: str = Field(min_length=1, max_length=100, description="Unique within the organisation.")
    base_url: str = Field(min_length=1, max_length=500, examples=["http://127.0.0.1:8080/v1"])
    model: str = Field(min_length=1, max_length=200, description="The model name the server expects.")
    api_key: str | None = Field(
        default=None, max_length=4096, description="Sealed at rest; never returned or logged."
    )
    params: dict[str, Any] | None = Field(
        default=None,
        description="Default parameters: temperature, top_p, max_tokens, seed, stop, presence_penalty, "
        "frequency_penalty; and `concurrency` (calls in flight at once, at most ASSAY_MODEL_CONCURRENCY).",
    )
    price: Price | None = None


ModelCreateBody = Annotated[dict[str, Any], checked_by(passed_through, described_as=ModelCreate)]


class PricePublic(Public):
    input_per_mtok: float | None
    output_per_mtok: float | None


class ModelPublic(Public):
    id: int
    name: str
    base_url: str
    model: str
    params: dict[str, Any]
    price: PricePublic | None
    has_key: bool = Field(description="Whether an API key is stored (the key itself is never returned).")
    created_at: Timestamp


class ModelList(Public):
    ok: Ok
    models: list[ModelPublic]


class GenerateRequest(Body):
    models: list[str] = Field(min_length=1, description="Names of model connections, in response order.")
    samples: int = Field(default=1, ge=1, le=10, description="Responses per model and item.")


GenerateBody = Annotated[dict[str, Any], checked_by(passed_through, described_as=GenerateRequest)]


class JobQueued(Public):
    ok: Ok
    job_id: int


class JobError(Public):
    item_id: int
    external_id: str | None = None
    model: str | None
    error: str


class JobPublic(Public):
    ok: Ok
    id: int
    kind: str
    state: Literal["queued", "running", "done", "failed"]
    project_id: int | None
    params: dict[str, Any] | None
    done: int = Field(description="Items handled so far.")
    total: int = Field(description="Items the job has to handle.")
    failed: int = Field(description="Calls that failed (each is in `errors`, up to the first 100).")
    errors: list[JobError]
    error: str | None = Field(description="Why the job as a whole failed, if it did.")
    created_at: Timestamp
    started_at: Timestamp | None
    finished_at: Timestamp | None


# --- live chat (DESIGN §8) ---------------------------------------------------------------------------


class TurnCreate(Body):
    """A user turn of a live chat.  Without `content` and `parent`: the item's fixed first turn
    (a question with an `input`), whose candidates everyone judging the item shares."""

    content: str | None = Field(default=None, max_length=20_000, description="What the user says.")
    parent: int | None = Field(default=None, description="The turn this one follows (its judged answer).")


TurnCreateBody = Annotated[dict[str, Any], checked_by(passed_through, described_as=TurnCreate)]


class Judgement(Body):
    """A turn's judgement: `preferred` (a candidate id, or "tie") with a `strength`, or a `ranking`
    (groups of candidate ids, best first); optionally a `rewrite` of the chosen answer (stored as
    human-written) and a `rating` of it."""

    preferred: int | Literal["tie"] | None = None
    strength: int | None = Field(default=None, ge=1, le=5)
    ranking: list[list[int]] | None = None
    rewrite: str | None = Field(default=None, max_length=20_000)
    rating: int | None = None


JudgementBody = Annotated[dict[str, Any], checked_by(passed_through, described_as=Judgement)]


class CandidatePublic(Public):
    id: int = Field(description="The server's id; a submission refers to it.")
    model: str
    content: str
    state: Literal["pending", "done", "failed"]
    error: str | None = Field(description="Why the model gave no usable answer (retry the turn).")


class JudgementPublic(Public):
    preferred: int | Literal["tie"] | None = None
    strength: int | None = None
    ranking: list[list[int]] | None = None
    rewrite: str | None = None
    rating: int | None = None


class TurnPublic(Public):
    turn_id: int
    parent: int | None
    content: str
    author: Literal["human", "item"]
    candidates: list[CandidatePublic] = Field(description="In the order this annotator is shown them.")
    judgement: JudgementPublic | None
    children: list[int]


class TurnOut(TurnPublic):
    ok: Ok


class ChatTree(Public):
    ok: Ok
    question: str
    max_turns: int
    turns: list[TurnPublic]


class JudgementStored(Public):
    ok: Ok
    turn_id: int
    judgement: JudgementPublic
