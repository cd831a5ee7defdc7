"""The OpenAPI document tells the truth about the API: security, refusals, bodies and settings.

Each rule is checked over every operation, from what the routes themselves declare (``@requires``),
so a new route is covered without being listed here.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from assay.domain.items import RECORD_FIELDS
from assay.domain.people import WORKFORCE_KINDS, Role
from assay.domain.schema import ProjectSettings
from assay.settings import Config
from assay.web.app import create_app
from assay.web.deps import ROLE_ATTRIBUTE
from assay.web.schemas.workforces import WorkforceCreate, WorkforceUpdate
from assay.workflows.projects import MEMBER_SETTINGS
from assay.workflows.workforces import FIELDS as WORKFORCE_FIELDS

ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from assay.app import Assay

    where = tmp_path_factory.mktemp("spec")
    return create_app(Assay(Config(data_dir=where, database_url=f"sqlite:///{where / 'a.db'}")))


@pytest.fixture(scope="module")
def spec(app: Any) -> dict[str, Any]:
    with TestClient(app) as client:
        body: dict[str, Any] = client.get("/api/v1/openapi.json").json()
    return body


def api_routes(app: Any) -> list[tuple[str, APIRoute]]:
    """(full path, route) of every API route."""
    inner = app
    while not hasattr(inner, "routes"):
        inner = inner.app
    return [
        (str(c.path), c.route)
        for c in iter_route_contexts(inner.routes)
        if isinstance(c.route, APIRoute) and str(c.path).startswith("/api/v1/")
    ]


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, op) for path, ops in spec["paths"].items() for method, op in ops.items()]


def test_every_authenticated_operation_needs_a_bearer_token_and_names_its_least_role(
    app: Any, spec: dict[str, Any]
) -> None:
    scheme = spec["components"]["securitySchemes"]["bearer"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer" and "assay_" in scheme["bearerFormat"]
    checked = 0
    for path, route in api_routes(app):
        role = getattr(route.endpoint, ROLE_ATTRIBUTE)
        for method in route.methods:
            op = spec["paths"][path][method.lower()]
            if isinstance(role, Role):
                assert op["security"] == [{"bearer": []}], (method, path)
                assert op["x-assay-role"] == role.label, (method, path)
                assert f"Least role: **{role.label}**" in op["description"], (method, path)
            else:
                assert "security" not in op and "x-assay-role" not in op, (method, path)
            checked += 1
    assert checked == len(operations(spec)) >= 20


def test_every_refusal_is_documented_with_the_canonical_error_body(spec: dict[str, Any]) -> None:
    """401/403 for authenticated routes, 404 for an object in the path, 413 for a body, 422 for any
    input, 429 everywhere; FastAPI's own HTTPValidationError (a shape never sent) is nowhere."""
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    assert set(schemas["ErrorBody"]["required"]) == {"ok", "error", "errors", "status"}
    for method, path, op in operations(spec):
        responses = op["responses"]
        takes_input = bool(op.get("parameters") or op.get("requestBody"))
        wanted = {"429"}
        wanted |= {"401", "403"} if "security" in op else set()
        wanted |= {"404"} if "{" in path else set()
        wanted |= {"413"} if "requestBody" in op else set()
        wanted |= {"422"} if takes_input else set()
        errors = {code for code in responses if code.startswith(("4", "5"))}
        assert wanted <= errors, (method, path, sorted(wanted - errors))
        for code in errors:
            assert responses[code]["content"]["application/json"]["schema"] == ERROR_REF, (method, path, code)
        assert "422" in errors or not takes_input, (method, path)


def test_every_json_response_has_a_declared_model(spec: dict[str, Any]) -> None:
    for method, path, op in operations(spec):
        for code, response in op["responses"].items():
            if not code.startswith("2") or code == "204":
                continue
            content = response["content"]
            assert content, (method, path, code)
            if "application/json" in content:
                assert "$ref" in content["application/json"]["schema"], (method, path, code)


def test_settings_are_the_domains_with_every_bound_and_description(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    create = schemas["ProjectCreate"]["properties"]
    assert create["schema"]["$ref"] == "#/components/schemas/ProjectSchema"
    assert {"$ref": "#/components/schemas/ProjectSettings"} in create["settings"]["anyOf"]
    settings = schemas["ProjectSettings"]["properties"]
    assert set(settings) == set(ProjectSettings.model_fields)
    assert all(prop.get("description") for prop in settings.values())
    target = next(s for s in settings["target_confidence"]["anyOf"] if s.get("type") == "number")
    assert target["exclusiveMinimum"] == 0.5 and target["exclusiveMaximum"] == 1.0
    assert settings["overlap"]["minimum"] == 1 and settings["overlap"]["maximum"] == 100
    # A partial update names every setting and defaults none: what is not sent is not changed.
    update = schemas["ProjectSettingsUpdate"]
    assert set(update["properties"]) == set(ProjectSettings.model_fields) and not update.get("required")
    assert not any("default" in prop for prop in update["properties"].values())
    # An annotator's view is declared as what they get, not as every setting.
    assert set(schemas["MemberSettings"]["properties"]) == set(MEMBER_SETTINGS)
    public = schemas["ProjectPublic"]["properties"]["settings"]["anyOf"]
    assert {"$ref": "#/components/schemas/MemberSettings"} in public


def test_the_import_body_is_declared_for_every_content_type(spec: dict[str, Any]) -> None:
    body = spec["paths"]["/api/v1/projects/{project_id}/items"]["post"]["requestBody"]
    assert body["required"] is True
    content = body["content"]
    assert set(content) == {
        "application/json",
        "application/x-ndjson",
        "text/csv",
        "application/vnd.apache.parquet",
    }
    assert content["application/json"]["schema"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/ItemRecord"},
    }
    assert content["application/vnd.apache.parquet"]["schema"]["format"] == "binary"
    record = spec["components"]["schemas"]["ItemRecord"]
    # The declaration and the import's checker name the same fields.
    assert set(record["properties"]) == RECORD_FIELDS and record["required"] == ["data"]


def test_the_workforce_bodies_describe_what_the_workflow_accepts() -> None:
    for model in (WorkforceCreate, WorkforceUpdate):
        assert tuple(model.model_fields) == WORKFORCE_FIELDS
    kinds = WorkforceCreate.model_json_schema()["properties"]["kind"]["enum"]
    assert tuple(kinds) == WORKFORCE_KINDS


def test_operations_are_named_after_their_handlers(app: Any, spec: dict[str, Any]) -> None:
    ids = [op["operationId"] for _, _, op in operations(spec)]
    assert len(ids) == len(set(ids))
    assert set(ids) == {route.endpoint.__name__ for _, route in api_routes(app)}


def test_the_docs_page_is_served_with_local_assets_and_no_inline_script(app: Any) -> None:
    with TestClient(app) as client:
        page = client.get("/api/docs")
        assert page.status_code == 200
        html = page.text
        assert "<script>" not in html and "style=" not in html
        sources = [part.split('"')[0] for part in html.split('src="')[1:]]
        links = [part.split('"')[0] for part in html.split('href="')[1:]]
        assert sources and all(src.startswith("/static/") for src in sources)
        for url in sources + [link for link in links if link.startswith("/static/")]:
            assert client.get(url).status_code == 200, url
        assert 'href="/api/docs"' in client.get("/").text or client.get("/").status_code == 303
