"""Charts as inline SVG, drawn on the server: no script, no network, readable by screen readers.

Every chart carries ``role="img"`` with a title, and the numbers are also in a table next to it.
Labels are escaped (they are annotators' emails and workforce names).
"""

from __future__ import annotations

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


def bar_chart(title: str, bars: Sequence[tuple[str, float]], *, limit: int = 15) -> Markup:
    """Horizontal bars (throughput per annotator or workforce), largest first."""
    shown = list(bars)[:limit]
    if not shown:
        return _frame(title, [f'<text x="{W / 2}" y="40" text-anchor="middle">No answers yet</text>'], 80)
    row, label_w = 22, 220
    height = TOP + row * len(shown) + 8
    top = max(v for _, v in shown) or 1
    body = []
    for i, (label, value) in enumerate(shown):
        yy = TOP + i * row
        width = (W - label_w - 60) * value / top
        body.append(f'<text x="{label_w - 8}" y="{yy + 14}" text-anchor="end">{escape(label[:34])}</text>')
        body.append(f'<rect class="bar" x="{label_w}" y="{yy + 3}" width="{width:.1f}" height="{row - 8}"/>')
        body.append(f'<text x="{label_w + width + 6:.1f}" y="{yy + 14}">{value:g}</text>')
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
