"""Server logging, in one place: one line per event on stderr, ``key=value`` or JSON.

Code logs through ``logging.getLogger("assay.<area>")`` and ``event(log, "area.what", **fields)``:
the event name and its fields are data, and ``Formatter`` alone decides how a line looks, so every
line has the same shape (``ts level logger event fields...``).  Records that are not events
(uvicorn's, a library's) get the same shape with their text in ``msg``.  ``setup`` is called by
``assay serve`` (and its job process); without it, events are ordinary log records that nothing
prints.

No secret reaches a line: values of every setting declared secret (the session key) and anything
shaped like an API token are replaced by ``[redacted]`` in every field, message and traceback, and
fields whose name says they hold a credential (password, token, cookie, secret, authorization)
are never written.  Callers pass ids and reasons, never credentials; this is the net below that.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from assay import patterns
from assay.errors import AssayError

if TYPE_CHECKING:
    from assay.settings import Config

FIELDS = "assay_fields"  # the LogRecord attribute that carries an event's fields
REDACTED = "[redacted]"
HANDLER = "assay"
_CREDENTIAL_NAME = patterns.compile(r"(?i)password|token|cookie|secret|authorization")
_TOKEN = patterns.compile(r"assay_[A-Za-z0-9_-]{40,}")  # what security.new_token makes
_BARE = patterns.compile(r"[A-Za-z0-9_.:/@+,{}\-]+")
_secrets: set[str] = set()

refusals = logging.getLogger("assay.access")


def event(
    logger: logging.Logger, name: str, /, *, level: int = logging.INFO, exc_info: bool = False, **fields: Any
) -> None:
    """Log the event ``name`` (``area.what``) with ``fields`` (None ones are left out); ``exc_info``
    adds the exception being handled, traceback and all, to the same line."""
    if logger.isEnabledFor(level):
        logger.log(level, name, extra={FIELDS: fields}, exc_info=exc_info)


def seconds_since(started: float) -> float:
    """Seconds since a ``time.perf_counter()`` reading, rounded for a log line."""
    return round(time.perf_counter() - started, 4)


R = TypeVar("R")


def logged(
    logger: logging.Logger,
    name: str,
    work: Callable[[], R],
    *,
    counts: Callable[[R], Mapping[str, Any]],
    **fields: Any,
) -> R:
    """``work()`` logged as ``name.started``, then ``name.finished`` with ``counts(result)`` or
    ``name.refused`` with the refusal's status and reason; every line with ``fields``, the last
    two with the seconds it took."""
    started = time.perf_counter()
    event(logger, f"{name}.started", **fields)
    try:
        result = work()
    except AssayError as exc:
        event(
            logger,
            f"{name}.refused",
            **fields,
            status=exc.status,
            reason=exc.message[:300],
            seconds=seconds_since(started),
        )
        raise
    event(logger, f"{name}.finished", **fields, **counts(result), seconds=seconds_since(started))
    return result


def refusal(
    *,
    action: str,
    status: int,
    ip: str | None,
    actor: Any = None,
    object_type: str | None = None,
    object_id: object = None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Log a denied request (401, 403, 404 on a hidden id, 429): the action, the status, the client
    address, the actor's organisation and user ids, the object, and ``detail``'s ``reason`` alone
    (details may hold what a caller typed, such as an email; a reason is the code's own words)."""
    reason = (detail or {}).get("reason")
    folded = (detail or {}).get("suppressed")
    event(
        refusals,
        "access.denied",
        action=action,
        status=status,
        ip=ip or getattr(actor, "ip", None),
        org=getattr(actor, "org_id", None),
        user=getattr(actor, "user_id", None),
        object=None if object_type is None else f"{object_type}:{'' if object_id is None else object_id}",
        reason=reason if isinstance(reason, str) else None,
        suppressed=folded if isinstance(folded, int) else None,  # refusals folded into this one
    )


def redact(value: str | None) -> None:
    """Never write ``value`` in a log line again (in this process)."""
    if value:
        _secrets.add(value)


def clean(text: str) -> str:
    for value in _secrets:
        text = text.replace(value, REDACTED)
    return _TOKEN.sub(REDACTED, text)


class Formatter(logging.Formatter):
    """``text``: ``ts=… level=… logger=… event=… key=value …``; ``json``: one object per line."""

    def __init__(self, style: str = "text") -> None:
        super().__init__()
        if style not in ("text", "json"):
            raise ValueError(f"log format {style!r}: choose text or json")
        self.style = style

    def fields(self, record: logging.LogRecord) -> dict[str, Any]:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        out: dict[str, Any] = {
            "ts": f"{stamp}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        given = getattr(record, FIELDS, None)
        if isinstance(given, dict):
            out["event"] = str(record.msg)
            for key, value in given.items():
                if value is None or key in out:
                    continue
                out[key] = REDACTED if _CREDENTIAL_NAME.search(key) else value
        else:
            out["msg"] = record.getMessage()
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return {k: clean(v) if isinstance(v, str) else _plain(v) for k, v in out.items()}

    def format(self, record: logging.LogRecord) -> str:
        fields = self.fields(record)
        if self.style == "json":
            return json.dumps(fields, ensure_ascii=False, default=str)
        return " ".join(f"{key}={_text(value)}" for key, value in fields.items())


def _plain(value: Any) -> Any:
    if isinstance(value, bool | int | float) or value is None:
        return value
    return clean(str(value))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    # Anything with spaces, quotes, '=' or line breaks is quoted, so one event stays one line.
    return text if _BARE.fullmatch(text) else json.dumps(text, ensure_ascii=False)


def setup(config: Config) -> None:
    """Send log records to stderr in the configured format and level (called again, it replaces
    its own handler and leaves others alone)."""
    from assay.settings import SETTINGS

    for s in SETTINGS:
        if s.secret:
            redact(getattr(config, s.name))
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(HANDLER)
    handler.setFormatter(Formatter(config.log_format))
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)  # libraries speak up only when something is wrong
    level = config.log_level.upper()
    for name in ("assay", "uvicorn"):
        logging.getLogger(name).setLevel(level)
