"""Property-based fuzzing of the JSON API from its own OpenAPI spec, as each kind of caller.

Every operation of /api/v1/openapi.json is called with schemathesis-generated parameters and bodies
as an owner, a manager, an annotator and without a token: no call may crash (500), every error
must come in the canonical shape ``{"ok": false, "error", "errors", "status"}``, and every response
must be one the document declares for that operation: its status, its content type and, for JSON,
its schema (``ErrorBody`` for errors, the route's model otherwise).  Bounded and derandomised so
that a run is quick and repeatable.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.security.conftest import World

ROLES = ("owner", "manager", "annotator_a", "anonymous")
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
