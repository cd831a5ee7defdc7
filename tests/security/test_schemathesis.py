"""Property-based fuzzing of the JSON API from its own OpenAPI spec, as each kind of caller.

Every operation of /api/v1/openapi.json is called with schemathesis-generated parameters and bodies
as an owner, a manager, an annotator and without a token: no call may crash (500), every error
must come in the canonical shape ``{"ok": false, "error", "errors", "status"}``, and every response
must be one the document declares for that operation: its status, its content type and, for JSON,
its schema (``ErrorBody`` for errors, the route's model otherwise).  Bounded and derandomised so
that a run is quick and repeatable.
"""

from __future__ import annotations

import json
import os
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.security.cells import finished_job, fresh_model
from tests.security.conftest import World

ROLES = ("owner", "manager", "annotator_a", "anonymous")
# The adversarial run adds the reviewer, who reaches the review and gold routes.
HOSTILE_ROLES = ("owner", "manager", "reviewer", "annotator_a", "anonymous")
MAX_EXAMPLES = 12
# The response is what the document says it is; not_a_server_error first, so a 500 reads as one.
CONFORMANCE = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def check_response(response: Any, *, where: str) -> None:
    assert response.status_code < 500, f"{where}: {response.status_code} {response.text[:300]}"
    if response.status_code < 400:
        return
    body = response.json()
    assert isinstance(body, dict), f"{where}: error body is not an object: {response.text[:200]}"
    assert set(body) == {"ok", "error", "errors", "status"}, f"{where}: {body}"
    assert body["ok"] is False and body["status"] == response.status_code, f"{where}: {body}"
    assert isinstance(body["error"], str) and body["error"], f"{where}: {body}"
    assert isinstance(body["errors"], list), f"{where}: {body}"


def test_api_fuzz_no_crash_and_canonical_errors(world: World) -> None:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", world.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12
    calls = 0
    for operation in operations:

        @settings(
            max_examples=MAX_EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def fuzz(case: Any) -> None:
            nonlocal calls
            for role in ROLES:
                headers = world.api_headers(role)
                if case.headers:
                    headers = {**case.headers, **headers}
                response = case.call(headers=headers)
                calls += 1
                check_response(response, where=f"{role} {case.method} {case.formatted_path}")
                case.validate_response(response, checks=CONFORMANCE)

        fuzz()
    assert calls >= len(operations) * len(ROLES)


# --- adversarial bodies and parameters -------------------------------------------------------------

HOSTILE_STRINGS = ("a\x00b", "\ud800", "x\udfffy", "\x00")
HOSTILE_VALUES: tuple[Any, ...] = (*HOSTILE_STRINGS, 2**64, -(2**63) - 1, 10**400)
DEEP_LEVELS = 20_000
HOSTILE_QUERY = ("%00", "a%00b", "%ED%A0%80", "%F0%9F%98%80", "%FF")


def _deep(levels: int) -> Any:
    value: Any = "leaf"
    for i in range(levels):
        value = [value] if i % 2 else {"k": value}
    return value


def _replace_strings(value: Any, hostile: str) -> Any:
    """The same structure with every string (keys too) replaced by ``hostile``: iterative."""
    if isinstance(value, str):
        return hostile
    if isinstance(value, dict):
        return {
            hostile + str(i) if i else hostile: _replace_strings(v, hostile)
            for i, v in enumerate(value.values())
        }
    if isinstance(value, list):
        return [_replace_strings(v, hostile) for v in value]
    return value


def _replace_values(value: Any, hostile: Any) -> Any:
    """The same structure, keys kept, with every string value replaced by ``hostile``."""
    if isinstance(value, str):
        return hostile
    if isinstance(value, dict):
        return {k: _replace_values(v, hostile) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_values(v, hostile) for v in value]
    return value


def hostile_bodies(body: Any) -> list[bytes]:
    """Raw JSON bodies built from a generated one: deep nesting, NUL, lone surrogates, huge numbers.

    ``json.dumps`` writes lone surrogates as ``\\udXXX`` escapes and huge integers as digits, as a
    careless client would; deep values are written by hand (the encoder recurses).
    """
    deep = b"[" * DEEP_LEVELS + b"]" * DEEP_LEVELS
    out = [deep, b'{"a": ' + deep + b"}"]
    if isinstance(body, dict):
        for key in list(body)[:4]:
            for value in HOSTILE_VALUES:
                out.append(json.dumps({**body, key: value}).encode())
            out.append(json.dumps({**body, key: "@DEEP@"}).encode().replace(b'"@DEEP@"', deep))
        for hostile in HOSTILE_STRINGS:
            out.append(json.dumps(_replace_strings(body, hostile)).encode())
        for hostile in HOSTILE_VALUES:
            out.append(json.dumps(_replace_values(body, hostile)).encode())
    elif isinstance(body, list) and body:
        out.append(json.dumps([_replace_strings(body[0], "\ud800"), *body[1:]]).encode())
    return out


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_api_fuzz_with_hostile_bodies_and_parameters(world: World) -> None:
    """Every operation, every role, with bodies and query values no client should send: no 500, the
    canonical error shape, and the server's memory stays bounded (the deep bodies alone would take
    gigabytes in a recursive parser or in ijson)."""
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", world.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    client = world.client
    # Real objects as well as generated ids, so that the hostile values reach the handlers' work
    # (a lease to submit to, an annotation to revise) and not only their 404s.
    own = world.projects["own"]
    item_id, _, annotation_id = world.annotate("annotator_a", own)
    assignment_id = world.lease("annotator_a", own)["assignment_id"]
    workforce_id = client.get("/api/v1/workforces", headers=world.api_headers("manager")).json()
    real = {
        "project_id": own,
        "item_id": item_id,
        "annotation_id": annotation_id,
        "assignment_id": assignment_id,
        "workforce_id": workforce_id["workforces"][0]["id"],
        "pause_id": 1,
        "model_id": fresh_model(world, "own"),
        "job_id": finished_job(world, "own"),
        "turn_id": 1,
    }
    rss_before = _rss_bytes()
    calls = 0

    def make_fuzz(operation: Any) -> Any:

        @settings(
            max_examples=3,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def fuzz(case: Any) -> None:
            nonlocal calls
            bodies = hostile_bodies(case.body) if operation.body else []
            queries = [f"{name}={value}" for name in (case.query or {}) for value in HOSTILE_QUERY]
            for path in (case.formatted_path, operation.path.format(**real)):
                for role in HOSTILE_ROLES:
                    headers = world.api_headers(role)
                    for raw in bodies:
                        response = client.request(
                            case.method,
                            path,
                            content=raw,
                            headers={**headers, "Content-Type": "application/json", "Idempotency-Key": "k"},
                        )
                        calls += 1
                        check_response(response, where=f"{role} {case.method} {path} body {raw[:60]!r}")
                    for query in queries:
                        response = client.request(case.method, f"{path}?{query}", headers=headers)
                        calls += 1
                        check_response(response, where=f"{role} {case.method} {path}?{query}")

        return fuzz

    for operation in operations:
        make_fuzz(operation)()
    grown = _rss_bytes() - rss_before
    assert calls > len(operations) * len(ROLES)
    assert grown < 400 * 2**20, f"the server's memory grew by {grown / 2**20:.0f} MiB"


# Bodies that pass the routes' models and reach their work: answers to a real lease and revision.
REAL_ANSWERS: tuple[Any, ...] = tuple(
    {"answers": {"sentiment": "positive", "note": value}} for value in HOSTILE_VALUES
) + tuple({"answers": {"sentiment": value}} for value in HOSTILE_VALUES)


def test_hostile_answers_to_a_real_lease_are_422(world: World) -> None:
    """Answers that pass the route's model and reach the workflow: the body's bounds refuse them
    (submit and revise hash the answers before validating them, so the bounds must come first)."""
    own = world.projects["own"]
    headers = {**world.api_headers("annotator_a"), "Content-Type": "application/json"}
    _, _, annotation_id = world.annotate("annotator_a", own)
    for number, answers in enumerate(REAL_ANSWERS):
        lease = world.lease("annotator_a", own)
        for path in (
            f"/api/v1/assignments/{lease['assignment_id']}/submit",
            f"/api/v1/annotations/{annotation_id}/revise",
        ):
            response = world.client.post(
                path,
                content=json.dumps(answers).encode(),
                headers={**headers, "Idempotency-Key": f"h{number}"},
            )
            check_response(response, where=f"{path} {answers}")
            assert response.status_code == 422, response.text
