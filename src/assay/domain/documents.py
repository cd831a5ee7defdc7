"""Read a YAML or JSON document (a project schema, settings, a whole project definition), bounded.

A document is untrusted text (the new-project page previews every keystroke of it), so it is
bounded before anything is built from it:

- nesting no deeper than ``limits.MAX_DEPTH``, checked on the parser's events (libyaml's parser is
  iterative) before the composer, which recurses, sees the document;
- at most ``MAX_ALIASES`` aliases, and at most ``MAX_NODES`` nodes once every alias is expanded: a
  sub-kilobyte "billion laughs" document expands to billions of nodes, so the expanded size is
  counted over the composed node graph, each node once (memoised), before anything is constructed;
- the values within ``limits.check_json``'s bounds (no NUL, no lone surrogate, 64-bit integers,
  finite numbers, only JSON types).

JSON documents go through the same depth and value bounds.  Every refusal is ``Invalid`` (422)
naming the source and the limit.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
import yaml

from assay.errors import Invalid, detail
from assay.limits import MAX_DEPTH, check_json, json_syntax

MAX_ALIASES = 100
MAX_NODES = 100_000

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


def _bounded_events(text: str, *, source: str) -> None:
    """Refuse nesting beyond ``MAX_DEPTH`` and more than ``MAX_ALIASES`` aliases, from the events alone."""
    depth = aliases = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise _limit(source, event, f"nested deeper than {MAX_DEPTH} levels")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        elif isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_ALIASES:
                raise _limit(source, event, f"more than {MAX_ALIASES} aliases (*name)")


def _expanded(root: yaml.Node, *, source: str) -> None:
    """Refuse a node graph that, with every alias expanded, holds more than ``MAX_NODES`` nodes or
    nests deeper than ``MAX_DEPTH``: sizes and depths are memoised per node, so this is linear in the
    composed graph however large the expansion."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    open_nodes: set[int] = set()  # on the current path: an alias back to one of them is a cycle
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if key in size:
            continue
        if not children_done and key in open_nodes:
            raise _limit(source, node, "an alias refers to a value that contains it")
        if isinstance(node, yaml.SequenceNode):
            children: list[yaml.Node] = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        else:
            size[key], depth[key] = 1, 0
            continue
        if not children_done:
            open_nodes.add(key)
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in size)
            continue
        open_nodes.discard(key)
        size[key] = 1 + sum(size[id(child)] for child in children)
        depth[key] = 1 + max((depth[id(child)] for child in children), default=0)
        if size[key] > MAX_NODES:
            raise _limit(source, node, f"more than {MAX_NODES:,} values once its aliases are expanded")
        if depth[key] > MAX_DEPTH:
            raise _limit(source, node, f"nested deeper than {MAX_DEPTH} levels once its aliases are expanded")


def _limit(source: str, at: Any, problem: str) -> Invalid:
    mark = getattr(at, "start_mark", None)
    if mark is None:  # pragma: no cover - PyYAML marks every event and node
        return _syntax(source, problem, None, None)
    return _syntax(source, problem, mark.line + 1, mark.column + 1)


def _load_yaml(text: str, *, source: str) -> Any:
    try:
        _bounded_events(text, source=source)
        loader = _Loader(text)  # derives from the safe loader
        try:
            root = loader.get_single_node()
            if root is None:
                return None
            _expanded(root, source=source)
            value = loader.construct_document(root)
        finally:
            loader.dispose()
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
    try:
        check_json(value, where=f"{source}:")
    except Invalid as exc:
        if "not a JSON value" in exc.message:  # a YAML date, set or binary: text was meant
            exc.message += " (quote it to keep it as text)"
        raise
    return value


def _load_json(text: str, *, source: str) -> Any:
    # orjson refuses deep nesting cheaply and without recursing; the standard library then reads the
    # (now bounded) text for what orjson does not check, a repeated key, and for its clearer words
    # about a syntax error.
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        why = json_syntax(exc)
        if why.startswith("nested"):
            raise _syntax(source, why, exc.lineno, exc.colno) from None
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise _syntax(source, exc.msg, exc.lineno, exc.colno) from None
    except RecursionError:  # pragma: no cover - orjson refused such nesting first
        raise _syntax(source, f"nested deeper than {MAX_DEPTH} levels", None, None) from None
    except _DuplicateKey as exc:
        # JSON is YAML, and the YAML reader knows where the repeated key is.
        _load_yaml(text, source=source)
        raise _syntax(source, f"key {exc.args[0]!r} is given twice", None, None) from None
    check_json(value, where=f"{source}:")
    return value


def _syntax(source: str, problem: str, line: int | None, column: int | None) -> Invalid:
    if line is None:
        return Invalid(f"{source}: {problem}", errors=[detail(source, problem)])
    return Invalid(
        f"{source}: line {line}, column {column}: {problem}",
        errors=[detail(source, problem, line=line, column=column)],
    )
