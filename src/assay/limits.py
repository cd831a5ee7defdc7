"""Bounds on every input, one rule in one place: JSON values, single strings and names.

Everything that enters assay from outside (a request body, an import record, a form field, a CLI
option, a YAML document) passes one of these checks before anything stores or renders it, and the
same rule holds on SQLite and PostgreSQL (a backup moves data between them):

- nesting no deeper than ``MAX_DEPTH`` levels;
- no string (keys included) holding U+0000 (PostgreSQL cannot store it in text or JSONB) or a lone
  surrogate (it cannot be encoded as UTF-8, so it could be neither stored nor sent back);
- integers within signed 64 bits (what every JSON column and the serialiser hold exactly), and
  only finite floats (JSON has no NaN or infinity).

``MAX_DEPTH`` is 64.  The deepest structure assay itself reads is four levels (``data.chat[i]
.content``, ``client.text.question.pasted_chars``), so 64 leaves room for any honest ``meta``.  The
bound must stay well below what the tools behind us refuse or choke on: orjson writes no more than
255 levels (a deeper value accepted here would fail when stored), Python's own JSON and YAML code
recurses about a thousand levels deep, and ijson's cost grows with the square of the depth.
"""

from __future__ import annotations

import unicodedata
from typing import Any

import orjson

from assay.errors import Invalid, detail

__all__ = [
    "MAX_DEPTH",
    "check_json",
    "check_name",
    "check_parsed",
    "check_text",
    "json_syntax",
    "loads_json",
    "problem_in_text",
]

MAX_DEPTH = 64
INT_MIN = -(2**63)
INT_MAX = 2**63 - 1

_NAME_FORBIDDEN = frozenset({"Cc", "Cs", "Zl", "Zp"})  # control characters, surrogates, line breaks


def problem_in_text(value: str) -> str | None:
    """Why a string cannot be stored, or None: a NUL character or a lone surrogate."""
    if "\x00" in value:
        return "holds a NUL character (U+0000), which cannot be stored"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            return f"holds a lone surrogate (U+{ord(value[exc.start]):04X}), which is not valid Unicode text"
    return None


def _key_step(key: str) -> str:
    # A key that is a plain name reads as ".name"; anything else is quoted (repr escapes control
    # characters and surrogates, so the message itself can always be sent back as UTF-8).
    return f".{key}" if key.isidentifier() else f"[{key!r}]"


def _join(where: str, steps: list[str]) -> str:
    if len(steps) > 12:  # a path into deep nesting: its start and its end say enough
        steps = [*steps[:8], "…", *steps[-3:]]
    path = "".join(steps)
    if not where:
        return path.removeprefix(".")
    if where.endswith(":"):  # a label ("line 3:"): the path follows it as a path of its own
        return f"{where} {path.removeprefix('.')}" if path else where
    return where + path


def _problem(value: Any, depth: int) -> str | None:
    """What is wrong with one scalar (or a container at ``depth``), None when it is fine."""
    kind = type(value)
    if kind is str:
        return problem_in_text(value)
    if kind is int:
        if not INT_MIN <= value <= INT_MAX:
            return "is an integer outside the signed 64-bit range (±9223372036854775807)"
        return None
    if kind is float:
        if value != value or value in (float("inf"), float("-inf")):
            return f"is {value}, which JSON cannot hold (only finite numbers)"
        return None
    if value is None or kind is bool:
        return None
    if kind is dict or kind is list or kind is tuple:
        if depth > MAX_DEPTH:
            return f"is nested deeper than {MAX_DEPTH} levels"
        return None
    return f"is a Python {kind.__name__}, which is not a JSON value"


def _text_ok(value: str) -> bool:
    return "\x00" not in value and (value.isascii() or problem_in_text(value) is None)


def _fast_ok(value: Any) -> bool:
    """True when ``value`` passes every rule: an iterative walk that builds no paths (the common case)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    pop, push = stack.pop, stack.append
    while stack:
        node, depth = pop()
        kind = type(node)
        if kind is dict:
            if depth > MAX_DEPTH:
                return False
            for key in node:
                if type(key) is not str or not _text_ok(key):
                    return False
            children = node.values()
        elif kind is list or kind is tuple:
            if depth > MAX_DEPTH:
                return False
            children = node
        else:
            if _problem(node, depth) is not None:
                return False
            continue
        for item in children:
            t = type(item)
            if t is str:
                if "\x00" in item or (not item.isascii() and problem_in_text(item) is not None):
                    return False
            elif t is dict or t is list or t is tuple:
                push((item, depth + 1))
            elif t is int:
                if not INT_MIN <= item <= INT_MAX:
                    return False
            elif t is not bool and item is not None and _problem(item, depth + 1) is not None:
                return False
    return True


def _find(value: Any, where: str) -> tuple[str, str] | None:
    """The first problem in document order, as (path, message), or None; iterative."""
    stack: list[tuple[Any, int, list[str]]] = [(value, 1, [])]
    while stack:
        node, depth, steps = stack.pop()
        problem = _problem(node, depth)
        if problem is not None:
            return _join(where, steps), problem
        if type(node) is dict:
            children: list[tuple[Any, int, list[str]]] = []
            for key, item in node.items():
                if type(key) is not str:
                    return _join(where, steps), f"has a key {key!r} that is not a string"
                key_problem = problem_in_text(key)
                if key_problem is not None:
                    return _join(where, [*steps, f"[{key!r}]"]), f"has a key that {key_problem}"
                children.append((item, depth + 1, [*steps, _key_step(key)]))
            stack.extend(reversed(children))
        elif type(node) in (list, tuple):
            stack.extend((item, depth + 1, [*steps, f"[{i}]"]) for i, item in reversed(list(enumerate(node))))
    return None


def check_json(value: Any, *, where: str) -> None:
    """Refuse a value that breaks a rule above: ``Invalid`` naming ``where`` plus the path, and the limit.

    ``where`` is the path of ``value`` itself (``"answers"``; ``""`` for a whole request body), or
    a label ending in a colon that the path follows (``"line 3:"`` gives ``line 3: data.text``).  Iterative, so no nesting can exhaust the stack; the common case (nothing
    wrong) builds no paths at all.
    """
    if _fast_ok(value):
        return
    found = _find(value, where)
    if found is None:
        return
    loc, msg = found
    label = loc or "the value"
    raise Invalid(f"{label}: {msg}", errors=[detail(loc, msg)])


# Every digit becomes "0", every other byte a space: an integer can leave the signed 64-bit range
# only as a run of at least 19 digits.
_DIGITS_AS_ZERO = bytes(48 if 48 <= b <= 57 else 32 for b in range(256))
_LONG_NUMBER = b"0" * 19


def _orjson_text_ok(raw: bytes) -> bool:
    """Whether a document orjson parsed surely passes ``check_json``, from its text alone.

    orjson itself refuses lone surrogates, NaN and infinities, and keys that are not strings; what is
    left is NUL (only as the escape ``\\u0000``, since raw control characters are refused), depth
    (at most one level per opening bracket) and integers beyond signed 64 bits (19 digits or more).
    A text that shows none of them needs no walk; one that does (a false alarm included) gets it.
    """
    if b"\\u0000" in raw or raw.count(b"[") + raw.count(b"{") > MAX_DEPTH:
        return False
    return _LONG_NUMBER not in raw.translate(_DIGITS_AS_ZERO)


def check_parsed(value: Any, *, raw: bytes | str, where: str) -> None:
    """``check_json`` for a value orjson has just parsed from ``raw``, skipping the walk when the text
    alone shows that it passes (the common case, several times cheaper than walking)."""
    try:
        text = raw.encode() if isinstance(raw, str) else raw
    except UnicodeEncodeError:  # pragma: no cover - orjson refuses such text before
        text = b"\\u0000"  # walk
    if _orjson_text_ok(text):
        return
    check_json(value, where=where)


def loads_json(data: bytes | str, *, source: str) -> Any:
    """Parse JSON and apply ``check_json``: the one way a JSON document from outside becomes a value.

    A syntax error is ``Invalid`` naming ``source``, line and column; a value that breaks a rule is
    ``Invalid`` whose ``loc`` is the path inside the document (``answers.why``), as an API client
    wants it.  Both are 422.
    """
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        why = json_syntax(exc)
        where = f"line {exc.lineno}, column {exc.colno}"
        problem = f"{why} ({where})" if why.startswith("nested") else f"not valid JSON at {where}: {why}"
        raise Invalid(
            f"{source}: {problem}",
            errors=[detail("", problem, line=exc.lineno, column=exc.colno, source=source)],
        ) from None
    check_json(value, where="")
    return value


def json_syntax(exc: orjson.JSONDecodeError) -> str:
    """Why orjson refused a document, in our words: its own depth limit is reported as ours."""
    msg = str(exc.msg)
    if "depth" in msg or "recursion" in msg:
        return f"nested deeper than {MAX_DEPTH} levels"
    if "surrogate" in msg:
        return f"{msg} (a lone surrogate is not valid Unicode text)"
    return msg


def check_text(value: str, *, where: str) -> str:
    """A single string from a form, a CLI option or a header, refused if it holds NUL or a lone surrogate."""
    problem = problem_in_text(value)
    if problem is not None:
        raise Invalid(f"{where}: {problem}", errors=[detail(where, problem)])
    return value


def check_name(value: Any, *, where: str, max_len: int) -> str:
    """A name as stored: a string of 1 to ``max_len`` characters once stripped, on one line, with no
    control characters (no CR/LF, no NUL, no lone surrogates).  Returns it stripped."""
    msg = f"must be a name of 1 to {max_len} characters"
    if not isinstance(value, str):
        got = "null" if value is None else type(value).__name__
        raise Invalid(f"{where}: {msg}, got {got}", errors=[detail(where, f"{msg}, got {got}")])
    name = value.strip()
    if not name or len(name) > max_len:
        why = f"{msg}, not blank" if not name else f"{msg}; it is {len(name)} characters long"
        raise Invalid(f"{where}: {why}", errors=[detail(where, why)])
    for char in name:
        if unicodedata.category(char) in _NAME_FORBIDDEN:
            problem = f"holds the control character U+{ord(char):04X}; a name is one line of printable text"
            raise Invalid(f"{where}: {problem}", errors=[detail(where, problem)])
    return name
