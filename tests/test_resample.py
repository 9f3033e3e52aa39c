"""Resampling candles to coarser timeframes: bucket alignment, completeness, agreement with real files."""

from __future__ import annotations

import numpy as np
import pytest

from feeds.errors import BadDataError
from feeds.resample import resample
from feeds.sources.replay import default_data_dir
from feeds.types import HOUR_MS, Candles, Timeframe
from tests.replay_data import DAY0, load_candles

CANDLE_DIR = default_data_dir() / "candles" / "binance-usdm"


def hourly(first_hour: int, rows: list[tuple[float, float, float, float, float]]) -> Candles:
    ts = [DAY0 + (first_hour + i) * HOUR_MS for i in range(len(rows))]
    columns = list(zip(*rows, strict=True))
    return Candles.build(Timeframe.H1, ts, *columns)


def naive_resample(
    candles: Candles, target: Timeframe
) -> list[tuple[int, float, float, float, float, float]]:
    """Reference: group bar by bar, keep the buckets that have every bar."""
    groups: dict[int, list[int]] = {}
    for i, ts in enumerate(candles.ts_ms.tolist()):
        groups.setdefault(ts - ts % target.ms, []).append(i)
    per_bucket = target.ms // candles.timeframe.ms
    return [
        (
            start,
            float(candles.open[idx[0]]),
            float(max(candles.high[idx])),
            float(min(candles.low[idx])),
            float(candles.close[idx[-1]]),
            float(sum(candles.volume[idx])),
        )
        for start, idx in sorted(groups.items())
        if len(idx) == per_bucket
    ]


def rows_of(candles: Candles) -> list[tuple[int, float, float, float, float, float]]:
    columns = zip(
        candles.ts_ms, candles.open, candles.high, candles.low, candles.close, candles.volume, strict=True
    )
    return [(int(t), float(o), float(h), float(lo), float(c), float(v)) for t, o, h, lo, c, v in columns]


def test_hand_computed_4h_bucket_drops_partial_buckets_on_both_ends() -> None:
    # 01:00..09:00: the 00-04 bucket lacks 00:00, the 08-12 bucket lacks 10:00 and 11:00.
    candles = hourly(
        1,
        [
            (10, 12, 9, 11, 1),  # 01:00
            (11, 13, 10, 12, 1),
            (12, 14, 11, 13, 1),
            (13, 15, 12, 14, 2),  # 04:00 opens the only complete bucket
            (14, 20, 13, 15, 3),
            (15, 16, 8, 9, 4),
            (9, 10, 7, 8, 5),  # 07:00 closes it at 08:00
            (8, 9, 7, 8, 6),  # 08:00
            (8, 9, 7, 8, 6),  # 09:00
        ],
    )
    out = resample(candles, Timeframe.H4)
    assert out.timeframe is Timeframe.H4
    assert rows_of(out) == [(DAY0 + 4 * HOUR_MS, 13.0, 20.0, 7.0, 8.0, 14.0)]


def test_incomplete_trailing_bucket_is_dropped_until_its_last_bar_arrives() -> None:
    rows = [(100.0 + i, 101.0 + i, 99.0 + i, 100.5 + i, 1.0) for i in range(7)]
    assert len(resample(hourly(0, rows), Timeframe.H4)) == 1  # 04-08 still forming at 07:00
    rows.append((107.0, 108.0, 106.0, 107.5, 1.0))
    out = resample(hourly(0, rows), Timeframe.H4)
    assert out.ts_ms.tolist() == [DAY0, DAY0 + 4 * HOUR_MS]
    assert out.close[-1] == 107.5


def test_daily_buckets_open_at_midnight_utc() -> None:
    ts = [DAY0 + (i - 2) * 4 * HOUR_MS for i in range(9)]  # 16:00 the day before .. 00:00 the day after
    prices = np.arange(1.0, 10.0)
    four_hourly = Candles.build(Timeframe.H4, ts, prices, prices, prices, prices, np.ones(9))
    out = resample(four_hourly, Timeframe.D1)
    assert out.ts_ms.tolist() == [DAY0]
    assert (out.open[0], out.high[0], out.low[0], out.close[0], out.volume[0]) == (3.0, 8.0, 3.0, 8.0, 6.0)


def test_no_complete_bucket_gives_empty_candles() -> None:
    out = resample(hourly(1, [(1, 1, 1, 1, 1)] * 3), Timeframe.H4)
    assert out.timeframe is Timeframe.H4
    assert len(out) == 0
    assert len(resample(Candles.empty(Timeframe.H1), Timeframe.D1)) == 0


def test_same_timeframe_is_returned_unchanged_and_finer_target_is_refused() -> None:
    candles = hourly(0, [(1, 1, 1, 1, 1)] * 4)
    assert resample(candles, Timeframe.H1) is candles
    with pytest.raises(ValueError, match="cannot resample 1h candles to 15m"):
        resample(candles, Timeframe.M15)


def test_bars_off_their_own_grid_are_refused() -> None:
    ones = [1.0, 1.0]
    candles = Candles.build(
        Timeframe.H1, [DAY0 + 60_000, DAY0 + 60_000 + HOUR_MS], ones, ones, ones, ones, ones
    )
    with pytest.raises(BadDataError, match="not on a 1h boundary"):
        resample(candles, Timeframe.H4)


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (Timeframe.M15, Timeframe.H1),
        (Timeframe.M15, Timeframe.H4),
        (Timeframe.M15, Timeframe.D1),
        (Timeframe.H1, Timeframe.H4),
        (Timeframe.H1, Timeframe.D1),
        (Timeframe.H4, Timeframe.D1),
    ],
)
def test_matches_a_bar_by_bar_reference_on_random_series(source: Timeframe, target: Timeframe) -> None:
    rng = np.random.default_rng(7)
    for _ in range(5):
        n = int(rng.integers(1, 300))
        start = DAY0 + int(rng.integers(0, 200)) * source.ms  # any phase against the buckets
        close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
        open_ = np.r_[100.0, close[:-1]]
        high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, n))
        low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, n))
        ts = start + source.ms * np.arange(n)
        candles = Candles.build(source, ts, open_, high, low, close, rng.uniform(0, 50, n))
        expected = naive_resample(candles, target)
        got = rows_of(resample(candles, target))
        assert [r[:5] for r in got] == [r[:5] for r in expected]
        assert [r[5] for r in got] == pytest.approx([r[5] for r in expected], rel=1e-12)


def assert_same_on_overlap(derived: Candles, real: Candles) -> int:
    common, i, j = np.intersect1d(derived.ts_ms, real.ts_ms, return_indices=True)
    for name in ("open", "high", "low", "close"):
        np.testing.assert_array_equal(getattr(derived, name)[i], getattr(real, name)[j], err_msg=name)
    # Volume is a sum of decimals: equal to float rounding.
    np.testing.assert_allclose(derived.volume[i], real.volume[j], rtol=1e-12)
    return len(common)


@pytest.mark.parametrize("symbol", ["BTC", "ETH", "SOL"])
def test_1h_resampled_to_4h_equals_the_real_4h_file(symbol: str) -> None:
    hours = load_candles(CANDLE_DIR / f"{symbol}-1h.csv.gz", Timeframe.H1)
    real = load_candles(CANDLE_DIR / f"{symbol}-4h.csv.gz", Timeframe.H4)
    overlap = assert_same_on_overlap(resample(hours, Timeframe.H4), real)
    assert overlap > 2_300  # 2025-04-01 -> 2026-05-06


@pytest.mark.parametrize("symbol", ["BTC", "ETH"])
def test_15m_resampled_equals_the_real_1h_and_4h_files(symbol: str) -> None:
    quarters = load_candles(CANDLE_DIR / f"{symbol}-15m.csv.gz", Timeframe.M15)
    for tf in (Timeframe.H1, Timeframe.H4):
        real = load_candles(CANDLE_DIR / f"{symbol}-{tf.value}.csv.gz", tf)
        assert assert_same_on_overlap(resample(quarters, tf), real) > 1_500
