"""HyperliquidSource against a fake Hyperliquid on loopback (real HTTP, real wire format, real data)."""

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
from feeds.sources.hyperliquid import HyperliquidSource
from feeds.types import HISTORY_BARS, HOUR_MS, Timeframe
from tests.fakes import expected, market
from tests.fakes.exchange_fixtures import FAST_RETRY, fake_hyperliquid_fixture  # noqa: F401
from tests.fakes.exchanges import FakeHyperliquid
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
async def source(fake_hyperliquid: FakeHyperliquid) -> AsyncIterator[HyperliquidSource]:
    source = HyperliquidSource(fake_hyperliquid.base_url, timeout_s=2.0, retry=FAST_RETRY)
    yield source
    await source.aclose()


async def test_snapshot_equals_the_fixture_data(
    source: HyperliquidSource, fake_hyperliquid: FakeHyperliquid
) -> None:
    now = fake_hyperliquid.now_ms
    data = await source.market_data(BTC, now)

    assert (data.source, data.symbol, data.at_ms) == ("hyperliquid", BTC, now)
    assert isinstance(source, Source)
    for tf in Timeframe:
        expected.assert_candles_equal(data.candles[tf], expected.closed_rows(BTC, tf, now))
    assert len(data.candles[Timeframe.M15]) == len(data.candles[Timeframe.H4]) == HISTORY_BARS
    mark = float(market.mark(BTC, now))
    assert data.mark_price == mark
    funding = expected.hourly_funding(BTC, now - 72 * HOUR_MS, now, FakeHyperliquid.FUNDING_OFFSET_MS)
    assert [(f.ts_ms, f.rate_per_hour) for f in data.funding] == funding
    [oi] = data.open_interest
    base = float(market.open_interest_at(BTC, now))
    assert (oi.ts_ms, oi.base) == (now, base)
    assert oi.usd == pytest.approx(base * mark)
    expected.assert_book_equal(data.book, BTC, now)


async def test_candle_requests_use_the_nested_req(
    source: HyperliquidSource, fake_hyperliquid: FakeHyperliquid
) -> None:
    now = fake_hyperliquid.now_ms
    await source.market_data(BTC, now)

    hourly = [
        c.params for c in fake_hyperliquid.calls("candleSnapshot") if c.params["req"]["interval"] == "1h"
    ]
    last_closed = now // HOUR_MS * HOUR_MS - HOUR_MS
    assert hourly == [
        {
            "type": "candleSnapshot",
            "req": {
                "coin": BTC,
                "interval": "1h",
                "startTime": last_closed - (HISTORY_BARS - 1) * HOUR_MS,
                "endTime": last_closed,
            },
        }
    ]


async def test_the_still_open_candle_is_dropped(
    source: HyperliquidSource, fake_hyperliquid: FakeHyperliquid
) -> None:
    on_the_hour = fake_hyperliquid.now_ms // HOUR_MS * HOUR_MS
    fake_hyperliquid.now_ms = on_the_hour + 1
    data = await source.market_data(BTC, fake_hyperliquid.now_ms)
    assert int(data.candles[Timeframe.H1].ts_ms[-1]) == on_the_hour - HOUR_MS

    # T = t + interval - 1: the candle that ended 1 ms before `at_ms` is closed.
    fake_hyperliquid.now_ms = on_the_hour
    data = await source.market_data(BTC, on_the_hour)
    assert int(data.candles[Timeframe.H1].ts_ms[-1]) == on_the_hour - HOUR_MS


async def test_candles_are_paged_when_the_limit_is_small(fake_hyperliquid: FakeHyperliquid) -> None:
    source = HyperliquidSource(fake_hyperliquid.base_url, retry=FAST_RETRY, candle_limit=700)
    try:
        data = await source.market_data(BTC, fake_hyperliquid.now_ms)
    finally:
        await source.aclose()

    reqs = [
        c.params["req"]
        for c in fake_hyperliquid.calls("candleSnapshot")
        if c.params["req"]["interval"] == "4h"
    ]
    spans = [(r["endTime"] - r["startTime"]) // (4 * HOUR_MS) + 1 for r in reqs]
    assert spans == [700, 700, 100]
    tf = Timeframe.H4
    expected.assert_candles_equal(data.candles[tf], expected.closed_rows(BTC, tf, fake_hyperliquid.now_ms))


async def test_funding_pages_by_advancing_start_time(fake_hyperliquid: FakeHyperliquid) -> None:
    fake_hyperliquid.funding_page = 30
    source = HyperliquidSource(fake_hyperliquid.base_url, retry=FAST_RETRY)
    try:
        data = await source.market_data(BTC, fake_hyperliquid.now_ms)
    finally:
        await source.aclose()

    starts = [c.params["startTime"] for c in fake_hyperliquid.calls("fundingHistory")]
    assert len(starts) == 3
    assert starts[1] == data.funding[29].ts_ms + 1
    assert len(data.funding) == 72
    assert len({f.ts_ms for f in data.funding}) == 72


async def test_429_is_retried_after_retry_after(
    source: HyperliquidSource, fake_hyperliquid: FakeHyperliquid
) -> None:
    fake_hyperliquid.inject("l2Book", rate_limited(retry_after=0.3))
    data = await source.market_data(BTC, fake_hyperliquid.now_ms)

    first, retry = fake_hyperliquid.calls("l2Book")
    assert retry.at - first.at >= 0.3
    expected.assert_book_equal(data.book, BTC, fake_hyperliquid.now_ms)


async def test_5xx_is_retried(source: HyperliquidSource, fake_hyperliquid: FakeHyperliquid) -> None:
    fake_hyperliquid.inject("fundingHistory", http_error(502), times=2)
    data = await source.market_data(BTC, fake_hyperliquid.now_ms)
    assert len(fake_hyperliquid.calls("fundingHistory")) == 3
    assert len(data.funding) == 72


async def test_a_hanging_exchange_times_out(fake_hyperliquid: FakeHyperliquid) -> None:
    source = HyperliquidSource(fake_hyperliquid.base_url, timeout_s=0.25, retry=FAST_RETRY)
    fake_hyperliquid.inject("metaAndAssetCtxs", hang(), times=10)
    started = time.monotonic()
    try:
        with pytest.raises(
            TransientError, match=r"hyperliquid POST /info metaAndAssetCtxs: timed out.*3 attempt"
        ):
            await source.market_data(BTC, fake_hyperliquid.now_ms)
    finally:
        await source.aclose()
    assert time.monotonic() - started < 2.0
    assert (
        len(fake_hyperliquid.wait_for_calls("metaAndAssetCtxs", FAST_RETRY.attempts)) == FAST_RETRY.attempts
    )


async def test_non_json_body_is_malformed(
    source: HyperliquidSource, fake_hyperliquid: FakeHyperliquid
) -> None:
    fake_hyperliquid.inject("candleSnapshot", raw('[{"t": 1, "T": '))
    with pytest.raises(
        MalformedResponseError, match="hyperliquid POST /info candleSnapshot: body is not JSON"
    ):
        await source.market_data(BTC, fake_hyperliquid.now_ms)


async def test_wrong_shape_is_malformed(source: HyperliquidSource, fake_hyperliquid: FakeHyperliquid) -> None:
    fake_hyperliquid.inject("metaAndAssetCtxs", json_body({"universe": []}))  # not the 2-element array
    with pytest.raises(
        MalformedResponseError, match="hyperliquid POST /info metaAndAssetCtxs: unexpected shape"
    ):
        await source.market_data(BTC, fake_hyperliquid.now_ms)


async def test_a_4xx_is_exchange_error_with_its_text(
    source: HyperliquidSource, fake_hyperliquid: FakeHyperliquid
) -> None:
    fake_hyperliquid.inject("l2Book", raw("Failed to deserialize the JSON body into the target type", 422))
    with pytest.raises(
        ExchangeError, match=r"POST /info l2Book: HTTP 422, Failed to deserialize the JSON body"
    ):
        await source.market_data(BTC, fake_hyperliquid.now_ms)


@pytest.mark.parametrize("symbol", ["DOGE", FakeHyperliquid.DELISTED])
async def test_unknown_or_delisted_coin(
    source: HyperliquidSource, fake_hyperliquid: FakeHyperliquid, symbol: str
) -> None:
    with pytest.raises(UnknownSymbolError, match=symbol):
        await source.market_data(symbol, fake_hyperliquid.now_ms)
    assert fake_hyperliquid.calls("candleSnapshot") == []


@pytest.mark.parametrize(
    ("rows", "error"),
    [(nan_close, InvalidPriceError), (negative_low, InvalidPriceError), (duplicate_candle, OrderingError),
     (swap_candles, OrderingError)],
)  # fmt: skip
async def test_corrupt_candles_are_rejected(
    source: HyperliquidSource, fake_hyperliquid: FakeHyperliquid, rows: RowsHook, error: type[BadDataError]
) -> None:
    fake_hyperliquid.inject("candleSnapshot", corrupt(rows))
    with pytest.raises(error, match="hyperliquid POST /info candleSnapshot"):
        await source.market_data(BTC, fake_hyperliquid.now_ms)


async def test_a_missing_mark_prices_oi_at_the_last_close(
    source: HyperliquidSource, fake_hyperliquid: FakeHyperliquid
) -> None:
    now = fake_hyperliquid.now_ms
    universe = [{"name": BTC, "szDecimals": 5, "maxLeverage": 50}]
    ctx = {"funding": "0.0000125", "openInterest": "10.5", "markPx": None, "oraclePx": "1", "prevDayPx": "1"}
    await source.market_data(
        BTC, now
    )  # the coin is known; the next snapshot fetches the context concurrently
    fake_hyperliquid.inject("metaAndAssetCtxs", json_body([{"universe": universe}, [ctx]]))
    data = await source.market_data(BTC, now)

    assert data.mark_price is None
    [oi] = data.open_interest
    assert oi.usd == pytest.approx(10.5 * float(expected.closed_rows(BTC, Timeframe.H1, now)[-1].c))
