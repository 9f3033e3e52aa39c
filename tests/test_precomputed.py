"""PrecomputedStates.state_at(t) is build_market_state(ReplaySource.snapshot(t)), point in time.

Every field is compared exactly except the exponential indicators, which the builder runs on its
last 1,500 bars and the fast path on the whole history (feeds/precomputed.py says why they may
differ). RSI, MACD and EMA 9/21/50 must agree to rounding (1e-12). EMA 200 and ATR 14 do differ:
for them the test predicts the difference (the builder's warm-up seed, decayed) and checks it to
1e-12 of the price; where the builder's history starts at the first bar too, they must be equal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd
import pytest

from feeds import indicators
from feeds._timeframe_columns import timeframe_columns
from feeds.build import build_market_state, volume_state
from feeds.errors import OutOfRangeError
from feeds.indicators import WILDER_WARMUP_BARS
from feeds.precomputed import PrecomputedStates
from feeds.regime import REGIME_BARS, regime_timeframe
from feeds.sources._replay_files import Prints
from feeds.sources.replay import ReplayHistory, ReplaySource, default_data_dir
from feeds.state import MarketState, TimeframeIndicators
from feeds.types import HOUR_MS, Candles, FloatArray, MarketData, Timeframe
from tests.replay_data import (
    CANDLE_HEADER,
    DAY0,
    FUNDING_HEADER,
    OI_HEADER,
    VENUE,
    candle_path,
    candle_rows,
    write_csv,
    write_small_dir,
)

M15, H1, H4, D1 = Timeframe.M15, Timeframe.H1, Timeframe.H4, Timeframe.D1
T = TypeVar("T")
REPLAY_START = 1_755_388_800_000  # 2025-08-17T00:00:00Z, the bundled replay window (feeds/data)
ROUNDING = 1e-12  # relative; what is left of two computations that differ only in rounding
# Indicators whose builder seed is forgotten below one rounding step within 1,500 bars.
SEED_FORGOTTEN = ("rsi_14", "rsi_21", "ema_9", "ema_21", "ema_50")


@cache
def source() -> ReplaySource:
    return ReplaySource(default_data_dir())


@cache
def precomputed(symbol: str) -> PrecomputedStates:
    return PrecomputedStates.from_replay(source(), symbol)


@dataclass(frozen=True)
class FullSeries:
    """One timeframe's whole history, and its EMA 200 and ATR 14 over all of it."""

    candles: Candles
    ema_200: FloatArray  # from the first bar on: the average is there before it is shown
    atr_14: FloatArray


@cache
def full_series(symbol: str, tf: Timeframe) -> FullSeries:
    c = source().history(symbol).candles[tf]
    ema_200 = pd.Series(c.close).ewm(span=200, adjust=False).mean().to_numpy()
    return FullSeries(c, ema_200, indicators.atr(c.high, c.low, c.close))


def ema_seed_residue(full: FullSeries, start: int, last: int) -> float:
    """Builder minus full-history EMA 200 at bar `last`, the builder starting at bar `start`.

    `ta` seeds the EMA with the first close; from there both follow the same recursion, so the
    difference of the seeds shrinks by (1 - alpha) a bar.
    """
    alpha = 2 / (200 + 1)
    seed_error = full.candles.close[start] - full.ema_200[start]
    return float((1 - alpha) ** (last - start) * seed_error)


def atr_seed_residue(full: FullSeries, start: int, last: int) -> float:
    """Builder minus full-history ATR 14 at bar `last`, the builder's ATR starting at bar `start`.

    `ta` seeds ATR with the mean true range of its first 14 bars, the first of which has no
    previous close (high - low); from there the difference shrinks by 13/14 a bar.
    """
    c, w = full.candles, indicators.ATR_WINDOW
    high, low = c.high[start : start + w], c.low[start : start + w]
    prev_close = c.close[start - 1 : start + w - 1]
    true_range = np.maximum.reduce([high - low, np.abs(high - prev_close), np.abs(low - prev_close)])
    true_range[0] = high[0] - low[0]
    seed_error = float(true_range.mean()) - full.atr_14[start + w - 1]
    return float(((w - 1) / w) ** (last - (start + w - 1)) * seed_error)


@dataclass
class Tally:
    """How many indicator values were compared exactly and how many through a predicted residue."""

    exact: int = 0
    residue: int = 0


def assert_same_state(fast: MarketState, ref: MarketState, data: MarketData, tally: Tally) -> None:
    everything_else = {"indicators"}
    assert fast.model_dump(exclude=everything_else) == ref.model_dump(exclude=everything_else)
    assert list(fast.indicators) == list(ref.indicators)
    for key, ours in fast.indicators.items():
        theirs = ref.indicators[key]
        assert (ours is None) == (theirs is None), key
        if ours is not None and theirs is not None:
            assert_same_indicators(ours, theirs, data, Timeframe(key), tally)


def assert_same_indicators(
    ours: TimeframeIndicators, theirs: TimeframeIndicators, data: MarketData, tf: Timeframe, tally: Tally
) -> None:
    full = full_series(data.symbol, tf)
    window = data.candles[tf]
    last = int(np.searchsorted(full.candles.ts_ms, window.ts_ms[-1]))
    price = float(full.candles.close[last])
    assert (ours.closes, ours.obv_trend) == (theirs.closes, theirs.obv_trend)
    for name in SEED_FORGOTTEN:
        mine, reference = getattr(ours, name), getattr(theirs, name)
        if reference is None:
            assert mine is None, name
        else:
            assert mine == pytest.approx(reference, rel=ROUNDING), name
    if ours.macd is None or theirs.macd is None:
        assert ours.macd == theirs.macd
    else:  # MACD crosses zero: its scale is the price's
        for part in ("value", "signal", "histogram"):
            assert abs(getattr(ours.macd, part) - getattr(theirs.macd, part)) <= ROUNDING * price
    # The builder's EMA 200 starts at the first of its (at most HISTORY_BARS) bars ...
    assert_seed_residue(
        ours.ema_200, theirs.ema_200, full, last + 1 - len(window), last, tally, ema_seed_residue
    )
    # ... and its ATR at the first of its last WILDER_WARMUP_BARS + series_bars bars.
    series_bars = REGIME_BARS if tf == regime_timeframe(data.candles) else 1
    atr_start = last + 1 - min(len(window), WILDER_WARMUP_BARS + series_bars)
    assert_seed_residue(ours.atr_14, theirs.atr_14, full, atr_start, last, tally, atr_seed_residue)


Residue = Callable[[FullSeries, int, int], float]


def assert_seed_residue(
    ours: float | None,
    theirs: float | None,
    full: FullSeries,
    start: int,
    last: int,
    tally: Tally,
    residue: Residue,
) -> None:
    if ours is None or theirs is None or start == 0:
        assert ours == theirs  # both computed from the first bar of the history: no difference at all
        tally.exact += 1
        return
    price = float(full.candles.close[last])
    assert abs((theirs - ours) - residue(full, start, last)) <= ROUNDING * price
    tally.residue += 1


def check(symbol: str, at_ms: int, tally: Tally | None = None) -> MarketState:
    data = source().snapshot(symbol, at_ms)
    fast = precomputed(symbol).state_at(at_ms)
    assert_same_state(fast, build_market_state(data), data, tally or Tally())
    return fast


# --- the equivalence ---------------------------------------------------------------------------


@pytest.mark.parametrize(("symbol", "count"), [("BTC", 80), ("ETH", 80), ("SOL", 40)])
def test_random_states_in_the_replay_window_equal_the_builders(symbol: str, count: int) -> None:
    rng = np.random.default_rng(20260516)
    end = precomputed(symbol).end_ms
    anywhere = rng.integers(REPLAY_START, end + 1, count // 2)
    # Backtests step on candle closes: exactly when a new bar becomes known.
    on_closes = rng.integers(REPLAY_START // M15.ms, end // M15.ms + 1, count - count // 2) * M15.ms
    tally = Tally()
    for at_ms in [*anywhere.tolist(), *on_closes.tolist()]:
        check(symbol, at_ms, tally)
    # Both comparisons were made: full windows (seed residue) and, for 1d, whole histories.
    assert tally.residue > count
    assert tally.exact > count // 2


def edge_times(symbol: str) -> Iterator[int]:
    """Moments where a rule switches: warm-ups, the first bars of each timeframe, staleness, range."""
    history = source().history(symbol)
    for tf, candles in history.candles.items():
        first_close = int(candles.ts_ms[0]) + tf.ms
        # 1 bar; ATR 14; OBV trend; MACD; volume (1 day of 15m); EMA 200 and the regime; 7 days of
        # 15m; the first full window and the first with a seed residue.
        for bars in (1, 14, 21, 34, 96, 200, 672, 1500, 1501):
            if bars <= len(candles):
                yield first_close + (bars - 1) * tf.ms
        yield first_close - 1
    for prints, max_age in ((history.funding, 12 * HOUR_MS), (history.open_interest, 2 * HOUR_MS)):
        if len(prints.ts_ms):
            first, last = int(prints.ts_ms[0]), int(prints.ts_ms[-1])
            yield from (first - 1, first, last + max_age, last + max_age + 1)
            yield last + int(prints.fresh_ms[-1]) + 1  # replay leaves them out
    yield from (history.end_ms - 1, history.end_ms)


@pytest.mark.parametrize("symbol", ["BTC", "ETH", "SOL"])
def test_states_where_a_rule_switches_equal_the_builders(symbol: str) -> None:
    history = source().history(symbol)
    for at_ms in sorted(set(edge_times(symbol))):
        if history.first_ms <= at_ms <= history.end_ms:
            check(symbol, at_ms)


def test_the_edges_exercise_what_they_claim() -> None:
    """Not vacuous: the edge times above do switch funding, OI, a warm-up and a timeframe."""
    sol_funding = source().history("SOL").funding.ts_ms
    assert check("SOL", int(sol_funding[-1]) + 12 * HOUR_MS).funding is not None
    assert "funding" in check("SOL", int(sol_funding[-1]) + 12 * HOUR_MS + 1).missing
    oi = source().history("BTC").open_interest.ts_ms
    assert "open_interest" in check("BTC", int(oi[0]) - 1).missing
    assert check("BTC", int(oi[0])).open_interest is not None
    first_15m = int(source().history("BTC").candles[M15].ts_ms[0]) + M15.ms
    assert check("BTC", first_15m - 1).indicators["15m"] is None
    warming = check("BTC", first_15m + 198 * M15.ms).indicators["15m"]
    assert warming is not None
    assert (warming.ema_200, warming.ema_50 is None) == (None, False)


def test_parts_that_end_early_are_left_out_like_the_replay_does(tmp_path: Path) -> None:
    # 15m for one day, 1h and open interest for two, 1d for ten, hourly funding for 30 hours: one
    # part after another goes stale while the rest goes on, and the finest timeframe changes twice.
    # Hourly funding goes stale for the replay (two intervals) long before the builder's 12 hours.
    write_small_dir(tmp_path)
    write_csv(candle_path(tmp_path, "XYZ", M15), CANDLE_HEADER, candle_rows(M15, 96))
    write_csv(candle_path(tmp_path, "XYZ", D1), CANDLE_HEADER, candle_rows(D1, 10))
    hourly = [[DAY0 + i * HOUR_MS, 1e-5 * (i % 7 - 3), 1] for i in range(30)]
    write_csv(tmp_path / "funding" / VENUE / "XYZ.csv", FUNDING_HEADER, hourly)
    replay = ReplaySource(tmp_path)
    fast = PrecomputedStates.from_replay(replay, "XYZ")
    seen_missing: set[str] = set()
    for at_ms in range(fast.first_ms, fast.end_ms + 1, 29 * 60_000 + 13):
        state = fast.state_at(at_ms)
        assert state == build_market_state(replay.snapshot("XYZ", at_ms)), at_ms
        seen_missing.update(state.missing)
    assert {"indicators.15m", "indicators.1h", "funding", "open_interest", "volume"} <= seen_missing
    stale_for_replay_only = DAY0 + 29 * HOUR_MS + 3 * HOUR_MS
    assert fast.state_at(stale_for_replay_only).funding is None


def test_open_interest_is_read_from_the_last_history_bars_prints_as_the_replay_gives_them(
    tmp_path: Path,
) -> None:
    # A print every 30 s: the replay's last 1,500 prints span 12.5 h, so there is no 24 h change.
    write_small_dir(tmp_path)
    dense = [[DAY0 + i * 30_000, 1000 + i % 50, 100_000 + i] for i in range(26 * 120)]
    write_csv(tmp_path / "open-interest" / VENUE / "XYZ-1h.csv", OI_HEADER, dense)
    replay = ReplaySource(tmp_path)
    fast = PrecomputedStates.from_replay(replay, "XYZ")
    for at_ms in (DAY0 + 12 * HOUR_MS, DAY0 + 25 * HOUR_MS + 7):
        state = fast.state_at(at_ms)
        assert state == build_market_state(replay.snapshot("XYZ", at_ms))
    assert state.open_interest is not None
    assert (state.open_interest.change_1h_pct is None, state.open_interest.change_24h_pct) == (False, None)


def test_times_outside_the_data_are_refused_as_snapshot_refuses_them() -> None:
    fast = precomputed("ETH")
    for at_ms in (fast.first_ms - 1, fast.end_ms + 1):
        with pytest.raises(OutOfRangeError) as ours:
            fast.state_at(at_ms)
        with pytest.raises(OutOfRangeError) as theirs:
            source().snapshot("ETH", at_ms)
        assert str(ours.value) == str(theirs.value)


# --- point in time -----------------------------------------------------------------------------


def stamped_by(prints: Prints[T], at_ms: int) -> Prints[T]:
    n = int(np.searchsorted(prints.ts_ms, at_ms, side="right"))
    return Prints(prints.what, prints.ts_ms[:n], prints.items[:n], prints.fresh_ms[:n])


def truncated(history: ReplayHistory, at_ms: int) -> ReplayHistory:
    """What the history held at `at_ms`: candles closed by then, prints stamped by then."""
    candles = {tf: c.closed_by(at_ms) for tf, c in history.candles.items()}
    return replace(
        history,
        candles={tf: c for tf, c in candles.items() if len(c)},
        funding=stamped_by(history.funding, at_ms),
        open_interest=stamped_by(history.open_interest, at_ms),
        end_ms=at_ms,
    )


@pytest.mark.parametrize(
    "at_ms",
    [
        1_773_500_400_000 + 7 * 60_000,  # 2026-03-14T15:07Z: mid-candle, inside the open-interest weeks
        1_778_112_000_000,  # 2026-05-07T00:00Z: on a 1d close, just after the 4h file ends
        REPLAY_START + 97 * M15.ms,  # the second day of 15m candles
    ],
)
def test_a_state_does_not_change_when_everything_after_it_is_removed(at_ms: int) -> None:
    history = source().history("BTC")
    cut = PrecomputedStates(truncated(history, at_ms))
    assert cut.state_at(at_ms) == precomputed("BTC").state_at(at_ms)
    assert cut.state_at(at_ms - 5 * HOUR_MS) == precomputed("BTC").state_at(at_ms - 5 * HOUR_MS)


@pytest.mark.parametrize("tf", list(Timeframe))
def test_every_value_of_a_bar_depends_only_on_bars_up_to_it(tf: Timeframe) -> None:
    candles = source().history("BTC").candles[tf]
    whole = timeframe_columns(candles)
    for n in (len(candles) // 3, len(candles) - 150):
        part = timeframe_columns(candles.slice(0, n))
        for name in whole.__dataclass_fields__:
            value = getattr(whole, name)
            if isinstance(value, list):
                assert getattr(part, name) == value[:n], name


# --- the bit-identical parts, at every bar -----------------------------------------------------


def test_volume_and_obv_columns_equal_the_builders_at_every_bar() -> None:
    candles = source().history("ETH").candles[M15]
    columns = timeframe_columns(candles)
    for i in range(len(candles)):
        window = candles.slice(max(0, i + 1 - 1500), i + 1)
        volume = volume_state(window)
        assert columns.usd_24h[i] == (None if volume is None else volume.usd_24h)
        assert columns.vs_avg_7d[i] == (None if volume is None else volume.vs_avg_7d)
    for i in range(0, len(candles), 97):  # `ta`'s OBV is slow: every 97th bar
        window = candles.slice(max(0, i - indicators.OBV_BARS), i + 1)
        assert columns.obv_trend[i] == indicators.obv_trend(window.close, window.volume), i


def test_states_share_no_mutable_parts() -> None:
    at_ms = 1_773_500_400_000
    first = precomputed("BTC").state_at(at_ms)
    one_hour = first.indicators["1h"]
    assert one_hour is not None
    one_hour.closes.append(0.0)
    first.missing.append("oops")
    check("BTC", at_ms)
