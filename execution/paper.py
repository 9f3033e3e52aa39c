"""PaperVenue: Pacifica's trading semantics simulated in-process, for paper trading and replay.

It answers the `Venue` calls (execution/venue.py) as PacificaVenue does, with the same models,
the same lot/tick rounding (execution/markets.py) and the same client_order_id rules; the
caller feeds it time and prices, it never reads a clock or the network:

    venue = PaperVenue(paper_markets(), starting_equity=Decimal(10_000))
    venue.set_mark("BTC", Decimal(70_000), ts_ms)
    await venue.place_market_order("BTC", "bid", Decimal("0.01"), client_order_id=entry_id)
    await venue.set_position_tpsl("BTC", "ask", stop_loss=Trigger(Decimal(66_000)))
    venue.on_candle("BTC", open_ts, open_, high, low, close, HOUR_MS)   # may fire the stop
    venue.apply_funding("BTC", Decimal("0.0000125"), ts_ms)             # once per hour

Rules (Pacifica's where documented, otherwise the conservative choice):
- Market orders are taker fills: at the mark moved `slippage_bps` against the taker (on the
  tick, rounded against it too), or, with a book no older than the mark (`set_book`), by
  walking it level by level at the volume-weighted price; the book's liquidity is used up.
  Nothing fills beyond the order's slippage_percent from the mark; what cannot fill (a book
  too thin) is cancelled, as a market order's rest is. A taker fee (default 0.0004, Pacifica's
  base tier) is charged on every fill, triggered ones included.
- Non-reduce-only orders must be within the market's min/max order size and the free margin
  (equity minus margin used, at the symbol's leverage, default the market's maximum). A
  reduce-only order is capped at the position and refused with none to reduce: it can never
  open or flip one. A plain order larger than an opposite position flips it.
- A client_order_id names one order for good: placing it again returns the first order
  (market order: its result; stop order: its id), and places nothing. So a resend after a
  restart is as harmless as on Pacifica.
- Triggers: see execution/_paper_triggers.py (candle path, stop before target, gaps at the
  open). A fired trigger is a market order at its trigger price (or the open on a gap, or the
  mark on `set_mark`), slippage and fee included, not checked against margin. A trigger
  already beyond the price when placed fires at the next price given. Only market triggers
  are simulated: a Trigger with a limit_price is refused.
- When a fill closes a position (a trigger, or any order), every remaining reduce-only order
  of the symbol is cancelled, as Pacifica does with a position's TP/SL: a take-profit rung
  left behind must not open a new position later.
- Funding (`apply_funding`) is settled at most once per symbol and hour: the position's
  notional at the mark times the hourly rate; longs pay a positive rate, shorts receive it.
- Not simulated: liquidation, resting limit orders, maker fees. Orders and fills are kept for
  good (the client_order_id rule needs every id ever used), so the saved state grows with them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import TracebackType
from typing import Any, Final, cast

from execution import _paper_triggers as triggers
from execution._paper_ledger import PaperLedger, TpslLeg
from execution._paper_pricing import Book
from execution._paper_records import Fill, LedgerState, PaperOrder
from execution._paper_state import (
    SavedPaper,
    account_view,
    dump,
    load,
    order_view,
    positions_view,
    record_view,
)
from execution.errors import DuplicateClientOrderId, OrderRejected
from execution.markets import MarketSpec, TriggerKind, WireSide
from execution.pacifica_models import (
    AccountInfo,
    OrderRecord,
    OrderResult,
    Trigger,
    VenueOrder,
    VenuePosition,
)
from feeds.types import Candles, OrderBook

DEFAULT_TAKER_FEE: Final = Decimal("0.0004")  # Pacifica's base-tier taker fee (GET /account)
DEFAULT_SLIPPAGE_BPS: Final = Decimal(5)

Price = Decimal | float  # floats (feeds' candles and books) enter through their shortest text

log = logging.getLogger("execution.paper")


def paper_markets() -> dict[str, MarketSpec]:
    """Typical Pacifica specs of BTC, ETH and SOL (tick for ~5 significant digits of the price).

    For trading on the exchange's exact specs, pass those of `PacificaVenue.markets()` instead.
    """
    rows = (("BTC", "1", "0.00001", 50), ("ETH", "0.1", "0.0001", 50), ("SOL", "0.01", "0.01", 20))
    return {
        symbol: MarketSpec(
            symbol=symbol,
            tick_size=Decimal(tick),
            lot_size=Decimal(lot),
            min_order_size=Decimal(10),
            max_order_size=Decimal(5_000_000),
            max_leverage=leverage,
        )
        for symbol, tick, lot, leverage in rows
    }


@dataclass(frozen=True)
class PaperStatement:
    """The paper account in numbers: balance = start + realized - fees - funding."""

    starting_equity: Decimal
    balance: Decimal
    equity: Decimal
    unrealized_pnl: Decimal
    realized_pnl: Decimal
    fees_paid: Decimal
    funding_paid: Decimal  # negative when funding was received


class PaperVenue:
    """One paper trading account over `markets`, starting with `starting_equity` USD."""

    name = "paper"

    def __init__(
        self,
        markets: Mapping[str, MarketSpec],
        starting_equity: Decimal,
        *,
        taker_fee: Decimal = DEFAULT_TAKER_FEE,
        slippage_bps: Decimal = DEFAULT_SLIPPAGE_BPS,
    ) -> None:
        self._init(dict(markets), LedgerState(starting_equity, starting_equity), taker_fee, slippage_bps)

    def _init(
        self, specs: dict[str, MarketSpec], state: LedgerState, taker_fee: Decimal, slippage_bps: Decimal
    ) -> None:
        if not state.starting_equity >= 0 or not taker_fee >= 0 or not slippage_bps >= 0:
            raise ValueError("starting_equity, taker_fee and slippage_bps must be non-negative")
        misnamed = sorted(key for key, spec in specs.items() if key != spec.symbol)
        if misnamed:
            raise ValueError(f"markets keyed by another symbol than their spec's: {misnamed}")
        self._slippage_bps = slippage_bps
        self._ledger = PaperLedger(specs, state, taker_fee=taker_fee, slippage=slippage_bps / 10_000)

    def __repr__(self) -> str:
        return f"PaperVenue({sorted(self._ledger.specs)}, equity={self._ledger.equity()})"

    # ---- state ---------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The whole account as JSON-ready data: settings, positions, orders, fills, marks.

        Order books are left out: a snapshot is stale by the time a restarted process reads it.
        """
        ledger = self._ledger
        return dump(SavedPaper(ledger.specs, ledger.taker_fee, self._slippage_bps, ledger.state))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PaperVenue:
        """The venue `to_dict` saved, ready to go on where it stopped."""
        saved = load(data)
        venue = cls.__new__(cls)
        venue._init(saved.specs, saved.state, saved.taker_fee, saved.slippage_bps)
        return venue

    def statement(self) -> PaperStatement:
        state = self._ledger.state
        equity = self._ledger.equity()
        return PaperStatement(
            starting_equity=state.starting_equity,
            balance=state.balance,
            equity=equity,
            unrealized_pnl=equity - state.balance,
            realized_pnl=state.realized_pnl,
            fees_paid=state.fees_paid,
            funding_paid=state.funding_paid,
        )

    def fills(self) -> tuple[Fill, ...]:
        """Every fill so far, oldest first: the trade journal's raw material."""
        return tuple(self._ledger.state.fills)

    def holds(self, symbol: str) -> bool:
        """Whether a position in `symbol` is open (a replay skips funding for the rest)."""
        return symbol in self._ledger.state.positions

    def marked_equity(self) -> tuple[Decimal, int]:
        """Equity at the marks and the number of open positions (`account()` without the rest)."""
        return self._ledger.equity(), len(self._ledger.state.positions)

    # ---- time and prices (from the caller only) ---------------------------------------------------

    def set_mark(self, symbol: str, price: Price, ts_ms: int) -> None:
        """The mark of `symbol` at `ts_ms`; triggers it reaches fire at it. Times never go back."""
        triggers.on_mark(self._ledger, self._known(symbol), _dec(price), ts_ms)

    def set_book(self, symbol: str, book: OrderBook) -> None:
        """An order book snapshot; market orders walk it while it is no older than the mark."""
        self._ledger.books[self._known(symbol)] = Book.from_levels(book.ts_ms, book.bids, book.asks)

    def on_candle(
        self,
        symbol: str,
        candle_open_ts_ms: int,
        open: Price,
        high: Price,
        low: Price,
        close: Price,
        interval_ms: int,
    ) -> None:
        """A closed candle: fires the stops, take-profits and stop orders its range reaches.

        Candles of a symbol come in time order, without overlap. Afterwards the mark is the close.
        """
        given = (open, high, low, close)
        if triggers.on_quiet_candle(self._ledger, self._known(symbol), candle_open_ts_ms, given, interval_ms):
            return  # no order open: only the clock and the mark moved
        prices = (_dec(open), _dec(high), _dec(low), _dec(close))
        triggers.on_candle(self._ledger, self._known(symbol), candle_open_ts_ms, prices, interval_ms)

    def on_candles(self, symbol: str, candles: Candles) -> None:
        """`on_candle` for each candle of a series, oldest first."""
        for i in range(len(candles)):
            self.on_candle(
                symbol, int(candles.ts_ms[i]), float(candles.open[i]), float(candles.high[i]),
                float(candles.low[i]), float(candles.close[i]), candles.timeframe.ms,
            )  # fmt: skip

    def apply_funding(self, symbol: str, rate_per_hour: Price, ts_ms: int) -> Decimal:
        """Settle the funding of the hour holding `ts_ms`; returns what the account paid.

        Idempotent: an hour at or before the last one settled for `symbol` pays nothing again.
        Paid = position amount x mark x rate, positive for a long when the rate is positive.
        """
        return self._ledger.settle_funding(self._known(symbol), _dec(rate_per_hour), ts_ms)

    # ---- Venue: reads ----------------------------------------------------------------------------

    async def markets(self, *, refresh: bool = False) -> dict[str, MarketSpec]:
        return dict(self._ledger.specs)

    async def market(self, symbol: str) -> MarketSpec:
        return self._ledger.specs[self._known(symbol)]

    async def account(self) -> AccountInfo:
        return account_view(self._ledger)

    async def positions(self) -> list[VenuePosition]:
        return positions_view(self._ledger)

    async def open_orders(self) -> list[VenueOrder]:
        """Open orders, newest first (as Pacifica lists them)."""
        return [order_view(self._ledger, o) for o in reversed(self._ledger.open_orders())]

    async def order_history(self, limit: int = 100) -> list[OrderRecord]:
        newest = list(reversed(self._ledger.state.orders))[:limit]
        return [record_view(self._ledger, o) for o in newest]

    async def find_order(self, client_order_id: str) -> OrderRecord | None:
        order = self._ledger.by_client_id(client_order_id)
        return None if order is None else record_view(self._ledger, order)

    # ---- Venue: orders ---------------------------------------------------------------------------

    async def place_market_order(
        self,
        symbol: str,
        side: WireSide,
        amount: Decimal,
        *,
        client_order_id: str,
        slippage_percent: Decimal = Decimal("0.5"),
        reduce_only: bool = False,
    ) -> OrderResult:
        """A market order of `amount` (rounded down to the lot); returns what of it filled."""
        spec = await self.market(symbol)
        if not slippage_percent >= 0:
            raise OrderRejected(f"paper {symbol}: slippage_percent {slippage_percent} is negative")
        try:
            order = self._ledger.market_order(
                symbol, _side(side), spec.amount(amount), slippage_percent=slippage_percent,
                reduce_only=reduce_only, client_order_id=client_order_id,
            )  # fmt: skip
        except DuplicateClientOrderId:
            log.info("paper %s: client_order_id %s is already placed", symbol, client_order_id)
            order = self._placed(client_order_id)
        return OrderResult.from_record(record_view(self._ledger, order), client_order_id)

    async def set_position_tpsl(
        self,
        symbol: str,
        side: WireSide,
        *,
        stop_loss: Trigger | None = None,
        take_profit: Trigger | None = None,
    ) -> None:
        """Attach a stop-loss and/or take-profit to the position; `side` is the closing side.

        Setting it again replaces the previous one of each kind. A client_order_id used by
        another order counts as "already set" and changes nothing, as with PacificaVenue.
        """
        if stop_loss is None and take_profit is None:
            raise ValueError("set_position_tpsl needs a stop_loss or a take_profit")
        spec, side = await self.market(symbol), _side(side)
        legs: list[TpslLeg] = []
        if take_profit is not None:
            legs.append(_leg(spec, take_profit, side, "take_profit"))
        if stop_loss is not None:
            legs.append(_leg(spec, stop_loss, side, "stop_loss"))
        try:
            self._ledger.set_tpsl(symbol, side, legs)
        except DuplicateClientOrderId:
            log.info("paper %s: TP/SL already set", symbol)

    async def place_stop_order(
        self, symbol: str, side: WireSide, trigger: Trigger, *, kind: TriggerKind, reduce_only: bool = True
    ) -> int:
        """A stop-market order; needs an amount and a client_order_id. Returns its order id.

        It fires when the price reaches `stop_price` from where the mark is now; `kind` picks
        the rounding of the trigger (and the direction when the mark is unknown or equal to it).
        """
        if trigger.amount is None or trigger.client_order_id is None:
            raise ValueError("a stop order needs an amount and a client_order_id")
        spec, side, cloid = await self.market(symbol), _side(side), trigger.client_order_id
        stop_price, amount = _stop_price(spec, trigger, side, kind), spec.amount(trigger.amount)
        try:
            order = self._ledger.trigger_order(
                symbol, side, stop_price, amount, kind=kind, reduce_only=reduce_only, client_order_id=cloid
            )
        except DuplicateClientOrderId:
            log.info("paper %s: client_order_id %s is already placed", symbol, cloid)
            order = self._placed(cloid)
        return order.order_id

    async def place_take_profit_ladder(
        self, symbol: str, side: WireSide, rungs: Sequence[Trigger]
    ) -> list[int]:
        """One reduce-only take-profit stop order per rung, in order; returns their order ids."""
        return [await self.place_stop_order(symbol, side, rung, kind="take_profit") for rung in rungs]

    async def cancel_order(self, symbol: str, client_order_id: str) -> bool:
        """Cancel an open order (stop orders and TP/SL included); False when none has the id."""
        return self._ledger.cancel(self._known(symbol), client_order_id)

    async def cancel_all(self, symbol: str | None = None, *, exclude_reduce_only: bool = False) -> int:
        """Cancel the open orders of `symbol` (every symbol if None); returns how many went."""
        known = None if symbol is None else self._known(symbol)
        return self._ledger.cancel_all(known, exclude_reduce_only=exclude_reduce_only)

    async def update_leverage(self, symbol: str, leverage: int) -> None:
        spec = await self.market(symbol)
        if not 1 <= leverage <= spec.max_leverage:
            raise OrderRejected(f"paper {symbol}: leverage {leverage} outside 1..{spec.max_leverage}")
        self._ledger.set_leverage(symbol, leverage)

    async def aclose(self) -> None:
        """Nothing to release: the paper venue holds no connection."""

    async def __aenter__(self) -> PaperVenue:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # ---- internals -------------------------------------------------------------------------------

    def _known(self, symbol: str) -> str:
        if symbol not in self._ledger.specs:
            raise OrderRejected(f"paper: no perpetual market {symbol!r}")
        return symbol

    def _placed(self, client_order_id: str) -> PaperOrder:
        order = self._ledger.by_client_id(client_order_id)
        if order is None:  # cannot be: the ledger just said the id is in use
            raise AssertionError(f"paper: client_order_id {client_order_id} vanished")
        return order


def _leg(spec: MarketSpec, trigger: Trigger, side: WireSide, kind: TriggerKind) -> TpslLeg:
    """A position TP/SL leg, rounded as PacificaVenue rounds it (amount None: the whole position)."""
    amount = None if trigger.amount is None else spec.amount(trigger.amount)
    return kind, _stop_price(spec, trigger, side, kind), amount, trigger.client_order_id


def _stop_price(spec: MarketSpec, trigger: Trigger, side: WireSide, kind: TriggerKind) -> Decimal:
    if trigger.limit_price is not None:
        raise OrderRejected(f"paper {spec.symbol}: limit-price triggers are not simulated")
    return spec.trigger_price(trigger.stop_price, side, kind)


def _side(side: str) -> WireSide:
    if side not in ("bid", "ask"):
        raise ValueError(f"side must be 'bid' or 'ask', not {side!r}")
    return cast(WireSide, side)


def _dec(price: Price) -> Decimal:
    return price if isinstance(price, Decimal) else Decimal(str(price))


__all__ = [
    "DEFAULT_SLIPPAGE_BPS",
    "DEFAULT_TAKER_FEE",
    "Fill",
    "PaperStatement",
    "PaperVenue",
    "paper_markets",
]
