"""Response generation: fill the ``responses`` input of the items waiting for it, with the lab's
own models, as a background job on the queue (``workflows.jobs``).

An item waits (``items.waiting``) when a question compares responses it does not have yet; it is
offered to nobody until this job has filled them.  For each waiting item, the job asks every chosen
model for every sample the item still lacks: the pair (model, sample) is the key, so a job that
failed or was killed and runs again asks only for what is missing, and never stores a response
twice.  Calls are bounded per connection (``ASSAY_MODEL_CONCURRENCY``), timed out, retried with
backoff (``llm.client``); a call that still fails is reported as the item's error and the item keeps
waiting for the next run.  Each response keeps its provenance: ``model``, ``sample``, ``params``,
``latency_ms``, ``tokens_in``, ``tokens_out`` and ``cost``.

The job writes what it got in small transactions (a few dozen items, or every half second) and its
progress with them (``jobs.done``/``total``/``errors``), extending its lease as it goes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from assay import logs
from assay.app import Assay
from assay.domain.people import Actor, Role
from assay.domain.questions import PreferenceQuestion
from assay.domain.schema import ProjectSchema
from assay.errors import Conflict, Invalid, NotFound, detail
from assay.llm.client import Caller, Endpoint, ModelError
from assay.storage import audit
from assay.storage import jobs as job_store
from assay.storage import models as store
from assay.storage.people import now
from assay.workflows import access, jobs
from assay.workflows import models as connections
from assay.workflows import projects as project_flows

log = logging.getLogger("assay.generate")

KIND = "generate"
MAX_SAMPLES = 10
MAX_ERRORS_KEPT = 100  # the job row keeps the first errors; the count is always exact
PAGE = 200  # waiting items read at a time
FLUSH_ITEMS = 32
FLUSH_S = 0.5


def start(hub: Assay, actor: Actor, project_id: int, *, models: Any, samples: Any = 1) -> dict[str, Any]:
    """Queue the generation (202): ``{job_id}``.  The same request while its job is queued or
    running answers that job again; a different one is a 409 until it ends."""
    access.require(
        hub, actor, Role.MANAGER, action="generate.start", object_type="project", object_id=project_id
    )
    project = project_flows.get(hub, actor, project_id, action="generate.start")
    names = _check_request(project.schema, models, samples)
    endpoints = connections.endpoints(hub, org_id=actor.org_id, names=names)
    del endpoints  # checked that each exists and opens; the job reads them again when it runs
    params = {"models": names, "samples": samples}
    at = now()
    with hub.db.write() as conn:
        running = job_store.active(conn, org_id=actor.org_id, project_id=project.id, kind=KIND)
        if running is not None:
            if running.params == params:
                return {"job_id": int(running.id)}
            raise Conflict(
                f"generation job {running.id} is {running.state} for this project with other models; "
                "wait for it to end (GET /api/v1/jobs/{id})"
            )
        total = store.waiting_count(conn, org_id=actor.org_id, project_id=project.id)
        job_id = job_store.submit(
            conn, org_id=actor.org_id, project_id=project.id, kind=KIND, at=at, params=params, total=total
        )
        if job_id is None:  # a concurrent request queued it between the check and the insert
            raise Conflict("a generation job was just queued for this project; read it and retry")
        audit.record(
            conn,
            action="generate.start",
            allowed=True,
            org_id=actor.org_id,
            user_id=actor.user_id or None,
            token_id=actor.token_id,
            object_type="project",
            object_id=str(project.id),
            ip=actor.ip,
            detail={"job": job_id, **params, "items": total},
        )
    return {"job_id": job_id}


def _check_request(schema: ProjectSchema, models: Any, samples: Any) -> list[str]:
    target = schema.responses_input()
    if target is None:
        raise Invalid("this project has no responses input to generate into")
    if not isinstance(models, list) or not models or not all(isinstance(m, str) and m for m in models):
        raise Invalid("models: give a list of model connection names", errors=[detail("models", "required")])
    if len(set(models)) != len(models):
        raise Invalid("models: each model once", errors=[detail("models", "holds a name twice")])
    if isinstance(samples, bool) or not isinstance(samples, int) or not 1 <= samples <= MAX_SAMPLES:
        msg = f"must be an integer from 1 to {MAX_SAMPLES}"
        raise Invalid(f"samples: {msg}", errors=[detail("samples", msg)])
    count = len(models) * samples
    paired = any(
        isinstance(q, PreferenceQuestion) and (q.input or target.name) == target.name
        for q in schema.questions
    )
    if paired and count != 2:
        msg = f"a preference question compares two responses; {len(models)} models × {samples} samples make {count}"
        raise Invalid(f"models: {msg}", errors=[detail("models", msg)])
    if not 2 <= count <= target.max_responses:
        msg = f"{len(models)} models × {samples} samples make {count} responses; the input holds 2 to {target.max_responses}"
        raise Invalid(f"models: {msg}", errors=[detail("models", msg)])
    return list(models)


def messages_for(schema: ProjectSchema, data: Mapping[str, Any]) -> list[dict[str, str]]:
    """The conversation a model is asked to continue: the prompt input, as a user turn (text) or as
    the turns it holds (chat).  ``ValueError`` when the item has none."""
    prompt = schema.prompt_input()
    if prompt is None:
        raise ValueError("the project has no prompt input (text, markdown or chat)")
    value = data.get(prompt.name)
    if isinstance(value, str) and value.strip():
        return [{"role": "user", "content": value}]
    if isinstance(value, list) and value:
        return [{"role": str(t["role"]), "content": str(t["content"])} for t in value]
    raise ValueError(f"the item has no prompt in {prompt.name!r}")


def view(hub: Assay, actor: Actor, job_id: int) -> dict[str, Any]:
    """A job as ``GET /api/v1/jobs/{id}`` shows it; managers of its organisation only (404 else)."""
    access.require(hub, actor, Role.MANAGER, action="job.read", object_type="job", object_id=job_id)
    with hub.db.read() as conn:
        row = job_store.get_job(conn, org_id=actor.org_id, job_id=job_id)
    if row is None:
        raise access.not_found(
            hub,
            actor,
            NotFound(f"job {job_id} does not exist"),
            action="job.read",
            object_type="job",
            object_id=job_id,
        )
    return public(row)


def public(row: Any) -> dict[str, Any]:
    result = row.result if isinstance(row.result, dict) else {}
    return {
        "id": int(row.id),
        "kind": row.kind,
        "state": row.state,
        "project_id": None if row.project_id is None else int(row.project_id),
        "params": row.params,
        "done": int(row.done or 0),
        "total": int(row.total or 0),
        "failed": int(result.get("failed", len(row.errors or []))),
        "errors": list(row.errors or []),
        "error": row.error,
        "created_at": row.created_at.isoformat(),
        "started_at": None if row.started_at is None else row.started_at.isoformat(),
        "finished_at": None if row.finished_at is None else row.finished_at.isoformat(),
    }


def latest(hub: Assay, actor: Actor, project_id: int) -> dict[str, Any] | None:
    """The project's newest generation job (the project page shows it), for managers."""
    if not actor.at_least(Role.MANAGER):
        return None
    with hub.db.read() as conn:
        row = job_store.latest_of(conn, org_id=actor.org_id, project_id=project_id, kind=KIND)
    return None if row is None else public(row)


# --- the job ----------------------------------------------------------------------------------------


@dataclass
class _Run:
    hub: Assay
    job: Any
    project: Any
    endpoints: list[Endpoint]
    samples: int
    input_name: str
    done: int = 0
    generated: int = 0
    failed: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)
    flushed_at: float = field(default_factory=time.monotonic)
    total: int = 0

    def error(self, item: Any, model: str | None, message: str) -> None:
        self.failed += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            entry: dict[str, Any] = {"item_id": int(item.id), "model": model, "error": message}
            if item.external_id is not None:
                entry["external_id"] = item.external_id
            self.errors.append(entry)


@jobs.handler(KIND)
def run(hub: Assay, job: Any) -> dict[str, Any]:
    """Generate for every waiting item of the job's project; the job's result counts what it did."""
    from assay.storage import projects as project_store

    with hub.db.read() as conn:
        row = project_store.get_project(conn, org_id=int(job.org_id), project_id=int(job.project_id))
    project = project_flows.from_row(row)
    params = dict(job.params or {})
    target = project.schema.responses_input()
    if target is None:
        raise ValueError("the project has no responses input any more")
    state = _Run(
        hub=hub,
        job=job,
        project=project,
        endpoints=connections.endpoints(hub, org_id=int(job.org_id), names=list(params["models"])),
        samples=int(params.get("samples", 1)),
        input_name=target.name,
    )
    with hub.db.read() as conn:
        state.total = store.waiting_count(conn, org_id=int(job.org_id), project_id=project.id)
    asyncio.run(_generate(state))
    result = {"items": state.done, "generated": state.generated, "failed": state.failed}
    logs.event(
        log,
        "generate.finished",
        job=int(job.id),
        project=project.id,
        items=state.done,
        generated=state.generated,
        failed=state.failed,
    )
    if state.failed and not state.generated and state.done:
        first = state.errors[0]["error"] if state.errors else "every call failed"
        raise RuntimeError(f"no response was generated ({state.failed} calls failed; first: {first})")
    return result


async def _generate(state: _Run) -> None:
    hub = state.hub
    config = hub.config
    width = max(8, 2 * config.model_concurrency * len(state.endpoints))
    async with Caller(
        allowed_hosts=config.model_hosts,
        timeout_s=config.model_timeout_s,
        retries=config.model_retries,
        concurrency=config.model_concurrency,
    ) as caller:
        in_flight: set[asyncio.Task[None]] = set()
        async for item in _waiting(state):
            while len(in_flight) >= width:
                finished, in_flight = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                for task in finished:
                    task.result()
                await _maybe_flush(state)
            in_flight.add(asyncio.create_task(_one_item(state, caller, item)))
        while in_flight:
            finished, in_flight = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
            for task in finished:
                task.result()
            await _maybe_flush(state)
        await _flush(state)


async def _waiting(state: _Run) -> Any:
    after = 0
    org_id = int(state.job.org_id)
    while True:

        def page(after: int = after) -> list[Any]:
            with state.hub.db.read() as conn:
                return store.waiting_page(
                    conn, org_id=org_id, project_id=state.project.id, after=after, limit=PAGE
                )

        rows = await asyncio.to_thread(page)
        if not rows:
            return
        for row in rows:
            yield row
        after = int(rows[-1].id)


async def _one_item(state: _Run, caller: Caller, item: Any) -> None:
    data = dict(item.data)
    have = list(data.get(state.input_name) or [])
    present = {(r.get("model"), r.get("sample")) for r in have if isinstance(r, dict)}
    try:
        messages = messages_for(state.project.schema, data)
    except ValueError as exc:
        state.error(item, None, str(exc))
        state.done += 1
        return
    wanted = [
        (endpoint, sample)
        for endpoint in state.endpoints
        for sample in range(1, state.samples + 1)
        if (endpoint.name, sample) not in present
    ]

    async def ask(endpoint: Endpoint, sample: int) -> dict[str, Any] | None:
        extra: dict[str, Any] = {}
        seed = endpoint.params.get("seed")
        if isinstance(seed, int) and state.samples > 1:
            extra["seed"] = seed + sample - 1  # samples differ, and each is reproducible
        try:
            got = await caller.complete(endpoint, messages, params=extra)
        except ModelError as exc:
            state.error(item, endpoint.name, exc.message)
            return None
        suffix = "" if state.samples == 1 else f"-{sample}"
        return {
            "id": f"{endpoint.name}{suffix}",
            "content": got.content,
            "model": endpoint.name,
            "sample": sample,
            "params": got.params,
            "latency_ms": got.latency_ms,
            "tokens_in": got.tokens_in,
            "tokens_out": got.tokens_out,
            "cost": got.cost,
            "finish_reason": got.finish_reason,
        }

    made = [r for r in await asyncio.gather(*(ask(e, s) for e, s in wanted)) if r is not None]
    state.done += 1
    if not made:
        return
    order = {e.name: i for i, e in enumerate(state.endpoints)}
    responses = have + made
    responses.sort(key=lambda r: (order.get(r.get("model"), len(order)), r.get("sample") or 0))
    data[state.input_name] = responses
    state.generated += len(made)
    complete = len(made) == len(wanted)
    state.pending.append({"item": int(item.id), "data": data, "waiting": not complete})


async def _maybe_flush(state: _Run) -> None:
    if len(state.pending) >= FLUSH_ITEMS or time.monotonic() - state.flushed_at >= FLUSH_S:
        await _flush(state)


async def _flush(state: _Run) -> None:
    rows, state.pending = state.pending, []
    state.flushed_at = time.monotonic()
    settings = state.project.settings
    org_id = int(state.job.org_id)

    def write() -> bool:
        with state.hub.db.write() as conn:
            # Progress first: it extends the lease only while the job is still this worker's, and a
            # worker that lost it writes nothing (the one that took over asks again).
            ours = job_store.progress(
                conn,
                job_id=int(state.job.id),
                worker=state.job.locked_by,
                done=state.done,
                total=max(state.total, state.done),
                errors=state.errors,
                until=now() + jobs.LEASE,
            )
            if ours:
                store.fill_responses(
                    conn, org_id=org_id, rows=rows, overlap=settings.overlap, gold_cap=settings.gold_cap
                )
            return ours

    still_ours = await asyncio.to_thread(write)
    if not still_ours:
        raise RuntimeError("the job's lease ran out and another worker took it over")
