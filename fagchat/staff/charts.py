"""Server-rendered SVG charts: pictures without JavaScript, readable by screen readers.

Each function returns one `<svg role="img">` whose `<title>` and `<desc>` say what the
picture shows (the caller writes the summary in `desc`). Every text is escaped; colours
come from CSS classes (static/staff.css), so the strict CSP needs no inline styles.
"""

import math
from typing import List, Optional, Sequence, Tuple

from markupsafe import Markup, escape

from fagchat.staff.pages import num

W, H = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 52, 16, 34, 42
Series = Tuple[str, Sequence[float], str]  # (name, values, css class)


def _nice_max(value: float) -> float:
    """A round upper bound for an axis (1, 2, 2.5, 5 × 10^n)."""
    if value <= 0:
        return 1.0
    base = 10 ** math.floor(math.log10(value))
    return next(m * base for m in (1, 2, 2.5, 5, 10) if m * base >= value)


def _svg(chart_id: str, title: str, desc: str, body: List[str], height: int = H) -> Markup:
    head = (
        f'<svg class="chart" viewBox="0 0 {W} {height}" role="img" '
        f'aria-labelledby="{chart_id}-t {chart_id}-d" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{chart_id}-t">{escape(title)}</title><desc id="{chart_id}-d">{escape(desc)}</desc>'
    )
    return Markup(head + "".join(body) + "</svg>")


def _empty(chart_id: str, title: str) -> Markup:
    body = [f'<text class="empty" x="{W / 2}" y="{H / 2}" text-anchor="middle">Ingen data i perioden</text>']
    return _svg(chart_id, title, "Ingen data i perioden.", body)


def _legend(series: Sequence[Tuple[str, str]]) -> List[str]:
    out, x = [], LEFT
    for name, css in series:
        out.append(
            f'<rect class="{css}" x="{x}" y="8" width="12" height="12" rx="2"/>'
            f'<text class="legend" x="{x + 17}" y="18">{escape(name)}</text>'
        )
        x += 24 + 8 * len(name)
    return out


def _y_axis(top: float, percent: bool) -> List[str]:
    out, plot_h = [], H - TOP - BOTTOM
    for i in range(5):
        value = top * i / 4
        y = H - BOTTOM - plot_h * i / 4
        label = f"{round(value * 100)} %" if percent else num(value) if value == int(value) else f"{value:g}"
        out.append(
            f'<line class="grid" x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(label)}</text>'
        )
    return out


def _x_labels(labels: Sequence[str], xs: Sequence[float]) -> List[str]:
    step = max(1, math.ceil(len(labels) / 8))
    shown = list(range(0, len(labels), step))
    if len(labels) - 1 - shown[-1] > step / 2:  # the last label, unless it would collide
        shown.append(len(labels) - 1)
    return [
        f'<text class="axis" x="{xs[i]:.1f}" y="{H - BOTTOM + 18}" text-anchor="middle">{escape(labels[i])}</text>'
        for i in shown
    ]


def line_chart(
    chart_id: str,
    title: str,
    desc: str,
    labels: Sequence[str],
    series: Sequence[Series],
    percent: bool = False,
    top: Optional[float] = None,
) -> Markup:
    """Lines over time (one per series) with a point and tooltip per value."""
    if not labels or not any(any(v for v in values) for _, values, _ in series):
        return _empty(chart_id, title)
    top = top or _nice_max(max(max(values) for _, values, _ in series))
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM
    xs = [LEFT + (plot_w * i / (len(labels) - 1) if len(labels) > 1 else plot_w / 2) for i in range(len(labels))]
    body = _legend([(n, c) for n, _, c in series]) + _y_axis(top, percent) + _x_labels(labels, xs)
    for name, values, css in series:
        points = [(x, H - BOTTOM - plot_h * min(v, top) / top) for x, v in zip(xs, values)]
        body.append(f'<polyline class="line {css}" points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in points)}"/>')
        for (x, y), label, value in zip(points, labels, values):
            shown = f"{round(value * 100)} %" if percent else num(value)
            body.append(
                f'<circle class="dot {css}" cx="{x:.1f}" cy="{y:.1f}" r="3">'
                f"<title>{escape(label)}: {escape(name)} {escape(shown)}</title></circle>"
            )
    return _svg(chart_id, title, desc, body)


def column_chart(chart_id: str, title: str, desc: str, labels: Sequence[str], series: Sequence[Series]) -> Markup:
    """Grouped columns: one group per label, one column per series."""
    if not labels or not any(any(v for v in values) for _, values, _ in series):
        return _empty(chart_id, title)
    top = _nice_max(max(max(values) for _, values, _ in series))
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM
    group = plot_w / len(labels)
    bar = min(28.0, group * 0.8 / len(series))
    xs = [LEFT + group * (i + 0.5) for i in range(len(labels))]
    body = _legend([(n, c) for n, _, c in series]) + _y_axis(top, False) + _x_labels(labels, xs)
    for s, (name, values, css) in enumerate(series):
        for x, label, value in zip(xs, labels, values):
            h = plot_h * value / top
            left = x - bar * len(series) / 2 + s * bar
            body.append(
                f'<rect class="bar {css}" x="{left:.1f}" y="{H - BOTTOM - h:.1f}" width="{bar - 2:.1f}" '
                f'height="{h:.1f}"><title>{escape(label)}: {escape(name)} {num(value)}</title></rect>'
            )
    return _svg(chart_id, title, desc, body)


def bar_chart(
    chart_id: str,
    title: str,
    desc: str,
    items: Sequence[Tuple[str, Sequence[float]]],
    series: Sequence[Tuple[str, str]],
) -> Markup:
    """Horizontal bars, one row per item; several series per row sit under each other."""
    if not items or not any(any(values) for _, values in items):
        return _empty(chart_id, title)
    label_w, row_h = 230, 14 * len(series) + 10
    height = TOP + row_h * len(items) + 12
    top = max(max(values) for _, values in items) or 1
    plot_w = W - label_w - RIGHT - 40
    body = _legend(series) if len(series) > 1 else []
    for i, (label, values) in enumerate(items):
        y0 = TOP + i * row_h
        short = label if len(label) <= 34 else label[:33] + "…"
        body.append(
            f'<text class="axis" x="{label_w - 8}" y="{y0 + row_h / 2 + 2:.1f}" '
            f'text-anchor="end">{escape(short)}<title>{escape(label)}</title></text>'
        )
        for s, ((name, css), value) in enumerate(zip(series, values)):
            w = max(1.0, plot_w * value / top) if value else 0
            y = y0 + 4 + s * 14
            if value:
                body.append(
                    f'<rect class="bar {css}" x="{label_w}" y="{y}" width="{w:.1f}" height="11" rx="2">'
                    f"<title>{escape(label)}: {escape(name)} {num(value)}</title></rect>"
                    f'<text class="value" x="{label_w + w + 5:.1f}" y="{y + 10}">{num(value)}</text>'
                )
    return _svg(chart_id, title, desc, body, height=height)
