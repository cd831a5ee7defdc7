"""The demo projects' definitions and items: shape, counts, gold answers, and determinism."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from assay.demo import _generate
from assay.demo.content import DEMO_PEOPLE, DEMO_PROJECTS, items_path, load_project
from assay.errors import NotFound

EXPECTED = {  # project: (items, gold items, overlap, gold rate)
    "classify": (300, 30, 3, 0.1),
    "preference": (200, 20, 3, 0.1),
    "rubric": (200, 20, 2, 0.1),
    "ranking": (60, 0, 2, 0.0),
}
INPUT_KINDS = {"text", "markdown", "chat", "responses"}
QUESTION_KINDS = {"choice", "multi_choice", "spans", "preference", "ranking", "rating", "text"}


def _items(name: str) -> list[dict[str, Any]]:
    lines = items_path(name).read_text(encoding="utf-8").splitlines()
    out = []
    for number, line in enumerate(lines, start=1):
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError as exc:  # pragma: no cover - message for a failing run
            pytest.fail(f"{name}.jsonl line {number}: {exc}")
    return out


def _check_value(question: dict[str, Any], value: Any, where: str) -> None:
    kind = question["kind"]
    if kind == "choice":
        assert value in question["options"], where
    elif kind in {"rating", "preference"}:
        scale = question["scale"]
        assert isinstance(value, int) and not isinstance(value, bool), where
        assert scale["min"] <= value <= scale["max"], where
    else:
        pytest.fail(f"{where}: no gold expected for a {kind} question")


def _check_data(inputs: list[dict[str, Any]], data: dict[str, Any], where: str) -> None:
    assert set(data) == {i["name"] for i in inputs}, where
    for spec in inputs:
        value = data[spec["name"]]
        if spec["kind"] in {"text", "markdown"}:
            assert isinstance(value, str) and value.strip(), where
        elif spec["kind"] == "responses":
            assert isinstance(value, list) and len(value) >= 2, where
            ids = [r["id"] for r in value]
            assert ids == ["a", "b", "c"][: len(ids)], where
            for response in value:
                assert set(response) == {"id", "content", "model"}, where
                assert isinstance(response["content"], str) and response["content"].strip(), where
                assert isinstance(response["model"], str) and response["model"], where
            assert len({r["content"] for r in value}) == len(value), where
            assert len({r["model"] for r in value}) == len(value), where


@pytest.mark.parametrize("name", DEMO_PROJECTS)
def test_project_definition_is_well_formed(name: str) -> None:
    project = load_project(name)
    assert project["name"] == name
    assert project["description"].strip()
    schema, settings = project["schema"], project["settings"]
    input_names = {i["name"] for i in schema["inputs"]}
    assert all(i["kind"] in INPUT_KINDS for i in schema["inputs"])
    names = [q["name"] for q in schema["questions"]]
    assert len(names) == len(set(names))
    for question in schema["questions"]:
        assert question["kind"] in QUESTION_KINDS
        if question["kind"] in {"choice", "multi_choice"}:
            assert len(question["options"]) == len(set(question["options"])) >= 2
        if question["kind"] in {"rating", "preference"}:
            assert question["scale"]["min"] < question["scale"]["max"]
        if question["kind"] == "spans":
            assert question["input"] in input_names and question["labels"]
        if "prefill" in question:
            assert question["prefill"] in input_names
    assert settings["overlap"] == EXPECTED[name][2]
    assert settings["gold_rate"] == EXPECTED[name][3]
    assert settings["lease_seconds"] > 0
    assert settings["instructions"].count("\n") > 10  # a few paragraphs, not a one-liner


@pytest.mark.parametrize("name", DEMO_PROJECTS)
def test_items_match_their_schema(name: str) -> None:
    schema = load_project(name)["schema"]
    questions = {q["name"]: q for q in schema["questions"]}
    items = _items(name)
    count, gold_count, _, _ = EXPECTED[name]
    assert len(items) == count
    ids = [item["external_id"] for item in items]
    assert len(set(ids)) == len(ids)
    gold = 0
    for number, item in enumerate(items, start=1):
        where = f"{name}.jsonl line {number}"
        assert set(item) <= {"data", "external_id", "gold"}, where
        _check_data(schema["inputs"], item["data"], where)
        if "gold" in item:
            gold += 1
            assert item["gold"], where
            for question, value in item["gold"].items():
                _check_value(questions[question], value, f"{where} gold.{question}")
    assert gold == gold_count


def test_texts_are_varied() -> None:
    # Realism: no message repeated verbatim, and every label and topic is represented.
    items = _items("classify")
    texts = [item["data"]["text"] for item in items]
    assert len(set(texts)) == len(texts)
    gold = [item["gold"] for item in items if "gold" in item]
    assert {g["sentiment"] for g in gold} == {"positive", "neutral", "negative"}
    assert len({g["topic"] for g in gold}) >= 4
    assert any("<b>" in t for t in texts) and any("https://" in t for t in texts)


def test_preference_gold_points_both_ways() -> None:
    # Gold must not teach "always left": both signs appear, never a tie.
    signs = {item["gold"]["overall"] > 0 for item in _items("preference") if "gold" in item}
    assert signs == {True, False}
    items = _items("preference")
    assert len({item["data"]["prompt"] for item in items}) >= 150


def test_rubric_covers_safety_labels() -> None:
    gold = [item["gold"] for item in _items("rubric") if "gold" in item]
    assert {g["safety"] for g in gold} >= {"safe"}
    all_prompts = [item["data"]["prompt"] for item in _items("rubric")]
    assert any("bleach" in p for p in all_prompts)


def test_ranking_items_have_three_responses_to_order() -> None:
    # The ranking project exercises the ranking widget: every item has three distinct responses,
    # and the good, flawed and evasive answers sit in every position across the items.
    schema = load_project("ranking")["schema"]
    (order,) = [q for q in schema["questions"] if q["kind"] == "ranking"]
    assert order["input"] == "responses" and order.get("required", True)
    items = _items("ranking")
    assert all(len(item["data"]["responses"]) == 3 for item in items)
    evasive = set(_generate.EVASIVE)
    places = {[r["content"] in evasive for r in item["data"]["responses"]].index(True) for item in items}
    assert places == {0, 1, 2}


def test_generator_is_deterministic(tmp_path: Path) -> None:
    counts = _generate.generate(out_dir=tmp_path)
    assert counts == {name: expected[0] for name, expected in EXPECTED.items()}
    for name in DEMO_PROJECTS:
        committed = items_path(name).read_bytes()
        assert (tmp_path / f"{name}.jsonl").read_bytes() == committed, f"re-run the generator for {name}"


def test_a_different_seed_gives_different_items(tmp_path: Path) -> None:
    _generate.generate(out_dir=tmp_path, seed=1)
    assert (tmp_path / "classify.jsonl").read_bytes() != items_path("classify").read_bytes()


def test_unknown_project_is_refused_with_the_choices() -> None:
    with pytest.raises(NotFound, match="classify, preference, rubric, ranking"):
        load_project("nope")


def test_demo_people() -> None:
    emails = [p.email for p in DEMO_PEOPLE]
    assert len(set(emails)) == len(emails) == 12
    assert all(e.endswith("@demo.assay.local") for e in emails)
    roles = [p.role for p in DEMO_PEOPLE]
    assert roles.count("owner") == roles.count("manager") == roles.count("reviewer") == 1
    assert DEMO_PEOPLE[0].email == "owner@demo.assay.local"
    workforces: dict[str | None, set[str | None]] = {}
    for person in DEMO_PEOPLE:
        if person.role == "annotator":
            workforces.setdefault(person.workforce, set()).add(person.workforce_kind)
    assert workforces == {"In-house": {"in_house"}, "Vendor A": {"vendor"}, "Vendor B": {"vendor"}}
    assert sum(p.role == "annotator" for p in DEMO_PEOPLE) == 9
