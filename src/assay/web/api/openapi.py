"""What the OpenAPI document says about every API route, derived from what the route declares.

One route class (``DescribedRoute``) reads each route's declared least role (``@requires``), its
parameters and its body, and from them documents, for every operation:

- the bearer security requirement and the least role (in the description and as ``x-assay-role``);
- the refusals it can answer, each with the canonical ``ErrorBody``: 401 and 403 for an
  authenticated route, 404 when the path names an object, 413 when it takes a body, 422 when it
  takes any input (this replaces FastAPI's own ``HTTPValidationError``, a shape the server never
  sends), and 429 everywhere (the rate limit); a route adds what its workflow can also refuse
  (``refusals(409)``).

Responses are sent as their declared model serialises them with ``exclude_unset``: exactly the
fields the workflow set, so an optional field that a caller does not get is absent, not null.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_dependant
from pydantic import BaseModel

from assay.domain.people import Role
from assay.web.deps import ROLE_ATTRIBUTE, AuthorisedRoute
from assay.web.schemas.errors import ErrorBody

BEARER = "bearer"
SECURITY_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "assay_…",
    "description": "An API token (`assay token create`, or the members page): "
    "`Authorization: Bearer assay_…`.  The pages' own scripts use the session cookie instead, "
    "with the page's CSRF token in `X-CSRF-Token` on unsafe methods.",
}

REFUSALS = {
    401: "No token, or a token that is unknown, revoked or of a deactivated membership.",
    403: "The caller's role is below the route's least role, or the workflow refuses the caller "
    "(a paused annotator, a missing skill, a browser request without its CSRF token).",
    404: "The object does not exist, or is not visible to the caller (another organisation's, "
    "another workforce's): both answer alike.",
    409: "The request conflicts with the object's state (a name taken, a lease no longer live, "
    "an answer already submitted).",
    413: "The request body is larger than the server accepts.",
    422: "Invalid input: a parameter or a field of the body, named in `errors[].loc`.",
    429: "Too many requests from this token (or address); wait `Retry-After` seconds.",
    503: "A service the request needs is not there (a model connection, the secret key); the "
    "message says which.",
}

# Models the spec refers to that no route parameter declares (e.g. the streamed import body).
_COMPONENTS: dict[str, type[BaseModel]] = {}


def refusals(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` entries of these error statuses, each with the canonical body."""
    return {status: {"model": ErrorBody, "description": REFUSALS[status]} for status in statuses}


def component(model: type[BaseModel]) -> dict[str, str]:
    """A ``$ref`` to ``model``, which the document then carries in ``components.schemas``."""
    _COMPONENTS[model.__name__] = model
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def streamed(description: str, media_types: Iterable[str]) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` entry of a 200 that is not JSON: a file in one of ``media_types``."""
    content: dict[str, Any] = {}
    for media_type in media_types:
        bare = media_type.split(";")[0].strip()
        binary = not (bare.startswith("text/") or bare.endswith("json"))
        content[bare] = {"schema": {"type": "string", **({"format": "binary"} if binary else {})}}
    return {200: {"description": description, "content": content}}


def _inputs(path: str, endpoint: Callable[..., Any]) -> tuple[bool, bool]:
    """(whether the route takes parameters, whether FastAPI reads a body for it)."""
    params = body = False
    pending: list[Dependant] = [get_dependant(path=path, call=endpoint)]
    while pending:
        found = pending.pop()
        params = params or bool(
            found.path_params or found.query_params or found.header_params or found.cookie_params
        )
        body = body or bool(found.body_params)
        pending.extend(found.dependencies)
    return params, body


class DescribedRoute(AuthorisedRoute):
    """An ``AuthorisedRoute`` whose OpenAPI operation says who may call it and how it can fail."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        role = getattr(endpoint, ROLE_ATTRIBUTE, None)
        extra: dict[str, Any] = dict(kwargs.get("openapi_extra") or {})
        statuses = [429]
        if isinstance(role, Role):
            statuses += [401, 403]
            extra.setdefault("security", [{BEARER: []}])
            extra["x-assay-role"] = role.label
            doc = kwargs.get("description") or inspect.cleandoc(endpoint.__doc__ or "")
            needs = f"Least role: **{role.label}** (a bearer token)."
            kwargs["description"] = f"{doc}\n\n{needs}" if doc else needs
        if "{" in path:
            statuses.append(404)
        params, body = _inputs(path, endpoint)
        body = body or "requestBody" in extra  # a body the route streams itself
        if body:
            statuses.append(413)
        if params or body:
            statuses.append(422)
        declared = kwargs.get("responses") or {}
        kwargs["responses"] = {**refusals(*sorted(statuses)), **declared}
        kwargs["openapi_extra"] = extra or None
        kwargs["response_model_exclude_unset"] = True
        # Operations are named after their handlers (``create_project``), which clients use as names.
        kwargs["operation_id"] = kwargs.get("operation_id") or endpoint.__name__
        super().__init__(path, endpoint, **kwargs)


def install(app: FastAPI) -> None:
    """Complete the generated document once: the bearer scheme and the extra components."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        first = app.openapi_schema is None
        spec = generate()
        if first:
            components = spec.setdefault("components", {})
            components.setdefault("securitySchemes", {})[BEARER] = SECURITY_SCHEME
            schemas = components.setdefault("schemas", {})
            for name, model in sorted(_COMPONENTS.items()):
                schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                schemas.update(schema.pop("$defs", {}))
                schemas[name] = schema
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
