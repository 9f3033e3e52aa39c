"""Turn a source's `MarketData` into the point-in-time `MarketState` the members read.

Nothing known only after `data.at_ms` may reach the state. The source promises that, and this
module checks it: a candle closing after `at_ms`, or a funding or open-interest print stamped
after it, raises `LookAheadError` rather than being dropped, because it means the source is wrong.
The order book is the exception: its timestamp is the exchange's clock, a few milliseconds after
the caller's `at_ms` on a live feed, so it is used as given.

Every field is defined in docs/marketstate.md.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from itertools import pairwise

import numpy as np
from pydantic import BaseModel

from feeds.errors import (
    BadDataError,
    EmptyDataError,
    InvalidPriceError,
    LookAheadError,
    OrderingError,
    StaleDataError,
)
from feeds.indicators import TimeframeAnalysis, analyze
from feeds.regime import REGIME_BARS, classify_regime, regime_timeframe
from feeds.state import (
    FundingState,
    MarketState,
    OpenInterestState,
    OrderBookState,
    PriceState,
    TimeframeIndicators,
    VolumeState,
)
from feeds.types import (
    DAY_MS,
    HISTORY_BARS,
    HOUR_MS,
    Candles,
    FloatArray,
    FundingRate,
    MarketData,
    OpenInterest,
    OrderBook,
    Timeframe,
)

STALE_INTERVALS = 2
# Every venue we read prints funding every 1 to 8 hours; an older last print means a dead feed.
FUNDING_MAX_AGE_MS = 12 * HOUR_MS
OI_MAX_AGE_MS = 2 * HOUR_MS
BOOK_DEPTH_FRACTION = 0.01


def build_market_state(data: MarketData) -> MarketState:
    """The MarketState of `data.symbol` at `data.at_ms`; raises BadDataError on unusable input."""
    candles = closed_candles(data)
    finest = candles[min(candles, key=lambda tf: tf.ms)]
    # Only the timeframe the regime rule reads needs a history of ATR (costly in `ta`).
    regime_tf = regime_timeframe(candles)
    analyses = {
        tf: analyze(c, series_bars=REGIME_BARS if tf == regime_tf else 1) for tf, c in candles.items()
    }
    state = MarketState(
        symbol=data.symbol,
        timestamp=datetime.fromtimestamp(data.at_ms / 1000, tz=UTC),
        source=data.source,
        price=price_state(finest, data.mark_price),
        volume=volume_state(finest),
        funding=funding_state(checked_funding(data), data.at_ms),
        open_interest=open_interest_state(checked_open_interest(data), data.at_ms),
        indicators=_indicators(analyses),
        orderbook=orderbook_state(data.book),
        regime=classify_regime(analyses),
        missing=[],
    )
    return state.model_copy(update={"missing": null_paths(state)})


def closed_candles(data: MarketData) -> dict[Timeframe, Candles]:
    """The non-empty candle series, checked for validity, look-ahead and staleness, last HISTORY_BARS."""
    result: dict[Timeframe, Candles] = {}
    for timeframe, series in data.candles.items():
        if series.timeframe != timeframe:
            raise BadDataError(
                f"{data.symbol}: {series.timeframe.value} candles filed under {timeframe.value}"
            )
        candles = series.tail(HISTORY_BARS)
        if len(candles) == 0:
            continue  # the source has none of this timeframe: reported as missing
        candles.validate(f"{data.symbol} {timeframe.value} candles")
        _check_point_in_time(candles, data)
        result[timeframe] = candles
    if not result:
        raise EmptyDataError(f"{data.symbol}: no candles at {_iso(data.at_ms)}")
    return result


def _check_point_in_time(candles: Candles, data: MarketData) -> None:
    last_open = int(candles.ts_ms[-1])
    last_close = last_open + candles.timeframe.ms
    what = f"{data.symbol} {candles.timeframe.value}: newest candle (open {_iso(last_open)})"
    if last_close > data.at_ms:
        raise LookAheadError(f"{what} closes at {_iso(last_close)}, after {_iso(data.at_ms)}")
    if last_close < data.at_ms - STALE_INTERVALS * candles.timeframe.ms:
        raise StaleDataError(
            f"{what} closed at {_iso(last_close)}, over two intervals before {_iso(data.at_ms)}"
        )


def price_state(finest: Candles, mark_price: float | None) -> PriceState:
    """Current price and its changes over 1 h and 24 h, from the finest timeframe's closes."""
    if mark_price is not None and not (math.isfinite(mark_price) and mark_price > 0):
        raise InvalidPriceError(f"mark price {mark_price!r} is not a positive number")
    close = finest.close
    return PriceState(
        current=float(close[-1]) if mark_price is None else mark_price,
        change_1h_pct=_change_pct(close, _bars_in(HOUR_MS, finest.timeframe)),
        change_24h_pct=_change_pct(close, _bars_in(DAY_MS, finest.timeframe)),
    )


def _bars_in(span_ms: int, timeframe: Timeframe) -> int | None:
    """How many bars make `span_ms`; None when a bar is longer than the span."""
    return span_ms // timeframe.ms if span_ms >= timeframe.ms else None


def _change_pct(close: FloatArray, bars: int | None) -> float | None:
    if bars is None or len(close) <= bars:
        return None
    return (float(close[-1]) / float(close[-1 - bars]) - 1.0) * 100.0


def volume_state(finest: Candles) -> VolumeState | None:
    """USD volume of the last 24 h of closed bars, and its ratio to the 7-day daily average."""
    day_bars = _bars_in(DAY_MS, finest.timeframe)
    if day_bars is None or len(finest) < day_bars:
        return None
    usd = finest.volume * finest.close
    usd_24h = float(usd[-day_bars:].sum())
    week_bars = 7 * day_bars
    daily_avg_7d = float(usd[-week_bars:].sum()) / 7 if len(finest) >= week_bars else 0.0
    vs_avg = usd_24h / daily_avg_7d if daily_avg_7d > 0 else None
    return VolumeState(usd_24h=usd_24h, vs_avg_7d=vs_avg)


def funding_state(prints: Sequence[FundingRate], at_ms: int) -> FundingState | None:
    """Latest rate and time-weighted means over (at - 8 h, at] and (at - 24 h, at]."""
    if not prints or prints[-1].ts_ms < at_ms - FUNDING_MAX_AGE_MS:
        return None
    return FundingState(
        current=prints[-1].rate_per_hour,
        avg_8h=time_weighted_rate(prints, at_ms - 8 * HOUR_MS, at_ms),
        avg_24h=time_weighted_rate(prints, at_ms - 24 * HOUR_MS, at_ms),
    )


def time_weighted_rate(prints: Sequence[FundingRate], start_ms: int, end_ms: int) -> float:
    """Mean rate over (start, end], each print holding until the next one.

    A print from before `start_ms` counts for the part of the window it was still in effect. If
    the prints begin inside the window, the mean covers only the time since the first one.
    """
    first = max(0, bisect_right(prints, start_ms, key=lambda p: p.ts_ms) - 1)
    total = 0.0
    covered = 0
    for i in range(first, len(prints)):
        begin = max(prints[i].ts_ms, start_ms)
        stop = min(prints[i + 1].ts_ms if i + 1 < len(prints) else end_ms, end_ms)
        if stop > begin:
            total += prints[i].rate_per_hour * (stop - begin)
            covered += stop - begin
    # Only a print stamped exactly at `end_ms` covers no time: it is the only rate known.
    return total / covered if covered else prints[-1].rate_per_hour


def open_interest_state(prints: Sequence[OpenInterest], at_ms: int) -> OpenInterestState | None:
    """Latest open interest and its change (in base units) over 1 h and 24 h; None if stale."""
    if not prints or prints[-1].ts_ms < at_ms - OI_MAX_AGE_MS:
        return None
    latest = prints[-1]
    return OpenInterestState(
        current_base=latest.base,
        current_usd=latest.usd,
        change_1h_pct=_oi_change_pct(prints, HOUR_MS),
        change_24h_pct=_oi_change_pct(prints, DAY_MS),
    )


def _oi_change_pct(prints: Sequence[OpenInterest], span_ms: int) -> float | None:
    """Change since the print in effect `span_ms` before the latest; None if that one is stale."""
    target = prints[-1].ts_ms - span_ms
    i = bisect_right(prints, target, key=lambda p: p.ts_ms) - 1
    if i < 0 or prints[i].ts_ms < target - OI_MAX_AGE_MS:
        return None
    return (prints[-1].base / prints[i].base - 1.0) * 100.0


def orderbook_state(book: OrderBook | None) -> OrderBookState | None:
    """Depth within 1 % of the mid on each side, its imbalance, and the spread."""
    if book is None or not book.bids or not book.asks:
        return None
    _check_book(book)
    best_bid, best_ask = book.bids[0].price, book.asks[0].price
    mid = (best_bid + best_ask) / 2
    low, high = mid * (1 - BOOK_DEPTH_FRACTION), mid * (1 + BOOK_DEPTH_FRACTION)
    bid_usd = sum(level.price * level.size for level in book.bids if level.price >= low)
    ask_usd = sum(level.price * level.size for level in book.asks if level.price <= high)
    depth = bid_usd + ask_usd
    return OrderBookState(
        bid_depth_usd=bid_usd,
        ask_depth_usd=ask_usd,
        # Both sides empty within 1 % (a spread over 2 %): no side outweighs the other.
        imbalance=(bid_usd - ask_usd) / depth if depth > 0 else 0.0,
        spread_pct=(best_ask - best_bid) / mid * 100.0,
    )


def _check_book(book: OrderBook) -> None:
    for side, levels in (("bid", book.bids), ("ask", book.asks)):
        for level in levels:
            if not (math.isfinite(level.price) and level.price > 0 and math.isfinite(level.size)):
                raise InvalidPriceError(f"order book {side} {level.price!r} x {level.size!r} is not valid")
            if level.size < 0:
                raise InvalidPriceError(f"order book {side} size {level.size!r} is negative")
    bid_prices = [level.price for level in book.bids]
    ask_prices = [level.price for level in book.asks]
    if any(a <= b for a, b in pairwise(bid_prices)):
        raise OrderingError("order book bids are not in descending price order")
    if any(b <= a for a, b in pairwise(ask_prices)):
        raise OrderingError("order book asks are not in ascending price order")
    if bid_prices[0] >= ask_prices[0]:
        raise InvalidPriceError(
            f"order book is crossed: best bid {bid_prices[0]} >= best ask {ask_prices[0]}"
        )


def _indicators(analyses: Mapping[Timeframe, TimeframeAnalysis]) -> dict[str, TimeframeIndicators | None]:
    return {tf.value: (analyses[tf].indicators if tf in analyses else None) for tf in Timeframe}


def checked_funding(data: MarketData) -> Sequence[FundingRate]:
    """`data.funding` after checking the prints are finite, strictly ascending, not after `at_ms`."""
    _check_times([p.ts_ms for p in data.funding], data, "funding")
    for p in data.funding:
        if not math.isfinite(p.rate_per_hour):
            raise InvalidPriceError(f"{data.symbol} funding: rate {p.rate_per_hour!r} at {_iso(p.ts_ms)}")
    return data.funding


def checked_open_interest(data: MarketData) -> Sequence[OpenInterest]:
    """`data.open_interest` after checking the prints are positive, ascending, not after `at_ms`."""
    _check_times([p.ts_ms for p in data.open_interest], data, "open interest")
    for p in data.open_interest:
        if not (math.isfinite(p.base) and p.base > 0 and math.isfinite(p.usd) and p.usd > 0):
            raise InvalidPriceError(
                f"{data.symbol} open interest: {p.base!r} / {p.usd!r} USD at {_iso(p.ts_ms)} is not positive"
            )
    return data.open_interest


def _check_times(ts: list[int], data: MarketData, what: str) -> None:
    if not ts:
        return
    steps = np.diff(np.asarray(ts, dtype=np.int64))
    if (steps <= 0).any():
        i = int(np.argmax(steps <= 0))
        raise OrderingError(f"{data.symbol} {what}: print at {_iso(ts[i + 1])} is out of order or duplicated")
    if ts[-1] > data.at_ms:
        raise LookAheadError(f"{data.symbol} {what}: print at {_iso(ts[-1])} is after {_iso(data.at_ms)}")


def null_paths(model: BaseModel, prefix: str = "") -> list[str]:
    """Dotted paths of every null field of `model`, nested models and dicts included."""
    paths: list[str] = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        items = value.items() if isinstance(value, dict) else [("", value)]
        for key, item in items:
            path = f"{prefix}{name}.{key}" if key else f"{prefix}{name}"
            if item is None:
                paths.append(path)
            elif isinstance(item, BaseModel):
                paths.extend(null_paths(item, path + "."))
    return paths


def _iso(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
