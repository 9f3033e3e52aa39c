"""build_market_state: point in time, staleness, missing parts, funding, OI, book, regime, JSON."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta, timezone

import numpy as np
import pytest

from feeds.build import build_market_state
from feeds.errors import (
    EmptyDataError,
    InvalidPriceError,
    LookAheadError,
    OrderingError,
    StaleDataError,
)
from feeds.indicators import TimeframeAnalysis, analyze
from feeds.regime import classify
from feeds.resample import resample
from feeds.state import MarketState, TimeframeIndicators
from feeds.types import (
    DAY_MS,
    HISTORY_BARS,
    HOUR_MS,
    MINUTE_MS,
    BookLevel,
    Candles,
    FloatArray,
    FundingRate,
    MarketData,
    OpenInterest,
    OrderBook,
    Timeframe,
)
from tests import bundled

AT = 1_767_225_600_000  # 2026-01-01T00:00:00Z
H1, H4, M15 = Timeframe.H1, Timeframe.H4, Timeframe.M15


def candles(
    timeframe: Timeframe,
    closes: Sequence[float] | FloatArray,
    *,
    last_close_ms: int = AT,
    volume: float | FloatArray = 10.0,
    range_pct: float = 0.2,
) -> Candles:
    """Contiguous candles whose last one closes at `last_close_ms`; each opens at the previous close."""
    close = np.asarray(closes, dtype=np.float64)
    n = close.shape[0]
    ts = last_close_ms - timeframe.ms * np.arange(n, 0, -1)
    open_ = np.concatenate([close[:1], close[:-1]])
    high = np.maximum(open_, close) * (1 + range_pct / 100)
    low = np.minimum(open_, close) * (1 - range_pct / 100)
    return Candles.build(timeframe, ts, open_, high, low, close, np.broadcast_to(volume, (n,)))


def market(
    series: Mapping[Timeframe, Candles],
    at_ms: int = AT,
    *,
    funding: Sequence[FundingRate] = (),
    open_interest: Sequence[OpenInterest] = (),
    book: OrderBook | None = None,
    mark_price: float | None = None,
) -> MarketData:
    return MarketData("test", "BTC", at_ms, series, funding, open_interest, book, mark_price)


def flat(timeframe: Timeframe = H1, n: int = 300, *, last_close_ms: int = AT) -> Candles:
    return candles(timeframe, np.full(n, 100.0), last_close_ms=last_close_ms)


# --- point in time and refusal of bad input ---------------------------------------------------


def test_a_candle_closing_after_at_is_rejected_and_one_closing_at_at_is_used() -> None:
    series = flat(H1, last_close_ms=AT)
    assert build_market_state(market({H1: series}, AT)).indicators["1h"] is not None
    with pytest.raises(LookAheadError, match=r"BTC 1h: newest candle .* closes at 2026-01-01T00:00:00Z"):
        build_market_state(market({H1: series}, AT - 1))


def test_the_point_in_time_slice_of_real_candles_builds() -> None:
    full = bundled.candles("BTC", H1)
    at = int(full.close_ms[5000]) + 30 * MINUTE_MS  # mid-candle: that candle is not closed yet
    with pytest.raises(LookAheadError):
        build_market_state(market({H1: full.slice(0, 5002)}, at))
    state = build_market_state(market({H1: full.closed_by(at)}, at))
    assert state.indicators["1h"] is not None
    assert state.indicators["1h"].closes[-1] == full.close[5000]


def test_a_funding_or_oi_print_after_at_is_rejected() -> None:
    series = {H1: flat()}
    with pytest.raises(LookAheadError, match="funding: print at 2026-01-01T00:00:01Z is after"):
        build_market_state(
            market(series, funding=[FundingRate(AT - HOUR_MS, 1e-5), FundingRate(AT + 1000, 2e-5)])
        )
    with pytest.raises(LookAheadError, match="open interest"):
        build_market_state(market(series, open_interest=[OpenInterest(AT + 1, 10.0, 1000.0)]))


def test_prints_out_of_order_are_rejected() -> None:
    prints = [FundingRate(AT - HOUR_MS, 1e-5), FundingRate(AT - 2 * HOUR_MS, 1e-5)]
    with pytest.raises(OrderingError, match="funding"):
        build_market_state(market({H1: flat()}, funding=prints))


def test_stale_candles_raise_with_symbol_timeframe_and_candle_time() -> None:
    at = AT + 2 * H4.ms + 1  # the newest 4h candle closed at AT: just over two intervals ago
    with pytest.raises(StaleDataError) as caught:
        build_market_state(market({H1: flat(H1, last_close_ms=at - 1), H4: flat(H4)}, at))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(
        "BTC 4h: newest candle (open 2025-12-31T20:00:00Z) closed at 2026-01-01T00:00:00Z"
    )
    # Exactly two intervals old is still fresh.
    build_market_state(market({H1: flat(H1, last_close_ms=at - 1), H4: flat(H4)}, at - 1))


def test_no_candles_at_all_is_an_error() -> None:
    with pytest.raises(EmptyDataError, match="BTC: no candles"):
        build_market_state(market({}))
    with pytest.raises(EmptyDataError):
        build_market_state(market({H1: Candles.empty(H1), H4: Candles.empty(H4)}))


def test_crossed_book_and_bad_mark_price_are_rejected() -> None:
    crossed = OrderBook(AT, (BookLevel(101.0, 1.0),), (BookLevel(100.0, 1.0),))
    with pytest.raises(InvalidPriceError, match="crossed"):
        build_market_state(market({H1: flat()}, book=crossed))
    with pytest.raises(InvalidPriceError, match="mark price"):
        build_market_state(market({H1: flat()}, mark_price=float("nan")))


# --- missing parts ----------------------------------------------------------------------------


def test_every_null_part_is_listed_with_its_dotted_path() -> None:
    state = build_market_state(market({H4: flat(H4, n=150)}))  # 25 days of 4h, nothing else
    assert state.missing == [
        "price.change_1h_pct",  # a 4h bar is longer than an hour
        "funding",
        "open_interest",
        "indicators.15m",
        "indicators.1h",
        "indicators.4h.ema_200",  # 150 bars < 200
        "indicators.1d",
        "orderbook",
    ]
    assert state.regime == "ranging"  # no timeframe with 200 bars: no evidence either way


def test_short_history_leaves_volume_ratio_and_changes_null() -> None:
    state = build_market_state(market({H1: flat(H1, n=30)}))  # 30 hours
    assert state.volume is not None
    assert state.volume.vs_avg_7d is None
    assert "volume.vs_avg_7d" in state.missing
    assert state.price.change_24h_pct is not None
    state = build_market_state(market({H1: flat(H1, n=20)}))
    assert state.volume is None
    assert state.price.change_24h_pct is None
    assert {"volume", "price.change_24h_pct", "indicators.1h.ema_50"} <= set(state.missing)


def test_obv_trend_is_null_without_volume() -> None:
    volume = np.ones(300)
    volume[-20:] = 0.0
    state = build_market_state(market({H1: candles(H1, trend(300, 0.001), volume=volume)}))
    assert state.indicators["1h"] is not None
    assert state.indicators["1h"].obv_trend is None
    assert "indicators.1h.obv_trend" in state.missing


# --- price and volume -------------------------------------------------------------------------


def test_price_changes_and_volume_from_the_finest_timeframe() -> None:
    # 15m closes rise by 1 each bar; volume 2 coins a bar. 1h = 4 bars, 24h = 96, 7d = 672.
    closes = np.arange(1000.0, 1700.0)
    volume = np.full(700, 2.0)
    volume[-96:] = 4.0  # the last day traded twice as much
    state = build_market_state(
        market({M15: candles(M15, closes, volume=volume), H1: flat(H1)}, mark_price=1700.5)
    )
    assert state.price.current == 1700.5
    assert state.price.change_1h_pct == pytest.approx((1699 / 1695 - 1) * 100, rel=1e-12)
    assert state.price.change_24h_pct == pytest.approx((1699 / 1603 - 1) * 100, rel=1e-12)
    assert state.volume is not None
    usd_24h = 4.0 * closes[-96:].sum()
    assert state.volume.usd_24h == pytest.approx(usd_24h, rel=1e-12)
    week = usd_24h + 2.0 * closes[-672:-96].sum()
    assert state.volume.vs_avg_7d == pytest.approx(usd_24h / (week / 7), rel=1e-12)


def test_without_mark_price_the_current_price_is_the_last_close() -> None:
    state = build_market_state(market({H1: candles(H1, np.linspace(90, 110, 48)), H4: flat(H4)}))
    assert state.price.current == 110.0


# --- funding ----------------------------------------------------------------------------------


def test_funding_is_time_weighted_and_a_print_from_before_the_window_counts() -> None:
    prints = [
        FundingRate(AT - 30 * HOUR_MS, 1e-5),  # in effect from before the 24h window to -10h
        FundingRate(AT - 10 * HOUR_MS, 2e-5),  # -10h .. -6h; its last 2 h fall in the 8h window
        FundingRate(AT - 6 * HOUR_MS, -1e-5),  # -6h .. -1h
        FundingRate(AT - 1 * HOUR_MS, 3e-5),  # -1h .. at
    ]
    funding = build_market_state(market({H1: flat()}, funding=prints)).funding
    assert funding is not None
    assert funding.current == 3e-5
    # 8h: 2 h at 2e-5, 5 h at -1e-5, 1 h at 3e-5 -> (4 - 5 + 3) e-5 / 8
    assert funding.avg_8h == pytest.approx(2e-5 / 8, rel=1e-12)
    # 24h: 14 h at 1e-5, 4 h at 2e-5, 5 h at -1e-5, 1 h at 3e-5 -> (14 + 8 - 5 + 3) e-5 / 24
    assert funding.avg_24h == pytest.approx(20e-5 / 24, rel=1e-12)


def test_funding_that_starts_inside_the_window_averages_the_time_it_covers() -> None:
    prints = [FundingRate(AT - 4 * HOUR_MS, 1e-5), FundingRate(AT - HOUR_MS, 5e-5)]
    funding = build_market_state(market({H1: flat()}, funding=prints)).funding
    assert funding is not None
    assert funding.avg_8h == pytest.approx((3 * 1e-5 + 1 * 5e-5) / 4, rel=1e-12)
    assert funding.avg_24h == funding.avg_8h


def test_funding_older_than_12_hours_is_missing() -> None:
    state = build_market_state(market({H1: flat()}, funding=[FundingRate(AT - 12 * HOUR_MS - 1, 1e-5)]))
    assert state.funding is None
    assert "funding" in state.missing


# --- open interest ----------------------------------------------------------------------------


def _oi(hours_before_at: Sequence[float], bases: Sequence[float]) -> list[OpenInterest]:
    """OI prints; the USD value also moves with a price that rose 1 % an hour (so it differs)."""
    return [
        OpenInterest(AT - int(h * HOUR_MS), base, base * 100.0 * 1.01 ** (-h))
        for h, base in zip(hours_before_at, bases, strict=True)
    ]


def test_open_interest_changes_over_1h_and_24h_in_base_units() -> None:
    prints = _oi([25.5, 24.5, 2.5, 1.5, 0.5], [130.0, 120.0, 110.0, 100.0, 102.0])
    oi = build_market_state(market({H1: flat()}, open_interest=prints)).open_interest
    assert oi is not None
    assert (oi.current_base, oi.current_usd) == (102.0, 10200.0 * 1.01**-0.5)
    assert oi.change_1h_pct == pytest.approx(2.0, rel=1e-12)  # vs the print 1 h before the latest
    assert oi.change_24h_pct == pytest.approx(-15.0, rel=1e-12)  # vs 120 at -24.5h


def test_open_interest_without_a_print_near_24h_ago_has_no_24h_change() -> None:
    prints = _oi([30.0, 1.5, 0.5], [130.0, 100.0, 102.0])  # -24.5h falls 5.5 h after the old print
    state = build_market_state(market({H1: flat()}, open_interest=prints))
    assert state.open_interest is not None
    assert state.open_interest.change_24h_pct is None
    assert "open_interest.change_24h_pct" in state.missing


def test_open_interest_older_than_two_hours_is_missing() -> None:
    state = build_market_state(market({H1: flat()}, open_interest=_oi([2.01], [100.0])))
    assert state.open_interest is None
    assert "open_interest" in state.missing


# --- order book -------------------------------------------------------------------------------


def test_order_book_depth_within_1pct_imbalance_and_spread() -> None:
    book = OrderBook(
        AT,
        bids=(BookLevel(100.0, 2.0), BookLevel(99.5, 1.0), BookLevel(99.0, 5.0)),
        asks=(BookLevel(100.5, 1.0), BookLevel(101.0, 2.0), BookLevel(101.5, 4.0)),
    )
    ob = build_market_state(market({H1: flat()}, book=book)).orderbook
    # mid 100.25: bids >= 99.2475 and asks <= 101.2525 count; 99.0 and 101.5 (1.25 % away) do not.
    assert ob is not None
    assert ob.bid_depth_usd == pytest.approx(100.0 * 2 + 99.5 * 1, rel=1e-12)
    assert ob.ask_depth_usd == pytest.approx(100.5 * 1 + 101.0 * 2, rel=1e-12)
    assert ob.imbalance == pytest.approx((299.5 - 302.5) / 602.0, rel=1e-12)
    assert ob.spread_pct == pytest.approx(0.5 / 100.25 * 100, rel=1e-12)


def test_a_book_with_an_empty_side_is_missing() -> None:
    book = OrderBook(AT, bids=(BookLevel(100.0, 2.0),), asks=())
    state = build_market_state(market({H1: flat()}, book=book))
    assert state.orderbook is None
    assert "orderbook" in state.missing


# --- regime -----------------------------------------------------------------------------------


def trend(n: int, step: float) -> FloatArray:
    return np.asarray(100.0 * (1 + step) ** np.arange(n), dtype=np.float64)


def test_regime_on_constructed_series() -> None:
    up, down = candles(H4, trend(300, 0.002)), candles(H4, trend(300, -0.002))
    assert build_market_state(market({H4: up})).regime == "trending_up"
    assert build_market_state(market({H4: down})).regime == "trending_down"
    assert build_market_state(market({H4: flat(H4)})).regime == "ranging"


def test_a_range_spike_makes_the_regime_volatile_even_in_a_trend() -> None:
    closes = trend(300, 0.002)
    spike = candles(H4, closes)
    high = spike.high.copy()
    # The last bar's true range becomes ~18x the usual 0.6 %: ATR 14 jumps by (18 - 1) / 14 to ~2.2x.
    high[-1] *= 1.10
    volatile = Candles.build(H4, spike.ts_ms, spike.open, high, spike.low, spike.close, spike.volume)
    assert build_market_state(market({H4: volatile})).regime == "volatile"


def test_regime_falls_back_to_1h_when_4h_is_too_short() -> None:
    series = {H4: candles(H4, trend(150, -0.002)), H1: candles(H1, trend(300, 0.002))}
    assert build_market_state(market(series)).regime == "trending_up"


def _analysis(
    close: float, ema_21: float, ema_50: float, ema_200: float, atr_pct: Sequence[float]
) -> TimeframeAnalysis:
    """A hand-made analysis: only what the regime rule reads is meaningful."""
    indicators = TimeframeIndicators(
        rsi_14=50.0,
        rsi_21=50.0,
        macd=None,
        ema_9=close,
        ema_21=ema_21,
        ema_50=ema_50,
        ema_200=ema_200,
        atr_14=atr_pct[-1] * close,
        obv_trend=0.0,
        closes=[close],
    )
    closes = np.full(len(atr_pct), close)
    return TimeframeAnalysis(indicators, closes, np.asarray(atr_pct, dtype=np.float64) * closes)


@pytest.mark.parametrize(
    ("close", "ema_21", "ema_50", "ema_200", "expected"),
    [
        (105.0, 104.0, 103.0, 100.0, "trending_up"),
        (102.0, 104.0, 103.0, 100.0, "ranging"),  # close under EMA 50
        (105.0, 102.0, 103.0, 100.0, "ranging"),  # EMA 21 under EMA 50
        (95.0, 96.0, 97.0, 100.0, "trending_down"),
        (95.0, 98.0, 97.0, 100.0, "ranging"),  # EMA 21 over EMA 50
        (100.0, 100.0, 100.0, 100.0, "ranging"),
    ],
)
def test_the_trend_rule(close: float, ema_21: float, ema_50: float, ema_200: float, expected: str) -> None:
    assert classify(_analysis(close, ema_21, ema_50, ema_200, [0.01] * 100)) == expected


def test_an_analysis_without_the_atr_history_is_refused_not_called_ranging() -> None:
    series = candles(H4, trend(300, 0.002))
    assert classify(analyze(series, series_bars=100)) == "trending_up"
    with pytest.raises(ValueError, match="series_bars=100"):
        classify(analyze(series))
    assert classify(analyze(series.tail(199))) is None  # too short for EMA 200: no opinion


def test_volatile_means_strictly_more_than_1_5_times_the_median() -> None:
    calm = [0.01] * 99
    assert classify(_analysis(105, 104, 103, 100, [*calm, 0.015])) == "trending_up"
    assert classify(_analysis(105, 104, 103, 100, [*calm, 0.0151])) == "volatile"


# --- the whole state on real data -------------------------------------------------------------


def real_market(at_ms: int) -> MarketData:
    series = {tf: bundled.candles("BTC", tf).closed_by(at_ms) for tf in (M15, H1, H4)}
    series[Timeframe.D1] = resample(bundled.candles("BTC", H4), Timeframe.D1).closed_by(at_ms)
    return MarketData(
        "replay",
        "BTC",
        at_ms,
        series,
        funding=[p for p in bundled.funding("BTC") if p.ts_ms <= at_ms],
        open_interest=[p for p in bundled.open_interest("BTC") if p.ts_ms <= at_ms],
    )


def test_real_state_round_trips_through_json() -> None:
    at = 1_773_500_400_000  # 2026-03-14T15:00:00Z, inside the bundled open-interest weeks
    state = build_market_state(real_market(at))
    assert state.missing == ["orderbook"]
    assert MarketState.model_validate_json(state.model_dump_json()) == state


def test_more_than_history_bars_gives_the_same_state_as_the_last_history_bars() -> None:
    at = 1_773_500_400_000
    data = real_market(at)
    trimmed = MarketData(
        data.source,
        data.symbol,
        at,
        {tf: c.tail(HISTORY_BARS) for tf, c in data.candles.items()},
        funding=data.funding,
        open_interest=data.open_interest,
    )
    assert len(data.candles[M15]) > HISTORY_BARS
    assert build_market_state(data) == build_market_state(trimmed)


def test_timestamp_is_aware_utc_of_at() -> None:
    at = AT + DAY_MS - HOUR_MS + 1500
    state = build_market_state(market({H1: flat(last_close_ms=at - 1500)}, at))
    assert state.timestamp.isoformat() == "2026-01-01T23:00:01.500000+00:00"
    assert state.model_dump(mode="json")["timestamp"] == "2026-01-01T23:00:01Z"


def test_a_timestamp_in_another_zone_is_written_as_the_same_instant_in_utc() -> None:
    state = build_market_state(market({H1: flat()}))
    shifted = state.model_copy(update={"timestamp": state.timestamp.astimezone(timezone(timedelta(hours=2)))})
    assert shifted.model_dump(mode="json")["timestamp"] == "2026-01-01T00:00:00Z"
    assert MarketState.model_validate_json(shifted.model_dump_json()) == state
