"""When the paper venue's trigger orders fire: on a new mark, and along a candle's path.

A candle is assumed to travel open -> adverse extreme -> favourable extreme -> close, adverse for
the position held at its open (a long: the low first; a short: the high first; flat: the extreme
nearer the open first). So when one candle touches both a position's stop and a target, the
stop fires first and the targets, reduce-only, are cancelled with the position: the
conservative reading of a bar. Only the open is known to come first: a trigger the open is
already beyond (a gap) fires at the open, before anything the range reaches.

Along each straight leg of the path, orders fire in the order the leg reaches them (ties at one
price: stop-losses first, then the oldest order), each at the first price of the leg at or
beyond its trigger: the trigger itself, or the leg's start if that is already beyond it. The
ledger then fills it as a market order there, with slippage and the taker fee. A new mark is an
observation, not a path: what it reaches fires at the mark itself.
"""

from __future__ import annotations

import math
from decimal import Decimal
from itertools import pairwise

from execution._paper_ledger import PaperLedger
from execution._paper_pricing import candle_path
from execution._paper_records import Mark, PaperOrder


def on_mark(ledger: PaperLedger, symbol: str, price: Decimal, ts_ms: int) -> None:
    """A new mark of `symbol` at `ts_ms`: triggers it reaches fire at `price`."""
    _check_price(symbol, "mark", price)
    previous = ledger.state.marks.get(symbol)
    if previous is not None and ts_ms < previous.ts_ms:
        raise ValueError(f"paper {symbol}: mark at {ts_ms} is older than the last one at {previous.ts_ms}")
    ledger.advance(ts_ms)
    ledger.state.marks[symbol] = Mark(price, ts_ms)
    _fire_along(ledger, symbol, previous.price if previous else price, price, at=price)


def on_candle(
    ledger: PaperLedger,
    symbol: str,
    open_ts_ms: int,
    prices: tuple[Decimal, Decimal, Decimal, Decimal],
    interval_ms: int,
) -> None:
    """A closed candle (open, high, low, close) of `symbol`: fire what its path reaches.

    The mark becomes the close, at the close time, unless a newer mark is already known.
    """
    open_, high, low, close = prices
    _check_candle(ledger, symbol, open_ts_ms, prices, interval_ms)
    close_ts = open_ts_ms + interval_ms
    ledger.advance(close_ts)  # what the candle triggers is known, and stamped, at its close
    position = ledger.state.positions.get(symbol)
    # Adverse first for a position; flat, the nearer extreme (the low on a tie).
    low_first = position.side == "bid" if position is not None else open_ - low <= high - open_
    for start, end in pairwise(candle_path(open_, high, low, close, low_first=low_first)):
        _fire_along(ledger, symbol, start, end)
    ledger.state.candle_close_ms[symbol] = close_ts
    mark = ledger.state.marks.get(symbol)
    if mark is None or mark.ts_ms <= close_ts:
        ledger.state.marks[symbol] = Mark(close, close_ts)


def on_quiet_candle(
    ledger: PaperLedger,
    symbol: str,
    open_ts_ms: int,
    prices: tuple[Decimal | float, Decimal | float, Decimal | float, Decimal | float],
    interval_ms: int,
) -> bool:
    """`on_candle` of a symbol with no open order, given floats: nothing can fire, so only the
    clock and the mark move, without the Decimal arithmetic of a path (a backtest feeds ~50,000).

    Returns False, having done nothing, when an order is open, a price is not a float or the
    candle would fail on_candle's checks: the caller then goes through on_candle.
    """
    floats = [p for p in prices if isinstance(p, float)]
    if len(floats) != len(prices) or ledger.open_orders(symbol):
        return False
    open_, high, low, close = floats
    last_close = ledger.state.candle_close_ms.get(symbol)
    # Floats compare as the Decimals on_candle makes of them (their shortest repr) do.
    sound = (
        all(math.isfinite(p) and p > 0 for p in floats)
        and low <= min(open_, close) <= max(open_, close) <= high
        and interval_ms > 0
        and (last_close is None or open_ts_ms >= last_close)
    )
    if not sound:
        return False
    close_ts = open_ts_ms + interval_ms
    ledger.advance(close_ts)
    ledger.state.candle_close_ms[symbol] = close_ts
    mark = ledger.state.marks.get(symbol)
    if mark is None or mark.ts_ms <= close_ts:
        ledger.state.marks[symbol] = Mark(Decimal(str(close)), close_ts)
    return True


def _fire_along(
    ledger: PaperLedger, symbol: str, start: Decimal, end: Decimal, *, at: Decimal | None = None
) -> None:
    """Fire, one by one, the triggers the straight move `start` -> `end` reaches.

    Each fill may close the position and cancel other orders, so the next order is looked for
    again after every fill, from where the last one fired.
    """
    while True:
        hits = [
            (order, price)
            for order in ledger.open_orders(symbol)
            if (price := _reach(order, start, end)) is not None
        ]
        if not hits:
            return
        order, price = min(hits, key=lambda hit: _path_rank(hit, start))
        ledger.trigger(order, price if at is None else at)
        start = price


def _reach(order: PaperOrder, start: Decimal, end: Decimal) -> Decimal | None:
    """The first price of the move `start` -> `end` at or beyond the order's trigger, if any."""
    stop = order.stop_price
    if stop is None:
        return None
    if order.fires_above:
        return start if start >= stop else (stop if end >= stop else None)
    return start if start <= stop else (stop if end <= stop else None)


def _path_rank(hit: tuple[PaperOrder, Decimal], start: Decimal) -> tuple[Decimal, bool, int]:
    order, price = hit
    return abs(price - start), order.kind != "stop_loss", order.order_id


def _check_price(symbol: str, what: str, price: Decimal) -> None:
    # Corrupt data is worse than none: a NaN or non-positive price must not reach the ledger.
    if not (price.is_finite() and price > 0):
        raise ValueError(f"paper {symbol}: {what} price {price} is not a positive number")


def _check_candle(
    ledger: PaperLedger,
    symbol: str,
    open_ts_ms: int,
    prices: tuple[Decimal, Decimal, Decimal, Decimal],
    interval_ms: int,
) -> None:
    open_, high, low, close = prices
    for name, price in zip(("open", "high", "low", "close"), prices, strict=True):
        _check_price(symbol, f"candle {name}", price)
    if not low <= min(open_, close) <= max(open_, close) <= high:
        raise ValueError(f"paper {symbol}: candle at {open_ts_ms} has high/low not bracketing open/close")
    if interval_ms <= 0:
        raise ValueError(f"paper {symbol}: candle interval {interval_ms} ms is not positive")
    last_close = ledger.state.candle_close_ms.get(symbol)
    if last_close is not None and open_ts_ms < last_close:
        raise ValueError(f"paper {symbol}: candle at {open_ts_ms} overlaps the last, closed at {last_close}")
