"""``assay.Client`` against a real ``assay serve``, with the people set up by the real command line."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest

from assay import Client, ExportFilters
from assay.client import ApiError
from assay.errors import Invalid
from tests.e2e.conftest import Launch, cli_command, cli_env
from tests.factories import PREFERENCE_SCHEMA, preference_items


def _cli(tmp_path: Path, db_url: str, *args: str) -> str:
    done = subprocess.run(
        cli_command(*args, "--database-url", db_url),
        env=cli_env(tmp_path / "cli-data"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _canonical(error: ApiError, status: int) -> None:
    assert error.status == status
    assert error.body["ok"] is False and error.body["status"] == status
    assert isinstance(error.body["error"], str) and error.body["error"]
    assert isinstance(error.body["errors"], list)


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_python_client_against_a_real_server(launch: Launch, db_url: str, tmp_path: Path) -> None:
    server = launch(db_url)
    _cli(tmp_path, db_url, "org", "create", "acme")
    _cli(
        tmp_path, db_url, "user", "create", "--org", "acme", "--email", "lead@acme.test", "--role", "manager"
    )
    _cli(
        tmp_path,
        db_url,
        "user",
        "create",
        "--org",
        "acme",
        "--email",
        "ann@vendor.test",
        "--role",
        "annotator",
        "--workforce",
        "Vendor A",
        "--vendor",
    )
    manager_token = _cli(
        tmp_path, db_url, "token", "create", "--org", "acme", "--email", "lead@acme.test"
    ).strip()
    annotator_token = _cli(
        tmp_path, db_url, "token", "create", "--org", "acme", "--email", "ann@vendor.test"
    ).strip()
    assert manager_token.startswith("assay_") and "\n" not in manager_token

    pairs = preference_items(5)
    with Client(server.url, manager_token) as manager, Client(server.url, annotator_token) as annotator:
        project = manager.create_project("helpfulness", schema=PREFERENCE_SCHEMA, settings={"overlap": 1})
        project_id = int(project["id"])
        assert manager.import_items(project_id, pairs[:3])["imported"] == 3
        path = tmp_path / "more.jsonl"
        path.write_bytes(b"".join(orjson.dumps(p) + b"\n" for p in pairs[3:]))
        assert manager.import_items(project_id, path)["imported"] == 2
        assert [p["id"] for p in annotator.projects()] == [project_id]

        with pytest.raises(ApiError) as dup:
            manager.import_items(project_id, pairs[:1])
        _canonical(dup.value, 422)

        answers: dict[int, dict[str, Any]] = {}
        preferred: dict[int, str] = {}
        lease = annotator.next(project_id)
        assert lease is not None
        skipped_item = int(lease["item"]["id"])
        annotator.skip(lease["assignment_id"])
        with pytest.raises(ApiError) as skipped:
            annotator.submit(lease["assignment_id"], {"overall": 1, "helpful": 5})
        _canonical(skipped.value, 409)

        for step in range(10):
            lease = annotator.next(project_id)
            if lease is None:
                break
            # Prefer the response shown first; a preference is stored relative to the stored order
            # (negative: responses[0]), so the export must name the response that was shown first.
            shown_first = lease["item"]["display_order"]["responses"][0]
            preferred[int(lease["item"]["id"])] = shown_first
            answer = {"overall": -2 if shown_first == "a" else 2, "helpful": 1 + step % 7}
            key = f"submit-{lease['assignment_id']}"
            first = annotator.submit(lease["assignment_id"], answer, duration_ms=1000, idempotency_key=key)
            retry = annotator.submit(lease["assignment_id"], answer, duration_ms=1000, idempotency_key=key)
            assert retry == first and first["answers"]["overall"] == answer["overall"]
            answers[int(lease["item"]["id"])] = answer
            with pytest.raises(ApiError) as changed:
                annotator.submit(
                    lease["assignment_id"],
                    {**answer, "helpful": 8 - answer["helpful"] % 7},
                    idempotency_key=key,
                )
            _canonical(changed.value, 422)
        assert annotator.next(project_id) is None
        # Everything but the skipped item was answered, each once.
        assert sorted(answers) == sorted(i for i in _item_ids(manager, project_id) if i != skipped_item)

        with pytest.raises(ApiError) as unknown:
            annotator.submit(10**9, {"overall": 1, "helpful": 1})
        _canonical(unknown.value, 404)

        some_item = next(iter(answers))
        detail = manager.item(some_item)
        assert [a["answers"] for a in detail["annotations"]] == [answers[some_item]]
        with pytest.raises(ApiError) as forbidden:
            annotator.item(some_item)
        _canonical(forbidden.value, 403)

        records = manager.export_records(project_id, format="jsonl")
        assert len(records) == 5
        exported = {r["item_id"]: [a["answers"] for a in r["annotations"]] for r in records}
        assert exported == {i: ([answers[i]] if i in answers else []) for i in exported}
        dpo = manager.export_records(project_id, format="dpo")
        by_prompt = {row["prompt"]: row for row in dpo}
        assert len(dpo) == len(answers)
        for record in records:
            if record["item_id"] in answers:
                row = by_prompt[record["data"]["prompt"]]
                content = {r["id"]: r["content"] for r in record["data"]["responses"]}
                winner = preferred[record["item_id"]]
                assert row["chosen"] == content[winner]
                assert row["rejected"] == content["b" if winner == "a" else "a"]
        # Filters go as query parameters; a bad one is refused before any request is made.
        assert {row["margin"] for row in dpo} == {2.0}
        one = manager.export_records(
            project_id, format="dpo", filters=ExportFilters(min_answers=1, ties="keep")
        )
        assert one == dpo
        assert manager.export_records(project_id, format="dpo", filters={"min_answers": 2}) == []
        with pytest.raises(Invalid, match="min_answers"):
            manager.export_records(project_id, format="dpo", filters={"min_answers": 0})
        with pytest.raises(ApiError) as not_sft:
            manager.export_records(project_id, format="sft", filters={"ties": "keep"})
        _canonical(not_sft.value, 422)

        with pytest.raises(ApiError) as missing:
            manager.project(10**9)
        _canonical(missing.value, 404)
        with pytest.raises(ApiError) as bad_format:
            manager.export_records(project_id, format="xml")
        _canonical(bad_format.value, 422)
        with pytest.raises(ApiError) as bad_schema:
            manager.create_project("broken", schema={"inputs": [], "questions": []})
        _canonical(bad_schema.value, 422)

        # A batch for the whole upload, from a list and from a file; it is shared with Vendor B only.
        settings = {"batches": {"hard": ["Vendor B"]}}
        batched = int(manager.create_project("batched", schema=PREFERENCE_SCHEMA, settings=settings)["id"])
        assert manager.import_items(batched, pairs[:2], batch="hard")["imported"] == 2
        assert manager.import_items(batched, path, batch="hard")["imported"] == 2
        batch_records = manager.export_records(batched, format="jsonl")
        assert [r["batch"] for r in batch_records] == ["hard"] * 4
        assert manager.item(batch_records[0]["item_id"])["batch"] == "hard"
        assert annotator.next(batched) is None  # Vendor A is not given Vendor B's batch

        # A vendor's delivery of answers, from a list and again from a file: the second time is skipped.
        delivered = [
            {"item_id": r["item_id"], "annotator": "kim", "answers": {"overall": 1, "helpful": 4}}
            for r in batch_records[:2]
        ]
        first_delivery = manager.import_answers(batched, delivered, workforce="Vendor A")
        assert (first_delivery["imported"], first_delivery["annotators_created"]) == (2, 1)
        delivery = tmp_path / "delivery.jsonl"
        delivery.write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in delivered))
        again = manager.import_answers(batched, delivery, workforce="Vendor A")
        assert (again["imported"], again["skipped"]) == (0, 2)
        with pytest.raises(ApiError) as unknown_vendor:
            manager.import_answers(batched, delivered, workforce="Vendor Z")
        _canonical(unknown_vendor.value, 404)
    with Client(server.url, "assay_not-a-real-token") as stranger, pytest.raises(ApiError) as denied:
        stranger.projects()
    _canonical(denied.value, 401)
    assert server.tracebacks() == []


def _item_ids(client: Client, project_id: int) -> list[int]:
    return [int(r["item_id"]) for r in client.export_records(project_id, format="jsonl")]
