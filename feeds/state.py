"""MarketState: one perpetual market at one moment, as compact JSON an LLM reads well.

Units: prices in USD (quote), `*_pct` fields in percent (1.5 = 1.5 %), funding as a fraction per
hour (0.0000125 = 0.00125 %/h, the neutral rate on Pacifica and Hyperliquid). A part the source
cannot give is null and its dotted path is listed in `missing`; nothing is invented.
The published JSON Schema lives in docs/marketstate.schema.json (`MarketState.model_json_schema()`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_serializer

SCHEMA_VERSION = 1

Regime = Literal["trending_up", "trending_down", "ranging", "volatile"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class PriceState(_Frozen):
    current: float = Field(description="Latest price: mark price if the source has one, else the last close")
    change_1h_pct: float | None = Field(description="Change over the last hour, percent")
    change_24h_pct: float | None = Field(description="Change over the last 24 hours, percent")


class VolumeState(_Frozen):
    usd_24h: float = Field(description="Traded volume of the last 24 hours, USD (base volume x close)")
    vs_avg_7d: float | None = Field(description="Last 24 h volume / average daily volume of the last 7 days")


class FundingState(_Frozen):
    unit: Literal["fraction_per_hour"] = "fraction_per_hour"
    current: float = Field(description="Latest funding print, per hour")
    avg_8h: float = Field(description="Time-weighted mean rate over the last 8 hours, per hour")
    avg_24h: float = Field(description="Time-weighted mean rate over the last 24 hours, per hour")


class OpenInterestState(_Frozen):
    current_base: float = Field(description="Open interest in base units (coins)")
    current_usd: float = Field(description="Open interest in USD")
    change_1h_pct: float | None
    change_24h_pct: float | None


class Macd(_Frozen):
    value: float
    signal: float
    histogram: float


class TimeframeIndicators(_Frozen):
    """Indicators of one timeframe on closed candles; null while history is too short."""

    rsi_14: float | None
    rsi_21: float | None
    macd: Macd | None = Field(description="MACD (12, 26, 9) in price units")
    ema_9: float | None
    ema_21: float | None
    ema_50: float | None
    ema_200: float | None
    atr_14: float | None = Field(description="Average true range (Wilder, 14), price units")
    obv_trend: float | None = Field(
        description="On-balance-volume change over the last 20 bars / volume of those bars, -1..1"
    )
    closes: list[float] = Field(description="Last 10 closes, oldest first")


class OrderBookState(_Frozen):
    bid_depth_usd: float = Field(description="USD resting on bids within 1 % of the mid")
    ask_depth_usd: float = Field(description="USD resting on asks within 1 % of the mid")
    imbalance: float = Field(description="(bid - ask) / (bid + ask) depth, -1..1")
    spread_pct: float = Field(description="(best ask - best bid) / mid, percent")


class MarketState(_Frozen):
    """The state of one perpetual market at one moment (point in time: nothing after it)."""

    schema_version: int = SCHEMA_VERSION
    symbol: str
    timestamp: AwareDatetime
    source: str
    price: PriceState
    volume: VolumeState | None
    funding: FundingState | None
    open_interest: OpenInterestState | None
    indicators: dict[Literal["15m", "1h", "4h", "1d"], TimeframeIndicators | None] = Field(
        description="Per timeframe; null when the source has no candles of it"
    )
    orderbook: OrderBookState | None
    regime: Regime = Field(description="Market regime by the rule documented in docs/marketstate.md")
    missing: list[str] = Field(description="Dotted paths of the parts the source could not give")

    @field_serializer("timestamp")
    def _iso_utc(self, value: datetime) -> str:
        # An aware time in another zone must be converted, not just labelled "Z".
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
