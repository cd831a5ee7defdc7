"""Check item records (one import line) against a project's inputs, fast.

An import may hold millions of records, so nothing here builds a pydantic model per item: the
constructor turns the schema into a few plain functions and ``check`` is a handful of type tests.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from assay.domain.answers import check_answers, compile_questions, show
from assay.domain.inputs import CHAT_ROLES, TEXT_KINDS, ChatInput, ResponsesInput
from assay.domain.questions import PreferenceQuestion, RankingQuestion
from assay.errors import Invalid
from assay.limits import check_name

if TYPE_CHECKING:
    from assay.domain.schema import ProjectSchema

__all__ = ["CheckedItem", "ItemChecker", "RecordError", "check_batch"]

RECORD_FIELDS = frozenset({"data", "external_id", "priority", "meta", "gold", "batch"})
MAX_EXTERNAL_ID = 200  # the storage column's width
MAX_BATCH = 100  # the storage column's width
_INT32 = 2**31 - 1  # priority is a 32-bit column in PostgreSQL


class RecordError(ValueError):
    """One problem in one record: ``field`` is a path such as ``data.responses[1].content``."""

    __slots__ = ("field", "msg", "value")

    def __init__(self, field: str, msg: str, value: Any = None) -> None:
        super().__init__(f"{field}: {msg}" if field else msg)
        self.field = field
        self.msg = msg
        self.value = value


class CheckedItem(NamedTuple):
    """A record that passed: ``data`` as given (unknown fields kept), the rest normalised."""

    data: dict[str, Any]
    external_id: str | None
    priority: int
    meta: dict[str, Any] | None
    gold: dict[str, Any] | None
    batch: str | None = None
    # An optional responses input that a question compares is absent: the item waits for its
    # responses to be generated (``workflows.generate``) and is offered to nobody until then.
    waiting: bool = False


InputCheck = Callable[[Any, str], None]


def _kind_of(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def check_batch(value: Any, field: str = "batch") -> str:
    """A batch name as stored: a name (``limits.check_name``) of 1 to ``MAX_BATCH`` characters; an
    integer becomes its digits (as ``external_id`` does), since ``settings.batches`` names batches
    with strings."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise RecordError(field, f"must be a string (a batch name), got {_kind_of(value)}", show(value))
    try:
        return check_name(value, where=field, max_len=MAX_BATCH)
    except Invalid as exc:
        raise RecordError(field, exc.errors[0]["msg"], show(value)) from None


def _check_string(value: Any, field: str) -> None:
    if not isinstance(value, str):
        raise RecordError(field, f"must be a string, got {_kind_of(value)}", value)


def _check_chat(value: Any, field: str) -> None:
    if not isinstance(value, list) or not value:
        raise RecordError(field, "must be a non-empty list of turns {role, content}", show(value))
    for i, turn in enumerate(value):
        if not isinstance(turn, dict):
            raise RecordError(f"{field}[{i}]", "must be an object {role, content}", show(turn))
        role = turn.get("role")
        if role not in CHAT_ROLES:
            raise RecordError(
                f"{field}[{i}].role", f"{show(role)} is not one of {', '.join(CHAT_ROLES)}", role
            )
        if not isinstance(turn.get("content"), str):
            raise RecordError(
                f"{field}[{i}].content",
                f"must be a string, got {_kind_of(turn.get('content'))}",
                show(turn.get("content")),
            )


def _responses_check(low: int, high: int, why: str) -> InputCheck:
    def check(value: Any, field: str) -> None:
        if not isinstance(value, list) or not low <= len(value) <= high:
            count = f"got {len(value)}" if isinstance(value, list) else f"got {_kind_of(value)}"
            want = f"{low}" if low == high else f"{low} to {high}"
            raise RecordError(
                field, f"must be a list of {want} responses {{id, content}}{why}; {count}", show(value)
            )
        ids: set[str] = set()
        for i, response in enumerate(value):
            at = f"{field}[{i}]"
            if not isinstance(response, dict):
                raise RecordError(at, "must be an object {id, content, model?}", show(response))
            rid = response.get("id")
            if not isinstance(rid, str) or not rid:
                raise RecordError(
                    f"{at}.id", f"must be a non-empty string (quote numbers), got {show(rid)}", rid
                )
            if rid in ids:
                raise RecordError(
                    f"{at}.id", f"{rid!r} is used by an earlier response; ids must be unique", rid
                )
            ids.add(rid)
            content = response.get("content")
            if not isinstance(content, str):
                raise RecordError(
                    f"{at}.content", f"must be a string, got {_kind_of(content)}", show(content)
                )
            model = response.get("model")
            if model is not None and not isinstance(model, str):
                raise RecordError(f"{at}.model", f"must be a string, got {_kind_of(model)}", show(model))

    return check


class ItemChecker:
    """Checks import records against one schema; build once per import, call ``check`` per record."""

    __slots__ = ("_compared", "_gold", "_inputs", "_strings")

    def __init__(self, schema: ProjectSchema) -> None:
        first = schema.responses_input()
        default = first.name if first is not None else None
        # Preference compares exactly two responses, so an input it reads may hold no more.
        paired = {q.input or default for q in schema.questions if isinstance(q, PreferenceQuestion)}
        self._compared = frozenset(
            q.input or default
            for q in schema.questions
            if isinstance(q, PreferenceQuestion | RankingQuestion)
        )
        strings: list[str] = []
        others: list[tuple[str, str, bool, InputCheck]] = []
        for inp in schema.inputs:
            field = f"data.{inp.name}"
            if inp.kind in TEXT_KINDS and inp.required:
                strings.append(inp.name)  # the common case gets an inline test in check()
                continue
            fn: InputCheck
            if isinstance(inp, ResponsesInput):
                if inp.name in paired:
                    fn = _responses_check(2, 2, " (a preference question compares two)")
                else:
                    fn = _responses_check(2, inp.max_responses, "")
            elif isinstance(inp, ChatInput):
                fn = _check_chat
            else:
                fn = _check_string
            others.append((inp.name, field, inp.required, fn))
        self._strings = tuple(strings)
        self._inputs = tuple(others)
        self._gold = compile_questions(schema)

    def check(self, record: Any) -> CheckedItem:
        """The checked item, or ``RecordError`` naming the first bad field."""
        if type(record) is not dict:
            if not isinstance(record, Mapping):
                raise RecordError(
                    "", f"an item must be an object with a 'data' object, got {_kind_of(record)}"
                )
            record = dict(record)
        data = record.get("data")
        if type(data) is not dict:
            if "data" not in record:
                raise RecordError("data", "is required: an object with the item's fields")
            raise RecordError(
                "data", f"must be an object with the item's fields, got {_kind_of(data)}", show(data)
            )
        for name in self._strings:
            if type(data.get(name)) is not str:
                value = data.get(name)
                if value is None:
                    raise RecordError(f"data.{name}", "is required (a string)")
                _check_string(value, f"data.{name}")
        waiting = False
        for name, field, required, fn in self._inputs:
            value = data.get(name)
            if value is None:
                if required:
                    raise RecordError(field, "is required")
                waiting = waiting or name in self._compared
                continue
            fn(value, field)
        if len(record) == 1:
            return CheckedItem(data, None, 0, None, None, None, waiting)
        return self._rest(record, data, waiting)

    def _rest(self, record: dict[str, Any], data: dict[str, Any], waiting: bool) -> CheckedItem:
        if not record.keys() <= RECORD_FIELDS:
            extra = sorted(str(k) for k in record.keys() - RECORD_FIELDS)[0]
            raise RecordError(
                extra, "unknown field; an item has data, external_id, priority, meta, gold and batch"
            )
        ext = record.get("external_id")
        if ext is not None:
            if isinstance(ext, int) and not isinstance(ext, bool):
                ext = str(ext)
            elif not isinstance(ext, str):
                raise RecordError(
                    "external_id", f"must be a string or an integer, got {_kind_of(ext)}", show(ext)
                )
            elif not ext.strip() or len(ext) > MAX_EXTERNAL_ID:
                raise RecordError(
                    "external_id", f"must be 1 to {MAX_EXTERNAL_ID} characters, not blank", show(ext)
                )
        priority = record.get("priority")
        if priority is None:
            priority = 0
        elif isinstance(priority, bool) or not isinstance(priority, int):
            raise RecordError("priority", f"must be an integer, got {_kind_of(priority)}", show(priority))
        elif not -_INT32 <= priority <= _INT32:
            raise RecordError("priority", f"{priority} is out of range (±{_INT32})", priority)
        meta = record.get("meta")
        if meta is not None and not isinstance(meta, dict):
            raise RecordError("meta", f"must be an object, got {_kind_of(meta)}", show(meta))
        gold = record.get("gold")
        if gold is not None:
            if waiting:
                raise RecordError(
                    "gold", "an item whose responses are still to be generated cannot be gold yet"
                )
            gold = self._check_gold(gold, data)
        batch = record.get("batch")
        if batch is not None:
            batch = check_batch(batch)
        return CheckedItem(data, ext, priority, meta, gold, batch, waiting)

    def _check_gold(self, gold: Any, data: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(gold, dict):
            raise RecordError("gold", f"must be an object of known answers, got {_kind_of(gold)}", show(gold))
        clean, problems = check_answers(self._gold, data=data, answers=gold, partial=True, prefix="gold")
        if problems:
            first = problems[0]
            raise RecordError(first["loc"], first["msg"], first.get("value"))
        if not clean:
            raise RecordError("gold", "give at least one known answer, or leave gold out")
        return clean
