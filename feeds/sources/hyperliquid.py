"""Hyperliquid public info API (one POST /info dispatching on `type`, bare JSON, hourly funding).

Wire formats: docs/exchange-apis.md section 2. Candles close at `T + 1` (`T = t + interval - 1`).
"""

from __future__ import annotations

import httpx
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from feeds.errors import MalformedResponseError, UnknownSymbolError
from feeds.sources import _wire
from feeds.sources._batch import Batch
from feeds.sources._wire import FUNDING_LOOKBACK_MS, Bar
from feeds.sources.http import JsonHttp, RetryPolicy
from feeds.types import HOUR_MS, Candles, FundingRate, MarketData, OpenInterest, OrderBook, Timeframe

DEFAULT_BASE_URL = "https://api.hyperliquid.xyz"
CANDLE_LIMIT = 5000  # only the most recent 5000 candles of an interval are served
_MAX_FUNDING_PAGES = 20  # a bound on paging that never catches up with `at_ms`

NOTES = ("open interest: current value only (Hyperliquid has no history)",)


class _Wire(BaseModel):
    model_config = ConfigDict(frozen=True)


class _Asset(_Wire):
    name: str
    isDelisted: bool = False


class _Meta(_Wire):
    universe: list[_Asset]


class _AssetCtx(_Wire):
    funding: float
    openInterest: float
    markPx: float | None = None


class _Candle(_Wire):
    t: int
    T: int
    o: float
    h: float
    low: float = Field(alias="l")
    c: float
    v: float


class _Funding(_Wire):
    fundingRate: float
    time: int


class _Level(_Wire):
    px: float
    sz: float


class _L2Book(_Wire):
    levels: tuple[list[_Level], list[_Level]]
    time: int


_META_AND_CTXS = TypeAdapter(tuple[_Meta, list[_AssetCtx]])
_CANDLES = TypeAdapter(list[_Candle])
_FUNDING = TypeAdapter(list[_Funding])
_BOOK = TypeAdapter(_L2Book)


class HyperliquidSource:
    """Live market data from Hyperliquid's info endpoint.

    `base_url` defaults to mainnet (the testnet is https://api.hyperliquid-testnet.xyz).
    `timeout_s` bounds each request, `retry` the retries of transient failures; a `client` passed
    in is shared, not closed. `candle_limit` is the candles asked per request (tests shrink it to
    exercise paging); funding covers the last `funding_lookback_ms`.
    """

    name = "hyperliquid"

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout_s: float = 10.0,
        retry: RetryPolicy | None = None,
        client: httpx.AsyncClient | None = None,
        candle_limit: int = CANDLE_LIMIT,
        funding_lookback_ms: int = FUNDING_LOOKBACK_MS,
    ) -> None:
        self._http = JsonHttp(self.name, base_url, timeout_s=timeout_s, retry=retry, client=client)
        self._candle_limit = candle_limit
        self._funding_lookback_ms = funding_lookback_ms
        self._coins: frozenset[str] = frozenset()

    async def market_data(self, symbol: str, at_ms: int) -> MarketData:
        """Candles, hourly funding, current OI, book and mark of `symbol` (e.g. "BTC") at `at_ms`."""
        if symbol not in self._coins:
            await self._asset_ctx(symbol)  # learn the universe first: an unknown coin fails cleanly
        batch = Batch()
        ctx = batch.add(self._asset_ctx, symbol)
        candles = {tf: batch.add(self._candles, symbol, tf, at_ms) for tf in Timeframe}
        book = batch.add(self._book, symbol)
        funding = batch.add(self._funding, symbol, at_ms)
        await batch.run()
        closed = {tf: slot.value for tf, slot in candles.items() if len(slot.value)}
        return MarketData(
            source=self.name,
            symbol=symbol,
            at_ms=at_ms,
            candles=closed,
            funding=funding.value,
            open_interest=_open_interest(ctx.value, closed, at_ms),
            book=book.value,
            mark_price=ctx.value.markPx,
            notes=NOTES,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _info(self, body: dict[str, object]) -> object:
        return await self._http.post("/info", body, endpoint=f"POST /info {body['type']}")

    async def _asset_ctx(self, symbol: str) -> _AssetCtx:
        where = self._http.where("POST /info metaAndAssetCtxs")
        meta, ctxs = _wire.parse(_META_AND_CTXS, await self._info({"type": "metaAndAssetCtxs"}), where)
        if len(ctxs) != len(meta.universe):
            raise MalformedResponseError(
                f"{where}: {len(meta.universe)} assets but {len(ctxs)} contexts (they are index-aligned)"
            )
        self._coins = frozenset(a.name for a in meta.universe if not a.isDelisted)
        if symbol not in self._coins:
            raise UnknownSymbolError(f"hyperliquid: no perpetual market {symbol!r}")
        ctx = ctxs[[a.name for a in meta.universe].index(symbol)]
        if ctx.markPx is not None:
            _wire.positive(ctx.markPx, f"{where}: {symbol} mark")
        _wire.non_negative(ctx.openInterest, f"{where}: {symbol} open interest")
        return ctx

    async def _candles(self, symbol: str, timeframe: Timeframe, at_ms: int) -> Candles:
        where = self._http.where("POST /info candleSnapshot")

        async def page(start: int, end: int, count: int) -> list[Bar]:
            req = {"coin": symbol, "interval": timeframe.value, "startTime": start, "endTime": end}
            rows = _wire.parse(_CANDLES, await self._info({"type": "candleSnapshot", "req": req}), where)
            return [Bar(c.t, c.T + 1, c.o, c.h, c.low, c.c, c.v) for c in rows]

        bars = await _wire.fetch_bars(page, timeframe, at_ms, self._candle_limit)
        return _wire.closed_candles(timeframe, bars, at_ms, where)

    async def _book(self, symbol: str) -> OrderBook:
        where = self._http.where("POST /info l2Book")
        book = _wire.parse(_BOOK, await self._info({"type": "l2Book", "coin": symbol}), where)
        bids, asks = ([(level.px, level.sz) for level in side] for side in book.levels)
        return _wire.order_book(book.time, bids, asks, where)

    async def _funding(self, symbol: str, at_ms: int) -> list[FundingRate]:
        """Hourly prints of the lookback window; pages by moving startTime past the last print."""
        since = at_ms - self._funding_lookback_ms
        where = self._http.where("POST /info fundingHistory")
        rows: list[_Funding] = []
        start = since
        for _ in range(_MAX_FUNDING_PAGES):
            body = {"type": "fundingHistory", "coin": symbol, "startTime": start, "endTime": at_ms}
            page = _wire.parse(_FUNDING, await self._info(body), where)
            rows += page
            # The page size is not documented: keep going until the next hourly print lies after `at_ms`.
            if not page or page[-1].time + HOUR_MS > at_ms:
                break
            start = page[-1].time + 1
        prints = (FundingRate(r.time, r.fundingRate) for r in rows)  # already per hour
        return _wire.funding_window(prints, since, at_ms, where)


def _open_interest(ctx: _AssetCtx, candles: dict[Timeframe, Candles], at_ms: int) -> tuple[OpenInterest, ...]:
    """OI in coins as reported; USD at the mark, else at the last hourly close, else none at all."""
    price = ctx.markPx
    if price is None and Timeframe.H1 in candles:
        price = float(candles[Timeframe.H1].close[-1])
    if price is None:
        return ()
    # metaAndAssetCtxs carries no timestamp: the value is the one current at the request.
    return (OpenInterest(ts_ms=at_ms, base=ctx.openInterest, usd=ctx.openInterest * price),)
