"""Reading schema documents: YAML and JSON, with syntax errors that point at the line."""

from __future__ import annotations

import pytest

from assay.domain.documents import load_document
from assay.errors import Invalid


def error(text: str, source: str = "project.yaml") -> Invalid:
    with pytest.raises(Invalid) as info:
        load_document(text, source=source)
    return info.value


def test_yaml_and_json_give_the_same_value() -> None:
    yaml_text = (
        "inputs:\n  - {name: text, kind: text}\nquestions:\n  - {name: s, kind: choice, options: [a, b]}\n"
    )
    json_text = (
        '{"inputs": [{"name": "text", "kind": "text"}],\n'
        ' "questions": [{"name": "s", "kind": "choice", "options": ["a", "b"]}]}'
    )
    assert load_document(yaml_text, source="a.yaml") == load_document(json_text, source="a.json")


def test_bom_empty_and_anchors() -> None:
    assert load_document("\ufeffa: 1", source="x") == {"a": 1}
    assert load_document("", source="x") is None
    assert load_document("base: &b {k: 1}\nother:\n  <<: *b\n  j: 2\n", source="x") == {
        "base": {"k": 1},
        "other": {"k": 1, "j": 2},
    }


def test_yaml_syntax_error_names_source_line_and_column() -> None:
    exc = error("inputs:\n  - name: text\n    kind: [text\nquestions: []\n")
    assert exc.status == 422
    assert exc.message.startswith("project.yaml: line 4, column 10: ")
    assert "flow sequence at line 3, column 11" in exc.message
    assert exc.errors[0]["line"] == 4 and exc.errors[0]["column"] == 10
    assert exc.errors[0]["loc"] == "project.yaml"


def test_yaml_tab_indentation() -> None:
    exc = error("a:\n\t- b\n")
    assert exc.message == (
        "project.yaml: line 2, column 1: found character that cannot start any token "
        "(while scanning for the next token at line 2, column 1)"
    )


def test_json_syntax_error_uses_json_messages() -> None:
    exc = error('{"inputs": [],\n  "questions": [,]}', source="p.json")
    assert exc.message == "p.json: line 2, column 17: Expecting value"
    assert exc.errors == [{"loc": "p.json", "msg": "Expecting value", "line": 2, "column": 17}]
    assert error("  [1, 2", source="p.json").message == "p.json: line 1, column 8: Expecting ',' delimiter"


def test_duplicate_keys_are_errors_with_their_line() -> None:
    assert error("a: 1\nb: 2\na: 3\n").message == "project.yaml: line 3, column 1: key 'a' is given twice"
    assert (
        error('{"a": 1,\n "a": 2}', source="p.json").message
        == "p.json: line 2, column 2: key 'a' is given twice"
    )


def test_unhashable_yaml_key() -> None:
    assert "a key must be a plain value" in error("? [a, b]\n: 1\n").message
