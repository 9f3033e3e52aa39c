"""SVG helpers: round ticks, thinning that keeps extremes, legends that wrap, escaped text."""

from __future__ import annotations

import pytest

from swarm.svg import Series, bar_chart, line_chart, nice_ticks, thin, time_ticks
from tests.html_tree import parse

DAY = 86_400_000
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def test_nice_ticks_are_round_and_cover_the_range() -> None:
    assert nice_ticks(0.0, 10.0) == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    assert nice_ticks(9_870.0, 10_420.0) == [9_800.0, 10_000.0, 10_200.0, 10_400.0, 10_600.0]
    assert nice_ticks(-27.3, 0.0) == [-30.0, -20.0, -10.0, 0.0]  # step 5.46 rounds up to 10
    flat = nice_ticks(10_000.0, 10_000.0)
    assert flat[0] < 10_000.0 < flat[-1]
    with pytest.raises(ValueError, match="finite"):
        nice_ticks(0.0, float("inf"))


def test_time_ticks_fall_on_round_times() -> None:
    ticks = time_ticks(T0 + 3_600_000, T0 + 30 * DAY)
    assert ticks == [T0 + 7 * DAY * i for i in range(1, 5)]  # weekly, on UTC midnights
    assert time_ticks(T0, T0 + 6 * 3_600_000) == [T0 + 3_600_000 * h for h in range(7)]
    assert time_ticks(T0, T0) == [T0]


def test_thin_keeps_the_lowest_and_highest_points() -> None:
    xs = list(range(10_000))
    ys = [float(i % 97) for i in xs]
    ys[5_003] = -50.0
    ys[7_777] = 500.0
    tx, ty = thin(xs, ys, max_points=200)
    assert len(tx) <= 200
    assert tx == sorted(tx)
    assert (5_003, -50.0) in zip(tx, ty, strict=True)
    assert (7_777, 500.0) in zip(tx, ty, strict=True)
    assert thin([1, 2, 3], [1.0, 2.0, 3.0]) == ([1, 2, 3], [1.0, 2.0, 3.0])


def chart(names: list[str]) -> str:
    series = [Series(n, [T0, T0 + DAY], [1.0, float(i)]) for i, n in enumerate(names)]
    return line_chart(series, title="t", y_label="y", x_format=str, y_format=str)


def test_a_long_legend_wraps_and_pushes_the_plot_down() -> None:
    one_row = parse(chart(["a", "b"])).find("svg")
    names = [f"member-with-a-long-name-{i}" for i in range(8)]
    wrapped = parse(chart(names)).find("svg")
    rows = {line.attrs["y1"] for line in wrapped.iter("line") if line.attrs.get("stroke-width") == "3"}
    assert len(rows) >= 2
    # The viewBox (lower-cased by the parser) grows by the extra legend rows, so the plot keeps its height.
    height = int(str(wrapped.attrs["viewbox"]).split()[-1])
    assert height == int(str(one_row.attrs["viewbox"]).split()[-1]) + 18 * (len(rows) - 1)


def test_text_is_escaped_and_there_is_no_namespace_url() -> None:
    svg = line_chart(
        [Series('<b>"x"</b>', [T0, T0 + DAY], [1.0, 2.0])],
        title="a < b",
        y_label="y & z",
        x_format=str,
        y_format=str,
    )
    assert "<b>" not in svg
    assert "&lt;b&gt;&quot;x&quot;&lt;/b&gt;" in svg
    assert "a &lt; b" in svg
    assert "y &amp; z" in svg
    assert "http" not in svg
    bars = bar_chart([("<i>m</i>", 1.0)], title="p", x_label="x", value_format=str)
    assert "<i>" not in bars


def test_empty_charts_say_so() -> None:
    assert "no data" in line_chart([], title="t", y_label="y", x_format=str, y_format=str)
    assert "no data" in bar_chart([], title="t", x_label="x", value_format=str)
