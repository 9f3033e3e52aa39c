"""The paper venue's account: orders, positions, fills, fees and funding, in Decimal, no I/O.

The cash identity holds after every operation, exactly (every cash flow is whole USDC units):

    balance = starting_equity + realized_pnl - fees_paid - funding_paid
    equity  = balance + unrealized PnL at the mark

A position only ever changes through a fill (recorded in `fills`), so the fills of a symbol
always add up to its position. Trigger orders are held here; when they fire is decided by
execution/_paper_triggers.py, which calls `trigger`.
"""

from __future__ import annotations

from decimal import Decimal

from execution._paper_pricing import ZERO, Book, acceptable, money, slipped, walk_book, worst_price
from execution._paper_records import Fill, LedgerState, PaperOrder, PaperPosition
from execution.errors import DuplicateClientOrderId, OrderRejected
from execution.markets import MarketSpec, TriggerKind, WireSide, wire
from feeds.types import HOUR_MS

# Pacifica's business error codes (exchange-apis.md 1.2), so `.code` reads the same on both venues.
INSUFFICIENT_BALANCE = 5
POSITION_NOT_FOUND = 10

TpslLeg = tuple[TriggerKind, Decimal, Decimal | None, str | None]  # kind, stop, amount, client id


class PaperLedger:
    """Orders, fills and cash of one paper account over `specs`; amounts come in lot-rounded."""

    def __init__(
        self, specs: dict[str, MarketSpec], state: LedgerState, *, taker_fee: Decimal, slippage: Decimal
    ) -> None:
        self.specs = specs
        self.state = state
        self.taker_fee = taker_fee
        self.slippage = slippage  # fraction of the price a taker loses, e.g. 0.0005
        self.books: dict[str, Book] = {}  # not persisted: a book is stale after a restart

    # ---- orders ----------------------------------------------------------------------------------

    def market_order(
        self,
        symbol: str,
        side: WireSide,
        amount: Decimal,
        *,
        slippage_percent: Decimal,
        reduce_only: bool,
        client_order_id: str,
    ) -> PaperOrder:
        """Fill at once what the price tolerance allows; the rest is cancelled, as on Pacifica."""
        self._check_unused(client_order_id)
        mark = self.mark(symbol)
        if reduce_only:
            amount = min(amount, self._reducible(symbol, side).amount)
        else:
            self._check_size(symbol, amount * mark)
            self._check_margin(symbol, side, amount, mark)
        order = self._new_order(client_order_id, symbol, side, "market", amount, reduce_only)
        worst = worst_price(mark, side, slippage_percent)
        book = self._fresh_book(symbol)
        if book is None:
            price = slipped(mark, side, self.slippage, self.specs[symbol])
            if acceptable(price, side, worst):
                self._fill(order, amount, price)
        else:
            walk = walk_book(book.side_taken_by(side), amount, worst, side, self.specs[symbol].lot_size)
            self.books[symbol] = book.without(side, walk.rest)  # liquidity taken is gone
            if walk.amount > 0:
                self._fill(order, walk.amount, walk.notional / walk.amount)
        self._close(order, "filled" if order.filled == amount else "cancelled")
        return order

    def trigger_order(
        self,
        symbol: str,
        side: WireSide,
        stop_price: Decimal,
        amount: Decimal,
        *,
        kind: TriggerKind,
        reduce_only: bool,
        client_order_id: str,
    ) -> PaperOrder:
        """A stop-market order; it fires when the price reaches `stop_price` from where it is now."""
        self._check_unused(client_order_id)
        order = self._new_order(client_order_id, symbol, side, "stop_market", amount, reduce_only)
        order.stop_price, order.kind = stop_price, kind
        mark = self.state.marks.get(symbol)
        if mark is None or mark.price == stop_price:
            order.fires_above = _protective_above(side, kind)
        else:
            order.fires_above = stop_price > mark.price
        return order

    def set_tpsl(self, symbol: str, side: WireSide, legs: list[TpslLeg]) -> None:
        """Attach (kind, stop_price, amount, client_order_id) legs to the position, replacing old ones.

        All or nothing: a client_order_id held by any order other than the leg it replaces is a
        duplicate and nothing changes.
        """
        position = self.state.positions.get(symbol)
        if position is None or position.side == side:
            raise OrderRejected(f"paper {symbol}: no position to protect", code=POSITION_NOT_FOUND)
        for kind, _, _, cloid in legs:
            replaced = self._tpsl(symbol, kind)
            if cloid is not None and not (replaced and replaced.client_order_id == cloid):
                self._check_unused(cloid)
        for kind, stop_price, amount, cloid in legs:
            if (old := self._tpsl(symbol, kind)) is not None:
                self._close(old, "cancelled")
            order = self._new_order(cloid, symbol, side, f"{kind}_market", amount, reduce_only=True)
            order.stop_price, order.kind, order.tpsl = stop_price, kind, True
            order.fires_above = _protective_above(side, kind)

    def trigger(self, order: PaperOrder, price: Decimal) -> None:
        """Fire a trigger order reached at `price`: a market order there, with slippage and fee."""
        amount = self.order_amount(order)
        if order.reduce_only:
            position = self.state.positions.get(order.symbol)
            if position is None or position.side == order.side:
                self._close(order, "cancelled")  # nothing left to reduce
                return
            amount = min(amount, position.amount)
        order.amount = amount  # a whole-position TP/SL is for what it closed
        self._fill(order, amount, slipped(price, order.side, self.slippage, self.specs[order.symbol]))
        self._close(order, "filled")

    def cancel(self, symbol: str, client_order_id: str) -> bool:
        order = next((o for o in self.open_orders(symbol) if o.client_order_id == client_order_id), None)
        if order is None:
            return False
        self._close(order, "cancelled")
        return True

    def cancel_all(self, symbol: str | None, *, exclude_reduce_only: bool) -> int:
        doomed = [o for o in self.open_orders(symbol) if not (exclude_reduce_only and o.reduce_only)]
        for order in doomed:
            self._close(order, "cancelled")
        return len(doomed)

    # ---- time and prices ---------------------------------------------------------------------------

    def advance(self, ts_ms: int) -> None:
        self.state.now_ms = max(self.state.now_ms, ts_ms)

    def mark(self, symbol: str) -> Decimal:
        mark = self.state.marks.get(symbol)
        if mark is None:
            raise OrderRejected(f"paper {symbol}: no mark price yet (set_mark first)")
        return mark.price

    def settle_funding(self, symbol: str, rate_per_hour: Decimal, ts_ms: int) -> Decimal:
        """Funding of the hour holding `ts_ms`, at most once per hour; returns what was paid."""
        hour = ts_ms // HOUR_MS
        if hour <= self.state.funding_hour.get(symbol, -1):
            return ZERO  # settled already (or older than the last settled hour)
        self.state.funding_hour[symbol] = hour
        self.advance(ts_ms)
        position = self.state.positions.get(symbol)
        if position is None:
            return ZERO
        # Longs pay a positive rate to shorts; a negative rate pays longs.
        payment = money(position.amount * self.mark(symbol) * rate_per_hour * position.sign)
        position.funding += payment
        self.state.funding_paid += payment
        self.state.balance -= payment
        return payment

    # ---- views -------------------------------------------------------------------------------------

    def unrealized(self, symbol: str) -> Decimal:
        position = self.state.positions[symbol]
        return money((self.mark(symbol) - position.entry_price) * position.amount * position.sign)

    def equity(self) -> Decimal:
        return self.state.balance + sum((self.unrealized(s) for s in self.state.positions), ZERO)

    def margin_used(self) -> Decimal:
        return money(
            sum(
                (p.amount * self.mark(s) / self._leverage(s) for s, p in self.state.positions.items()),
                ZERO,
            )
        )

    def open_orders(self, symbol: str | None = None) -> list[PaperOrder]:
        return [o for o in self.state.orders if o.status == "open" and symbol in (None, o.symbol)]

    def by_client_id(self, client_order_id: str) -> PaperOrder | None:
        """The newest order with this client_order_id (a replaced TP/SL leg keeps its id)."""
        return next((o for o in reversed(self.state.orders) if o.client_order_id == client_order_id), None)

    def order_amount(self, order: PaperOrder) -> Decimal:
        """What the order is for: a whole-position TP/SL is for the position as it is now."""
        if order.amount is not None:
            return order.amount
        position = self.state.positions.get(order.symbol)
        return position.amount if position else ZERO

    def set_leverage(self, symbol: str, leverage: int) -> None:
        self.state.leverage[symbol] = leverage

    # ---- internals ---------------------------------------------------------------------------------

    def _new_order(
        self,
        cloid: str | None,
        symbol: str,
        side: WireSide,
        order_type: str,
        amount: Decimal | None,
        reduce_only: bool,
    ) -> PaperOrder:
        now = self.state.now_ms
        order_id = self.state.next_order_id
        order = PaperOrder(
            order_id, cloid, symbol, side, order_type, amount, reduce_only, now, updated_at=now
        )
        self.state.next_order_id += 1
        self.state.orders.append(order)
        return order

    def _close(self, order: PaperOrder, status: str) -> None:
        order.status, order.updated_at = status, self.state.now_ms

    def _fill(self, order: PaperOrder, amount: Decimal, price: Decimal) -> None:
        """Execute `amount` of `order` at `price`: fee, position change, realized PnL, journal."""
        fee = money(amount * price * self.taker_fee)
        realized = self._move_position(order, amount, price)
        order.filled += amount
        order.notional += amount * price
        self.state.fees_paid += fee
        self.state.realized_pnl += realized
        self.state.balance += realized - fee
        fill = Fill(
            order_id=order.order_id,
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            amount=amount,
            price=price,
            fee=fee,
            realized_pnl=realized,
            ts_ms=self.state.now_ms,
        )
        self.state.fills.append(fill)

    def _move_position(self, order: PaperOrder, amount: Decimal, price: Decimal) -> Decimal:
        """Apply a fill to the symbol's position; returns the PnL realized by what it closed."""
        symbol, now = order.symbol, self.state.now_ms
        position = self.state.positions.get(symbol)
        if position is None:
            self.state.positions[symbol] = PaperPosition(order.side, amount, price, now, now)
            return ZERO
        if position.side == order.side:
            total = position.amount + amount
            position.entry_price = (position.entry_price * position.amount + price * amount) / total
            position.amount, position.updated_at = total, now
            return ZERO
        closed = min(amount, position.amount)
        realized = money((price - position.entry_price) * closed * position.sign)
        position.amount -= closed
        position.updated_at = now
        if position.amount == 0:
            del self.state.positions[symbol]
            # As the exchange does for TP/SL: reduce-only orders left with nothing to reduce go.
            for leftover in self.open_orders(symbol):
                if leftover.reduce_only and leftover is not order:
                    self._close(leftover, "cancelled")
        if amount > closed:  # a plain order larger than the position flips it
            self.state.positions[symbol] = PaperPosition(order.side, amount - closed, price, now, now)
        return realized

    def _tpsl(self, symbol: str, kind: TriggerKind) -> PaperOrder | None:
        return next((o for o in self.open_orders(symbol) if o.tpsl and o.kind == kind), None)

    def _check_unused(self, cloid: str) -> None:
        # A client_order_id names one order for good: filled and cancelled orders keep theirs.
        if self.by_client_id(cloid) is not None:
            raise DuplicateClientOrderId(f"paper: client_order_id {cloid} is already used")

    def _reducible(self, symbol: str, side: WireSide) -> PaperPosition:
        position = self.state.positions.get(symbol)
        if position is None or position.side == side:
            raise OrderRejected(
                f"paper {symbol}: reduce-only {side} with no opposite position", code=POSITION_NOT_FOUND
            )
        return position

    def _check_size(self, symbol: str, notional: Decimal) -> None:
        spec = self.specs[symbol]
        if notional < spec.min_order_size:
            raise OrderRejected(f"paper {symbol}: {wire(notional)} USD is below the minimum order size")
        if spec.max_order_size is not None and notional > spec.max_order_size:
            raise OrderRejected(f"paper {symbol}: {wire(notional)} USD is above the maximum order size")

    def _check_margin(self, symbol: str, side: WireSide, amount: Decimal, mark: Decimal) -> None:
        """Refuse an order whose new exposure needs more margin (plus its fee) than is free."""
        position = self.state.positions.get(symbol)
        reduces = position.amount if position is not None and position.side != side else ZERO
        opening = max(amount - reduces, ZERO)
        needed = opening * mark / self._leverage(symbol) + amount * mark * self.taker_fee
        free = self.equity() - self.margin_used()
        if needed > free:
            raise OrderRejected(
                f"paper {symbol}: insufficient balance: needs {wire(money(needed))} USD, {wire(free)} free",
                code=INSUFFICIENT_BALANCE,
            )

    def _leverage(self, symbol: str) -> int:
        # Pacifica's default is cross margin at the market's maximum leverage.
        return self.state.leverage.get(symbol, self.specs[symbol].max_leverage)

    def _fresh_book(self, symbol: str) -> Book | None:
        """The book, if it is no older than the mark: a book behind the price would fill stale."""
        book, mark = self.books.get(symbol), self.state.marks.get(symbol)
        if book is None or (mark is not None and book.ts_ms < mark.ts_ms):
            return None
        return book


def _protective_above(side: WireSide, kind: TriggerKind) -> bool:
    """Where a trigger of `kind` closing with `side` sits: a long's target (ask) fires above."""
    return (kind == "take_profit") == (side == "ask")
