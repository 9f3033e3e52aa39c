"""Our indicators (the `ta` library on the last HISTORY_BARS bars) agree with TA-Lib on real candles.

TA-Lib runs over the whole bundled file, so at every end point checked it has at least 3,000
bars of warm-up and its value is the converged one. Ours sees only the 1,500 bars ending there,
exactly as in production. The two libraries seed their averages differently (`ta`: the first
value; TA-Lib: a simple mean of the first `window` values); agreement to 1e-6 shows the seed has
been forgotten within our window.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import ta
import talib

from feeds import indicators
from feeds.types import HISTORY_BARS, Candles, FloatArray, Timeframe
from tests import bundled

REL_TOL = 1e-6
CASES = [("BTC", Timeframe.H1), ("ETH", Timeframe.M15), ("SOL", Timeframe.H4), ("SOL", Timeframe.H1)]
END_POINTS = 5


def end_points(n: int) -> list[int]:
    """Evenly spread bars, each with at least 2 x HISTORY_BARS bars of history for TA-Lib."""
    return [int(e) for e in np.linspace(2 * HISTORY_BARS - 1, n - 1, END_POINTS)]


def window(full: Candles, end: int, bars: int = HISTORY_BARS) -> Candles:
    """The `bars` candles ending at bar `end` (inclusive): what a source hands over then."""
    return full.slice(end + 1 - bars, end + 1)


def rel_err(ours: float | None, ref: float) -> float:
    assert ours is not None
    return abs(ours - ref) / abs(ref)


@pytest.mark.parametrize(("symbol", "timeframe"), CASES)
def test_rsi_ema_atr_agree_with_talib_to_1e6_relative(symbol: str, timeframe: Timeframe) -> None:
    full = bundled.candles(symbol, timeframe)
    c, h, low = full.close, full.high, full.low
    reference: dict[str, FloatArray] = {
        "rsi_14": talib.RSI(c, 14),
        "rsi_21": talib.RSI(c, 21),
        "ema_9": talib.EMA(c, 9),
        "ema_21": talib.EMA(c, 21),
        "ema_50": talib.EMA(c, 50),
        "ema_200": talib.EMA(c, 200),
        "atr_14": talib.ATR(h, low, c, 14),
    }
    for end in end_points(len(full)):
        ours = indicators.timeframe_indicators(window(full, end))
        for name, ref in reference.items():
            err = rel_err(getattr(ours, name), float(ref[end]))
            assert err <= REL_TOL, f"{symbol}-{timeframe.value} {name} at bar {end}: rel err {err:.2e}"


@pytest.mark.parametrize(("symbol", "timeframe"), CASES)
def test_macd_agrees_with_talib_to_1e6_of_price(symbol: str, timeframe: Timeframe) -> None:
    full = bundled.candles(symbol, timeframe)
    value, signal, hist = talib.MACD(full.close, fastperiod=12, slowperiod=26, signalperiod=9)
    for end in end_points(len(full)):
        macd = indicators.timeframe_indicators(window(full, end)).macd
        assert macd is not None
        # MACD and its histogram cross zero, so a relative error is meaningless near a crossing:
        # the tolerance is 1e-6 of the price level (the scale of the two EMAs they subtract).
        tol = REL_TOL * float(full.close[end])
        assert abs(macd.value - value[end]) <= tol
        assert abs(macd.signal - signal[end]) <= tol
        assert abs(macd.histogram - hist[end]) <= tol


@pytest.mark.parametrize(("symbol", "timeframe"), CASES)
def test_obv_trend_agrees_with_talib_obv_differences(symbol: str, timeframe: Timeframe) -> None:
    full = bundled.candles(symbol, timeframe)
    obv = talib.OBV(full.close, full.volume)
    for end in end_points(len(full)):
        ours = indicators.timeframe_indicators(window(full, end)).obv_trend
        traded = float(full.volume[end - 19 : end + 1].sum())
        # obv_trend is an OBV difference over 20 bars divided by their volume: an absolute 1e-6
        # on it is a tolerance of 1e-6 x the volume of those bars on the OBV difference.
        assert ours is not None
        assert abs(ours * traded - (obv[end] - obv[end - 20])) <= REL_TOL * traded


def test_obv_counts_an_unchanged_close_as_zero_like_talib_where_raw_ta_does_not() -> None:
    full = bundled.candles("SOL", Timeframe.H1)  # 72 unchanged closes in the file
    end = int(np.flatnonzero(np.diff(full.close) == 0)[10]) + 1  # bar whose close equals the last
    c, v = full.close[end - 100 : end + 1], full.volume[end - 100 : end + 1]
    reference = np.diff(talib.OBV(full.close, full.volume)[end - 100 : end + 1])
    raw = np.diff(ta.volume.OnBalanceVolumeIndicator(pd.Series(c), pd.Series(v)).on_balance_volume())
    ours = np.diff(indicators.obv(c, v))
    np.testing.assert_allclose(ours, reference, rtol=0, atol=REL_TOL * float(v.max()))
    assert raw[-1] == pytest.approx(v[-1])  # `ta` adds the volume of the unchanged bar...
    assert reference[-1] == 0.0  # ...where the definition (and TA-Lib) leaves OBV where it was.


@pytest.mark.parametrize(("symbol", "timeframe"), CASES)
def test_atr_series_for_the_regime_agrees_with_talib(symbol: str, timeframe: Timeframe) -> None:
    full = bundled.candles(symbol, timeframe)
    reference = talib.ATR(full.high, full.low, full.close, 14)
    end = len(full) - 1
    n = 100
    analysis = indicators.analyze(window(full, end), series_bars=n)
    np.testing.assert_allclose(analysis.atr_14, reference[end + 1 - n : end + 1], rtol=REL_TOL, atol=0)
    np.testing.assert_array_equal(analysis.close, full.close[end + 1 - n : end + 1])


def test_ema_200_on_too_little_history_misses_1e6() -> None:
    """The warm-up matters: 300 bars leave (199/201)^100 ~ 13 % of the seed in EMA 200."""
    full = bundled.candles("BTC", Timeframe.H1)
    reference = talib.EMA(full.close, 200)
    errors = [
        rel_err(float(indicators.ema(window(full, end, 300).close, 200)[-1]), float(reference[end]))
        for end in end_points(len(full))
    ]
    assert min(errors) > 10 * REL_TOL, errors


# Bars of history after which each indicator is defined: `ta`'s own warm-up (min_periods), except
# ATR, where `ta` prints 0.0 before its first value, and OBV trend, a difference over 20 bars.
FIRST_DEFINED = {
    "rsi_14": 14,
    "rsi_21": 21,
    "macd": 26 + 9 - 1,
    "ema_9": 9,
    "ema_21": 21,
    "ema_50": 50,
    "ema_200": 200,
    "atr_14": 14,
    "obv_trend": 21,
}


@pytest.mark.parametrize(("name", "bars"), FIRST_DEFINED.items())
def test_an_indicator_is_none_until_its_history_is_long_enough(name: str, bars: int) -> None:
    full = bundled.candles("BTC", Timeframe.H1)
    assert getattr(indicators.timeframe_indicators(full.slice(0, bars - 1)), name) is None
    assert getattr(indicators.timeframe_indicators(full.slice(0, bars)), name) is not None


def test_atr_is_nan_before_its_first_value_where_ta_prints_zero() -> None:
    full = bundled.candles("BTC", Timeframe.H1).slice(0, 20)
    raw = ta.volatility.AverageTrueRange(pd.Series(full.high), pd.Series(full.low), pd.Series(full.close))
    ours = indicators.atr(full.high, full.low, full.close, 14)
    assert (raw.average_true_range()[:13] == 0.0).all()
    assert np.isnan(ours[:13]).all()
    np.testing.assert_array_equal(ours[13:], raw.average_true_range()[13:])
    assert np.isnan(indicators.atr(full.high[:13], full.low[:13], full.close[:13], 14)).all()


def test_closes_are_the_last_ten_oldest_first() -> None:
    full = bundled.candles("BTC", Timeframe.H1)
    assert indicators.timeframe_indicators(full.slice(0, 50)).closes == list(full.close[40:50])
    assert indicators.timeframe_indicators(full.slice(0, 3)).closes == list(full.close[:3])
