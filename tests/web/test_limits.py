"""Request limits: oversized bodies and uploads are refused with 413, never buffered."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import orjson
from fastapi.testclient import TestClient

from assay.app import Assay
from assay.web.app import create_app
from tests.factories import TEXT_SCHEMA, make_member, make_org, text_items


def _small_limits(hub: Assay) -> Assay:
    hub.config = dataclasses.replace(hub.config, max_body_bytes=2048, max_import_bytes=4096)
    return hub


def test_an_upload_over_the_import_limit_is_413_and_imports_nothing(hub: Assay) -> None:
    _small_limits(hub)
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    with TestClient(create_app(hub)) as api:
        project_id = api.post(
            "/api/v1/projects", json={"name": "p", "schema": TEXT_SCHEMA}, headers=manager.headers
        ).json()["id"]
        body = b"".join(orjson.dumps(i) + b"\n" for i in text_items(200))
        assert len(body) > 4096

        def chunks() -> Iterator[bytes]:  # streamed without a Content-Length, like a chunked upload
            for start in range(0, len(body), 1000):
                yield body[start : start + 1000]

        streamed = api.post(
            f"/api/v1/projects/{project_id}/items",
            content=chunks(),
            headers={**manager.headers, "Content-Type": "application/x-ndjson"},
        )
        assert streamed.status_code == 413
        assert streamed.json()["status"] == 413 and "ASSAY_MAX_IMPORT_BYTES" in streamed.json()["error"]
        declared = api.post(
            f"/api/v1/projects/{project_id}/items",
            content=body,
            headers={**manager.headers, "Content-Type": "application/x-ndjson"},
        )
        assert declared.status_code == 413
        counts = api.get(f"/api/v1/projects/{project_id}", headers=manager.headers).json()["counts"]
        assert counts["items"] == 0


def test_a_json_body_over_the_limit_is_413(hub: Assay) -> None:
    _small_limits(hub)
    manager = make_member(hub, make_org(hub), role="manager")
    with TestClient(create_app(hub)) as api:
        big = {"name": "p", "schema": TEXT_SCHEMA, "description": "x" * 5000}
        response = api.post("/api/v1/projects", json=big, headers=manager.headers)
        assert response.status_code == 413
        assert set(response.json()) == {"ok", "error", "errors", "status"}


def test_a_chunked_json_body_over_the_limit_is_413_without_reading_it_whole(hub: Assay) -> None:
    _small_limits(hub)
    manager = make_member(hub, make_org(hub), role="manager")
    body = orjson.dumps({"name": "p", "schema": TEXT_SCHEMA, "description": "x" * 5000})

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 512):
            yield body[start : start + 512]

    with TestClient(create_app(hub)) as api:
        response = api.post(
            "/api/v1/projects",
            content=chunks(),
            headers={**manager.headers, "Content-Type": "application/json"},
        )
        assert response.status_code == 413, response.text
        assert response.json()["status"] == 413
        small = api.post(
            "/api/v1/projects", json={"name": "q", "schema": TEXT_SCHEMA}, headers=manager.headers
        )
        assert small.status_code == 201
