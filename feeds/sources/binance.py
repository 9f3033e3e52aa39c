"""Binance USD-M futures public REST market data (GET, bare JSON, funding per settlement interval).

Wire formats: docs/exchange-apis.md section 3. Klines are positional arrays closing at
`closeTime + 1`; funding is paid per interval (usually 8 h) and is normalised here to per hour.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, TypeAdapter

from feeds.errors import UnknownSymbolError
from feeds.sources import _wire
from feeds.sources._batch import Batch
from feeds.sources._wire import FUNDING_LOOKBACK_MS, Bar
from feeds.sources.http import ErrorCodes, JsonHttp, Params, RetryPolicy
from feeds.types import HOUR_MS, Candles, FundingRate, MarketData, OpenInterest, OrderBook, Timeframe

DEFAULT_BASE_URL = "https://fapi.binance.com"
KLINE_LIMIT = 1500  # the most one klines request returns
DEPTH_LIMIT = 100
OI_HISTORY_MS = 25 * HOUR_MS
DEFAULT_FUNDING_HOURS = 8
_FUNDING_HOURS = (1, 2, 4, 8)  # settlement intervals Binance uses; another gap means a missing print

ERROR_CODES: ErrorCodes = {-1121: UnknownSymbolError}  # {"code":-1121,"msg":"Invalid symbol."}


class _Wire(BaseModel):
    model_config = ConfigDict(frozen=True)


class _Premium(_Wire):
    markPrice: float
    time: int


class _Funding(_Wire):
    fundingRate: float
    fundingTime: int


class _OpenInterest(_Wire):
    openInterest: float
    time: int


class _OpenInterestHist(_Wire):
    sumOpenInterest: float
    sumOpenInterestValue: float
    timestamp: int  # documented as a string, sent as an int: pydantic accepts both


class _Depth(_Wire):
    bids: list[tuple[float, float]]
    asks: list[tuple[float, float]]
    T: int


_PREMIUM = TypeAdapter(_Premium)
_ROWS = TypeAdapter(list[list[Any]])
# openTime, open, high, low, close, volume, closeTime; the trailing fields are not used.
_KLINE = TypeAdapter(tuple[int, float, float, float, float, float, int])
_FUNDING = TypeAdapter(list[_Funding])
_OI = TypeAdapter(_OpenInterest)
_OI_HIST = TypeAdapter(list[_OpenInterestHist])
_DEPTH = TypeAdapter(_Depth)


class BinanceSource:
    """Live market data from Binance USD-M perpetuals; symbol "BTC" trades as "BTCUSDT".

    `base_url` defaults to production. `timeout_s` bounds each request, `retry` the retries of
    transient failures; a `client` passed in is shared, not closed. `kline_limit` is the klines
    asked per request (tests shrink it to exercise paging); funding covers `funding_lookback_ms`.
    """

    name = "binance"

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout_s: float = 10.0,
        retry: RetryPolicy | None = None,
        client: httpx.AsyncClient | None = None,
        kline_limit: int = KLINE_LIMIT,
        funding_lookback_ms: int = FUNDING_LOOKBACK_MS,
    ) -> None:
        self._http = JsonHttp(
            self.name, base_url, timeout_s=timeout_s, retry=retry, client=client, error_codes=ERROR_CODES
        )
        self._kline_limit = kline_limit
        self._funding_lookback_ms = funding_lookback_ms

    async def market_data(self, symbol: str, at_ms: int) -> MarketData:
        """Candles, funding per hour, OI of the last 25 h, book and mark of `symbol` at `at_ms`."""
        pair = f"{symbol.upper()}USDT"
        batch = Batch()
        premium = batch.add(self._premium, pair)
        candles = {tf: batch.add(self._candles, pair, tf, at_ms) for tf in Timeframe}
        funding = batch.add(self._funding, pair, at_ms)
        current_oi = batch.add(self._current_oi, pair)
        oi_history = batch.add(self._oi_history, pair, at_ms)
        book = batch.add(self._book, pair)
        await batch.run()
        mark = premium.value.markPrice
        return MarketData(
            source=self.name,
            symbol=symbol,
            at_ms=at_ms,
            candles={tf: slot.value for tf, slot in candles.items() if len(slot.value)},
            funding=funding.value,
            open_interest=_open_interest(oi_history.value, current_oi.value, mark, at_ms),
            book=book.value,
            mark_price=mark,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _get(self, path: str, params: Params) -> tuple[object, str]:
        return await self._http.get(path, params), self._http.where(f"GET {path}")

    async def _premium(self, pair: str) -> _Premium:
        body, where = await self._get("/fapi/v1/premiumIndex", {"symbol": pair})
        premium = _wire.parse(_PREMIUM, body, where)
        _wire.positive(premium.markPrice, f"{where}: {pair} mark")
        return premium

    async def _candles(self, pair: str, timeframe: Timeframe, at_ms: int) -> Candles:
        where = self._http.where("GET /fapi/v1/klines")

        async def page(start: int, end: int, count: int) -> list[Bar]:
            params = {"symbol": pair, "interval": timeframe.value, "startTime": start, "endTime": end}
            body, _ = await self._get("/fapi/v1/klines", {**params, "limit": count})
            return [_bar(row, where) for row in _wire.parse(_ROWS, body, where)]

        bars = await _wire.fetch_bars(page, timeframe, at_ms, self._kline_limit)
        return _wire.closed_candles(timeframe, bars, at_ms, where)

    async def _funding(self, pair: str, at_ms: int) -> list[FundingRate]:
        since = at_ms - self._funding_lookback_ms
        # One interval more than the window, so the first print in it has a gap to infer from.
        params: Params = {"symbol": pair, "startTime": since - 8 * HOUR_MS, "endTime": at_ms, "limit": 1000}
        body, where = await self._get("/fapi/v1/fundingRate", params)
        rows = _wire.parse(_FUNDING, body, where)
        rows.sort(key=lambda r: r.fundingTime)
        return _wire.funding_window(_per_hour(rows), since, at_ms, where)

    async def _current_oi(self, pair: str) -> _OpenInterest:
        body, where = await self._get("/fapi/v1/openInterest", {"symbol": pair})
        current = _wire.parse(_OI, body, where)
        _wire.non_negative(current.openInterest, f"{where}: {pair} open interest")
        return current

    async def _oi_history(self, pair: str, at_ms: int) -> list[OpenInterest]:
        start = at_ms - OI_HISTORY_MS
        params: Params = {"symbol": pair, "period": "1h", "startTime": start, "endTime": at_ms, "limit": 30}
        body, where = await self._get("/futures/data/openInterestHist", params)
        rows = _wire.parse(_OI_HIST, body, where)
        return [
            OpenInterest(
                r.timestamp,
                _wire.non_negative(r.sumOpenInterest, f"{where}: open interest at {r.timestamp}"),
                _wire.non_negative(r.sumOpenInterestValue, f"{where}: open interest value at {r.timestamp}"),
            )
            for r in sorted(rows, key=lambda r: r.timestamp)
            if r.timestamp <= at_ms
        ]

    async def _book(self, pair: str) -> OrderBook:
        body, where = await self._get("/fapi/v1/depth", {"symbol": pair, "limit": DEPTH_LIMIT})
        depth = _wire.parse(_DEPTH, body, where)
        return _wire.order_book(depth.T, depth.bids, depth.asks, where)


def _bar(row: list[Any], where: str) -> Bar:
    t, o, h, low, c, v, close_time = _wire.parse(_KLINE, row[:7], where)
    return Bar(t, close_time + 1, o, h, low, c, v)


def _per_hour(rows: list[_Funding]) -> list[FundingRate]:
    """Divide each rate by its settlement interval: the gap since the print before (the first: after)."""
    times = [r.fundingTime for r in rows]
    prints = []
    for i, row in enumerate(rows):
        gap = times[i] - times[i - 1] if i > 0 else times[1] - times[0] if len(rows) > 1 else 0
        hours = round(gap / HOUR_MS)
        hours = hours if hours in _FUNDING_HOURS else DEFAULT_FUNDING_HOURS
        prints.append(FundingRate(row.fundingTime, row.fundingRate / hours))
    return prints


def _open_interest(
    history: list[OpenInterest], current: _OpenInterest, mark: float, at_ms: int
) -> tuple[OpenInterest, ...]:
    """The hourly history, then the current value (USD at the mark) unless it repeats the last print."""
    # Binance's clock may run a little ahead of the caller's; the print is still the one known at `at_ms`.
    now = OpenInterest(min(current.time, at_ms), current.openInterest, current.openInterest * mark)
    if history and history[-1].ts_ms >= now.ts_ms:
        return tuple(history)
    return (*history, now)
