"""Fake Pacifica, Hyperliquid and Binance USD-M servers answering in their real wire formats.

Formats follow /work/shared/docs/exchange-apis.md: Pacifica's envelope with decimal strings and
`T = t + interval`; Hyperliquid's bare JSON on POST /info with `T = t + interval - 1`; Binance's
positional klines and 8-hourly funding. Data is the real bundled Binance data (see market.py),
served as the venue would have known it at `fake.now_ms`: the candle still open at `now` is
included, as the exchanges include it. Serve one with `serve(fake)` (server.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from feeds.types import HOUR_MS, Timeframe
from tests.fakes import market
from tests.fakes.market import NOW_MS, SYMBOLS, Row
from tests.fakes.server import FakeExchange, Fault, Reply, RowsHook, json_body

Handler = Callable[[dict[str, Any], RowsHook | None], Reply]
T = TypeVar("T")


class _BadParameter(Exception):
    """A parameter Binance would refuse (answered as error -1130)."""


def _json(body: object, status: int = 200) -> Reply:
    return Reply(status, json.dumps(body).encode())


def _window(rows: list[Row], rows_hook: RowsHook | None) -> list[Row]:
    return rows_hook(rows) if rows_hook else rows


def _volume_usd_24h(symbol: str, now_ms: int) -> str:
    last_open = (now_ms - HOUR_MS) // HOUR_MS * HOUR_MS
    rows = market.candles_between(symbol, Timeframe.H1, last_open - 23 * HOUR_MS, last_open)
    return market.text(sum((Decimal(r.v) * Decimal(r.c) for r in rows), Decimal(0)))


def _funding_now(symbol: str, now_ms: int) -> str:
    paid = [rate for ts, rate in market.funding_hourly(symbol) if ts <= now_ms]
    return paid[-1] if paid else "0.0000125"


class FakePacifica(FakeExchange):
    """Pacifica's public GET endpoints under /api/v1, every answer in the success envelope."""

    base_path = "/api/v1"
    FUNDING_OFFSET_MS = 249  # created_at is not exactly on the hour in Pacifica's examples
    KLINE_MAX = 3960  # the real API refuses larger limits (ccxt)

    def __init__(self, now_ms: int = NOW_MS) -> None:
        super().__init__(now_ms)
        self._handlers: dict[str, Handler] = {
            "/info": self._info,
            "/info/prices": self._prices,
            "/kline": self._kline,
            "/book": self._book,
            "/funding_rate/history": self._funding,
        }

    @staticmethod
    def error_envelope(message: str, code: int = 400, status: int = 400) -> Fault:
        return json_body({"success": False, "data": None, "error": message, "code": code}, status)

    def route(self, method: str, path: str, query: dict[str, str], body: bytes) -> tuple[str, dict[str, Any]]:
        if method != "GET" or path not in self._handlers:
            raise LookupError(path)
        return path, dict(query)

    def answer(self, endpoint: str, params: dict[str, Any], rows: RowsHook | None) -> Reply:
        symbol = params.get("symbol")
        if endpoint not in ("/info", "/info/prices") and symbol not in SYMBOLS:
            return self._error(f"Market {symbol} not found")  # UNVERIFIED wording and code
        return self._handlers[endpoint](params, rows)

    def _ok(self, data: object, **extra: object) -> Reply:
        return _json({"success": True, "data": data, "error": None, "code": None, **extra})

    def _error(self, message: str, code: int = 400) -> Reply:
        return _json({"success": False, "data": None, "error": message, "code": code}, code)

    def _info(self, params: dict[str, Any], rows: RowsHook | None) -> Reply:
        perps = [
            {"symbol": s, "tick_size": "0.01", "lot_size": "0.00001", "max_leverage": 50,
             "isolated_only": False, "min_order_size": "10", "max_order_size": "5000000",
             "funding_rate": _funding_now(s, self.now_ms), "next_funding_rate": _funding_now(s, self.now_ms),
             "created_at": 1748881333944, "instrument_type": "perpetual", "base_asset": s}
            for s in SYMBOLS
        ]  # fmt: skip
        spot = {"symbol": "SOL-USDC", "tick_size": "0.01", "lot_size": "0.01", "max_leverage": 1,
                "instrument_type": "spot", "base_asset": "SOL"}  # fmt: skip
        return self._ok([*perps, spot])

    def _prices(self, params: dict[str, Any], rows: RowsHook | None) -> Reply:
        now = self.now_ms
        data = [
            {"funding": _funding_now(s, now), "mark": market.mark(s, now), "mid": market.mark(s, now),
             "next_funding": _funding_now(s, now), "open_interest": market.open_interest_at(s, now),
             "oracle": market.mark(s, now), "symbol": s, "timestamp": now,
             "volume_24h": _volume_usd_24h(s, now), "yesterday_price": market.mark(s, now - 24 * HOUR_MS)}
            for s in SYMBOLS
        ]  # fmt: skip
        return self._ok(data)

    def _kline(self, params: dict[str, Any], rows: RowsHook | None) -> Reply:
        if "start_time" not in params:
            return self._error("missing field `start_time`", 422)
        limit = int(params.get("limit", 4000))
        if limit > self.KLINE_MAX:
            return self._error(f"limit {limit} too large")
        tf = Timeframe.parse(params["interval"])
        end = min(int(params.get("end_time", self.now_ms)), self.now_ms)
        found = market.candles_between(params["symbol"], tf, int(params["start_time"]), end)[:limit]
        return self._ok([
            {"t": r.t, "T": r.t + tf.ms, "s": params["symbol"], "i": tf.value, "o": r.o, "c": r.c, "h": r.h,
             "l": r.low, "v": r.v, "n": 1000}
            for r in _window(found, rows)
        ])  # fmt: skip

    def _book(self, params: dict[str, Any], rows: RowsHook | None) -> Reply:
        bids, asks = market.book(params["symbol"], self.now_ms)
        levels = [[{"p": p, "a": a, "n": 1} for p, a in side] for side in (bids, asks)]
        return self._ok({"s": params["symbol"], "l": levels, "t": self.now_ms})

    def _funding(self, params: dict[str, Any], rows: RowsHook | None) -> Reply:
        limit = min(int(params.get("limit", 200)), 4000)
        offset = int(params.get("cursor", "c0")[1:])  # an opaque cursor to clients; an offset here
        paid = [
            (ts + self.FUNDING_OFFSET_MS, rate)
            for ts, rate in reversed(market.funding_hourly(params["symbol"]))
            if ts + self.FUNDING_OFFSET_MS <= self.now_ms
        ]
        page = [
            {"oracle_price": market.mark(params["symbol"], ts), "bid_impact_price": "1",
             "ask_impact_price": "1", "funding_rate": rate, "next_funding_rate": rate, "created_at": ts}
            for ts, rate in paid[offset : offset + limit]
        ]  # fmt: skip
        more = offset + limit < len(paid)
        return self._ok(page, next_cursor=f"c{offset + limit}" if more else None, has_more=more)


class FakeHyperliquid(FakeExchange):
    """Hyperliquid's POST /info, dispatching on the body's `type`."""

    FUNDING_OFFSET_MS = 48  # prints land a few ms after the hour
    CANDLES_KEPT = 5000  # only the most recent 5000 candles of an interval are served
    DELISTED = "FTT"

    def __init__(self, now_ms: int = NOW_MS, funding_page: int = 500) -> None:
        super().__init__(now_ms)
        self.funding_page = funding_page
        self._handlers: dict[str, Handler] = {
            "metaAndAssetCtxs": self._meta,
            "candleSnapshot": self._candles,
            "fundingHistory": self._funding,
            "l2Book": self._book,
        }

    def route(self, method: str, path: str, query: dict[str, str], body: bytes) -> tuple[str, dict[str, Any]]:
        if (method, path) != ("POST", "/info"):
            raise LookupError(path)
        try:
            request = json.loads(body)
        except ValueError:
            return "?", {}
        return str(request.get("type")), request

    def answer(self, endpoint: str, params: dict[str, Any], rows: RowsHook | None) -> Reply:
        if endpoint not in self._handlers:
            return Reply(422, b"Failed to deserialize the JSON body into the target type")
        return self._handlers[endpoint](params, rows)

    def _meta(self, params: dict[str, Any], rows: RowsHook | None) -> Reply:
        now = self.now_ms
        universe: list[dict[str, Any]] = [{"name": s, "szDecimals": 5, "maxLeverage": 50} for s in SYMBOLS]
        universe.append({"name": self.DELISTED, "szDecimals": 1, "maxLeverage": 3, "isDelisted": True})
        ctxs: list[dict[str, Any]] = [
            {"dayNtlVlm": _volume_usd_24h(s, now), "funding": _funding_now(s, now),
             "impactPxs": [market.mark(s, now), market.mark(s, now)], "markPx": market.mark(s, now),
             "midPx": market.mark(s, now), "openInterest": market.open_interest_at(s, now),
             "oraclePx": market.mark(s, now), "premium": "0.0",
             "prevDayPx": market.mark(s, now - 24 * HOUR_MS)}
            for s in SYMBOLS
        ]  # fmt: skip
        ctxs.append({"dayNtlVlm": "0.0", "funding": "0.0", "impactPxs": None, "markPx": "1.2",
                     "midPx": None, "openInterest": "0.0", "oraclePx": "1.2", "premium": None,
                     "prevDayPx": "1.2"})  # fmt: skip
        return _json([{"universe": universe}, ctxs])

    def _candles(self, params: dict[str, Any], rows: RowsHook | None) -> Reply:
        req = params["req"]
        if req["coin"] not in SYMBOLS:
            return _json([])
        tf = Timeframe.parse(req["interval"])
        kept = market.candles_between(req["coin"], tf, 0, self.now_ms)[-self.CANDLES_KEPT :]
        # The first candle is the one containing startTime.
        found = [r for r in kept if r.t + tf.ms > req["startTime"] and r.t <= req["endTime"]]
        return _json([
            {"T": r.t + tf.ms - 1, "c": r.c, "h": r.h, "i": tf.value, "l": r.low, "n": 1000, "o": r.o,
             "s": req["coin"], "t": r.t, "v": r.v}
            for r in _window(found, rows)
        ])  # fmt: skip

    def _funding(self, params: dict[str, Any], rows: RowsHook | None) -> Reply:
        coin, end = params["coin"], min(params.get("endTime", self.now_ms), self.now_ms)
        paid = [
            {"coin": coin, "fundingRate": rate, "premium": "0.0", "time": ts + self.FUNDING_OFFSET_MS}
            for ts, rate in (market.funding_hourly(coin) if coin in SYMBOLS else ())
            if params["startTime"] <= ts + self.FUNDING_OFFSET_MS <= end
        ]
        return _json(paid[: self.funding_page])

    def _book(self, params: dict[str, Any], rows: RowsHook | None) -> Reply:
        if params["coin"] not in SYMBOLS:
            return _json(None)
        bids, asks = market.book(params["coin"], self.now_ms)
        levels = [[{"n": 1, "px": p, "sz": s} for p, s in side] for side in (bids, asks)]
        return _json({"coin": params["coin"], "levels": levels, "time": self.now_ms})


class FakeBinance(FakeExchange):
    """Binance USD-M public GET endpoints; symbols are "<COIN>USDT"."""

    DEPTH_LIMITS = (5, 10, 20, 50, 100, 500, 1000)
    OI_PERIODS = ("5m", "15m", "30m", "1h", "2h", "4h", "6h", "12h", "1d")

    def __init__(
        self, now_ms: int = NOW_MS, *, funding_interval_h: int = 8, oi_timestamp_as_string: bool = False
    ) -> None:
        super().__init__(now_ms)
        self.funding_interval_h = funding_interval_h  # 4: each 8 h print is split in two, as for 4 h symbols
        self.oi_timestamp_as_string = oi_timestamp_as_string  # the docs' example spells it as a string
        self._handlers: dict[str, Handler] = {
            "/fapi/v1/klines": self._klines,
            "/fapi/v1/fundingRate": self._funding,
            "/fapi/v1/premiumIndex": self._premium,
            "/fapi/v1/openInterest": self._open_interest,
            "/futures/data/openInterestHist": self._open_interest_hist,
            "/fapi/v1/depth": self._depth,
        }

    @staticmethod
    def error_body(code: int, msg: str, status: int = 400) -> Fault:
        return json_body({"code": code, "msg": msg}, status)

    def route(self, method: str, path: str, query: dict[str, str], body: bytes) -> tuple[str, dict[str, Any]]:
        if method != "GET" or path not in self._handlers:
            raise LookupError(path)
        return path, dict(query)

    def answer(self, endpoint: str, params: dict[str, Any], rows: RowsHook | None) -> Reply:
        if params.get("symbol", "").removesuffix("USDT") not in SYMBOLS:
            return _json({"code": -1121, "msg": "Invalid symbol."}, 400)
        try:
            return self._handlers[endpoint]({**params, "coin": params["symbol"].removesuffix("USDT")}, rows)
        except _BadParameter as bad:
            return _json({"code": -1130, "msg": f"Data sent for parameter '{bad}' is not valid."}, 400)

    def _select(
        self, items: list[T], params: dict[str, Any], ts: Callable[[T], int], default: int, cap: int
    ) -> list[T]:
        """Binance's window rules: [startTime, endTime]; from startTime forwards, else the newest `limit`."""
        limit = int(params.get("limit", default))
        if not 1 <= limit <= cap:
            raise _BadParameter("limit")
        start, end = (
            int(params.get("startTime", 0)),
            min(int(params.get("endTime", self.now_ms)), self.now_ms),
        )
        found = [item for item in items if start <= ts(item) <= end]
        return found[:limit] if "startTime" in params else found[-limit:]

    def _klines(self, params: dict[str, Any], rows: RowsHook | None) -> Reply:
        tf = Timeframe.parse(params["interval"])
        candles = market.candles_between(params["coin"], tf, 0, self.now_ms)
        found = self._select(candles, params, lambda r: r.t, 500, 1500)
        return _json([
            [r.t, r.o, r.h, r.low, r.c, r.v, r.t + tf.ms - 1, market.text(Decimal(r.v) * Decimal(r.c)), 1000,
             "0", "0", "0"]
            for r in _window(found, rows)
        ])  # fmt: skip

    def _funding(self, params: dict[str, Any], rows: RowsHook | None) -> Reply:
        step = self.funding_interval_h
        prints = [
            (ts - k * step * HOUR_MS, market.text(Decimal(rate) * step / 8))
            for ts, rate in market.funding_8h(params["coin"])
            for k in range(8 // step - 1, -1, -1)
        ]
        found = self._select(prints, params, lambda p: p[0], 100, 1000)
        return _json([
            {"symbol": params["symbol"], "fundingTime": ts, "fundingRate": rate,
             "markPrice": market.mark(params["coin"], ts)}
            for ts, rate in found
        ])  # fmt: skip

    def _premium(self, params: dict[str, Any], rows: RowsHook | None) -> Reply:
        coin, now = params["coin"], self.now_ms
        rates = [rate for ts, rate in market.funding_8h(coin) if ts <= now]
        return _json({
            "symbol": params["symbol"], "markPrice": market.mark(coin, now),
            "indexPrice": market.mark(coin, now), "estimatedSettlePrice": market.mark(coin, now),
            "lastFundingRate": rates[-1], "interestRate": "0.00010000",
            "nextFundingTime": (now // (8 * HOUR_MS) + 1) * 8 * HOUR_MS, "time": now,
        })  # fmt: skip

    def _open_interest(self, params: dict[str, Any], rows: RowsHook | None) -> Reply:
        base = market.open_interest_at(params["coin"], self.now_ms)
        return _json({"openInterest": base, "symbol": params["symbol"], "time": self.now_ms})

    def _open_interest_hist(self, params: dict[str, Any], rows: RowsHook | None) -> Reply:
        if params.get("period") not in self.OI_PERIODS or params["period"] != "1h":  # only 1h is bundled
            raise _BadParameter("period")
        found = self._select(list(market.open_interest(params["coin"])), params, lambda p: p[0], 30, 500)
        return _json([
            {"symbol": params["symbol"], "sumOpenInterest": base, "sumOpenInterestValue": usd,
             "timestamp": str(ts) if self.oi_timestamp_as_string else ts}
            for ts, base, usd in found
        ])  # fmt: skip

    def _depth(self, params: dict[str, Any], rows: RowsHook | None) -> Reply:
        limit = int(params.get("limit", 500))
        if limit not in self.DEPTH_LIMITS:
            raise _BadParameter("limit")
        bids, asks = market.book(params["coin"], self.now_ms, depth=min(limit, 100))
        return _json({
            "lastUpdateId": 1027024, "E": self.now_ms, "T": self.now_ms - 5,
            "bids": [list(level) for level in bids], "asks": [list(level) for level in asks],
        })  # fmt: skip
