"""Market regime: one word for the state of the trend, by a simple deterministic rule.

The rule reads one timeframe: 4h if it has enough history, else 1h, else 15m. A timeframe has
enough history with 200 candles: EMA 200 is defined, and ATR 14 on each of the last 100 bars.
With `close` the last close and `atr_pct` = ATR 14 / close on each bar, in this order:

1. "volatile"       if atr_pct of the last bar > 1.5 x the median atr_pct of the last 100 bars
2. "trending_up"    if close > EMA 50 > EMA 200 and EMA 21 > EMA 50
3. "trending_down"  if close < EMA 50 < EMA 200 and EMA 21 < EMA 50
4. "ranging"        otherwise, and also when no timeframe has enough history (no evidence of a
                    trend or of unusual volatility).

Volatility comes first: in a sudden spike the moving averages still describe the calm before it.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from feeds.indicators import EMA_WINDOWS, TimeframeAnalysis
from feeds.state import Regime
from feeds.types import Candles, Timeframe

REGIME_TIMEFRAMES = (Timeframe.H4, Timeframe.H1, Timeframe.M15)
REGIME_BARS = 100
VOLATILE_RATIO = 1.5
# EMA 200 is defined from bar 200, and by then ATR 14 has been defined for 187 bars (> REGIME_BARS).
MIN_BARS = max(EMA_WINDOWS)


def regime_timeframe(candles: Mapping[Timeframe, Candles]) -> Timeframe | None:
    """The timeframe the rule reads: the first of REGIME_TIMEFRAMES with MIN_BARS candles.

    Its analysis needs `series_bars=REGIME_BARS`; the others need no ATR history.
    """
    for timeframe in REGIME_TIMEFRAMES:
        if timeframe in candles and len(candles[timeframe]) >= MIN_BARS:
            return timeframe
    return None


def classify_regime(analyses: Mapping[Timeframe, TimeframeAnalysis]) -> Regime:
    """The regime of the first timeframe of REGIME_TIMEFRAMES with enough history, else "ranging"."""
    for timeframe in REGIME_TIMEFRAMES:
        analysis = analyses.get(timeframe)
        if analysis is not None:
            regime = classify(analysis)
            if regime is not None:
                return regime
    return "ranging"


def classify(analysis: TimeframeAnalysis) -> Regime | None:
    """The regime by the module's rule on one timeframe; None without enough history."""
    ind = analysis.indicators
    if ind.ema_21 is None or ind.ema_50 is None or ind.ema_200 is None:
        return None  # fewer than MIN_BARS candles
    if analysis.atr_14.shape[0] < REGIME_BARS:
        # The candles were long enough; the analysis was asked for too short an ATR history.
        raise ValueError(f"the regime rule needs analyze(candles, series_bars={REGIME_BARS})")
    atr_pct = analysis.atr_14[-REGIME_BARS:] / analysis.close[-REGIME_BARS:]
    if atr_pct[-1] > VOLATILE_RATIO * float(np.median(atr_pct)):
        return "volatile"
    close = float(analysis.close[-1])
    if close > ind.ema_50 > ind.ema_200 and ind.ema_21 > ind.ema_50:
        return "trending_up"
    if close < ind.ema_50 < ind.ema_200 and ind.ema_21 < ind.ema_50:
        return "trending_down"
    return "ranging"
