"""Turn pydantic's validation errors into the project's ``Invalid`` with readable paths and messages."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from assay.domain.inputs import INPUT_KINDS
from assay.domain.questions import QUESTION_KINDS
from assay.errors import ErrorDetail, Invalid, detail

_TAGS = frozenset(INPUT_KINDS + QUESTION_KINDS)


def format_loc(parts: Iterable[Any]) -> str:
    """``("questions", 2, "scale", "max")`` -> ``questions[2].scale.max``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _kind_list(loc: tuple[Any, ...]) -> str:
    kinds = INPUT_KINDS if loc and loc[0] == "inputs" else QUESTION_KINDS
    return ", ".join(kinds)


def _message(error: Any, loc: tuple[Any, ...], known: Iterable[str]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = error.get("input")
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        name = str(loc[-1])
        if name in known:  # a field of another kind (``completion`` on a choice question)
            return f"unknown field {name!r} here: it belongs to another kind"
        guess = difflib.get_close_matches(name, list(known), n=1)
        hint = f"; did you mean {guess[0]!r}?" if guess else ""
        return f"unknown field {name!r}{hint}"
    if kind == "union_tag_invalid":
        return f"unknown kind {ctx.get('tag')!r}; choose one of {_kind_list(loc)}"
    if kind == "union_tag_not_found":
        return f"is required: one of {_kind_list(loc)}"
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"])
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        words = {
            "greater_than_equal": ("ge", "at least"),
            "greater_than": ("gt", "greater than"),
            "less_than_equal": ("le", "at most"),
            "less_than": ("lt", "less than"),
        }[kind]
        return f"{value!r} is not allowed: must be {words[1]} {ctx.get(words[0])}"
    if kind in ("too_short", "too_long"):
        count = ctx.get("min_length" if kind == "too_short" else "max_length")
        bound = "needs at least" if kind == "too_short" else "allows at most"
        return f"{bound} {count} {'entry' if count == 1 else 'entries'}"
    message = str(error["msg"])
    if isinstance(value, bool) and kind in ("string_type", "int_type", "float_type"):
        # YAML 1.1 reads yes/no/on/off as booleans: the usual cause of a stray true/false.
        return f"{message}, got {value!r} (in YAML, put yes/no/on/off in quotes)"
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return f"{message}, got {type(value).__name__} {value!r}"[:300]
    return message


def _clean_loc(raw: tuple[Any, ...]) -> tuple[Any, ...]:
    loc = list(raw)
    # A discriminated union inserts the kind as a path step: questions[2].preference.scale -> drop it.
    if len(loc) >= 3 and isinstance(loc[1], int) and loc[2] in _TAGS and loc[0] in ("inputs", "questions"):
        del loc[2]
    # Dict keys that failed show up as "[key]"; the key itself is already the previous step.
    return tuple(p for p in loc if p != "[key]")


def from_validation_error(exc: ValidationError, *, what: str, known: Iterable[str]) -> Invalid:
    """One ``errors`` entry per problem; the message names the first problem."""
    fields = tuple(known)
    entries: list[ErrorDetail] = []
    for error in exc.errors():
        loc = _clean_loc(tuple(error["loc"]))
        msg = _message(error, loc, fields)
        if error["type"] == "union_tag_not_found":
            loc = (*loc, "kind")
        extra: dict[str, Any] = {}
        value = error.get("input")
        if isinstance(value, str | int | float | bool) and error["type"] != "missing":
            extra["value"] = value
        entries.append(detail(format_loc(loc), msg, **extra))
    return invalid(entries, what=what)


def invalid(entries: list[ErrorDetail], *, what: str) -> Invalid:
    """``Invalid`` whose message states the first problem and counts the others."""
    first = entries[0]
    where = f"{first['loc']}: " if first["loc"] else ""
    more = len(entries) - 1
    tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return Invalid(f"invalid {what}: {where}{first['msg']}{tail}", errors=entries)
