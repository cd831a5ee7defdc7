"""YAML and JSON documents are bounded before anything is built from them."""

from __future__ import annotations

import pytest

from assay.domain.documents import MAX_ALIASES, MAX_NODES, load_document
from assay.errors import Invalid
from assay.limits import MAX_DEPTH

# "Billion laughs": 342 bytes that expand to 9**9 (387 million) strings.
BOMB = "\n".join(
    [f"a: &a [{', '.join(['lol'] * 9)}]"]
    + [f"{b}: &{b} [{', '.join(['*' + a] * 9)}]" for a, b in zip("abcdefgh", "bcdefghi", strict=True)]
)


def refused(text: str) -> Invalid:
    with pytest.raises(Invalid) as caught:
        load_document(text, source="schema")
    assert caught.value.status == 422
    assert caught.value.message.startswith("schema: ")
    return caught.value


@pytest.mark.timeout(60)  # a hang guard: expanded, the bomb would take minutes and gigabytes
def test_an_alias_bomb_is_refused_by_its_expanded_size() -> None:
    assert len(BOMB) < 400
    exc = refused(BOMB)
    assert f"more than {MAX_NODES:,} values once its aliases are expanded" in exc.message
    assert exc.errors[0]["line"] >= 1


def test_aliases_within_the_bounds_are_fine() -> None:
    text = "labels: &labels [good, bad]\nquestions:\n  - options: *labels\n  - options: *labels\n"
    assert load_document(text, source="schema")["questions"][1]["options"] == ["good", "bad"]


def test_too_many_aliases_are_refused() -> None:
    text = "x: &x 1\nl: [" + ", ".join(["*x"] * (MAX_ALIASES + 1)) + "]\n"
    assert f"more than {MAX_ALIASES} aliases" in refused(text).message


def test_an_alias_into_itself_is_refused() -> None:
    assert "refers to a value that contains it" in refused("a: &a\n  b: *a\n").message


@pytest.mark.parametrize(
    "text",
    [
        "- " * (MAX_DEPTH + 1) + "x\n",  # block sequences
        "x: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\n",  # flow, after a key
        "[" * 5000 + "]" * 5000,  # read as JSON
        '{"a": ' + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "}",
    ],
)
def test_deep_documents_are_refused(text: str) -> None:
    assert f"nested deeper than {MAX_DEPTH} levels" in refused(text).message


def test_depth_through_aliases_counts() -> None:
    inner = "[" * 40 + "]" * 40
    text = f"a: &a {inner}\nb: " + "[" * 30 + "*a" + "]" * 30 + "\n"
    assert "once its aliases are expanded" in refused(text).message


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('name: "a\\0b"\n', "name: holds a NUL character"),
        ('{"name": "a\\u0000"}', "name: holds a NUL character"),
        ('{"name": "\\ud800"}', "lone surrogate"),
        ("n: 99999999999999999999\n", "n: is an integer outside the signed 64-bit range"),
        ('{"n": 1e400}', "n: is inf"),
        ("f: .nan\n", "f: is nan"),
        (
            "day: 2024-01-01\n",
            "day: is a Python date, which is not a JSON value (quote it to keep it as text)",
        ),
    ],
)
def test_values_out_of_bounds_are_named(text: str, words: str) -> None:
    assert words in refused(text).message
