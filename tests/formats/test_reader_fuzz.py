"""Property tests over every reader: random bytes and hostile JSON-ish structures (deep nesting,
lone surrogates, NUL, huge numbers, BOMs, CRLF) never raise anything but ``Invalid``; whatever a
reader yields passes the bounds; and an import stores everything or nothing (SQLite and PostgreSQL)."""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import json
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.factories import make_member, make_org

from assay.app import Assay
from assay.errors import Invalid
from assay.formats import read_records
from assay.limits import MAX_DEPTH, check_json
from assay.storage.tables import items
from assay.workflows import ingest
from assay.workflows import projects as project_flows

SCHEMA: dict[str, Any] = {
    "inputs": [{"name": "text", "kind": "text"}, {"name": "chat", "kind": "chat", "required": False}],
    "questions": [{"name": "label", "kind": "choice", "options": ["a", "b"]}],
}
HOSTILE = ["\x00", "\ud800", "\udfff", "a\x00b", "\ufeff", "\r\n", "😀", '"', "\\", "]"]

texts = st.one_of(st.text(max_size=12), st.sampled_from(HOSTILE))
numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 10**400]),
    st.floats(allow_nan=True, allow_infinity=True),
)
leaves = st.one_of(st.none(), st.booleans(), numbers, texts)
values = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=6), st.sampled_from(HOSTILE)), inner, max_size=4),
    ),
    max_leaves=20,
)


@st.composite
def deep(draw: st.DrawFn) -> Any:
    value: Any = draw(leaves)
    for _ in range(draw(st.integers(min_value=MAX_DEPTH - 3, max_value=MAX_DEPTH + 40))):
        value = [value] if draw(st.booleans()) else {"k": value}
    return value


records = st.one_of(
    st.fixed_dictionaries(
        {"data": st.fixed_dictionaries({"text": texts}, optional={"x": st.one_of(values, deep())})}
    ),
    st.fixed_dictionaries({"data": values}, optional={"meta": values, "gold": values, "external_id": texts}),
    values,
)


def _dumps(value: Any) -> str:
    # The standard library writes what a sloppy exporter would: NaN, Infinity, huge integers and
    # lone surrogates (as escapes); orjson would refuse to write most of them.
    try:
        return json.dumps(value, allow_nan=True)
    except (ValueError, RecursionError):
        return "null"


@st.composite
def files(draw: st.DrawFn) -> tuple[str, bytes]:
    fmt = draw(st.sampled_from(["jsonl", "json", "csv", "parquet", "raw"]))
    rows = draw(st.lists(records, max_size=6))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    bom = draw(st.sampled_from(["", "\ufeff"]))
    if fmt == "jsonl":
        text = bom + newline.join(_dumps(r) for r in rows)
    elif fmt == "json":
        text = bom + "[" + ("," + newline).join(_dumps(r) for r in rows) + "]"
    elif fmt in ("csv", "parquet"):
        header = draw(
            st.lists(
                st.sampled_from(["text", "chat", "meta", "gold", "priority", "external_id", "x"]),
                min_size=1,
                max_size=4,
                unique=True,
            )
        )
        cells = [[draw(st.one_of(texts, st.builds(_dumps, values))) for _ in header] for _ in rows]
        if fmt == "parquet":
            # Parquet cannot hold a lone surrogate at all; NUL and the rest it can.
            clean = [[c.encode("utf-8", "replace").decode() for c in row] for row in cells]
            table = pa.table({h: [row[i] for row in clean] for i, h in enumerate(header)})
            sink = io.BytesIO()
            pq.write_table(table, sink)
            return fmt, sink.getvalue()
        out = io.StringIO()
        writer = csv.writer(out, lineterminator=newline)
        writer.writerow(header)
        writer.writerows(cells)
        text = bom + out.getvalue()
    else:
        return draw(st.sampled_from(["jsonl", "json", "csv", "parquet"])), draw(st.binary(max_size=300))
    return fmt, text.encode("utf-8", errors="surrogatepass")


def _read(fmt: str, blob: bytes) -> list[tuple[int, Any]]:
    return list(read_records(io.BytesIO(blob), fmt=fmt, name="f", columns=frozenset({"text", "chat", "x"})))


@settings(max_examples=300, deadline=None)
@given(files())
def test_readers_raise_only_invalid_and_yield_only_bounded_records(case: tuple[str, bytes]) -> None:
    fmt, blob = case
    try:
        rows = _read(fmt, blob)
    except Invalid as exc:
        exc.message.encode("utf-8")  # a problem can always be reported
        return
    for _, record in rows:
        if isinstance(record, Invalid):
            record.message.encode("utf-8")
            continue
        assert type(record) is dict
        check_json(record, where="yielded")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400), st.sampled_from(["jsonl", "json", "csv", "parquet"]))
def test_random_bytes_raise_only_invalid(blob: bytes, fmt: str) -> None:
    with contextlib.suppress(Invalid):
        _read(fmt, blob)


_names = itertools.count()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=files())
def test_an_import_stores_everything_or_nothing(hub: Assay, case: tuple[str, bytes]) -> None:
    fmt, blob = case
    if not hasattr(hub, "_fuzz_actor"):
        manager = make_member(hub, make_org(hub), role="manager")
        hub._fuzz_actor = manager.actor(hub)  # type: ignore[attr-defined]
    actor = hub._fuzz_actor  # type: ignore[attr-defined]
    project = project_flows.create(hub, actor, name=f"fuzz-{next(_names)}", schema=SCHEMA)
    try:
        result = ingest.import_items(hub, actor, project, source=io.BytesIO(blob), fmt=fmt, name="f")
    except Invalid:
        expected = 0
    else:
        expected = result.imported
        assert expected > 0
    with hub.db.read() as conn:
        stored = conn.execute(
            sa.select(sa.func.count()).select_from(items).where(items.c.project_id == project.id)
        ).scalar_one()
    assert stored == expected


@pytest.mark.parametrize("fmt", ["jsonl", "json"])
def test_a_bom_and_crlf_file_reads(fmt: str) -> None:
    lines = ['{"data": {"text": "a"}}', '{"data": {"text": "b"}}']
    text = "\r\n".join(lines) if fmt == "jsonl" else "[" + ",\r\n".join(lines) + "]\r\n"
    rows = _read(fmt, ("\ufeff" + text).encode())
    assert [r for _, r in rows] == [{"data": {"text": "a"}}, {"data": {"text": "b"}}]
