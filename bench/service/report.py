"""The figures table (Markdown) from a results dictionary."""

from __future__ import annotations

import math
from typing import Any


def _get(d: dict[str, Any], path: str) -> Any:
    cur: Any = d
    for key in path.split("."):
        if not isinstance(cur, dict) or key not in cur:
            return None
        cur = cur[key]
    return cur


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        if math.isnan(v):
            return "—"
        return f"{v:,.2f}" if abs(v) < 100 else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _ratio(a: Any, b: Any) -> str:
    if (
        not isinstance(a, int | float)
        or not isinstance(b, int | float)
        or not b
        or math.isnan(a)
        or math.isnan(b)
    ):
        return "—"
    r = a / b
    return f"{r:,.1f}×" if r >= 1 else f"{r:.3f}×"


def table(results: dict[str, Any]) -> str:
    a = results.get("assay", {})
    ls = results.get("label_studio", {})
    la, ll = _get(a, "latency.project_items"), _get(ls, "latency.project_items")
    ls_export_items = _get(ls, "export.items")
    ls_rate = _get(ls, "export.items_per_s")
    a_export_items = _get(a, "export.items")
    extrapolated = a_export_items / ls_rate if a_export_items and ls_rate else None
    rows: list[tuple[str, Any, Any, str]] = [
        (
            f"import {_fmt(_get(a, 'import.items'))} items, one request: items/s",
            _get(a, "import.items_per_s"),
            _get(ls, "import.items_per_s"),
            "≥ 10× LS",
        ),
        ("  same: wall s", _get(a, "import.wall_s"), _get(ls, "import.wall_s"), ""),
        ("  same: server peak RSS MB", _get(a, "import.peak_rss_mb"), _get(ls, "import.peak_rss_mb"), ""),
        (
            f"import {_fmt(_get(a, 'import_big.items'))} items (SQLite): wall s",
            _get(a, "import_big.wall_s"),
            None,
            "< 60 s",
        ),
        ("  same: server peak RSS MB (sampled)", _get(a, "import_big.peak_rss_mb"), None, "< 500 MB"),
        ("  same: server VmHWM MB (lifetime)", _get(a, "import_big.vm_hwm_mb"), None, ""),
        (
            f"next p50 ms (assay at {_fmt(la)} items, LS at {_fmt(ll)})",
            _get(a, "latency.next_p50_ms"),
            _get(ls, "latency.next_p50_ms"),
            "",
        ),
        ("next p99 ms", _get(a, "latency.next_p99_ms"), _get(ls, "latency.next_p99_ms"), "< 20 ms"),
        ("submit p50 ms", _get(a, "latency.submit_p50_ms"), _get(ls, "latency.submit_p50_ms"), ""),
        ("submit p99 ms", _get(a, "latency.submit_p99_ms"), _get(ls, "latency.submit_p99_ms"), "< 20 ms"),
        (
            f"{_fmt(_get(a, 'crowd.annotators'))} concurrent annotators: answers/s",
            _get(a, "crowd.answers_per_s"),
            _get(ls, "crowd.answers_per_s"),
            "≥ 10× LS",
        ),
        ("  answers in the window", _get(a, "crowd.answers"), _get(ls, "crowd.answers"), ""),
        (
            "  items answered more than overlap (1)",
            _get(a, "crowd.items_answered_more_than_overlap"),
            _get(ls, "crowd.items_answered_more_than_overlap"),
            "0",
        ),
        (
            "  items handed out more than overlap",
            _get(a, "crowd.items_handed_out_more_than_overlap"),
            _get(ls, "crowd.items_handed_out_more_than_overlap"),
            "",
        ),
        ("  next p99 ms under load", _get(a, "crowd.next_p99_ms"), _get(ls, "crowd.next_p99_ms"), ""),
        (
            f"export annotated items (assay {_fmt(a_export_items)} JSONL, LS {_fmt(ls_export_items)} JSON): wall s",
            _get(a, "export.wall_s"),
            _get(ls, "export.wall_s"),
            "",
        ),
        ("  items/s", _get(a, "export.items_per_s"), ls_rate, ""),
        (
            f"  {_fmt(a_export_items)} items: wall s (LS extrapolated from its rate)",
            _get(a, "export.wall_s"),
            round(extrapolated, 1) if extrapolated else None,
            "",
        ),
        ("  server RSS MB before / peak / after", _rss3(a), _rss3(ls), "flat"),
        ("start-up s, empty data dir (migrations)", _get(a, "start_cold_s"), _get(ls, "start_cold_s"), ""),
        ("start-up s, existing data", _get(a, "start_warm_large_s"), _get(ls, "start_warm_s"), ""),
        ("idle RSS MB after start", _get(a, "idle_rss_mb"), _get(ls, "idle_rss_mb"), ""),
    ]
    lines = ["| measure | assay | Label Studio | assay / LS | target |", "| --- | ---: | ---: | ---: | --- |"]
    for label, av, lv, target in rows:
        lines.append(f"| {label} | {_fmt(av)} | {_fmt(lv)} | {_ratio(av, lv)} | {target} |")
    return "\n".join(lines)


def _rss3(side: dict[str, Any]) -> str | None:
    vals = [_get(side, f"export.rss_{k}_mb") for k in ("before", "peak", "after")]
    if any(v is None for v in vals):
        return None
    return " / ".join(f"{v:.0f}" for v in vals)
