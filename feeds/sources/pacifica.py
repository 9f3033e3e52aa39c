"""Pacifica public REST market data (GET, enveloped JSON, decimal strings, hourly funding).

Wire formats: docs/exchange-apis.md section 1.3. Candles close at `T = t + interval`.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from feeds.errors import UnknownSymbolError
from feeds.sources import _wire
from feeds.sources._batch import Batch
from feeds.sources._wire import FUNDING_LOOKBACK_MS, Bar
from feeds.sources.http import JsonHttp, Params, RetryPolicy
from feeds.types import Candles, FundingRate, MarketData, OpenInterest, OrderBook, Timeframe

DEFAULT_BASE_URL = "https://api.pacifica.fi/api/v1"
KLINE_LIMIT = 3950  # docs say 4000, but ccxt found that more than ~3960 is refused
_MAX_FUNDING_PAGES = 20  # a bound on a cursor that never ends

NOTES = (
    "open interest: current value only (Pacifica has no history)",
    "open interest: unit taken as base coins (docs say USD, ccxt and the WS example say base; UNVERIFIED)",
)


class _Wire(BaseModel):
    model_config = ConfigDict(frozen=True)


class _Envelope(_Wire):
    success: bool
    data: Any = None
    error: str | None = None
    code: int | str | None = None
    next_cursor: str | None = None
    has_more: bool = False


class _Market(_Wire):
    symbol: str
    instrument_type: str = "perpetual"  # older API revisions list perpetuals only, without this field


class _Price(_Wire):
    symbol: str
    mark: float
    funding: float
    open_interest: float
    timestamp: int


class _Kline(_Wire):
    t: int
    T: int
    o: float
    h: float
    low: float = Field(alias="l")
    c: float
    v: float


class _Level(_Wire):
    p: float
    a: float


class _Book(_Wire):
    levels: tuple[list[_Level], list[_Level]] = Field(alias="l")
    t: int


class _Funding(_Wire):
    funding_rate: float
    created_at: int


_ENVELOPE = TypeAdapter(_Envelope)
_MARKETS = TypeAdapter(list[_Market])
_PRICES = TypeAdapter(list[_Price])
_KLINES = TypeAdapter(list[_Kline])
_BOOK = TypeAdapter(_Book)
_FUNDING = TypeAdapter(list[_Funding])


class PacificaSource:
    """Live market data from Pacifica's public REST API.

    `base_url` defaults to mainnet; pass the testnet prefix or a fake server's URL instead.
    `timeout_s` bounds each request, `retry` the retries of transient failures; a `client` passed
    in is shared, not closed. `kline_limit` and `funding_page` are the page sizes (tests shrink them
    to exercise paging); funding covers the last `funding_lookback_ms`.
    """

    name = "pacifica"

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout_s: float = 10.0,
        retry: RetryPolicy | None = None,
        client: httpx.AsyncClient | None = None,
        kline_limit: int = KLINE_LIMIT,
        funding_page: int = 200,
        funding_lookback_ms: int = FUNDING_LOOKBACK_MS,
    ) -> None:
        self._http = JsonHttp(self.name, base_url, timeout_s=timeout_s, retry=retry, client=client)
        self._kline_limit = kline_limit
        self._funding_page = funding_page
        self._funding_lookback_ms = funding_lookback_ms
        self._markets: frozenset[str] = frozenset()

    async def market_data(self, symbol: str, at_ms: int) -> MarketData:
        """Candles, hourly funding, current OI, book and mark of `symbol` (e.g. "BTC") at `at_ms`."""
        await self._check_market(symbol)
        batch = Batch()
        prices = batch.add(self._price, symbol)
        candles = {tf: batch.add(self._candles, symbol, tf, at_ms) for tf in Timeframe}
        book = batch.add(self._book, symbol)
        funding = batch.add(self._funding, symbol, at_ms)
        await batch.run()
        price = prices.value
        return MarketData(
            source=self.name,
            symbol=symbol,
            at_ms=at_ms,
            candles={tf: slot.value for tf, slot in candles.items() if len(slot.value)},
            funding=funding.value,
            open_interest=(self._open_interest(price, at_ms),),
            book=book.value,
            mark_price=price.mark,
            notes=NOTES,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _data(self, path: str, params: Params | None = None) -> _Envelope:
        """The envelope of a successful answer; `success: false` becomes ExchangeError."""
        envelope = _wire.parse(_ENVELOPE, await self._http.get(path, params), self._http.where(f"GET {path}"))
        if not envelope.success:
            raise self._http.error(f"GET {path}", envelope.code, envelope.error or "(no error text)")
        return envelope

    async def _check_market(self, symbol: str) -> None:
        # The market list rarely changes: fetch it once, and again only for a symbol not in it.
        if symbol in self._markets:
            return
        envelope = await self._data("/info")
        markets = _wire.parse(_MARKETS, envelope.data, self._http.where("GET /info"))
        self._markets = frozenset(m.symbol for m in markets if m.instrument_type != "spot")
        if symbol not in self._markets:
            raise UnknownSymbolError(f"pacifica: no perpetual market {symbol!r}")

    async def _price(self, symbol: str) -> _Price:
        where = self._http.where("GET /info/prices")
        prices = _wire.parse(_PRICES, (await self._data("/info/prices")).data, where)
        price = next((p for p in prices if p.symbol == symbol), None)
        if price is None:
            raise UnknownSymbolError(f"{where}: no price for {symbol!r}")
        _wire.positive(price.mark, f"{where}: {symbol} mark")
        _wire.non_negative(price.open_interest, f"{where}: {symbol} open interest")
        return price

    def _open_interest(self, price: _Price, at_ms: int) -> OpenInterest:
        # Treated as base coins (see NOTES), so USD = base x mark. The exchange's clock may run a
        # little ahead of the caller's; the print is still the one known at `at_ms`.
        return OpenInterest(
            ts_ms=min(price.timestamp, at_ms), base=price.open_interest, usd=price.open_interest * price.mark
        )

    async def _candles(self, symbol: str, timeframe: Timeframe, at_ms: int) -> Candles:
        where = self._http.where("GET /kline")

        async def page(start: int, end: int, count: int) -> list[Bar]:
            params = {
                "symbol": symbol,
                "interval": timeframe.value,
                "start_time": start,
                "end_time": end,
                "limit": count,
            }
            rows = _wire.parse(_KLINES, (await self._data("/kline", params)).data, where)
            return [Bar(k.t, k.T, k.o, k.h, k.low, k.c, k.v) for k in rows]

        bars = await _wire.fetch_bars(page, timeframe, at_ms, self._kline_limit)
        return _wire.closed_candles(timeframe, bars, at_ms, where)

    async def _book(self, symbol: str) -> OrderBook:
        where = self._http.where("GET /book")
        book = _wire.parse(_BOOK, (await self._data("/book", {"symbol": symbol})).data, where)
        bids, asks = ([(level.p, level.a) for level in side] for side in book.levels)
        return _wire.order_book(book.t, bids, asks, where)

    async def _funding(self, symbol: str, at_ms: int) -> list[FundingRate]:
        """Hourly prints of the lookback window, following the cursor until the window is covered."""
        since = at_ms - self._funding_lookback_ms
        where = self._http.where("GET /funding_rate/history")
        rows: list[_Funding] = []
        params: dict[str, str | int] = {"symbol": symbol, "limit": self._funding_page}
        for _ in range(_MAX_FUNDING_PAGES):
            envelope = await self._data("/funding_rate/history", params)
            page = _wire.parse(_FUNDING, envelope.data, where)
            rows += page
            # Newest first in practice; stop once a page reaches back past the window.
            if not (envelope.has_more and envelope.next_cursor) or any(r.created_at < since for r in page):
                break
            params["cursor"] = envelope.next_cursor
        prints = (FundingRate(r.created_at, r.funding_rate) for r in rows)  # already per hour
        return _wire.funding_window(prints, since, at_ms, where)
