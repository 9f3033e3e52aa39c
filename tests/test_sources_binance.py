"""BinanceSource against a fake Binance USD-M on loopback (real HTTP, real wire format, real data)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from feeds.errors import (
    BadDataError,
    ExchangeError,
    InvalidPriceError,
    MalformedResponseError,
    OrderingError,
    TransientError,
    UnknownSymbolError,
)
from feeds.sources.base import Source
from feeds.sources.binance import KLINE_LIMIT, BinanceSource
from feeds.types import HISTORY_BARS, HOUR_MS, MarketData, Timeframe
from tests.fakes import expected, market
from tests.fakes.exchange_fixtures import FAST_RETRY, fake_binance_fixture  # noqa: F401
from tests.fakes.exchanges import FakeBinance
from tests.fakes.server import (
    RowsHook,
    corrupt,
    duplicate_candle,
    hang,
    http_error,
    json_body,
    nan_close,
    negative_low,
    rate_limited,
    raw,
    swap_candles,
)

pytestmark = pytest.mark.anyio

BTC = "BTC"


@pytest.fixture
async def source(fake_binance: FakeBinance) -> AsyncIterator[BinanceSource]:
    source = BinanceSource(fake_binance.base_url, timeout_s=2.0, retry=FAST_RETRY)
    yield source
    await source.aclose()


async def _snapshot(fake: FakeBinance, kline_limit: int = KLINE_LIMIT) -> MarketData:
    source = BinanceSource(fake.base_url, retry=FAST_RETRY, kline_limit=kline_limit)
    try:
        return await source.market_data(BTC, fake.now_ms)
    finally:
        await source.aclose()


def _funding_8h_per_hour(now: int) -> list[tuple[int, float]]:
    since = now - 72 * HOUR_MS
    return [(ts, float(rate) / 8) for ts, rate in market.funding_8h(BTC) if since <= ts <= now]


async def test_snapshot_equals_the_fixture_data(source: BinanceSource, fake_binance: FakeBinance) -> None:
    now = fake_binance.now_ms
    data = await source.market_data(BTC, now)

    assert (data.source, data.symbol, data.at_ms) == ("binance", BTC, now)
    assert isinstance(source, Source)
    for tf in Timeframe:
        expected.assert_candles_equal(data.candles[tf], expected.closed_rows(BTC, tf, now))
    assert len(data.candles[Timeframe.M15]) == len(data.candles[Timeframe.H1]) == HISTORY_BARS
    mark = float(market.mark(BTC, now))
    assert data.mark_price == mark
    funding = _funding_8h_per_hour(now)
    assert [f.ts_ms for f in data.funding] == [ts for ts, _ in funding]
    assert [f.rate_per_hour for f in data.funding] == pytest.approx([rate for _, rate in funding], rel=1e-12)
    assert len(data.funding) == 9
    expected.assert_book_equal(data.book, BTC, now, depth=100)


async def test_open_interest_history_then_the_current_value(
    source: BinanceSource, fake_binance: FakeBinance
) -> None:
    now = fake_binance.now_ms
    data = await source.market_data(BTC, now)

    history = [
        (ts, float(base), float(usd))
        for ts, base, usd in market.open_interest(BTC)
        if now - 25 * HOUR_MS <= ts <= now
    ]
    assert len(history) == 25
    assert [(oi.ts_ms, oi.base, oi.usd) for oi in data.open_interest[:-1]] == history
    current = data.open_interest[-1]
    base = float(market.open_interest_at(BTC, now))
    assert (current.ts_ms, current.base) == (now, base)
    assert current.usd == pytest.approx(base * float(market.mark(BTC, now)))
    [call] = fake_binance.calls("/futures/data/openInterestHist")
    assert call.params["period"] == "1h"


async def test_oi_timestamps_sent_as_strings_are_accepted(fake_binance: FakeBinance) -> None:
    fake_binance.oi_timestamp_as_string = True
    data = await _snapshot(fake_binance)
    assert len(data.open_interest) > 20
    assert all(isinstance(oi.ts_ms, int) for oi in data.open_interest)


async def test_funding_interval_is_inferred_from_the_gaps(fake_binance: FakeBinance) -> None:
    fake_binance.funding_interval_h = 4  # each 8 h print becomes two 4 h prints of half the rate
    data = await _snapshot(fake_binance)

    per_hour = {ts: float(rate) / 8 for ts, rate in market.funding_8h(BTC)}
    assert len(data.funding) == 18
    for f in data.funding:
        paid_at = f.ts_ms if f.ts_ms in per_hour else f.ts_ms + 4 * HOUR_MS
        assert f.rate_per_hour == pytest.approx(per_hour[paid_at], rel=1e-12)


async def test_the_still_open_candle_is_dropped(source: BinanceSource, fake_binance: FakeBinance) -> None:
    four_hours = 4 * HOUR_MS
    boundary = fake_binance.now_ms // four_hours * four_hours
    fake_binance.now_ms = boundary - 1  # the 4h candle closing at `boundary` is still open
    data = await source.market_data(BTC, fake_binance.now_ms)
    assert int(data.candles[Timeframe.H4].ts_ms[-1]) == boundary - 2 * four_hours

    fake_binance.now_ms = boundary  # closeTime = open + interval - 1 < boundary: closed
    data = await source.market_data(BTC, boundary)
    assert int(data.candles[Timeframe.H4].ts_ms[-1]) == boundary - four_hours


async def test_klines_are_paged_when_the_limit_is_small(fake_binance: FakeBinance) -> None:
    data = await _snapshot(fake_binance, kline_limit=500)

    hourly = [c.params for c in fake_binance.calls("/fapi/v1/klines") if c.params["interval"] == "1h"]
    assert [int(p["limit"]) for p in hourly] == [500, 500, 500]
    assert int(hourly[1]["endTime"]) == int(hourly[0]["startTime"]) - HOUR_MS
    expected.assert_candles_equal(
        data.candles[Timeframe.H1], expected.closed_rows(BTC, Timeframe.H1, data.at_ms)
    )


async def test_429_is_retried_after_retry_after(source: BinanceSource, fake_binance: FakeBinance) -> None:
    too_many = {"code": -1003, "msg": "Too many requests; current limit is 2400 requests per minute."}
    fake_binance.inject("/fapi/v1/premiumIndex", rate_limited(retry_after=0.3, body=too_many))
    data = await source.market_data(BTC, fake_binance.now_ms)

    first, retry = fake_binance.calls("/fapi/v1/premiumIndex")
    assert retry.at - first.at >= 0.3
    assert data.mark_price == float(market.mark(BTC, fake_binance.now_ms))


async def test_5xx_is_retried(source: BinanceSource, fake_binance: FakeBinance) -> None:
    fake_binance.inject("/fapi/v1/fundingRate", http_error(503), times=2)
    data = await source.market_data(BTC, fake_binance.now_ms)
    assert len(fake_binance.calls("/fapi/v1/fundingRate")) == 3
    assert len(data.funding) == 9


async def test_a_hanging_exchange_times_out(fake_binance: FakeBinance) -> None:
    source = BinanceSource(fake_binance.base_url, timeout_s=0.25, retry=FAST_RETRY)
    fake_binance.inject("/fapi/v1/depth", hang(), times=10)
    started = time.monotonic()
    try:
        with pytest.raises(TransientError, match=r"binance GET /fapi/v1/depth: timed out.*3 attempt"):
            await source.market_data(BTC, fake_binance.now_ms)
    finally:
        await source.aclose()
    assert time.monotonic() - started < 2.0
    assert len(fake_binance.wait_for_calls("/fapi/v1/depth", FAST_RETRY.attempts)) == FAST_RETRY.attempts


async def test_non_json_body_is_malformed(source: BinanceSource, fake_binance: FakeBinance) -> None:
    fake_binance.inject("/fapi/v1/openInterest", raw(""))
    with pytest.raises(MalformedResponseError, match="binance GET /fapi/v1/openInterest: body is not JSON"):
        await source.market_data(BTC, fake_binance.now_ms)


async def test_wrong_shape_is_malformed(source: BinanceSource, fake_binance: FakeBinance) -> None:
    fake_binance.inject("/fapi/v1/klines", json_body([[1700000000000, "1", "2"]]))  # a row cut short
    with pytest.raises(MalformedResponseError, match="binance GET /fapi/v1/klines: unexpected shape"):
        await source.market_data(BTC, fake_binance.now_ms)


async def test_an_error_code_is_exchange_error(source: BinanceSource, fake_binance: FakeBinance) -> None:
    fake_binance.inject(
        "/fapi/v1/depth", FakeBinance.error_body(-1102, "Mandatory parameter 'symbol' was not sent")
    )
    with pytest.raises(
        ExchangeError, match=r"binance GET /fapi/v1/depth: HTTP 400, error -1102: Mandatory param"
    ):
        await source.market_data(BTC, fake_binance.now_ms)


async def test_invalid_symbol_is_unknown_symbol(source: BinanceSource, fake_binance: FakeBinance) -> None:
    with pytest.raises(UnknownSymbolError, match=r"error -1121: Invalid symbol\.$"):
        await source.market_data("DOGE", fake_binance.now_ms)


@pytest.mark.parametrize(
    ("rows", "error"),
    [(nan_close, InvalidPriceError), (negative_low, InvalidPriceError), (duplicate_candle, OrderingError),
     (swap_candles, OrderingError)],
)  # fmt: skip
async def test_corrupt_candles_are_rejected(
    source: BinanceSource, fake_binance: FakeBinance, rows: RowsHook, error: type[BadDataError]
) -> None:
    fake_binance.inject("/fapi/v1/klines", corrupt(rows))
    with pytest.raises(error, match="binance GET /fapi/v1/klines"):
        await source.market_data(BTC, fake_binance.now_ms)


async def test_a_nan_book_price_is_rejected(source: BinanceSource, fake_binance: FakeBinance) -> None:
    depth = {"lastUpdateId": 1, "E": 1, "T": 1, "bids": [["NaN", "1"]], "asks": [["2", "1"]]}
    fake_binance.inject("/fapi/v1/depth", json_body(depth))
    with pytest.raises(InvalidPriceError, match="binance GET /fapi/v1/depth: bid price nan"):
        await source.market_data(BTC, fake_binance.now_ms)
