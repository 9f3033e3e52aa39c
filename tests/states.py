"""Hand-built MarketStates for tests: a realistic full BTC state, and knobs to shape signals."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from feeds.state import (
    FundingState,
    Macd,
    MarketState,
    OpenInterestState,
    OrderBookState,
    PriceState,
    TimeframeIndicators,
    VolumeState,
)

NOW = datetime(2025, 10, 28, 7, 0, tzinfo=UTC)
NEUTRAL_FUNDING = 0.0000125

# Realistic numbers for BTC on 2025-10-28 (Alpha Arena's prompt of that morning), with the odd
# digits real feeds have, so rounding in the prompt is exercised.
_CLOSES = {
    "15m": [
        113912.5,
        113992.0,
        114022.0,
        114002.5,
        114028.5,
        114096.5,
        114138.5,
        114094.5,
        114135.0,
        114207.5,
    ],
    "1h": [
        112843.1,
        113120.4,
        113410.9,
        113388.2,
        113702.6,
        113655.0,
        113874.3,
        113990.8,
        114101.7,
        114207.5,
    ],
    "4h": [
        110123.4,
        110876.2,
        111502.9,
        112310.7,
        112954.1,
        113480.6,
        113221.8,
        113690.3,
        113951.2,
        114207.5,
    ],
    "1d": [
        106512.3,
        107877.9,
        108432.1,
        110290.6,
        111104.8,
        110562.2,
        111998.7,
        113402.5,
        114640.9,
        114207.5,
    ],
}
_BULL_EMAS = {
    "15m": (114098.37, 114021.862, 113904.129, 113611.448),
    "1h": (113905.214, 113612.778, 113102.356, 111876.903),
    "4h": (113402.118, 112901.446, 111846.432, 109312.675),
    "1d": (112103.764, 110514.325, 108992.871, 101345.196),
}
_ATR = {"15m": 142.618, "1h": 402.331, "4h": 563.094, "1d": 2314.772}
_RSI = {"15m": 72.5391, "1h": 63.0862, "4h": 58.9731, "1d": 61.4418}
_MACD = {
    "15m": (85.8063, 12.4127),
    "1h": (301.774, 41.0952),
    "4h": (1172.385, -106.265),
    "1d": (2874.41, 311.873),
}


def indicators(
    tf: str,
    *,
    rsi_14: float | None = None,
    emas: tuple[float, float, float, float] | None = None,
    histogram: float | None = None,
    atr_14: float | None = None,
) -> TimeframeIndicators:
    """Indicators of one timeframe; by default a bullish EMA stack, realistic RSI and MACD."""
    e9, e21, e50, e200 = emas or _BULL_EMAS[tf]
    rsi = rsi_14 if rsi_14 is not None else _RSI[tf]
    value, default_histogram = _MACD[tf]
    hist = histogram if histogram is not None else default_histogram
    return TimeframeIndicators(
        rsi_14=rsi,
        rsi_21=rsi - 2.1183,
        macd=Macd(value=value, signal=value - hist, histogram=hist),
        ema_9=e9,
        ema_21=e21,
        ema_50=e50,
        ema_200=e200,
        atr_14=atr_14 if atr_14 is not None else _ATR[tf],
        obv_trend=0.183746,
        closes=_CLOSES[tf],
    )


def bear_emas(tf: str) -> tuple[float, float, float, float]:
    """The bullish stack mirrored around the last close: 9 < 21 < 50 < 200."""
    close = _CLOSES[tf][-1]
    e9, e21, e50, e200 = _BULL_EMAS[tf]
    return (2 * close - e9, 2 * close - e21, 2 * close - e50, 2 * close - e200)


def full_state(symbol: str = "BTC", **overrides: Any) -> MarketState:
    """A complete MarketState (nothing missing); keyword arguments replace top-level fields."""
    fields: dict[str, Any] = {
        "symbol": symbol,
        "timestamp": NOW,
        "source": "pacifica",
        "price": PriceState(current=114207.5, change_1h_pct=0.3712, change_24h_pct=2.18453),
        "volume": VolumeState(usd_24h=41_873_512_004.7, vs_avg_7d=1.21374),
        "funding": FundingState(current=0.0000125, avg_8h=0.0000119873, avg_24h=0.0000107214),
        "open_interest": OpenInterestState(
            current_base=29909.65, current_usd=3_415_924_311.2, change_1h_pct=0.21734, change_24h_pct=1.8124
        ),
        "indicators": {tf: indicators(tf) for tf in ("15m", "1h", "4h", "1d")},
        "orderbook": OrderBookState(
            bid_depth_usd=18_412_733.51, ask_depth_usd=16_904_127.9, imbalance=0.0427113, spread_pct=0.000876
        ),
        "regime": "trending_up",
        "missing": [],
    }
    fields.update(overrides)
    return MarketState(**fields)


def rescaled(state: MarketState, factor: float, symbol: str) -> MarketState:
    """The same market at another price scale (e.g. ETH or DOGE numbers), everything else equal."""

    def scale_tf(tf: TimeframeIndicators | None) -> TimeframeIndicators | None:
        if tf is None:
            return None
        macd = tf.macd
        return tf.model_copy(
            update={
                "ema_9": _mul(tf.ema_9, factor),
                "ema_21": _mul(tf.ema_21, factor),
                "ema_50": _mul(tf.ema_50, factor),
                "ema_200": _mul(tf.ema_200, factor),
                "atr_14": _mul(tf.atr_14, factor),
                "closes": [c * factor for c in tf.closes],
                "macd": None
                if macd is None
                else Macd(
                    value=macd.value * factor, signal=macd.signal * factor, histogram=macd.histogram * factor
                ),
            }
        )

    price = state.price.model_copy(update={"current": state.price.current * factor})
    indicators = {k: scale_tf(v) for k, v in state.indicators.items()}
    return state.model_copy(update={"symbol": symbol, "price": price, "indicators": indicators})


def _mul(value: float | None, factor: float) -> float | None:
    return None if value is None else value * factor
