"""A client generated from the served OpenAPI document works, as generated, end to end.

``openapi-python-client`` turns ``/api/v1/openapi.json`` into a Python package (in a subprocess,
offline); the test imports it and drives the in-process app through it: create a project with
settings (``target_confidence`` among them), import items as a JSON array, lease, submit, and read
the ``error`` of a 422 and of a 404 from the typed ``ErrorBody``.  Any lie in the document (an
untyped body, an undeclared field, a wrong status) breaks a step here.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from assay.app import Assay
from assay.settings import Config
from assay.web.app import create_app
from tests.factories import make_member, make_org

PACKAGE = "assay_generated_client"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The generated client package, imported (generated once for the module)."""
    where = tmp_path_factory.mktemp("client")
    data = where / "data"
    hub = Assay(Config(data_dir=data, database_url=f"sqlite:///{where / 'spec.db'}"))
    with TestClient(create_app(hub)) as client:
        spec = client.get("/api/v1/openapi.json")
    assert spec.status_code == 200
    (where / "openapi.json").write_text(spec.text)
    # No post-processing hooks: the code is used exactly as the generator writes it.
    (where / "config.json").write_text(json.dumps({"post_hooks": []}))
    run = subprocess.run(
        [
            sys.executable, "-m", "openapi_python_client", "generate",
            "--path", str(where / "openapi.json"), "--config", str(where / "config.json"),
            "--meta", "none", "--output-path", str(where / PACKAGE),
        ],
        capture_output=True, text=True, timeout=300, cwd=where,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    sys.path.insert(0, str(where))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(where))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def _module(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


def test_a_generated_client_creates_imports_leases_submits_and_reads_errors(
    hub: Assay, generated: ModuleType
) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    annotator = make_member(hub, org)
    models = _module("models")
    create_project, get_project = _module("api.projects.create_project"), _module("api.projects.get_project")
    import_items = _module("api.items.import_items")
    next_item, submit = _module("api.annotate.next_item"), _module("api.annotate.submit")
    app = create_app(hub)

    def connect(token: str) -> Any:
        transport = httpx.ASGITransport(app=app)
        return generated.AuthenticatedClient(
            base_url="http://assay.test", token=token, httpx_args={"transport": transport}
        )

    async def flow() -> None:
        as_manager, as_annotator = connect(manager.token), connect(annotator.token)
        schema = models.ProjectSchema(
            inputs=[models.TextInput(kind="text", name="text")],
            questions=[
                models.ChoiceQuestion(kind="choice", name="sentiment", options=["positive", "negative"])
            ],
        )
        settings = models.ProjectSettings(overlap=3, target_confidence=0.9, lease_seconds=600)
        created = await create_project.asyncio_detailed(
            client=as_manager, body=models.ProjectCreate(name="typed", schema=schema, settings=settings)
        )
        assert created.status_code == 201, created.content
        project = created.parsed
        assert isinstance(project, models.ProjectPublic)
        assert isinstance(project.settings, models.ProjectSettings)
        assert project.settings.target_confidence == 0.9 and project.settings.overlap == 3

        records = [models.ItemRecord(data=models.ItemRecordData.from_dict({"text": t})) for t in ("a", "b")]
        records[1].external_id = "b-1"
        imported = await import_items.asyncio(client=as_manager, project_id=project.id, body=records)
        assert isinstance(imported, models.ImportResult) and imported.imported == 2

        # The annotator reads the narrower view of the same project: member settings, own counts.
        seen = await get_project.asyncio(client=as_annotator, project_id=project.id)
        assert isinstance(seen, models.ProjectPublic)
        assert seen.counts.left == 2 and seen.counts.items is generated.types.UNSET
        assert set(seen.settings.to_dict()) == {"instructions", "lease_seconds", "max_leases"}

        lease = await next_item.asyncio(client=as_annotator, project_id=project.id)
        assert isinstance(lease, models.LeasePublic)
        assert [q.name for q in lease.questions] == ["sentiment"]
        answers = models.SubmissionAnswers.from_dict({"sentiment": "positive"})
        submitted = await submit.asyncio_detailed(
            client=as_annotator,
            assignment_id=lease.assignment_id,
            body=models.Submission(answers=answers, duration_ms=1200),
            idempotency_key="first-answer",
        )
        assert submitted.status_code == 201, submitted.content
        assert isinstance(submitted.parsed, models.AnnotationPublic)
        assert submitted.parsed.answers.to_dict() == {"sentiment": "positive"}

        # Errors come back typed: the generated client parses the canonical body.
        wrong = models.SubmissionAnswers.from_dict({"sentiment": "maybe"})
        second = await next_item.asyncio(client=as_annotator, project_id=project.id)
        assert isinstance(second, models.LeasePublic)
        invalid = await submit.asyncio_detailed(
            client=as_annotator, assignment_id=second.assignment_id, body=models.Submission(answers=wrong)
        )
        assert invalid.status_code == 422
        assert isinstance(invalid.parsed, models.ErrorBody)
        assert "maybe" in invalid.parsed.error and invalid.parsed.errors[0].loc == "answers.sentiment"
        missing = await get_project.asyncio_detailed(client=as_manager, project_id=project.id + 999)
        assert missing.status_code == 404
        assert isinstance(missing.parsed, models.ErrorBody)
        assert missing.parsed.error == f"project {project.id + 999} does not exist"

    asyncio.run(flow())
