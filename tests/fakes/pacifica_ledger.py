"""The trading state behind the fake Pacifica venue: accounts, orders, positions, fills, triggers.

Plain Python over Decimal, no HTTP: tests/fakes/pacifica_venue.py validates and signs-checks the
wire, then calls in here under its lock. A business refusal is `Refused(status, code, message)`.

Semantics (the fake's choices where the docs are silent, marked in the report as UNVERIFIED):
- a market order fills at once at mark x (1 +/- slippage), slippage capped by the order's
  slippage_percent, minus a taker fee; `fill_ratio` < 1 fills only part, the rest is cancelled;
- a stop order fires when the mark reaches its stop_price from the side it was on when placed;
  a position TP fires above (long) / below (short) the price, a SL the other way; a reduce-only
  order never grows or flips a position, and those left when a position closes are cancelled;
- a client_order_id can be used once per account, ever (filled and cancelled orders included).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

D = Decimal
ZERO = D(0)
ONE = D(1)
MIN_ORDER_USD = D(10)


class Refused(Exception):
    """A business refusal: answered as an error envelope with this status and code."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


INSUFFICIENT_BALANCE = (422, 5, "Insufficient balance")
ORDER_NOT_FOUND = (422, 6, "Order not found")
INVALID_LEVERAGE = (422, 8, "Invalid leverage")
POSITION_NOT_FOUND = (422, 10, "Position not found")
DUPLICATE_CLOID = (409, 409, "Order with this client_order_id already exists")


@dataclass(frozen=True)
class Market:
    symbol: str
    tick: D
    lot: D
    min_order_usd: D = MIN_ORDER_USD
    max_leverage: int = 50


@dataclass
class Order:
    order_id: int
    client_order_id: str | None
    symbol: str
    side: str
    order_type: str
    amount: D | None  # None: the whole position (a position TP/SL without amount)
    reduce_only: bool
    created_at: int
    price: D | None = None  # a limit order's price, a triggered order's limit price
    stop_price: D | None = None
    fires_above: bool = False  # a stop fires when mark >= stop_price (else mark <= stop_price)
    tpsl: str | None = None  # "tp" / "sl" for position-attached orders
    filled: D = ZERO
    cancelled: D = ZERO
    notional: D = ZERO  # sum of fill amount x price, for the average
    status: str = "open"

    @property
    def average_price(self) -> D:
        return self.notional / self.filled if self.filled else ZERO


@dataclass
class Position:
    side: str
    amount: D
    entry: D
    created_at: int
    updated_at: int


@dataclass
class Account:
    balance: D
    leverage: dict[str, int] = field(default_factory=dict)
    positions: dict[str, Position] = field(default_factory=dict)
    orders: dict[int, Order] = field(default_factory=dict)  # every order ever, by id


class Ledger:
    def __init__(self, markets: list[Market], marks: dict[str, D], *, taker_fee: D, slippage: D) -> None:
        self.markets = {m.symbol: m for m in markets}
        self.marks = dict(marks)
        self.taker_fee = taker_fee
        self.slippage = slippage  # fraction, e.g. 0.0005
        self.accounts: dict[str, Account] = {}
        self.next_id = 1000

    # ---- orders --------------------------------------------------------------------------------

    def market_order(
        self,
        acct: Account,
        symbol: str,
        side: str,
        amount: D,
        slippage_pct: D,
        reduce_only: bool,
        cloid: str | None,
        now: int,
        fill_ratio: D = ONE,
    ) -> Order:
        market = self.markets[symbol]
        amount = self._reduce_only_cap(acct, symbol, side, amount) if reduce_only else amount
        self._check_margin(acct, symbol, amount, reduce_only)
        order = self._new(acct, cloid, symbol, side, "market", amount, reduce_only, now)
        slip = min(self.slippage, slippage_pct / 100)
        price = self._on_tick(market, self.marks[symbol] * (1 + slip if side == "bid" else 1 - slip))
        part = (amount * fill_ratio / market.lot).to_integral_value(rounding="ROUND_FLOOR") * market.lot
        if part > 0:
            self._fill(acct, order, part, price, now)
        order.cancelled = amount - part
        order.status = "filled" if part == amount else "cancelled"  # a market order's rest is not kept
        return order

    def limit_order(
        self,
        acct: Account,
        symbol: str,
        side: str,
        price: D,
        amount: D,
        reduce_only: bool,
        cloid: str | None,
        now: int,
    ) -> Order:
        self._check_margin(acct, symbol, amount, reduce_only)
        order = self._new(acct, cloid, symbol, side, "limit", amount, reduce_only, now, price=price)
        self._run_limits(acct, symbol, now)
        return order

    def stop_order(
        self,
        acct: Account,
        symbol: str,
        side: str,
        reduce_only: bool,
        stop: dict[str, D | str | None],
        now: int,
    ) -> Order:
        stop_price, limit = _dec(stop["stop_price"]), _dec(stop.get("limit_price"))
        kind = "stop_limit" if limit is not None else "stop_market"
        order = self._new(
            acct,
            _str(stop.get("client_order_id")),
            symbol,
            side,
            kind,
            _dec(stop.get("amount")),
            reduce_only,
            now,
            price=limit,
            stop_price=stop_price,
        )
        order.fires_above = stop_price is not None and stop_price > self.marks[symbol]
        return order

    def set_tpsl(
        self, acct: Account, symbol: str, side: str, legs: dict[str, dict[str, D | str | None]], now: int
    ) -> None:
        position = acct.positions.get(symbol)
        if position is None or position.side == side:
            raise Refused(*POSITION_NOT_FOUND)
        for leg, spec in legs.items():
            replaced = [o for o in self._open(acct, symbol) if o.tpsl == leg]
            cloid = _str(spec.get("client_order_id"))
            if cloid is not None and cloid not in {o.client_order_id for o in replaced}:
                self._check_cloid(acct, cloid)
            for old in replaced:
                self._cancel(old)
            limit = _dec(spec.get("limit_price"))
            name = ("take_profit" if leg == "tp" else "stop_loss") + (
                "_limit" if limit is not None else "_market"
            )
            order = Order(
                self._next_id(),
                cloid,
                symbol,
                side,
                name,
                _dec(spec.get("amount")),
                True,
                now,
                price=limit,
                stop_price=_dec(spec["stop_price"]),
                fires_above=(leg == "tp") == (side == "ask"),
                tpsl=leg,
            )
            acct.orders[order.order_id] = order

    def cancel(
        self, acct: Account, symbol: str, order_id: int | None, cloid: str | None, stops: bool
    ) -> None:
        """Cancel an open order by id or client id; `stops` picks stop orders, else plain ones."""
        for order in self._open(acct, symbol):
            if (order.order_id == order_id or (cloid is not None and order.client_order_id == cloid)) and (
                (order.stop_price is not None) == stops
            ):
                self._cancel(order)
                return
        raise Refused(*ORDER_NOT_FOUND)

    def cancel_all(self, acct: Account, symbol: str | None, exclude_reduce_only: bool) -> int:
        doomed = [
            o
            for o in acct.orders.values()
            if o.status == "open"
            and symbol in (None, o.symbol)
            and not (exclude_reduce_only and o.reduce_only)
        ]
        for order in doomed:
            self._cancel(order)
        return len(doomed)

    def set_leverage(self, acct: Account, symbol: str, leverage: int) -> None:
        if not 1 <= leverage <= self.markets[symbol].max_leverage:
            raise Refused(*INVALID_LEVERAGE)
        acct.leverage[symbol] = leverage

    def set_mark(self, symbol: str, price: D, now: int) -> None:
        """Move the mark; resting limits that cross it fill, stops it reaches fire."""
        self.marks[symbol] = price
        for acct in self.accounts.values():
            self._run_limits(acct, symbol, now)
            for order in self._open(acct, symbol):
                # An earlier trigger may have closed the position and cancelled this one.
                if order.status == "open" and _reached(order, price):
                    self._trigger(acct, order, now)

    # ---- views -------------------------------------------------------------------------------

    def equity(self, acct: Account) -> D:
        return acct.balance + sum((self._pnl(p, s) for s, p in acct.positions.items()), ZERO)

    def margin_used(self, acct: Account) -> D:
        return sum(
            (p.amount * self.marks[s] / self._leverage(acct, s) for s, p in acct.positions.items()), ZERO
        )

    def open_orders(self, acct: Account) -> list[Order]:
        return [o for o in acct.orders.values() if o.status == "open"]

    def order_amount(self, acct: Account, order: Order) -> D:
        if order.amount is not None:
            return order.amount
        position = acct.positions.get(order.symbol)
        return position.amount if position else ZERO

    # ---- internals -----------------------------------------------------------------------------

    def _next_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def _new(
        self,
        acct: Account,
        cloid: str | None,
        symbol: str,
        side: str,
        kind: str,
        amount: D | None,
        reduce_only: bool,
        now: int,
        *,
        price: D | None = None,
        stop_price: D | None = None,
    ) -> Order:
        if cloid is not None:
            self._check_cloid(acct, cloid)
        order = Order(self._next_id(), cloid, symbol, side, kind, amount, reduce_only, now, price, stop_price)
        acct.orders[order.order_id] = order
        return order

    def _check_cloid(self, acct: Account, cloid: str) -> None:
        if any(o.client_order_id == cloid for o in acct.orders.values()):
            raise Refused(*DUPLICATE_CLOID)

    def _check_margin(self, acct: Account, symbol: str, amount: D, reduce_only: bool) -> None:
        if reduce_only:
            return
        notional = amount * self.marks[symbol]
        needed = notional / self._leverage(acct, symbol) + notional * self.taker_fee
        if needed > self.equity(acct) - self.margin_used(acct):
            raise Refused(*INSUFFICIENT_BALANCE)

    def _reduce_only_cap(self, acct: Account, symbol: str, side: str, amount: D) -> D:
        position = acct.positions.get(symbol)
        if position is None or position.side == side:
            raise Refused(*POSITION_NOT_FOUND)
        return min(amount, position.amount)

    def _trigger(self, acct: Account, order: Order, now: int) -> None:
        position = acct.positions.get(order.symbol)
        if position is None or position.side == order.side:
            self._cancel(order)
            return
        amount = min(self.order_amount(acct, order), position.amount)
        order.amount = amount
        self._fill(acct, order, amount, order.price or self.marks[order.symbol], now)
        order.status = "filled"

    def _run_limits(self, acct: Account, symbol: str, now: int) -> None:
        mark = self.marks[symbol]
        for order in self._open(acct, symbol):
            if order.order_type == "limit" and _crosses(order, mark):
                self._fill(acct, order, self.order_amount(acct, order) - order.filled, mark, now)
                order.status = "filled"

    def _fill(self, acct: Account, order: Order, amount: D, price: D, now: int) -> None:
        order.filled += amount
        order.notional += amount * price
        acct.balance -= amount * price * self.taker_fee
        position = acct.positions.get(order.symbol)
        if position is None:
            acct.positions[order.symbol] = Position(order.side, amount, price, now, now)
        elif position.side == order.side:
            total = position.amount + amount
            position.entry = (position.entry * position.amount + price * amount) / total
            position.amount, position.updated_at = total, now
        else:
            self._reduce(acct, order, position, amount, price, now)

    def _reduce(self, acct: Account, order: Order, position: Position, amount: D, price: D, now: int) -> None:
        closed = min(amount, position.amount)
        direction = 1 if position.side == "bid" else -1
        acct.balance += (price - position.entry) * closed * direction
        position.amount -= closed
        position.updated_at = now
        if position.amount == 0:
            del acct.positions[order.symbol]
            for leftover in self._open(acct, order.symbol):
                if leftover.reduce_only and leftover is not order:
                    self._cancel(leftover)
        if amount > closed:  # a plain order flips the position
            acct.positions[order.symbol] = Position(order.side, amount - closed, price, now, now)

    def _open(self, acct: Account, symbol: str) -> list[Order]:
        return [o for o in acct.orders.values() if o.status == "open" and o.symbol == symbol]

    def _cancel(self, order: Order) -> None:
        order.status = "cancelled"
        if order.amount is not None:
            order.cancelled = order.amount - order.filled

    def _leverage(self, acct: Account, symbol: str) -> int:
        return acct.leverage.get(symbol, self.markets[symbol].max_leverage)

    def _pnl(self, position: Position, symbol: str) -> D:
        direction = 1 if position.side == "bid" else -1
        return (self.marks[symbol] - position.entry) * position.amount * direction

    @staticmethod
    def _on_tick(market: Market, price: D) -> D:
        return (price / market.tick).to_integral_value(rounding=ROUND_HALF_EVEN) * market.tick


def _crosses(order: Order, mark: D) -> bool:
    """A resting limit the mark has reached (it fills at the mark, at least as good as its price)."""
    if order.price is None:
        return False
    return mark <= order.price if order.side == "bid" else mark >= order.price


def _reached(order: Order, mark: D) -> bool:
    if order.stop_price is None:
        return False
    return mark >= order.stop_price if order.fires_above else mark <= order.stop_price


def _dec(value: object) -> D | None:
    return None if value is None else D(str(value))


def _str(value: object) -> str | None:
    return None if value is None else str(value)
