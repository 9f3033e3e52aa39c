"""PacificaSource against a fake Pacifica on loopback (real HTTP, real wire format, real data)."""

from __future__ import annotations

import itertools
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
from feeds.sources.pacifica import PacificaSource
from feeds.types import HISTORY_BARS, HOUR_MS, Timeframe
from tests.fakes import expected, market
from tests.fakes.exchange_fixtures import FAST_RETRY, fake_pacifica_fixture  # noqa: F401
from tests.fakes.exchanges import FakePacifica
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
async def source(fake_pacifica: FakePacifica) -> AsyncIterator[PacificaSource]:
    source = PacificaSource(fake_pacifica.base_url, timeout_s=2.0, retry=FAST_RETRY)
    yield source
    await source.aclose()


async def test_snapshot_equals_the_fixture_data(source: PacificaSource, fake_pacifica: FakePacifica) -> None:
    now = fake_pacifica.now_ms
    data = await source.market_data(BTC, now)

    assert (data.source, data.symbol, data.at_ms) == ("pacifica", BTC, now)
    assert isinstance(source, Source)
    for tf in Timeframe:
        rows = expected.closed_rows(BTC, tf, now)
        expected.assert_candles_equal(data.candles[tf], rows)
    assert {tf: len(c) for tf, c in data.candles.items()} == {
        Timeframe.M15: HISTORY_BARS,
        Timeframe.H1: HISTORY_BARS,
        Timeframe.H4: HISTORY_BARS,
        Timeframe.D1: len(expected.closed_rows(BTC, Timeframe.D1, now)),  # bundled 4h history is shorter
    }
    mark = float(market.mark(BTC, now))
    assert data.mark_price == mark
    since = now - 72 * HOUR_MS
    assert [(f.ts_ms, f.rate_per_hour) for f in data.funding] == expected.hourly_funding(
        BTC, since, now, FakePacifica.FUNDING_OFFSET_MS
    )
    assert len(data.funding) == 72
    [oi] = data.open_interest
    base = float(market.open_interest_at(BTC, now))
    assert (oi.ts_ms, oi.base) == (now, base)
    assert oi.usd == pytest.approx(base * mark)
    expected.assert_book_equal(data.book, BTC, now)
    assert any("UNVERIFIED" in note for note in data.notes)


async def test_parts_are_fetched_concurrently(source: PacificaSource, fake_pacifica: FakePacifica) -> None:
    await source.market_data(BTC, fake_pacifica.now_ms)  # learns the market list
    for endpoint in ("/info/prices", "/book", "/funding_rate/history"):
        fake_pacifica.inject(endpoint, hang(0.4))  # slow, then a normal answer
    started = time.monotonic()
    await source.market_data(BTC, fake_pacifica.now_ms)

    assert time.monotonic() - started < 1.1  # about one slow request's time, not three (1.2 s)
    assert len(fake_pacifica.calls("/info")) == 1  # the market list is cached


async def test_the_still_open_candle_is_dropped(source: PacificaSource, fake_pacifica: FakePacifica) -> None:
    on_the_hour = fake_pacifica.now_ms // HOUR_MS * HOUR_MS
    fake_pacifica.now_ms = on_the_hour + 1  # the fake serves the candle that opened 1 ms ago
    data = await source.market_data(BTC, fake_pacifica.now_ms)

    assert int(data.candles[Timeframe.H1].ts_ms[-1]) == on_the_hour - HOUR_MS
    fake_pacifica.now_ms = on_the_hour  # a candle closing exactly at `at_ms` is closed
    data = await source.market_data(BTC, fake_pacifica.now_ms)
    assert int(data.candles[Timeframe.H1].ts_ms[-1]) == on_the_hour - HOUR_MS
    assert int(data.candles[Timeframe.M15].ts_ms[-1]) == on_the_hour - 15 * 60_000


async def test_candles_are_paged_when_the_limit_is_small(fake_pacifica: FakePacifica) -> None:
    source = PacificaSource(fake_pacifica.base_url, retry=FAST_RETRY, kline_limit=400)
    try:
        data = await source.market_data(BTC, fake_pacifica.now_ms)
    finally:
        await source.aclose()

    hourly = [c.params for c in fake_pacifica.calls("/kline") if c.params["interval"] == "1h"]
    assert [int(p["limit"]) for p in hourly] == [400, 400, 400, 300]
    for newer, older in itertools.pairwise(hourly):  # newest first, no overlap, no hole
        assert int(older["end_time"]) == int(newer["start_time"]) - HOUR_MS
    expected.assert_candles_equal(
        data.candles[Timeframe.H1], expected.closed_rows(BTC, Timeframe.H1, fake_pacifica.now_ms)
    )
    # 1d history is shorter than 1500 bars: paging stops at the first empty window.
    daily = [c for c in fake_pacifica.calls("/kline") if c.params["interval"] == "1d"]
    assert len(daily) == 3
    assert len(data.candles[Timeframe.D1]) == len(
        expected.closed_rows(BTC, Timeframe.D1, fake_pacifica.now_ms)
    )


async def test_funding_follows_the_cursor(fake_pacifica: FakePacifica) -> None:
    source = PacificaSource(fake_pacifica.base_url, retry=FAST_RETRY, funding_page=10)
    try:
        data = await source.market_data(BTC, fake_pacifica.now_ms)
    finally:
        await source.aclose()

    calls = fake_pacifica.calls("/funding_rate/history")
    assert [c.params.get("cursor") for c in calls] == [None, *(f"c{10 * i}" for i in range(1, 8))]
    assert len(data.funding) == 72


async def test_429_is_retried_after_retry_after(source: PacificaSource, fake_pacifica: FakePacifica) -> None:
    fake_pacifica.inject("/info/prices", rate_limited(retry_after=0.3))
    data = await source.market_data(BTC, fake_pacifica.now_ms)

    first, retry = fake_pacifica.calls("/info/prices")
    assert retry.at - first.at >= 0.3
    assert data.mark_price == float(market.mark(BTC, fake_pacifica.now_ms))


@pytest.mark.parametrize("status", [500, 502])
async def test_5xx_is_retried(source: PacificaSource, fake_pacifica: FakePacifica, status: int) -> None:
    fake_pacifica.inject("/book", FakePacifica.error_envelope("upstream hiccup", 500, status), times=2)
    data = await source.market_data(BTC, fake_pacifica.now_ms)

    assert len(fake_pacifica.calls("/book")) == 3
    expected.assert_book_equal(data.book, BTC, fake_pacifica.now_ms)


async def test_5xx_until_attempts_run_out_is_transient(
    source: PacificaSource, fake_pacifica: FakePacifica
) -> None:
    fake_pacifica.inject("/book", FakePacifica.error_envelope("database down", 500, 503), times=5)
    with pytest.raises(
        TransientError, match=r"pacifica GET /book: HTTP 503, error 500: database down.*3 attempt"
    ):
        await source.market_data(BTC, fake_pacifica.now_ms)
    assert len(fake_pacifica.calls("/book")) == FAST_RETRY.attempts


async def test_a_hanging_exchange_times_out(fake_pacifica: FakePacifica) -> None:
    source = PacificaSource(fake_pacifica.base_url, timeout_s=0.25, retry=FAST_RETRY)
    fake_pacifica.inject("/kline", hang(), times=20)
    started = time.monotonic()
    try:
        with pytest.raises(TransientError, match="pacifica GET /kline: timed out"):
            await source.market_data(BTC, fake_pacifica.now_ms)
    finally:
        await source.aclose()
    assert time.monotonic() - started < 2.0
    assert len(fake_pacifica.calls("/kline")) <= len(Timeframe) * FAST_RETRY.attempts


async def test_non_json_body_is_malformed(source: PacificaSource, fake_pacifica: FakePacifica) -> None:
    fake_pacifica.inject("/info/prices", raw("<html>Bad Gateway</html>"))
    with pytest.raises(MalformedResponseError, match="pacifica GET /info/prices: body is not JSON"):
        await source.market_data(BTC, fake_pacifica.now_ms)


async def test_wrong_shape_is_malformed(source: PacificaSource, fake_pacifica: FakePacifica) -> None:
    fake_pacifica.inject("/book", json_body({"success": True, "data": {"s": BTC, "t": 1}, "error": None}))
    with pytest.raises(MalformedResponseError, match=r"pacifica GET /book: unexpected shape at l"):
        await source.market_data(BTC, fake_pacifica.now_ms)


@pytest.mark.parametrize("status", [200, 400])
async def test_error_envelope_is_exchange_error(
    source: PacificaSource, fake_pacifica: FakePacifica, status: int
) -> None:
    fake_pacifica.inject("/kline", FakePacifica.error_envelope("Invalid interval", 400, status))
    with pytest.raises(ExchangeError, match=r"^pacifica GET /kline: .*error 400: Invalid interval$"):
        await source.market_data(BTC, fake_pacifica.now_ms)


@pytest.mark.parametrize("symbol", ["DOGE", "SOL-USDC"])
async def test_unknown_or_spot_symbol(
    source: PacificaSource, fake_pacifica: FakePacifica, symbol: str
) -> None:
    with pytest.raises(UnknownSymbolError, match=symbol):
        await source.market_data(symbol, fake_pacifica.now_ms)
    assert fake_pacifica.calls("/kline") == []


@pytest.mark.parametrize(
    ("rows", "error"),
    [(nan_close, InvalidPriceError), (negative_low, InvalidPriceError), (duplicate_candle, OrderingError),
     (swap_candles, OrderingError)],
)  # fmt: skip
async def test_corrupt_candles_are_rejected(
    source: PacificaSource, fake_pacifica: FakePacifica, rows: RowsHook, error: type[BadDataError]
) -> None:
    fake_pacifica.inject("/kline", corrupt(rows))
    with pytest.raises(error, match="pacifica GET /kline"):
        await source.market_data(BTC, fake_pacifica.now_ms)


async def test_a_negative_mark_is_rejected(source: PacificaSource, fake_pacifica: FakePacifica) -> None:
    prices = [{"symbol": BTC, "mark": "-5", "funding": "0", "open_interest": "1", "timestamp": 1}]
    fake_pacifica.inject(
        "/info/prices", json_body({"success": True, "data": prices, "error": None, "code": None})
    )
    with pytest.raises(InvalidPriceError, match=r"BTC mark -5\.0"):
        await source.market_data(BTC, fake_pacifica.now_ms)


async def test_transient_http_error_without_retry_after(
    source: PacificaSource, fake_pacifica: FakePacifica
) -> None:
    fake_pacifica.inject("/info", http_error(500))
    await source.market_data(BTC, fake_pacifica.now_ms)
    assert len(fake_pacifica.calls("/info")) == 2
