"""API for live chat within a lease (DESIGN §8): the conversation tree, new turns, judgements."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Coroutine
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Header
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from assay.app import Assay
from assay.domain.people import Role
from assay.errors import AssayError
from assay.web.api.openapi import DescribedRoute, refusals
from assay.web.deps import ActorDep, HubDep, Id, requires
from assay.web.schemas.models import ChatTree, JudgementBody, JudgementStored, TurnCreateBody, TurnOut
from assay.workflows import chat

router = APIRouter(route_class=DescribedRoute)
log = logging.getLogger("assay.chat")

# Generations whose stream lost its reader go on to the end, so that what is stored is whole.
_RUNNING: set[asyncio.Task[None]] = set()

_SSE = {
    "description": "With `Accept: text/event-stream`: the events `turn` (the stored turn, candidates "
    "pending), `delta` ({id, text}), `candidate` (one candidate ended), then `done` (the turn) or "
    "`error` ({error}).",
    "content": {"text/event-stream": {"schema": {"type": "string"}}},
}


@router.get("/assignments/{assignment_id}/turns", tags=["chat"], response_model=ChatTree)
@requires(Role.ANNOTATOR)
async def read_turns(assignment_id: Id, hub: HubDep, actor: ActorDep) -> dict[str, Any]:
    """The conversation tree of one's own assignment (a reload starts from it)."""
    return {"ok": True, **await run_in_threadpool(chat.view, hub, actor, assignment_id)}


@router.post(
    "/assignments/{assignment_id}/turns",
    tags=["chat"],
    response_model=TurnOut,
    responses={**refusals(409, 503), 200: _SSE},
)
@requires(Role.ANNOTATOR)
async def create_turn(
    assignment_id: Id,
    hub: HubDep,
    actor: ActorDep,
    body: Annotated[TurnCreateBody, Body()],
    accept: Annotated[str | None, Header()] = None,
) -> Any:
    """Write a user turn; the server asks the question's models for the candidates and stores them
    (a failed candidate says why: post the same turn again to retry)."""
    plan = await run_in_threadpool(chat.begin, hub, actor, assignment_id, body)
    if accept is not None and "text/event-stream" in accept:
        return StreamingResponse(
            _events(hub, plan),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
    # A client that goes away does not stop the generation: what is stored is a whole turn.
    await asyncio.shield(_start(chat.generate(hub, plan)))
    return {"ok": True, **await run_in_threadpool(chat.turn_view, hub, plan)}


def _start(work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
    task = asyncio.create_task(work)
    _RUNNING.add(task)
    task.add_done_callback(_RUNNING.discard)
    return task


def _event(name: str, data: Any) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


async def _events(hub: Assay, plan: chat.Plan) -> AsyncIterator[bytes]:
    queue: asyncio.Queue[tuple[str, dict[str, Any]] | None] = asyncio.Queue()

    async def emit(name: str, data: dict[str, Any]) -> None:
        await queue.put((name, data))

    async def produce() -> None:
        try:
            await chat.generate(hub, plan, emit)
        finally:
            await queue.put(None)

    yield _event("turn", await run_in_threadpool(chat.turn_view, hub, plan))
    task = _start(produce())
    ended = False
    while not ended:
        # What has come meanwhile goes out in one write: one send per burst, not per piece of text.
        pieces = [await queue.get()]
        while not queue.empty():
            pieces.append(queue.get_nowait())
        ended = pieces[-1] is None
        yield b"".join(_event(*got) for got in pieces if got is not None)
    await asyncio.wait([task])
    failure = task.exception()
    if failure is not None:
        log.error("chat turn %s failed: %s", plan.turn_id, type(failure).__name__)
        message = (
            failure.message if isinstance(failure, AssayError) else "the turn could not be stored; retry"
        )
        yield _event("error", {"error": message})
        return
    try:
        yield _event("done", await run_in_threadpool(chat.turn_view, hub, plan))
    except AssayError as exc:
        yield _event("error", {"error": exc.message})


@router.put(
    "/assignments/{assignment_id}/turns/{turn_id}",
    tags=["chat"],
    response_model=JudgementStored,
    responses=refusals(409),
)
@requires(Role.ANNOTATOR)
async def judge_turn(
    assignment_id: Id, turn_id: Id, hub: HubDep, actor: ActorDep, body: Annotated[JudgementBody, Body()]
) -> dict[str, Any]:
    """Store one's judgement of a turn; a turn the conversation went on from keeps its judgement."""
    return {"ok": True, **await run_in_threadpool(chat.judge, hub, actor, assignment_id, turn_id, body)}
