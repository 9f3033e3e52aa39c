"""Technical indicators of one timeframe, computed with `ta` and checked against TA-Lib.

Every series function takes numpy arrays (oldest first) and returns a float array of the same
length, NaN where the history is too short. `ta` works on pandas Series; the conversion happens
here so callers never see pandas.

Two places where `ta` needs help to give the textbook (and TA-Lib) value:
- OBV: `ta` adds the bar's volume when the close is unchanged (bukosabino/ta#269); the definition
  (Granville, TA-Lib) leaves OBV unchanged. We pass a zero volume for those bars, so `ta`'s sum
  is the textbook one.
- ATR: `ta` returns 0.0, not NaN, before its first value, and raises on fewer than `window` bars.

Warm-up: `ta` seeds its exponential averages differently from TA-Lib (first value vs. simple mean
of the first `window` values). The seed's weight decays geometrically, so with enough bars both
agree; `tests/test_indicators_talib.py` proves it to 1e-6 on real candles.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import ta

from feeds.state import Macd, TimeframeIndicators
from feeds.types import HISTORY_BARS, Candles, FloatArray

RSI_WINDOWS = (14, 21)
EMA_WINDOWS = (9, 21, 50, 200)
MACD_WINDOWS = (12, 26, 9)  # fast, slow, signal
ATR_WINDOW = 14
OBV_BARS = 20
CLOSES_KEPT = 10

# `ta`'s ATR is a Python loop (about 2.5 us a bar here, 4 ms for 1,500 bars), so it gets only the
# bars it needs: Wilder smoothing forgets its seed by (13/14)^n, and 300 bars leave under 1e-9 of it.
WILDER_WARMUP_BARS = 300


@dataclass(frozen=True, eq=False)
class TimeframeAnalysis:
    """The MarketState part of one timeframe, plus the short series the regime rule reads."""

    indicators: TimeframeIndicators
    close: FloatArray  # the last `series_bars` closes (fewer if the history is shorter)
    atr_14: FloatArray  # ATR 14 at the same bars, NaN where the history is too short


def rsi(close: FloatArray, window: int) -> FloatArray:
    """Wilder's relative strength index, 0..100."""
    return _floats(ta.momentum.RSIIndicator(_series(close), window=window, fillna=False).rsi())


def ema(close: FloatArray, window: int) -> FloatArray:
    """Exponential moving average with alpha = 2 / (window + 1)."""
    return _floats(ta.trend.EMAIndicator(_series(close), window=window, fillna=False).ema_indicator())


def macd(close: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """MACD (12, 26, 9): value, signal and histogram, in price units."""
    fast, slow, sign = MACD_WINDOWS
    result = ta.trend.MACD(_series(close), window_slow=slow, window_fast=fast, window_sign=sign, fillna=False)
    return _floats(result.macd()), _floats(result.macd_signal()), _floats(result.macd_diff())


def atr(high: FloatArray, low: FloatArray, close: FloatArray, window: int = ATR_WINDOW) -> FloatArray:
    """Wilder's average true range, in price units."""
    out = np.full(close.shape[0], np.nan)
    if close.shape[0] < window:
        return out  # `ta` would index past the end
    values = ta.volatility.AverageTrueRange(
        _series(high), _series(low), _series(close), window=window, fillna=False
    ).average_true_range()
    # `ta` fills the bars before its first value with 0.0; those are undefined, not zero.
    out[window - 1 :] = _floats(values)[window - 1 :]
    return out


def obv(close: FloatArray, volume: FloatArray) -> FloatArray:
    """On-balance volume, starting at the first bar's volume (as TA-Lib does)."""
    unchanged = np.zeros(close.shape[0], dtype=bool)
    unchanged[1:] = close[1:] == close[:-1]
    # An unchanged close moves OBV by nothing; `ta` would add the volume (see module docstring).
    signed_input = np.where(unchanged, 0.0, volume)
    return _floats(
        ta.volume.OnBalanceVolumeIndicator(_series(close), _series(signed_input)).on_balance_volume()
    )


def obv_trend(close: FloatArray, volume: FloatArray, bars: int = OBV_BARS) -> float | None:
    """(OBV now - OBV `bars` bars ago) / volume of those bars, -1..1; None if undefined.

    Only the last `bars` + 1 bars matter: the difference is the signed volume of the last `bars`.
    """
    if close.shape[0] < bars + 1:
        return None
    traded = float(volume[-bars:].sum())
    if traded == 0.0:
        return None  # no volume, no direction
    window = obv(close[-bars - 1 :], volume[-bars - 1 :])
    return float(window[-1] - window[0]) / traded


def analyze(candles: Candles, series_bars: int = 1) -> TimeframeAnalysis:
    """Indicators of the latest closed bar, from at most HISTORY_BARS bars of history.

    `series_bars` is how many of the latest ATR values to keep (each one fully warmed up).
    """
    if series_bars < 1:
        raise ValueError(f"series_bars must be at least 1, not {series_bars}")
    c = candles.tail(HISTORY_BARS)
    close = c.close
    recent = c.tail(WILDER_WARMUP_BARS + series_bars)
    atr_series = atr(recent.high, recent.low, recent.close)[-series_bars:]
    indicators = TimeframeIndicators(
        rsi_14=_last(rsi(close, RSI_WINDOWS[0])),
        rsi_21=_last(rsi(close, RSI_WINDOWS[1])),
        macd=_last_macd(close),
        ema_9=_last(ema(close, EMA_WINDOWS[0])),
        ema_21=_last(ema(close, EMA_WINDOWS[1])),
        ema_50=_last(ema(close, EMA_WINDOWS[2])),
        ema_200=_last(ema(close, EMA_WINDOWS[3])),
        atr_14=_last(atr_series),
        obv_trend=obv_trend(close, c.volume),
        closes=[float(x) for x in close[-CLOSES_KEPT:]],
    )
    return TimeframeAnalysis(indicators, close[-series_bars:], atr_series)


def timeframe_indicators(candles: Candles) -> TimeframeIndicators:
    """The `TimeframeIndicators` of the latest closed bar of `candles`."""
    return analyze(candles).indicators


def _last_macd(close: FloatArray) -> Macd | None:
    value, signal, histogram = (_last(series) for series in macd(close))
    if value is None or signal is None or histogram is None:
        return None
    return Macd(value=value, signal=signal, histogram=histogram)


def _last(values: FloatArray) -> float | None:
    if values.shape[0] == 0:
        return None
    last = float(values[-1])
    return None if math.isnan(last) else last


def _series(values: FloatArray) -> pd.Series[float]:
    # A default RangeIndex: `ta` slices and shifts positionally.
    return pd.Series(values, dtype=np.float64, copy=False)


def _floats(series: pd.Series[float]) -> FloatArray:
    return np.asarray(series.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
