"""Inline SVG charts (no scripts, no fonts, no external files): budget and burn rates.

Coordinates are computed here; the page's CSS only colours them.  Burn rates
use a log scale (0.1x to 1000x), since 1x and 14.4x must both be readable.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape

from crm_observability.report.fmt import timestamp
from crm_observability.report.model import History

WIDTH, HEIGHT = 560, 190
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 14, 26
BURN_MIN, BURN_MAX = 0.1, 1000.0
BUDGET_FLOOR = -1.0  # budget below -100% is drawn at the floor (the number says how far)
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#17becf")
Point = tuple[float, float]


def _x(t: float, start: float, end: float) -> float:
    span = end - start or 1.0
    return LEFT + (t - start) / span * (WIDTH - LEFT - RIGHT)


def _y(value: float, low: float, high: float) -> float:
    value = min(max(value, low), high)
    return TOP + (high - value) / (high - low) * (HEIGHT - TOP - BOTTOM)


def _path(points: Sequence[Point], start: float, end: float,
          to_y: Callable[[float], float]) -> str:
    """An SVG path through ``points``; a gap in the data (missing steps) starts a new segment."""
    parts = []
    previous: float | None = None
    gap = (end - start) / max(len(points), 1) * 2.5 if points else 0.0
    for t, v in points:
        command = "L" if previous is not None and t - previous <= gap else "M"
        parts.append(f"{command}{_x(t, start, end):.1f},{to_y(v):.1f}")
        previous = t
    return " ".join(parts)


def _frame(kind: str, title: str, ident: str, body: list[str], start: float, end: float) -> str:
    bottom = HEIGHT - BOTTOM
    axis = [
        f'<line class="axis" x1="{LEFT}" y1="{bottom}" x2="{WIDTH - RIGHT}" y2="{bottom}"/>',
        f'<text class="tick" x="{LEFT}" y="{HEIGHT - 8}">{timestamp(start)[:16]}</text>',
        f'<text class="tick end" x="{WIDTH - RIGHT}" y="{HEIGHT - 8}">'
        f"{timestamp(end)[:16]}</text>",
    ]
    return (f'<svg class="chart {kind}" data-slo="{escape(ident)}" role="img" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
            f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
            + "".join(axis + body) + "</svg>")


def budget_chart(history: History, ident: str, title: str) -> str:
    """Error budget remaining over time (1 = untouched, 0 = exhausted)."""
    points = history.budget_remaining
    low = BUDGET_FLOOR if any(v < 0 for _, v in points) else 0.0
    high = 1.0

    def to_y(v: float) -> float:
        return _y(v, low, high)

    body = []
    for level in sorted({high, 0.5, 0.0, low}):
        y = to_y(level)
        body.append(f'<line class="grid" x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" '
                    f'y2="{y:.1f}"/><text class="tick" x="4" y="{y + 4:.1f}">'
                    f"{level * 100:.0f}%</text>")
    if points:
        path = _path(points, history.start, history.end, to_y)
        body.append(f'<path class="line budget-line" d="{path}"/>')
    else:
        body.append(f'<text class="empty" x="{WIDTH / 2}" y="{HEIGHT / 2}">no data</text>')
    return _frame("budget", title, ident, body, history.start, history.end)


def burn_chart(history: History, ident: str, title: str,
               thresholds: Sequence[tuple[str, float]]) -> str:
    """Burn rate per window over time, log scale, with the alert tiers' factors dashed."""
    low, high = math.log10(BURN_MIN), math.log10(BURN_MAX)

    def to_y(v: float) -> float:
        return _y(math.log10(max(v, BURN_MIN)), low, high)

    body = []
    for level in (0.1, 1, 10, 100, 1000):
        y = to_y(level)
        body.append(f'<line class="grid" x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" '
                    f'y2="{y:.1f}"/><text class="tick" x="4" y="{y + 4:.1f}">{level:g}x</text>')
    placed: list[tuple[float, float]] = []  # (x, y) of labels already drawn
    for label, factor in thresholds:
        y = to_y(factor)
        # Close factors (2.88x and 3x) would print on top of each other: shift left.
        x = float(WIDTH - RIGHT - 2)
        while any(abs(y - py) < 10 and px == x for px, py in placed):
            x -= 100
        placed.append((x, y))
        body.append(f'<line class="threshold" x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" '
                    f'y2="{y:.1f}"/><text class="tick end" x="{x:.0f}" '
                    f'y="{y - 3:.1f}">{escape(label)} {factor:g}x</text>')
    legend_x = LEFT + 6
    drawn = 0
    for i, (window, points) in enumerate(history.burn_rates.items()):
        color = COLORS[i % len(COLORS)]
        body.append(f'<text class="legend" x="{legend_x}" y="{TOP + 10}" style="fill:{color}">'
                    f"{escape(window)}</text>")
        legend_x += 34
        if points:
            drawn += 1
            path = _path(points, history.start, history.end, to_y)
            body.append(f'<path class="line burn-line" data-window="{escape(window)}" '
                        f'stroke="{color}" d="{path}"/>')
    if not drawn:
        body.append(f'<text class="empty" x="{WIDTH / 2}" y="{HEIGHT / 2}">no data</text>')
    return _frame("burn", title, ident, body, history.start, history.end)
