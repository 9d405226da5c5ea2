"""Charts as SVG, drawn in Python (pure): no JavaScript library, nothing from the network.

Each function takes plain numbers and labels and returns the SVG's markup, every label escaped
here (agent names and check names come from data), so a template may insert it as it is. Every
data point is an element of class ``mark`` with ``data-value``: what a browser test counts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

PALETTE = ("#2c6bb3", "#d9822b", "#2f8f4e", "#c23b3b", "#7b52ab", "#1f9aa8", "#a8772a", "#5d6b78", "#d45d9a", "#6c9a1f")
WIDTH, HEIGHT = 460, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 46


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]  # one per bucket; None: no value there (a gap)


def color(n: int) -> str:
    return PALETTE[n % len(PALETTE)]


def _fmt(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value * 100:.0f}%"
    if unit == "$":
        return f"${value:.2f}" if value < 100 else f"${value:,.0f}"
    if unit == "s":
        return _seconds(value)
    if abs(value) >= 10_000:
        return f"{value / 1000:,.0f}k"
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"


def _seconds(value: float) -> str:
    if value >= 3600:
        return f"{value / 3600:.1f}h"
    if value >= 60:
        return f"{value / 60:.0f}m"
    return f"{value:.0f}s"


def nice_max(value: float) -> float:
    """A round top for an axis at or above ``value``."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)


def _frame(name: str, top: float, unit: str, labels: Sequence[str]) -> list[str]:
    """The axes, four grid lines with their values, and the buckets' labels (at most ~8 shown)."""
    plot_h = HEIGHT - TOP - BOTTOM
    out = [
        f'<svg class="chart" data-testid="chart-{escape(name)}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" xmlns="http://www.w3.org/2000/svg">'
    ]
    for k in range(5):
        y = TOP + plot_h - plot_h * k / 4
        out.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        out.append(f'<text x="{LEFT - 4}" y="{y + 3:.1f}" text-anchor="end">{escape(_fmt(top * k / 4, unit))}</text>')
    out.append(f'<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot_h}"/>')
    out.append(f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}"/>')
    every = max(1, math.ceil(len(labels) / 8))
    for n, label in enumerate(labels):
        if n % every == 0:
            x = _x(n, len(labels))
            out.append(
                f'<text x="{x:.1f}" y="{TOP + plot_h + 12}" text-anchor="end" '
                f'transform="rotate(-30 {x:.1f} {TOP + plot_h + 12})">{escape(label)}</text>'
            )
    return out


def _x(n: int, count: int) -> float:
    plot_w = WIDTH - LEFT - RIGHT
    return LEFT + plot_w * (n + 0.5) / max(count, 1)


def _y(value: float, top: float) -> float:
    plot_h = HEIGHT - TOP - BOTTOM
    return TOP + plot_h - plot_h * min(max(value / top, 0.0), 1.0)


def empty(name: str, why: str = "no data yet") -> Markup:
    return Markup(
        f'<svg class="chart empty" data-testid="chart-{escape(name)}" viewBox="0 0 {WIDTH} 60" '
        f'xmlns="http://www.w3.org/2000/svg">'
        f'<text x="{WIDTH / 2}" y="34" text-anchor="middle">{escape(why)}</text></svg>'
    )


def lines(
    name: str, labels: Sequence[str], series: Sequence[Series], unit: str = "", top: float | None = None
) -> Markup:
    """One line per series over the buckets, a dot at each value (``mark``)."""
    values = [v for s in series for v in s.values if v is not None]
    if not values or not labels:
        return empty(name)
    top = top if top is not None else nice_max(max(values))
    out = _frame(name, top, unit, labels)
    for k, s in enumerate(series):
        points = [(n, v) for n, v in enumerate(s.values) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{_x(n, len(labels)):.1f},{_y(v, top):.1f}" for n, v in points)
            out.append(f'<polyline fill="none" stroke="{color(k)}" stroke-width="2" points="{path}"/>')
        for n, v in points:
            out.append(
                f'<circle class="mark" data-series="{escape(s.name)}" data-value="{v:g}" '
                f'cx="{_x(n, len(labels)):.1f}" cy="{_y(v, top):.1f}" r="3" fill="{color(k)}">'
                f"<title>{escape(s.name)} · {escape(labels[n])}: {escape(_fmt(v, unit))}</title></circle>"
            )
    out.append("</svg>")
    return Markup("".join(out))


def bars(name: str, labels: Sequence[str], series: Sequence[Series], unit: str = "", stacked: bool = True) -> Markup:
    """Bars per bucket: stacked (one segment per series) or side by side."""
    count = len(labels)
    totals = [
        sum(s.values[n] or 0 for s in series) if stacked else max((s.values[n] or 0 for s in series), default=0)
        for n in range(count)
    ]
    if not count or not any(totals):
        return empty(name)
    top = nice_max(max(totals))
    out = _frame(name, top, unit, labels)
    slot = (WIDTH - LEFT - RIGHT) / count
    width = slot * 0.7 if stacked else slot * 0.7 / max(len(series), 1)
    for n in range(count):
        base = 0.0
        for k, s in enumerate(series):
            v = s.values[n] or 0
            if not v:
                continue
            x = LEFT + slot * n + slot * 0.15 + (0 if stacked else width * k)
            y0, y1 = _y(base, top), _y(base + v, top)
            out.append(
                f'<rect class="mark" data-series="{escape(s.name)}" data-value="{v:g}" x="{x:.1f}" y="{y1:.1f}" '
                f'width="{width:.1f}" height="{max(y0 - y1, 0.5):.1f}" fill="{color(k)}">'
                f"<title>{escape(s.name)} · {escape(labels[n])}: {escape(_fmt(v, unit))}</title></rect>"
            )
            if stacked:
                base += v
    out.append("</svg>")
    return Markup("".join(out))


def histogram_bins(values: Sequence[float], edges: Sequence[float]) -> list[int]:
    """How many values fall in each [edges[i], edges[i+1]) bin; the last bin takes the rest."""
    counts = [0] * len(edges)
    for v in values:
        slot = 0
        for n, edge in enumerate(edges):
            if v >= edge:
                slot = n
        counts[slot] += 1
    return counts


CYCLE_EDGES = (0, 60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400)  # seconds: <1m, 1-5m, ... >1d


def cycle_label(n: int) -> str:
    low = CYCLE_EDGES[n]
    if n + 1 < len(CYCLE_EDGES):
        return f"{_seconds(low)}–{_seconds(CYCLE_EDGES[n + 1])}" if low else f"<{_seconds(CYCLE_EDGES[1])}"
    return f">{_seconds(low)}"


def legend(names: Sequence[str]) -> Markup:
    """The series' colours, as a small SVG each (no inline style: the page's CSP forbids it)."""
    items = [
        f'<span><svg width="10" height="10" xmlns="http://www.w3.org/2000/svg"><rect width="10" height="10" '
        f'fill="{color(k)}"/></svg> {escape(name)}</span>'
        for k, name in enumerate(names)
    ]
    return Markup(f'<div class="legend">{"".join(items)}</div>')
