"""Charts as inline SVG, drawn on the server: no script, no network, readable by screen readers.

Every chart carries ``role="img"`` with a title, and the numbers are also in a table next to it.
Labels are escaped (they are annotators' emails and workforce names).  A missing number (no gold
answers yet, no cost model) is drawn as the words "no data", never as a bar of zero or a NaN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from html import escape

from markupsafe import Markup

W, H = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 36


def _frame(title: str, body: list[str], height: int = H) -> Markup:
    head = (
        f'<svg class="chart" viewBox="0 0 {W} {height}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    )
    return Markup(head + "".join(body) + "</svg>")


def _label(text: str, limit: int) -> str:
    """A row label cut to fit its column, then escaped (the cut must not split an entity)."""
    return escape(text if len(text) <= limit else text[: limit - 1] + "\u2026")


def _number(value: float | None) -> float | None:
    """The value if it can be drawn; ``None`` for a missing, NaN or infinite one."""
    return value if value is not None and math.isfinite(value) else None


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000):
        if value <= step * 4:
            return float(step * 4)
    return float(value)


def line_chart(title: str, points: Sequence[tuple[date, int]], *, target: int | None = None) -> Markup:
    """Cumulative answers over time, with the target (items x overlap) as a dashed line."""
    if not points:
        return _frame(title, [f'<text x="{W / 2}" y="{H / 2}" text-anchor="middle">No answers yet</text>'])
    top = _nice_max(max([p[1] for p in points] + [target or 0]))
    x0, x1, y0, y1 = LEFT, W - RIGHT, H - BOTTOM, TOP
    first, last = points[0][0].toordinal(), points[-1][0].toordinal()
    span = max(last - first, 1)

    def x(d: date) -> float:
        return x0 + (x1 - x0) * ((d.toordinal() - first) / span if len(points) > 1 else 0.5)

    def y(v: float) -> float:
        return y0 - (y0 - y1) * v / top

    body = []
    for i in range(5):
        v = top * i / 4
        body.append(f'<line class="grid" x1="{x0}" x2="{x1}" y1="{y(v):.1f}" y2="{y(v):.1f}"/>')
        body.append(f'<text x="{x0 - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{int(v)}</text>')
    body.append(f'<line class="axis" x1="{x0}" x2="{x1}" y1="{y0}" y2="{y0}"/>')
    if target:
        body.append(f'<line class="target" x1="{x0}" x2="{x1}" y1="{y(target):.1f}" y2="{y(target):.1f}"/>')
        body.append(f'<text x="{x1}" y="{y(target) - 4:.1f}" text-anchor="end">target {target}</text>')
    path = " ".join(f"{'M' if i == 0 else 'L'}{x(d):.1f},{y(v):.1f}" for i, (d, v) in enumerate(points))
    body.append(f'<path class="line" d="{path}"/>')
    if len(points) == 1:
        d, v = points[0]
        body.append(f'<circle class="dot" cx="{x(d):.1f}" cy="{y(v):.1f}" r="3"/>')
    body.append(f'<text x="{x0}" y="{H - 8}">{points[0][0].isoformat()}</text>')
    body.append(f'<text x="{x1}" y="{H - 8}" text-anchor="end">{points[-1][0].isoformat()}</text>')
    return _frame(title, body)


def bar_chart(
    title: str,
    bars: Sequence[tuple[str, float | None]],
    *,
    limit: int = 15,
    fmt: str = "g",
    empty: str = "No answers yet",
) -> Markup:
    """Horizontal bars (throughput per annotator or workforce, cost), in the order given.

    ``fmt`` formats the number printed after each bar; a row whose value is ``None`` says "no data".
    """
    shown = [(label, _number(value)) for label, value in list(bars)[:limit]]
    if not shown:
        return _frame(title, [f'<text x="{W / 2}" y="40" text-anchor="middle">{escape(empty)}</text>'], 80)
    row, label_w = 22, 220
    height = TOP + row * len(shown) + 8
    top = max([v for _, v in shown if v is not None and v > 0] or [1.0])
    body = []
    for i, (label, value) in enumerate(shown):
        yy = TOP + i * row
        body.append(f'<text x="{label_w - 8}" y="{yy + 14}" text-anchor="end">{_label(label, 34)}</text>')
        if value is None:
            body.append(f'<text class="none" x="{label_w}" y="{yy + 14}">no data</text>')
            continue
        width = (W - label_w - 60) * max(value, 0.0) / top
        body.append(f'<rect class="bar" x="{label_w}" y="{yy + 3}" width="{width:.1f}" height="{row - 8}"/>')
        body.append(f'<text x="{label_w + width + 6:.1f}" y="{yy + 14}">{value:{fmt}}</text>')
    return _frame(title, body, height)


def interval_chart(title: str, rows: Sequence[tuple[str, float, float | None, float | None]]) -> Markup:
    """Point estimates with their 95% intervals on a -1..1 axis (Krippendorff's alpha)."""
    shown = [r for r in rows if r[1] is not None]
    if not shown:
        return _frame(
            title, [f'<text x="{W / 2}" y="40" text-anchor="middle">Not enough overlap yet</text>'], 80
        )
    row, label_w = 26, 160
    height = TOP + row * len(shown) + 30
    x0, x1 = label_w, W - RIGHT - 30

    def x(v: float) -> float:
        return x0 + (x1 - x0) * (max(-1.0, min(1.0, v)) + 1) / 2

    body = []
    for v in (-1.0, 0.0, 0.667, 0.8, 1.0):
        body.append(f'<line class="grid" x1="{x(v):.1f}" x2="{x(v):.1f}" y1="{TOP}" y2="{height - 24}"/>')
        body.append(f'<text x="{x(v):.1f}" y="{height - 8}" text-anchor="middle">{v:g}</text>')
    for i, (label, value, low, high) in enumerate(shown):
        yy = TOP + i * row + 12
        body.append(f'<text x="{label_w - 8}" y="{yy + 4}" text-anchor="end">{escape(label[:26])}</text>')
        if low is not None and high is not None:
            body.append(f'<line class="whisker" x1="{x(low):.1f}" x2="{x(high):.1f}" y1="{yy}" y2="{yy}"/>')
        body.append(f'<circle class="dot" cx="{x(value):.1f}" cy="{yy}" r="4"/>')
        body.append(f'<text x="{x1 + 6}" y="{yy + 4}">{value:.2f}</text>')
    return _frame(title, body, height)


def proportion_chart(
    title: str,
    rows: Sequence[tuple[str, float | None, float | None, float | None]],
    *,
    reference: float | None = None,
    reference_label: str = "",
    empty: str = "No workforce answers yet",
) -> Markup:
    """Shares with their 95% intervals, a dot and a whisker per row, on a 0-100% axis.

    Rows are ``(label, value, low, high)``; a row without a value (no gold answers yet) says "no
    data" rather than drawing the 0-100% interval of nothing.  ``reference`` draws a vertical dashed
    line, such as the accuracy below which annotators are paused.
    """
    if not rows:
        return _frame(title, [f'<text x="{W / 2}" y="40" text-anchor="middle">{escape(empty)}</text>'], 80)
    row, label_w = 26, 160
    height = TOP + row * len(rows) + 30
    x0, x1 = label_w, W - RIGHT - 56
    bottom = height - 24

    def x(v: float) -> float:
        return x0 + (x1 - x0) * max(0.0, min(1.0, v))

    body = []
    for v in (0.0, 0.25, 0.5, 0.75, 1.0):
        body.append(f'<line class="grid" x1="{x(v):.1f}" x2="{x(v):.1f}" y1="{TOP}" y2="{bottom}"/>')
        body.append(f'<text x="{x(v):.1f}" y="{height - 8}" text-anchor="middle">{v:.0%}</text>')
    line = _number(reference)
    if line is not None:
        body.append(
            f'<line class="reference" x1="{x(line):.1f}" x2="{x(line):.1f}" y1="{TOP}" y2="{bottom}"/>'
        )
        text = escape(f"{reference_label} {line:.0%}".strip())
        # Written on the side with room: a line near 100% keeps its words inside the frame.
        at, anchor = (x(line) - 4, "end") if line > 0.5 else (x(line) + 4, "start")
        body.append(f'<text x="{at:.1f}" y="{TOP - 4}" text-anchor="{anchor}">{text}</text>')
    for i, (label, value, low, high) in enumerate(rows):
        yy = TOP + i * row + 12
        body.append(f'<text x="{label_w - 8}" y="{yy + 4}" text-anchor="end">{_label(label, 26)}</text>')
        point, lo, hi = _number(value), _number(low), _number(high)
        if point is None:
            body.append(f'<text class="none" x="{x0 + 6}" y="{yy + 4}">no data</text>')
            continue
        if lo is not None and hi is not None:
            lo, hi = min(lo, hi), max(lo, hi)
            body.append(f'<line class="whisker" x1="{x(lo):.1f}" x2="{x(hi):.1f}" y1="{yy}" y2="{yy}"/>')
            for end in (lo, hi):
                body.append(
                    f'<line class="cap" x1="{x(end):.1f}" x2="{x(end):.1f}" y1="{yy - 4}" y2="{yy + 4}"/>'
                )
        body.append(f'<circle class="dot" cx="{x(point):.1f}" cy="{yy}" r="4"/>')
        body.append(f'<text x="{x1 + 8}" y="{yy + 4}">{point:.0%}</text>')
    return _frame(title, body, height)
