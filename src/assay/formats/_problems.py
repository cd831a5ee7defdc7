"""How readers word a problem with one record, and the bounds every record passes."""

from __future__ import annotations

from typing import Any

from assay.errors import Invalid, detail
from assay.limits import check_json, check_parsed


def problem(name: str | None, where: str, msg: str, **extra: Any) -> Invalid:
    """``Invalid`` for the record at ``where`` (``line 3``): ``{name}: {where}: {msg}``."""
    text = f"{name}: {where}: {msg}" if name else f"{where}: {msg}"
    info = {"file": name, **extra} if name else extra
    return Invalid(text, errors=[detail(where, msg, **info)])


def checked(
    record: dict[str, Any], *, name: str | None, where: str, raw: bytes | None = None
) -> dict[str, Any] | Invalid:
    """The record if it is within ``assay.limits``' bounds, else the problem naming its path.

    ``raw`` is the text orjson parsed the record from, when it did: it can spare the walk."""
    try:
        if raw is None:
            check_json(record, where=f"{where}:")
        else:
            check_parsed(record, raw=raw, where=f"{where}:")
    except Invalid as exc:
        first = exc.errors[0]
        return problem(name, str(first["loc"]).removesuffix(":"), first["msg"])
    return record
