"""Training exports through the API: only real decisions become pairs, only completions become SFT
rows, the filters a data lead sets, and Parquet columns typed as the JSONL export's values."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.json as pajson
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from assay.app import Assay
from assay.workflows import review
from tests.factories import PREFERENCE_SCHEMA, Member, make_member, make_org, preference_items

RUBRIC_SCHEMA: dict[str, Any] = {
    "inputs": [{"name": "prompt", "kind": "text"}, {"name": "response", "kind": "markdown"}],
    "questions": [
        {"name": "score", "kind": "rating", "scale": {"min": 1, "max": 5}},
        {"name": "comment", "kind": "text", "required": False},
        {"name": "rewrite", "kind": "text", "prefill": "response", "required": False},
    ],
}


def _project(api: TestClient, manager: Member, schema: dict[str, Any], **settings: Any) -> int:
    response = api.post(
        "/api/v1/projects",
        json={"name": "p", "schema": schema, "settings": settings},
        headers=manager.headers,
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _import(api: TestClient, manager: Member, project_id: int, items: list[dict[str, Any]]) -> None:
    response = api.post(f"/api/v1/projects/{project_id}/items", json=items, headers=manager.headers)
    assert response.status_code == 201, response.text


def _answer_all(
    hub: Assay,
    api: TestClient,
    manager: Member,
    project_id: int,
    by_annotator: list[dict[str, dict[str, Any]]],
) -> dict[tuple[int, str], int]:
    """Each entry is one new annotator's answers by item external id (other items are skipped);
    returns the annotation ids by (annotator number, external id)."""
    ids: dict[tuple[int, str], int] = {}
    for n, answers in enumerate(by_annotator):
        annotator = make_member(hub, manager.org, workforce="Vendor A", vendor=True)
        while (
            lease := api.get(f"/api/v1/projects/{project_id}/next", headers=annotator.headers)
        ).status_code == 200:
            body = lease.json()
            item = api.get(f"/api/v1/items/{body['item']['id']}", headers=manager.headers).json()
            assignment = body["assignment_id"]
            if item["external_id"] not in answers:
                skip = api.post(f"/api/v1/assignments/{assignment}/skip", headers=annotator.headers)
                assert skip.is_success, skip.text
                continue
            done = api.post(
                f"/api/v1/assignments/{assignment}/submit",
                json={"answers": answers[item["external_id"]], "duration_ms": 1000},
                headers=annotator.headers,
            )
            assert done.status_code == 201, done.text
            ids[(n, item["external_id"])] = int(done.json()["id"])
    return ids


def _rows(api: TestClient, manager: Member, project_id: int, query: str) -> list[dict[str, Any]]:
    response = api.get(f"/api/v1/projects/{project_id}/export?{query}", headers=manager.headers)
    assert response.status_code == 200, response.text
    return [orjson.loads(line) for line in response.content.splitlines()]


def _error(api: TestClient, manager: Member, project_id: int, query: str) -> dict[str, Any]:
    response = api.get(f"/api/v1/projects/{project_id}/export?{query}", headers=manager.headers)
    assert response.status_code == 422, (query, response.text)
    body: dict[str, Any] = response.json()
    assert body["ok"] is False and body["status"] == 422 and body["errors"], body
    return body


def _preference_world(hub: Assay, api: TestClient) -> tuple[Member, int, dict[tuple[int, str], int]]:
    """Four items, three annotators:

    p-0: -2, +2, (none)   a split: no pair
    p-1: -2, -1, +3       two of three prefer a: a pair, margin 1 (the median)
    p-2: 0, 0, +1         a tie most annotators chose
    p-3: +3, (none)       one answer
    """
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    project_id = _project(api, manager, PREFERENCE_SCHEMA, overlap=3)
    _import(api, manager, project_id, preference_items(4))
    ids = _answer_all(
        hub,
        api,
        manager,
        project_id,
        [
            {
                "p-0": {"overall": -2, "helpful": 3, "why": "a is right"},
                "p-1": {"overall": -2, "helpful": 4},
                "p-2": {"overall": 0, "helpful": 4},
                "p-3": {"overall": 3, "helpful": 6, "why": "b explains"},
            },
            {
                "p-0": {"overall": 2, "helpful": 3},
                "p-1": {"overall": -1, "helpful": 5},
                "p-2": {"overall": 0, "helpful": 4},
            },
            {"p-1": {"overall": 3, "helpful": 2}, "p-2": {"overall": 1, "helpful": 4}},
        ],
    )
    return manager, project_id, ids


def test_a_split_decision_is_no_pair_and_the_label_is_the_median(hub: Assay, api: TestClient) -> None:
    manager, project_id, _ = _preference_world(hub, api)
    labels = {
        r["external_id"]: r["labels"]["overall"] for r in _rows(api, manager, project_id, "format=jsonl")
    }
    # -2 and +2: no sign has a majority.  This was -2 at confidence 0.5, and a pair of strength 2.
    assert labels["p-0"] == {"value": 0, "confidence": 0.0, "n": 2}
    assert labels["p-1"] == {"value": -1, "confidence": 2 / 3, "n": 3}
    assert labels["p-2"] == {"value": 0, "confidence": 2 / 3, "n": 3}
    rows = _rows(api, manager, project_id, "format=dpo")
    assert [(r["external_id"], r["chosen_id"], r["margin"], r["tie"]) for r in rows] == [
        ("p-1", "a", 1.0, False),
        ("p-3", "b", 3.0, False),
    ]
    first = rows[0]
    assert first["confidence"] == pytest.approx(2 / 3) and first["n_annotations"] == 3
    assert first["chosen"] == "answer a1" and first["rejected"] == "answer b1"
    # The rationale travels with the pair as provenance.
    assert rows[1]["rationales"] == [
        {"annotator": rows[1]["annotators"][0], "question": "why", "text": "b explains"}
    ]


def test_ties_keep_gives_tie_rows_in_the_pairs_shape(hub: Assay, api: TestClient) -> None:
    manager, project_id, _ = _preference_world(hub, api)
    rows = _rows(api, manager, project_id, "format=dpo&ties=keep")
    summary = [(r["external_id"], r["tie"], r["margin"], round(r["confidence"], 3)) for r in rows]
    assert summary == [
        ("p-0", True, 0.0, 0.0),  # the split, kept as a tie: confidence at most 0.5
        ("p-1", False, 1.0, 0.667),
        ("p-2", True, 0.0, 0.667),  # a tie two of three chose
        ("p-3", False, 3.0, 1.0),
    ]
    assert len({frozenset(r) for r in rows}) == 1  # one set of keys in every row
    # Splits drop out of the tie rows with a confidence floor above one half.
    kept = _rows(api, manager, project_id, "format=dpo&ties=keep&min_confidence=0.51")
    assert [r["external_id"] for r in kept] == ["p-1", "p-2", "p-3"]


def test_dpo_rows_load_as_one_table_in_the_shape_trl_reads(hub: Assay, api: TestClient) -> None:
    manager, project_id, _ = _preference_world(hub, api)
    response = api.get(f"/api/v1/projects/{project_id}/export?format=dpo&ties=keep", headers=manager.headers)
    # pyarrow's JSON reader is what `datasets.load_dataset("json", ...)` uses under TRL.
    table = pajson.read_json(io.BytesIO(response.content))
    assert table.num_rows == 4
    for column in ("prompt", "chosen", "rejected", "chosen_id", "rejected_id", "question"):
        assert table.schema.field(column).type == pa.string(), column
    for column in ("margin", "confidence"):
        assert table.schema.field(column).type == pa.float64(), column
    assert table.schema.field("tie").type == pa.bool_()
    assert table.schema.field("item_id").type == pa.int64()


def test_min_answers_filter(hub: Assay, api: TestClient) -> None:
    manager, project_id, _ = _preference_world(hub, api)
    rows = _rows(api, manager, project_id, "format=dpo&min_answers=2")
    assert [r["external_id"] for r in rows] == ["p-1"]  # p-3 has a single answer
    assert _rows(api, manager, project_id, "format=dpo&min_answers=4") == []


def test_min_confidence_filter(hub: Assay, api: TestClient) -> None:
    manager, project_id, _ = _preference_world(hub, api)
    rows = _rows(api, manager, project_id, "format=dpo&min_confidence=0.9")
    assert [r["external_id"] for r in rows] == ["p-3"]


def test_reviewed_only_uses_accepted_and_fixed_answers_alone(hub: Assay, api: TestClient) -> None:
    manager, project_id, ids = _preference_world(hub, api)
    reviewer = make_member(hub, manager.org, role="reviewer").actor(hub)
    # p-0: accept the -2 and fix the +2 into -1: a decision for a.  p-1: accept only the +3.
    review.judge(hub, reviewer, ids[(0, "p-0")], verdict="accept")
    review.judge(hub, reviewer, ids[(1, "p-0")], verdict="fix", answers={"overall": -1, "helpful": 3})
    review.judge(hub, reviewer, ids[(2, "p-1")], verdict="accept")
    review.judge(hub, reviewer, ids[(0, "p-1")], verdict="reject", reason="not what the guide says")
    rows = _rows(api, manager, project_id, "format=dpo&reviewed_only=true")
    assert [(r["external_id"], r["chosen_id"], r["margin"], r["n_annotations"]) for r in rows] == [
        ("p-0", "a", 1.5, 2),
        ("p-1", "b", 3.0, 1),
    ]
    # The raw export takes the filter too: only the reviewed answers, and labels from them.
    records = {
        r["external_id"]: r for r in _rows(api, manager, project_id, "format=jsonl&reviewed_only=true")
    }
    assert [a["review"] for a in records["p-0"]["annotations"]] == ["accept", "fix"]
    assert records["p-2"]["annotations"] == [] and records["p-2"]["labels"] == {}


@pytest.mark.parametrize(
    ("query", "loc", "words"),
    [
        ("format=dpo&min_answers=0", "min_answers", "greater than or equal to 1"),
        ("format=dpo&min_answers=many", "min_answers", "integer"),
        ("format=dpo&min_confidence=1.5", "min_confidence", "less than or equal to 1"),
        ("format=dpo&ties=maybe", "ties", "'drop' or 'keep'"),
        ("format=dpo&reviewed_only=perhaps", "reviewed_only", "boolean"),
        ("format=dpo&min_answer=2", "min_answer", "Extra inputs"),  # a misspelt filter is no filter
        ("format=sft&min_confidence=0.5", "min_confidence", "does not apply to the sft export"),
        ("format=sft&ties=keep", "ties", "does not apply to the sft export"),
        ("format=csv&min_answers=2", "min_answers", "does not apply to the csv export"),
    ],
)
def test_bad_filters_are_422_naming_the_parameter(
    hub: Assay, api: TestClient, query: str, loc: str, words: str
) -> None:
    manager = make_member(hub, make_org(hub), role="manager")
    project_id = _project(api, manager, PREFERENCE_SCHEMA)
    body = _error(api, manager, project_id, query)
    assert loc in body["error"] and words in body["error"], body
    assert body["errors"][0]["loc"].split(".")[-1] == loc


def test_sft_needs_a_completion_and_never_takes_a_rationale(hub: Assay, api: TestClient) -> None:
    manager, project_id, _ = _preference_world(hub, api)
    # The preference project's only text question is `why`: a rationale, so no SFT rows at all.
    body = _error(api, manager, project_id, "format=sft")
    assert "completion: true" in body["error"] and "why" in body["error"], body


def _rubric_items(n: int) -> list[dict[str, Any]]:
    return [
        {"data": {"prompt": f"prompt {i}", "response": f"model text {i}"}, "external_id": f"r-{i}"}
        for i in range(n)
    ]


def test_sft_rows_come_from_the_rewrite_with_comments_as_rationales(hub: Assay, api: TestClient) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    project_id = _project(api, manager, RUBRIC_SCHEMA, overlap=2)
    _import(api, manager, project_id, _rubric_items(2))
    ids = _answer_all(
        hub,
        api,
        manager,
        project_id,
        [
            {
                "r-0": {"score": 2, "comment": "wrong sum", "rewrite": "fixed text 0"},
                "r-1": {"score": 5, "rewrite": "model text 1"},
            },
            {"r-0": {"score": 3, "comment": "too long"}, "r-1": {"score": 4, "rewrite": "shorter 1"}},
        ],
    )
    rows = _rows(api, manager, project_id, "format=sft")
    assert [(r["external_id"], r["completion"], r["edited"]) for r in rows] == [
        ("r-0", "fixed text 0", True),
        ("r-1", "model text 1", False),
        ("r-1", "shorter 1", True),
    ]
    assert {r["question"] for r in rows} == {"rewrite"}
    assert rows[0]["rationales"] == [
        {"annotator": rows[0]["annotator"], "question": "comment", "text": "wrong sum"}
    ]
    assert [r["external_id"] for r in _rows(api, manager, project_id, "format=sft&min_answers=2")] == [
        "r-1",
        "r-1",
    ]
    reviewer = make_member(hub, manager.org, role="reviewer").actor(hub)
    review.judge(hub, reviewer, ids[(1, "r-1")], verdict="accept")
    review.judge(hub, reviewer, ids[(0, "r-0")], verdict="reject", reason="the rewrite is still wrong")
    assert [r["completion"] for r in _rows(api, manager, project_id, "format=sft")] == [
        "model text 1",
        "shorter 1",
    ]  # a rejected rewrite is no row
    assert [r["completion"] for r in _rows(api, manager, project_id, "format=sft&reviewed_only=true")] == [
        "shorter 1"
    ]


def test_a_marked_completion_wins_over_a_prefilled_rewrite(hub: Assay, api: TestClient) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    schema = {
        "inputs": RUBRIC_SCHEMA["inputs"],
        "questions": [
            {"name": "answer", "kind": "text", "completion": True},
            {"name": "rewrite", "kind": "text", "prefill": "response", "required": False},
        ],
    }
    project_id = _project(api, manager, schema)
    _import(api, manager, project_id, _rubric_items(1))
    _answer_all(hub, api, manager, project_id, [{"r-0": {"answer": "written", "rewrite": "edited"}}])
    (row,) = _rows(api, manager, project_id, "format=sft")
    assert (row["question"], row["completion"]) == ("answer", "written")
    assert "edited" not in row
    assert row["rationales"][0]["question"] == "rewrite"


def test_parquet_columns_have_the_types_of_the_jsonl_values(hub: Assay, api: TestClient) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    schema = {
        "inputs": [{"name": "prompt", "kind": "text"}, {"name": "responses", "kind": "responses"}],
        "questions": [
            {"name": "overall", "kind": "preference", "scale": {"min": -3, "max": 3}},
            {"name": "helpful", "kind": "rating", "scale": {"min": 1, "max": 7}},
            {"name": "topic", "kind": "choice", "options": ["code", "maths"]},
            {"name": "tags", "kind": "multi_choice", "options": ["long", "rude"], "required": False},
            {"name": "why", "kind": "text", "required": False},
        ],
    }
    project_id = _project(api, manager, schema, overlap=2)
    _import(api, manager, project_id, [*preference_items(2)])
    _answer_all(
        hub,
        api,
        manager,
        project_id,
        [
            {"p-0": {"overall": -2, "helpful": 6, "topic": "code", "tags": ["long"], "why": "b rambles"}},
            {
                "p-0": {"overall": -1, "helpful": 3, "topic": "code"},
                "p-1": {"overall": 1, "helpful": 2, "topic": "maths"},
            },
        ],
    )
    records = _rows(api, manager, project_id, "format=jsonl")
    response = api.get(f"/api/v1/projects/{project_id}/export?format=parquet", headers=manager.headers)
    table = pq.read_table(io.BytesIO(response.content))
    expected = [
        {
            "item_id": r["item_id"],
            "external_id": r["external_id"],
            "batch": r["batch"],
            "data.prompt": r["data"]["prompt"],
            "data.responses": orjson.dumps(r["data"]["responses"]).decode(),
            **{k: a[k] for k in ("annotation_id", "annotator", "workforce", "assignment_id")},
            "created_at": dt.datetime.fromisoformat(a["created_at"]).replace(tzinfo=dt.UTC),
            **{k: a[k] for k in ("duration_ms", "review")},
            **{f"answer.{q}": _cell(a["answers"].get(q)) for q in ("overall", "helpful", "topic", "tags", "why")},
            **{f"label.{q}": _cell(r["labels"].get(q, {}).get("value")) for q in ("overall", "helpful", "topic", "tags", "why")},
            **{f"confidence.{q}": r["labels"].get(q, {}).get("confidence") for q in ("overall", "helpful", "topic", "tags", "why")},
        }
        for r in records
        for a in r["annotations"]
    ]  # fmt: skip
    got = table.to_pylist()
    assert len(got) == len(expected) == 3
    for row, want in zip(got, expected, strict=True):
        assert list(row) == list(want)
        for column, value in want.items():
            assert row[column] == value, column
            if column.startswith("label.") and isinstance(value, int):
                assert isinstance(row[column], float), column  # an aggregate may be fractional
            else:
                assert type(row[column]) is type(value), column
    types = {f.name: f.type for f in table.schema}
    for column in (
        "item_id",
        "annotation_id",
        "assignment_id",
        "duration_ms",
        "answer.overall",
        "answer.helpful",
    ):
        assert types[column] == pa.int64(), column
    for column in ("label.overall", "label.helpful", "confidence.topic"):
        assert types[column] == pa.float64(), column


def _cell(value: Any) -> Any:
    """What a Parquet cell holds for a JSONL value: numbers and strings as they are, structures as JSON."""
    if value is None or isinstance(value, str | int | float):
        return value
    return orjson.dumps(value).decode()
