"""Every per-bar value a MarketState reads from one timeframe, computed once over its whole history.

Value `i` of a column is what `build_market_state` computes when bar `i` is the newest closed
candle (None where the builder gives null). Point in time: value `i` depends on bars 0..i only.
The indicators are the `feeds.indicators` functions (the same `ta` calls) run over the full
history: exponential filters and Wilder's ATR run forward, sums and the median read trailing
windows, and nothing is filled backwards (`ta` is called with `fillna=False`; ATR's leading zeros
become NaN in `indicators.atr`).

Bit-identical to the builder: closes, price changes, volume sums and ratio, OBV trend. They are
the same float operations on the same numbers in the same order (numpy sums a trailing-window
view row the way it sums the slice; `tests/test_precomputed.py` checks every bar).
EMA 200 and ATR 14 differ from the builder's by its warm-up seed, planted at the first of its last
HISTORY_BARS bars (about 300 for ATR), not at the first bar; `feeds.precomputed` has the sizes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from feeds import indicators
from feeds.regime import MIN_BARS, REGIME_BARS, VOLATILE_RATIO
from feeds.state import Regime
from feeds.types import DAY_MS, HOUR_MS, Candles, FloatArray, Timeframe

Column = list[float | None]

_MEDIAN_CHUNK = 4096  # rows of REGIME_BARS values per np.median call


@dataclass(frozen=True, eq=False)
class TimeframeColumns:
    """One timeframe's MarketState values, one per bar, as Python lists (indexing them is cheap)."""

    timeframe: Timeframe
    first_close_ms: int
    close: list[float]
    rsi_14: Column
    rsi_21: Column
    macd: Column  # the three MACD columns are None together, as the builder's `macd` is
    macd_signal: Column
    macd_histogram: Column
    ema_9: Column
    ema_21: Column
    ema_50: Column
    ema_200: Column
    atr_14: Column
    obv_trend: Column
    # Read only when this timeframe is the finest one present.
    change_1h_pct: Column
    change_24h_pct: Column
    usd_24h: Column  # None: less than a day of bars, so the whole volume block is null
    vs_avg_7d: Column
    # The regime rule on this timeframe; None before EMA 200 is defined (no opinion).
    regime: list[Regime | None]

    def closed_bars(self, at_ms: int) -> int:
        """How many bars had closed at or before `at_ms` (the bars are contiguous)."""
        if at_ms < self.first_close_ms:
            return 0
        return min(len(self.close), (at_ms - self.first_close_ms) // self.timeframe.ms + 1)

    def indicators_at(self, i: int) -> dict[str, object]:
        """The `TimeframeIndicators` fields of bar `i`, in schema order."""
        macd = self.macd[i]
        return {
            "rsi_14": self.rsi_14[i],
            "rsi_21": self.rsi_21[i],
            "macd": None
            if macd is None
            else {"value": macd, "signal": self.macd_signal[i], "histogram": self.macd_histogram[i]},
            "ema_9": self.ema_9[i],
            "ema_21": self.ema_21[i],
            "ema_50": self.ema_50[i],
            "ema_200": self.ema_200[i],
            "atr_14": self.atr_14[i],
            "obv_trend": self.obv_trend[i],
            "closes": self.close[max(0, i + 1 - indicators.CLOSES_KEPT) : i + 1],
        }


def timeframe_columns(candles: Candles) -> TimeframeColumns:
    """Compute every column of `candles` (contiguous, validated) in one pass per indicator."""
    close = candles.close
    value, signal, histogram = indicators.macd(close)
    undefined = np.isnan(value) | np.isnan(signal) | np.isnan(histogram)
    ema = {n: indicators.ema(close, n) for n in indicators.EMA_WINDOWS}
    atr = indicators.atr(candles.high, candles.low, close)
    usd_24h, vs_avg_7d = _volume(candles)
    return TimeframeColumns(
        timeframe=candles.timeframe,
        first_close_ms=int(candles.ts_ms[0]) + candles.timeframe.ms if len(candles) else 0,
        close=close.tolist(),
        rsi_14=_column(indicators.rsi(close, indicators.RSI_WINDOWS[0])),
        rsi_21=_column(indicators.rsi(close, indicators.RSI_WINDOWS[1])),
        macd=_column(np.where(undefined, np.nan, value)),
        macd_signal=_column(np.where(undefined, np.nan, signal)),
        macd_histogram=_column(np.where(undefined, np.nan, histogram)),
        ema_9=_column(ema[9]),
        ema_21=_column(ema[21]),
        ema_50=_column(ema[50]),
        ema_200=_column(ema[200]),
        atr_14=_column(atr),
        obv_trend=_column(obv_trend(close, candles.volume)),
        change_1h_pct=_column(_change_pct(close, _bars_in(HOUR_MS, candles.timeframe))),
        change_24h_pct=_column(_change_pct(close, _bars_in(DAY_MS, candles.timeframe))),
        usd_24h=_column(usd_24h),
        vs_avg_7d=_column(vs_avg_7d),
        regime=_regime(close, atr, ema[21], ema[50], ema[200]),
    )


def obv_trend(close: FloatArray, volume: FloatArray, bars: int = indicators.OBV_BARS) -> FloatArray:
    """`indicators.obv_trend` at every bar, NaN where it is None, with its exact arithmetic.

    The builder runs `ta`'s OBV on the last `bars` + 1 bars: a cumulative sum that starts at the
    first bar's volume (no previous close: counted as up) and adds each later bar's volume, signed
    by its close against the one before, 0 when unchanged. The sum is repeated here in the same
    order, vectorised over bars; a difference of one full-history OBV would round differently.
    """
    n = close.shape[0]
    out = np.full(n, np.nan)
    if n < bars + 1:
        return out
    signed = np.zeros(n)
    signed[1:] = np.where(close[1:] < close[:-1], -volume[1:], volume[1:])
    signed[1:][close[1:] == close[:-1]] = 0.0
    first = volume[: n - bars]  # the window's first bar, for every window
    total = first.copy()
    for k in range(1, bars + 1):
        total = total + signed[k : n - bars + k]
    traded = sliding_window_view(volume, bars)[1:].sum(axis=1)
    moved = total - first
    # Only defined where something traded; dividing elsewhere would warn (pytest: error).
    out[bars:] = np.divide(moved, traded, out=np.full(moved.shape, np.nan), where=traded != 0.0)
    return out


def _volume(candles: Candles) -> tuple[FloatArray, FloatArray]:
    """USD volume of the last day of bars, and its ratio to the 7-day daily mean (`volume_state`)."""
    n = len(candles)
    usd_24h, vs_avg = np.full(n, np.nan), np.full(n, np.nan)
    day_bars = _bars_in(DAY_MS, candles.timeframe)
    if day_bars is None or n < day_bars:
        return usd_24h, vs_avg
    usd = candles.volume * candles.close
    usd_24h[day_bars - 1 :] = sliding_window_view(usd, day_bars).sum(axis=1)
    week_bars = 7 * day_bars
    if n >= week_bars:
        daily_avg_7d = sliding_window_view(usd, week_bars).sum(axis=1) / 7
        day = usd_24h[week_bars - 1 :]
        # A week without any volume has no ratio (the builder's None).
        ratio = np.divide(day, daily_avg_7d, out=np.full(day.shape, np.nan), where=daily_avg_7d > 0)
        vs_avg[week_bars - 1 :] = ratio
    return usd_24h, vs_avg


def _bars_in(span_ms: int, timeframe: Timeframe) -> int | None:
    """How many bars make `span_ms`; None when a bar is longer than the span (as the builder)."""
    return span_ms // timeframe.ms if span_ms >= timeframe.ms else None


def _change_pct(close: FloatArray, bars: int | None) -> FloatArray:
    out = np.full(close.shape[0], np.nan)
    if bars is not None and close.shape[0] > bars:
        out[bars:] = (close[bars:] / close[:-bars] - 1.0) * 100.0
    return out


def _regime(
    close: FloatArray, atr: FloatArray, ema_21: FloatArray, ema_50: FloatArray, ema_200: FloatArray
) -> list[Regime | None]:
    """`regime.classify` at every bar: volatile, else the EMA trend rule; None before bar MIN_BARS."""
    n = close.shape[0]
    regime: list[Regime | None] = [None] * min(n, MIN_BARS - 1)
    if n < MIN_BARS:
        return regime
    # From bar MIN_BARS - 1 on, ATR is defined on each of the last REGIME_BARS bars.
    atr_pct = atr / close
    recent = sliding_window_view(atr_pct, REGIME_BARS)[MIN_BARS - REGIME_BARS :]
    # np.median copies what it partitions: in chunks, a long history costs a few MB, not 800 B a bar.
    median = np.concatenate(
        [np.median(recent[i : i + _MEDIAN_CHUNK], axis=1) for i in range(0, len(recent), _MEDIAN_CHUNK)]
    )
    volatile = atr_pct[MIN_BARS - 1 :] > VOLATILE_RATIO * median
    c, e21, e50, e200 = (x[MIN_BARS - 1 :] for x in (close, ema_21, ema_50, ema_200))
    up = (c > e50) & (e50 > e200) & (e21 > e50)
    down = (c < e50) & (e50 < e200) & (e21 < e50)
    labels = np.select([volatile, up, down], ["volatile", "trending_up", "trending_down"], "ranging")
    regime.extend(labels.tolist())
    return regime


def _column(values: FloatArray) -> Column:
    """A float list with None for NaN (undefined)."""
    column: Column = values.tolist()
    for i in np.flatnonzero(np.isnan(values)).tolist():
        column[i] = None
    return column
