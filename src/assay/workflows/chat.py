"""Live chat within a lease: user turns, server-generated candidates, judgements (DESIGN §8).

``begin`` checks a new turn and stores it with pending candidates (a database write, in a worker
thread); ``generate`` asks the models for the candidates, streaming their text to an optional
``emit`` callback, and stores each one as it ends.  The annotator never sends a model's text: the
submission refers to candidate ids, checked against the tree the server stored
(``assay.domain.chat``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool

from assay import logs
from assay.app import Assay
from assay.domain import chat as rules
from assay.domain.people import Actor
from assay.domain.questions import ChatQuestion
from assay.errors import Conflict, Invalid, NotFound, Unavailable, detail
from assay.llm.client import Caller, Endpoint, ModelError, StreamStats
from assay.storage import chat as store
from assay.storage import leases
from assay.storage import projects as project_store
from assay.storage.people import now
from assay.workflows import access, gates
from assay.workflows import models as connections
from assay.workflows import projects as project_flows
from assay.workflows.annotate import lookup_assignment

log = logging.getLogger("assay.chat")

Emit = Callable[[str, dict[str, Any]], Awaitable[None]]


@dataclass
class Plan:
    """A turn stored as pending, and what its candidates need."""

    org_id: int
    assignment_id: int
    item_id: int
    turn_id: int
    messages: list[dict[str, str]]
    candidates: list[tuple[int, Endpoint]]  # (candidate id, the connection that makes it), as shown
    generate: bool  # False: the item's shared turn exists already (or another request makes it)
    parent: int | None = None
    content: str = ""
    author: str = "human"
    # What generation made of each candidate, by id: {content, state, error}
    results: dict[int, dict[str, Any]] = field(default_factory=dict)


def _stale_after(hub: Assay) -> timedelta:
    # A pending turn older than every attempt its calls may take was left by a process that died.
    config = hub.config
    return timedelta(seconds=config.model_timeout_s * (config.model_retries + 1) + 30)


def _problem(exc: rules.ChatProblem, where: str) -> Invalid:
    loc = f"{where}{exc.where}"
    return Invalid(f"{loc}: {exc.msg}", errors=[detail(loc, exc.msg)])


def _context(
    hub: Assay, actor: Actor, assignment_id: int, action: str, *, live: bool = True
) -> tuple[Any, Any, ChatQuestion]:
    row = lookup_assignment(hub, actor, assignment_id, action)
    project = project_flows.get(hub, actor, int(row.project_id), action=action)
    question = project.schema.chat_question()
    if question is None:
        raise Conflict(f"project {project.id} has no chat question")
    if live:
        gates.ensure_not_paused(hub, actor, project, action=action)
        if row.status != "leased" or row.expires_at <= now():
            raise Conflict(f"assignment {assignment_id} is no longer a live lease; ask for the next item")
    return row, project, question


def public_turn(turn: rules.Turn) -> dict[str, Any]:
    return {
        "turn_id": turn.id,
        "parent": turn.parent,
        "content": turn.content,
        "author": turn.author,
        "candidates": [
            {"id": c.id, "model": c.model, "content": c.content, "state": c.state, "error": c.error}
            for c in turn.candidates
        ],
        "judgement": None if turn.judgement is None else dict(turn.judgement),
        "children": list(turn.children),
    }


def view(hub: Assay, actor: Actor, assignment_id: int) -> dict[str, Any]:
    """The assignment's conversation tree (its own turns and the item's shared one)."""
    row, _project, question = _context(hub, actor, assignment_id, "chat.read", live=False)
    with hub.db.read() as conn:
        tree = store.tree(conn, org_id=actor.org_id, assignment_id=assignment_id, item_id=int(row.item_id))
    return {
        "question": question.name,
        "max_turns": question.max_turns,
        "turns": [public_turn(t) for t in tree.values()],
    }


def _item_prefix(question: ChatQuestion, data: Mapping[str, Any]) -> list[dict[str, str]] | None:
    """The messages an item fixes at the start (None when the question has no input)."""
    if question.input is None:
        return None
    value = data.get(question.input)
    if isinstance(value, str) and value.strip():
        return [{"role": "user", "content": value}]
    if isinstance(value, list) and value and all(isinstance(t, Mapping) for t in value):
        turns = [{"role": str(t.get("role")), "content": str(t.get("content"))} for t in value]
        if turns[-1]["role"] == "user":
            return turns
        raise Conflict(f"the item's {question.input!r} must end with a user turn for the models to answer")
    raise Conflict(f"the item has no {question.input!r} to start the conversation from")


def _endpoints(hub: Assay, org_id: int, question: ChatQuestion) -> dict[str, Endpoint]:
    try:
        found = connections.endpoints(hub, org_id=org_id, names=list(question.models))
    except Invalid:
        missing = ", ".join(question.models)
        raise Unavailable(
            f"a model connection of this question ({missing}) does not exist any more; ask a manager"
        ) from None
    return {e.name: e for e in found}


def begin(hub: Assay, actor: Actor, assignment_id: int, body: Any) -> Plan:
    """Check a new user turn and store it with pending candidates."""
    row, project, question = _context(hub, actor, assignment_id, "chat.turn")
    if not isinstance(body, Mapping):
        raise Invalid("a turn is an object with content and parent")
    unknown = sorted(str(k) for k in body if k not in ("content", "parent"))
    if unknown:
        raise Invalid(
            f"{unknown[0]}: unknown field; a turn has content and parent",
            errors=[detail(unknown[0], "unknown field")],
        )
    parent, content = body.get("parent"), body.get("content")
    if parent is not None and (isinstance(parent, bool) or not isinstance(parent, int)):
        raise Invalid(
            "parent: give the id of the turn this one follows", errors=[detail("parent", "not a turn id")]
        )
    shared = parent is None and content is None
    if shared and question.input is None:
        raise Invalid("content: write the user turn", errors=[detail("content", "is required")])
    if not shared:
        try:
            content = rules.check_user_turn(content)
        except rules.ChatProblem as exc:
            raise _problem(exc, "") from None
        if parent is None and question.input is not None:
            msg = "this conversation starts from the item's turn: give its id as parent (POST without content makes it)"
            raise Invalid(f"parent: {msg}", errors=[detail("parent", msg)])
    endpoints = _endpoints(hub, actor.org_id, question)
    models = [question.models[k % len(question.models)] for k in range(question.n_candidates)]
    at = now()
    item_id = int(row.item_id)

    def store_turn(conn: Any) -> Plan:
        item = project_store.get_item(conn, org_id=actor.org_id, item_id=item_id)
        prefix = _item_prefix(question, item.data)
        tree = store.tree(conn, org_id=actor.org_id, assignment_id=assignment_id, item_id=item_id)
        own = store.assignment_turns(conn, org_id=actor.org_id, assignment_id=assignment_id)
        stale = at - _stale_after(hub)
        if any(t.state == "pending" and t.created_at > stale for t in own):
            raise Conflict("a turn of this conversation is being generated; wait for it")
        if len(own) >= rules.TURN_BUDGET * question.max_turns:
            raise Conflict(
                f"this conversation has made {len(own)} turns, the most one assignment may "
                f"({rules.TURN_BUDGET} x max_turns); submit or skip it"
            )
        if shared:
            existing = store.shared_turn(conn, org_id=actor.org_id, item_id=item_id)
            if existing is not None:
                if existing.state == "done" or (existing.state == "pending" and existing.created_at > stale):
                    return Plan(
                        actor.org_id, assignment_id, item_id, int(existing.id), [], [], generate=False
                    )
                store.delete_turn(conn, org_id=actor.org_id, turn_id=int(existing.id))  # failed: made again
            messages = rules.history(question, tree, None, prefix=prefix)
            assert prefix is not None
            text, author, owner = prefix[-1]["content"], "item", None
        else:
            if parent is not None and parent not in tree:
                raise _NoSuchTurn(parent)
            if parent is not None:
                turn = tree[parent]
                if not turn.usable:
                    raise Conflict(f"turn {parent} has a failed candidate; retry it before going on")
                if turn.judgement is None:
                    raise Conflict(f"judge turn {parent} before the conversation goes on from it")
                depth = len(rules.path_to(tree, parent))
                if depth >= question.max_turns:
                    raise Conflict(f"this conversation has reached its {question.max_turns} turns; submit it")
            try:
                messages = rules.history(question, tree, parent, prefix=prefix)
            except rules.ChatProblem as exc:
                raise Conflict(exc.msg) from None
            text, author, owner = str(content), "human", assignment_id
            messages.append({"role": "user", "content": text})
        turn_id, ids = store.insert_turn(
            conn,
            values={
                "org_id": actor.org_id,
                "project_id": project.id,
                "item_id": item_id,
                "assignment_id": owner,
                "parent_id": parent,
                "content": text,
                "author": author,
                "state": "pending",
                "created_at": at,
            },
            models=models,
            at=at,
        )
        # A conversation is slow work: every turn renews the lease for another lease period.
        leases.extend(
            conn,
            assignment_id=assignment_id,
            at=at,
            until=at + timedelta(seconds=project.settings.lease_seconds),
        )
        made = [(cid, endpoints[m]) for cid, m in zip(ids, models, strict=True)]
        order = rules.shown_order(ids, assignment_id=assignment_id, turn_id=turn_id)
        made.sort(key=lambda c: order.index(c[0]))
        return Plan(
            actor.org_id, assignment_id, item_id, turn_id, messages, made, generate=True,
            parent=parent, content=text, author=author,
        )  # fmt: skip

    # Two annotators who open an item at once both try to make its shared first turn; the unique
    # index lets one in, and the other then finds it (on SQLite the writer lock already orders them).
    for attempt in (1, 2):
        try:
            with hub.db.write() as conn:
                return store_turn(conn)
        except sa.exc.IntegrityError:
            if not shared or attempt == 2:
                raise
        except _NoSuchTurn as missing:  # audited once the write is over (the audit is a write of its own)
            raise access.not_found(
                hub, actor, NotFound(f"turn {missing.turn_id} does not exist"),
                action="chat.turn", object_type="chat_turn", object_id=missing.turn_id,
            ) from None  # fmt: skip
    raise AssertionError("unreachable")  # pragma: no cover


class _NoSuchTurn(Exception):
    def __init__(self, turn_id: int) -> None:
        self.turn_id = turn_id


async def generate(hub: Assay, plan: Plan, emit: Emit | None = None) -> None:
    """Ask the models for the plan's candidates, each streamed to ``emit`` as it comes, stored as it
    ends (failed with a readable reason when the model is down, slow or answers garbage)."""
    if not plan.generate:
        await _wait_shared(hub, plan)
        return
    config = hub.config
    async with Caller(
        allowed_hosts=config.model_hosts,
        timeout_s=config.model_timeout_s,
        retries=config.model_retries,
        concurrency=config.model_concurrency,
    ) as caller:
        await asyncio.gather(*(_candidate(hub, caller, plan, cid, e, emit) for cid, e in plan.candidates))
    state = "done" if all(r["state"] == "done" for r in plan.results.values()) else "failed"

    def finish() -> None:
        # One write for the whole turn: its candidates and its state.
        with hub.db.write() as conn:
            for cid, result in plan.results.items():
                store.finish_candidate(
                    conn, org_id=plan.org_id, candidate_id=cid, content=result["content"],
                    state=result["state"], error=result["error"], meta=result["meta"], cost=result["meta"]["cost"],
                )  # fmt: skip
            store.finish_turn(conn, org_id=plan.org_id, turn_id=plan.turn_id, state=state)

    await run_in_threadpool(finish)
    logs.event(log, "chat.turn", turn=plan.turn_id, assignment=plan.assignment_id, state=state)


async def _candidate(
    hub: Assay, caller: Caller, plan: Plan, cid: int, endpoint: Endpoint, emit: Emit | None
) -> str:
    parts: list[str] = []
    stats = StreamStats()
    started = time.perf_counter()
    error: str | None = None
    attempt = 0
    while True:
        try:
            async for piece in caller.stream(endpoint, plan.messages, stats=stats):
                parts.append(piece)
                if emit is not None:
                    await emit("delta", {"id": cid, "text": piece})
            if not "".join(parts).strip():
                raise ModelError(f"model {endpoint.name!r} answered with no text")
            break
        except ModelError as exc:
            # A failure before any text is retried like any call; once text is on the screen it is not.
            if exc.retryable and not parts and attempt < hub.config.model_retries:
                attempt += 1
                await asyncio.sleep(min(8.0, 0.5 * 2**attempt))
                continue
            error = exc.message
            break
    content = "".join(parts)
    state = "failed" if error is not None else "done"
    latency = round((time.perf_counter() - started) * 1000)
    cost = endpoint.cost(stats.tokens_in, stats.tokens_out)
    meta = {
        "model_id": endpoint.model,
        "params": stats.params,
        "latency_ms": latency,
        "tokens_in": stats.tokens_in,
        "tokens_out": stats.tokens_out,
        "cost": cost,
        "finish_reason": stats.finish_reason,
    }

    plan.results[cid] = {"content": content, "state": state, "error": error, "meta": meta}
    if emit is not None:
        await emit(
            "candidate",
            {"id": cid, "model": endpoint.name, "content": content, "state": state, "error": error},
        )
    return state


async def _wait_shared(hub: Assay, plan: Plan) -> None:
    """The item's shared turn is being made by another annotator's request: wait until it ends."""
    deadline = time.monotonic() + _stale_after(hub).total_seconds()

    def state() -> str | None:
        with hub.db.read() as conn:
            row = store.turn_row(conn, org_id=plan.org_id, turn_id=plan.turn_id)
        return None if row is None else str(row.state)

    while time.monotonic() < deadline:
        if await run_in_threadpool(state) != "pending":
            return
        await asyncio.sleep(0.25)


def turn_view(hub: Assay, plan: Plan) -> dict[str, Any]:
    """The plan's turn as the assignment sees it now: from the plan itself for a turn made by this
    request (nothing to read back), from the store for the item's shared turn made by another."""
    if plan.generate:
        return {
            "turn_id": plan.turn_id,
            "parent": plan.parent,
            "content": plan.content,
            "author": plan.author,
            "candidates": [
                {
                    "id": cid,
                    "model": endpoint.name,
                    "content": plan.results.get(cid, {}).get("content", ""),
                    "state": plan.results.get(cid, {}).get("state", "pending"),
                    "error": plan.results.get(cid, {}).get("error"),
                }
                for cid, endpoint in plan.candidates
            ],
            "judgement": None,
            "children": [],
        }
    with hub.db.read() as conn:
        tree = store.tree(conn, org_id=plan.org_id, assignment_id=plan.assignment_id, item_id=plan.item_id)
    turn = tree.get(plan.turn_id)
    if turn is None:
        raise Conflict("the item's first turn failed and is being made again; retry")
    return public_turn(turn)


def judge(hub: Assay, actor: Actor, assignment_id: int, turn_id: int, body: Any) -> dict[str, Any]:
    """Store the assignment's judgement of a turn (a server-side draft of the answer)."""
    row, _project, question = _context(hub, actor, assignment_id, "chat.judge")
    try:
        return _judge(hub, actor, row, question, assignment_id, turn_id, body)
    except _NoSuchTurn:  # audited once the write is over (the audit is a write of its own)
        raise access.not_found(
            hub, actor, NotFound(f"turn {turn_id} does not exist"),
            action="chat.judge", object_type="chat_turn", object_id=turn_id,
        ) from None  # fmt: skip


def _judge(
    hub: Assay, actor: Actor, row: Any, question: ChatQuestion, assignment_id: int, turn_id: int, body: Any
) -> dict[str, Any]:
    with hub.db.write() as conn:
        tree = store.tree(conn, org_id=actor.org_id, assignment_id=assignment_id, item_id=int(row.item_id))
        turn = tree.get(turn_id)
        if turn is None:
            raise _NoSuchTurn(turn_id)
        try:
            judgement = rules.check_judgement(question, turn, body)
        except rules.ChatProblem as exc:
            raise _problem(exc, "judgement") from None
        if turn.children and turn.judgement is not None and dict(turn.judgement) != judgement:
            raise Conflict(
                f"the conversation went on from turn {turn_id} as it was judged; "
                "to judge it otherwise, branch: write a new turn after its parent"
            )
        store.put_judgement(
            conn,
            org_id=actor.org_id,
            assignment_id=assignment_id,
            turn_id=turn_id,
            judgement=judgement,
            at=now(),
        )
    return {"turn_id": turn_id, "judgement": judgement}
