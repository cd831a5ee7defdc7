"""Bounds on untrusted input (placeholder until the readers' bounds land; see the limits branch)."""

from __future__ import annotations

from typing import Any

import orjson

from assay.errors import Invalid, detail


def loads_json(data: bytes | str, *, source: str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise Invalid(f"{source}: not valid JSON ({exc})", errors=[detail(source, str(exc))]) from None
