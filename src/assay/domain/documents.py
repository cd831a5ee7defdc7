"""Read a YAML or JSON document (a project schema, settings, a whole project definition)."""

from __future__ import annotations

import json
from typing import Any

import yaml

from assay.errors import Invalid, detail

try:  # the C parser is much faster on large documents; PyYAML built without libyaml lacks it
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]


class _Loader(_BaseLoader):
    """Safe YAML that refuses a key given twice (PyYAML silently keeps the last one)."""


def _mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    out: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            duplicate = key in out
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, f"a key must be a plain value, got {type(key).__name__}", key_node.start_mark
            ) from None
        if duplicate:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} is given twice", key_node.start_mark
            )
        out[key] = loader.construct_object(value_node, deep=deep)
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def load_document(text: str, *, source: str) -> Any:
    """Parse YAML or JSON text; a syntax error raises ``Invalid`` naming ``source``, line and column.

    Text that starts with ``{`` or ``[`` is read as JSON (every JSON document is also YAML, but
    JSON's own error messages are clearer to someone who wrote JSON).  A key given twice is an
    error in both: silently keeping the last one hides mistakes.
    """
    text = text.removeprefix("\ufeff")
    if text.lstrip()[:1] in ("{", "["):
        return _load_json(text, source=source)
    return _load_yaml(text, source=source)


def _load_yaml(text: str, *, source: str) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)  # _Loader derives from the safe loader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "not valid YAML"
        if exc.context and exc.problem:
            start = exc.context_mark
            where = f" at line {start.line + 1}, column {start.column + 1}" if start is not None else ""
            problem = f"{exc.problem} ({exc.context}{where})"
        if mark is None:  # pragma: no cover - PyYAML always marks parse errors
            raise _syntax(source, problem, None, None) from None
        raise _syntax(source, problem, mark.line + 1, mark.column + 1) from None
    except yaml.YAMLError as exc:  # pragma: no cover - every YAMLError raised while parsing is marked
        raise _syntax(source, str(exc), None, None) from None


def _load_json(text: str, *, source: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise _syntax(source, exc.msg, exc.lineno, exc.colno) from None
    except RecursionError:
        raise _syntax(source, "nested too deeply", None, None) from None
    except _DuplicateKey as exc:
        # JSON is YAML, and the YAML reader knows where the repeated key is.
        _load_yaml(text, source=source)
        raise _syntax(source, f"key {exc.args[0]!r} is given twice", None, None) from None


def _syntax(source: str, problem: str, line: int | None, column: int | None) -> Invalid:
    if line is None:
        return Invalid(f"{source}: {problem}", errors=[detail(source, problem)])
    return Invalid(
        f"{source}: line {line}, column {column}: {problem}",
        errors=[detail(source, problem, line=line, column=column)],
    )
