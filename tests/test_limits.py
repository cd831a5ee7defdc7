"""The input bounds of ``assay.limits``: one rule for every JSON value, string and name."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from assay.errors import Invalid
from assay.limits import INT_MAX, INT_MIN, MAX_DEPTH, check_json, check_name, check_text, loads_json


def nested(depth: int, leaf: Any = 1) -> Any:
    value = leaf
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


def refused(value: Any, where: str = "data") -> Invalid:
    with pytest.raises(Invalid) as caught:
        check_json(value, where=where)
    exc = caught.value
    assert exc.status == 422
    assert exc.message.startswith(exc.errors[0]["loc"] + ":") or not exc.errors[0]["loc"]
    return exc


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        0,
        INT_MIN,
        INT_MAX,
        1.5,
        "",
        "é☃😀",
        {"data": {"prompt": "p", "responses": [{"id": "a", "content": "x"}]}, "meta": {"n": None}},
        nested(MAX_DEPTH),
        (1, [2, {"a": "b"}]),
        {"text": "\\u0000 is how JSON writes NUL"},
    ],
)
def test_values_within_the_bounds_pass(value: Any) -> None:
    check_json(value, where="data")


@pytest.mark.parametrize(
    ("value", "loc", "words"),
    [
        ({"a": "x\x00y"}, "data.a", "NUL"),
        ({"a": ["ok", "\ud800"]}, "data.a[1]", "lone surrogate"),
        ({"b\x00": 1}, "data['b\\x00']", "NUL"),
        ({"\udcff": 1}, "data['\\udcff']", "lone surrogate"),
        ({"n": INT_MAX + 1}, "data.n", "64-bit"),
        ({"n": [INT_MIN - 1]}, "data.n[0]", "64-bit"),
        ({"f": float("nan")}, "data.f", "finite"),
        ({"f": float("-inf")}, "data.f", "finite"),
        ({1: "x"}, "data", "not a string"),
        ({"x": {1, 2}}, "data.x", "not a JSON value"),
        ({"a b": [{"c": 2**64}]}, "data['a b'][0].c", "64-bit"),
    ],
)
def test_each_rule_names_the_path_and_the_limit(value: Any, loc: str, words: str) -> None:
    exc = refused(value)
    assert exc.errors[0]["loc"] == loc
    assert words in exc.message


def test_nesting_beyond_the_bound_is_refused_without_recursion() -> None:
    assert refused(nested(MAX_DEPTH + 1)).message.endswith(f"nested deeper than {MAX_DEPTH} levels")
    # Far deeper than the interpreter's recursion limit: an iterative walk is not troubled.
    deep: Any = []
    for _ in range(sys.getrecursionlimit() * 20):
        deep = [deep]
    exc = refused(deep)
    assert "…" in exc.errors[0]["loc"]  # a long path is shortened, not printed 20,000 steps long


def test_the_first_problem_in_document_order_is_named() -> None:
    exc = refused({"a": "fine", "b": ["x", "\x00"], "c": "\x00"})
    assert exc.errors[0]["loc"] == "data.b[1]"


def test_a_whole_body_is_named_by_its_path_alone() -> None:
    exc = refused({"answers": {"why": "a\x00"}}, where="")
    assert exc.errors[0]["loc"] == "answers.why"
    assert exc.message.startswith("answers.why: holds a NUL")


def test_loads_json_parses_and_checks() -> None:
    assert loads_json(b'{"a": [1, "\\ud83d\\ude00"]}', source="body") == {"a": [1, "😀"]}
    with pytest.raises(Invalid) as syntax:
        loads_json(b'{"a":\n  [1,}', source="request body")
    assert syntax.value.status == 422
    assert syntax.value.message.startswith("request body: not valid JSON at line 2, column 6")
    assert syntax.value.errors[0]["line"] == 2 and syntax.value.errors[0]["column"] == 6
    with pytest.raises(Invalid) as nul:
        loads_json('{"answers": {"why": "a\\u0000"}}', source="request body")
    assert nul.value.errors[0]["loc"] == "answers.why"
    with pytest.raises(Invalid) as surrogate:
        loads_json(b'{"name": "\\ud800"}', source="request body")
    assert "lone surrogate" in surrogate.value.message
    with pytest.raises(Invalid) as deep:
        loads_json(b"[" * 100_000, source="request body")
    assert f"nested deeper than {MAX_DEPTH} levels" in deep.value.message
    with pytest.raises(Invalid) as big:
        loads_json(b'{"n": 18446744073709551615}', source="request body")
    assert big.value.errors[0]["loc"] == "n"


def test_check_text_refuses_nul_and_surrogates_only() -> None:
    assert check_text("line one\nline two\t", where="reason") == "line one\nline two\t"
    for bad in ("a\x00", "\udc80"):
        with pytest.raises(Invalid) as caught:
            check_text(bad, where="reason")
        assert caught.value.errors[0]["loc"] == "reason"


@pytest.mark.parametrize("good", ["Vendor A", "  spaced  ", "Prüfung ☃", "x" * 100])
def test_names_within_the_rule(good: str) -> None:
    assert check_name(good, where="name", max_len=100) == good.strip()


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ("", "not blank"),
        ("   ", "not blank"),
        ("x" * 101, "101 characters"),
        ("a\r\nb", "U+000D"),
        ("a\nb", "U+000A"),
        ("a\x00", "U+0000"),
        ("a\ud800", "U+D800"),
        ("a\u2028b", "U+2028"),
        ("tab\there", "U+0009"),
        (None, "got null"),
        (5, "got int"),
    ],
)
def test_names_outside_the_rule_are_refused(bad: Any, words: str) -> None:
    with pytest.raises(Invalid) as caught:
        check_name(bad, where="name", max_len=100)
    assert caught.value.errors[0]["loc"] == "name"
    assert words in caught.value.message
