"""Inline SVG charts for the HTML report: line charts over time and horizontal bar charts.

No library and no script: plain <svg> elements with axes, tick labels, axis titles and a
legend, sized by a viewBox so they scale with the page. Every text is escaped. The root carries
no xmlns attribute: inside HTML5 the parser puts <svg> in the SVG namespace by itself, and the
report must not hold a single http(s) reference. Long series are thinned to at most
`MAX_POINTS` per line, keeping each bucket's lowest and highest point so that no drawdown or
spike disappears.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Final

MAX_POINTS: Final = 1200
WIDTH: Final = 960
PALETTE: Final = ("#1f4e9e", "#e07b00", "#6b6b6b", "#2b9a3e", "#c0392b", "#8e44ad", "#16a2b8", "#b8860b")
LEFT, RIGHT, TOP, BOTTOM = 78, 18, 58, 46  # plot margins: tick labels left, legend on top

Formatter = Callable[[float], str]


@dataclass(frozen=True, slots=True)
class Series:
    """One line: x in epoch ms, y in the chart's unit; `dashed` for reference lines."""

    name: str
    xs: Sequence[int]
    ys: Sequence[float]
    color: str | None = None
    dashed: bool = False
    width: float = 1.6


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """About `count` round tick values (steps of 1, 2 or 5 x 10^n) covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError("tick range must be finite")
    if hi <= lo:
        pad = abs(lo) * 0.05 or 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / max(1, count)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    first = math.floor(lo / step) * step
    ticks = []
    value = first
    while value <= hi + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    if ticks[-1] < hi:
        ticks.append(round(value, 12))
    return ticks


def thin(
    xs: Sequence[int], ys: Sequence[float], max_points: int = MAX_POINTS
) -> tuple[list[int], list[float]]:
    """At most about `max_points` points: per bucket the lowest and the highest, in time order."""
    n = len(xs)
    if n <= max_points:
        return list(xs), list(ys)
    buckets = max_points // 2
    out_x: list[int] = []
    out_y: list[float] = []
    for b in range(buckets):
        lo, hi = b * n // buckets, (b + 1) * n // buckets
        idx = range(lo, hi)
        low = min(idx, key=lambda i: ys[i])
        high = max(idx, key=lambda i: ys[i])
        for i in sorted({low, high}):
            out_x.append(xs[i])
            out_y.append(ys[i])
    return out_x, out_y


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    y_label: str,
    x_format: Callable[[int], str],
    y_format: Formatter,
    x_label: str = "time (UTC)",
    height: int = 340,
) -> str:
    """A line chart of several series over time, with a legend."""
    drawn = [s for s in series if len(s.xs) > 0]
    if not drawn:
        return _empty(title, height)
    xs = [x for s in drawn for x in s.xs]
    ys = [y for s in drawn for y in s.ys]
    places = _legend_places(drawn)
    extra = _LEGEND_ROW * places[-1][1]  # legend rows beyond the first push the plot down
    frame = _Frame(min(xs), max(xs), nice_ticks(min(ys), max(ys)), height + extra, TOP + extra)
    parts = [_open(title, frame.height), _title(title), _legend(drawn, places)]
    parts.append(_y_axis(frame, y_format, y_label))
    parts.append(_x_axis(frame, x_format, x_label))
    for i, s in enumerate(drawn):
        parts.append(_polyline(frame, s, s.color or PALETTE[i % len(PALETTE)]))
    parts.append("</svg>")
    return "\n".join(parts)


def bar_chart(bars: Sequence[tuple[str, float]], *, title: str, x_label: str, value_format: Formatter) -> str:
    """Horizontal bars from a zero line: gains green to the right, losses red to the left."""
    height = _BAR_TOP + _BAR_ROW * max(1, len(bars)) + 40
    if not bars:
        return _empty(title, height)
    values = [v for _, v in bars]
    scale = _BarScale(nice_ticks(min(0.0, *values), max(0.0, *values)))
    bottom = _BAR_TOP + _BAR_ROW * len(bars)
    parts = [_open(title, height), _title(title)]
    for t in scale.ticks:
        parts.append(_line(scale.x(t), _BAR_TOP - 4, scale.x(t), bottom, "#e3e3e3"))
        parts.append(_text(scale.x(t), bottom + 16, value_format(t), anchor="middle", size=11))
    for i, (name, value) in enumerate(bars):
        parts.append(_bar(scale, _BAR_TOP + i * _BAR_ROW, name, value, value_format(value)))
    parts.append(_line(scale.x(0.0), _BAR_TOP - 4, scale.x(0.0), bottom, "#333"))
    parts.append(_text((_BAR_LEFT + _BAR_RIGHT) / 2, height - 8, x_label, anchor="middle", size=12))
    parts.append("</svg>")
    return "\n".join(parts)


_BAR_ROW, _BAR_TOP, _BAR_LEFT, _BAR_RIGHT = 26, 40, 170, WIDTH - 90


@dataclass(frozen=True, slots=True)
class _BarScale:
    ticks: list[float]

    def x(self, value: float) -> float:
        lo, hi = self.ticks[0], self.ticks[-1]
        return _BAR_LEFT + (value - lo) / (hi - lo) * (_BAR_RIGHT - _BAR_LEFT)


def _bar(scale: _BarScale, y: float, name: str, value: float, label: str) -> str:
    x0, x1 = sorted((scale.x(0.0), scale.x(value)))
    colour = "#2b9a3e" if value >= 0 else "#c0392b"
    middle = y + _BAR_ROW / 2 + 4
    rect = (
        f'<rect x="{x0:.1f}" y="{y + 4:.1f}" width="{max(x1 - x0, 0.5):.1f}" height="{_BAR_ROW - 8}" '
        f'fill="{colour}"><title>{escape(name)}: {escape(label)}</title></rect>'
    )
    name_text = _text(_BAR_LEFT - 8, middle, name, anchor="end", size=12)
    if value >= 0:
        return rect + _text(x1 + 4, middle, label, size=11) + name_text
    return rect + _text(x0 - 4, middle, label, anchor="end", size=11) + name_text


@dataclass(frozen=True, slots=True)
class _Frame:
    """Maps data to pixels inside the plot area."""

    x_min: int
    x_max: int
    y_ticks: list[float]
    height: int
    top: int

    def x(self, value: float) -> float:
        span = self.x_max - self.x_min or 1
        return LEFT + (value - self.x_min) / span * (WIDTH - LEFT - RIGHT)

    def y(self, value: float) -> float:
        lo, hi = self.y_ticks[0], self.y_ticks[-1]
        return self.height - BOTTOM - (value - lo) / (hi - lo) * (self.height - self.top - BOTTOM)


def _open(title: str, height: int) -> str:
    return (
        f'<svg viewBox="0 0 {WIDTH} {height}" width="100%" role="img" aria-label="{escape(title)}" '
        f'font-family="system-ui, sans-serif"><title>{escape(title)}</title>'
        f'<rect width="{WIDTH}" height="{height}" fill="#fff"/>'
    )


def _title(title: str) -> str:
    return _text(LEFT, 20, title, size=15, weight="bold")


_LEGEND_ROW: Final = 18


def _legend_places(series: Sequence[Series]) -> list[tuple[float, int]]:
    """(x, row) of each legend entry: left to right, wrapping before the right edge."""
    places: list[tuple[float, int]] = []
    x, row = float(LEFT), 0
    for s in series:
        width = 40 + 7.2 * len(s.name)  # swatch, gap and an estimate of the text's width
        if x > LEFT and x + width > WIDTH - RIGHT:
            x, row = float(LEFT), row + 1
        places.append((x, row))
        x += width
    return places


def _legend(series: Sequence[Series], places: Sequence[tuple[float, int]]) -> str:
    parts = []
    for i, (s, (x, row)) in enumerate(zip(series, places, strict=True)):
        colour = s.color or PALETTE[i % len(PALETTE)]
        dash = ' stroke-dasharray="6 4"' if s.dashed else ""
        y = 38 + _LEGEND_ROW * row
        swatch = f'x1="{x:.0f}" y1="{y}" x2="{x + 22:.0f}" y2="{y}"'
        parts.append(f'<line {swatch} stroke="{colour}" stroke-width="3"{dash}/>')
        parts.append(_text(x + 27, y + 4, s.name, size=12))
    return "\n".join(parts)


def _y_axis(frame: _Frame, y_format: Formatter, label: str) -> str:
    parts = []
    for t in frame.y_ticks:
        y = frame.y(t)
        parts.append(_line(LEFT, y, WIDTH - RIGHT, y, "#e3e3e3"))
        parts.append(_text(LEFT - 6, y + 4, y_format(t), anchor="end", size=11))
    mid = (frame.top + frame.height - BOTTOM) / 2
    parts.append(
        f'<text x="16" y="{mid:.0f}" font-size="12" text-anchor="middle" '
        f'transform="rotate(-90 16 {mid:.0f})">{escape(label)}</text>'
    )
    return "\n".join(parts)


def time_ticks(start_ms: int, end_ms: int, count: int = 6) -> list[int]:
    """Round times (multiples of 15m ... 1y since the epoch: UTC midnights for days) in [start, end]."""
    if end_ms <= start_ms:
        return [start_ms]
    span = end_ms - start_ms
    step = next((s for s in _TIME_STEPS if span / s <= count), _TIME_STEPS[-1])
    first = -(-start_ms // step) * step  # the first multiple of step at or after the start
    return list(range(first, end_ms + 1, step))


_MIN, _HOUR, _DAY = 60_000, 3_600_000, 86_400_000
_TIME_STEPS: Final = (
    15 * _MIN, 30 * _MIN, _HOUR, 2 * _HOUR, 3 * _HOUR, 6 * _HOUR, 12 * _HOUR,
    _DAY, 2 * _DAY, 7 * _DAY, 14 * _DAY, 28 * _DAY, 56 * _DAY, 91 * _DAY, 182 * _DAY, 364 * _DAY,
)  # fmt: skip


def _x_axis(frame: _Frame, x_format: Callable[[int], str], label: str) -> str:
    base = frame.height - BOTTOM
    parts = [_line(LEFT, base, WIDTH - RIGHT, base, "#333")]
    for value in time_ticks(frame.x_min, frame.x_max):
        x = frame.x(value)
        parts.append(_line(x, base, x, base + 4, "#333"))
        parts.append(_text(x, base + 17, x_format(value), anchor="middle", size=11))
    parts.append(_text((LEFT + WIDTH - RIGHT) / 2, frame.height - 6, label, anchor="middle", size=12))
    return "\n".join(parts)


def _polyline(frame: _Frame, s: Series, colour: str) -> str:
    xs, ys = thin(s.xs, s.ys)
    points = " ".join(f"{frame.x(x):.1f},{frame.y(y):.1f}" for x, y in zip(xs, ys, strict=True))
    dash = ' stroke-dasharray="6 4"' if s.dashed else ""
    return (
        f'<polyline fill="none" stroke="{colour}" stroke-width="{s.width}"{dash} points="{points}">'
        f"<title>{escape(s.name)}</title></polyline>"
    )


def _empty(title: str, height: int) -> str:
    return "\n".join(
        [
            _open(title, height),
            _title(title),
            _text(WIDTH / 2, height / 2, "no data", anchor="middle", size=14),
            "</svg>",
        ]
    )


def _line(x1: float, y1: float, x2: float, y2: float, colour: str) -> str:
    return (
        f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{colour}" stroke-width="1"/>'
    )


def _text(
    x: float, y: float, text: str, *, anchor: str = "start", size: int = 12, weight: str = "normal"
) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
        f'font-weight="{weight}">{escape(text)}</text>'
    )
