"""The trade journal as the executor sees it: what it records and reads back (swarm.store implements it).

execution may not import swarm (docs DESIGN: no cycles), so the executor talks to the store through
this Protocol. Amounts and prices the venue deals in stay Decimal (exact, as sent and as read);
closed trades are analytics and use floats, as the risk engine does.

Every write method is one transaction: a crash at any point leaves either all of a write or none.
An order is recorded as "pending" BEFORE it is sent, so the journal knows every client_order_id
the executor ever used, even when the process dies while the request is in flight.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, Protocol

from execution.markets import WireSide
from execution.types import OrderIntent, Side, TradingState

OrderStatus = Literal[
    "pending",  # sent (or about to be); the answer is not known yet
    "open",  # resting on the venue (stops, take-profits)
    "filled",
    "cancelled",  # a market order's unfilled rest counts as cancelled, as on Pacifica
    "rejected",  # the venue refused it
    "absent",  # not on the venue: never landed, or too old for the venue's history
]
TERMINAL: frozenset[str] = frozenset({"filled", "cancelled", "rejected", "absent"})
CloseReason = Literal["stop_loss", "take_profit", "signal", "emergency", "unknown"]
# Data a venue saves to survive a restart (PaperVenue.to_dict()), by venue name.
VenueSnapshot = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class JournalOrder:
    """One order the executor sent or found on the venue, in its latest known state.

    `kind`: market, stop_loss (position stop), take_profit (ladder rung) or venue (adopted, made
    elsewhere). `amount` None is a whole-position stop. `price` is the trigger price of a stop or
    take-profit, the average fill price of a market order.
    """

    client_order_id: str
    decision_id: str | None
    leg: str
    symbol: str
    side: WireSide
    kind: str
    amount: Decimal | None
    price: Decimal | None
    reduce_only: bool
    status: OrderStatus
    created_at: int
    updated_at: int
    filled: Decimal = Decimal(0)
    venue_order_id: int | None = None


@dataclass(frozen=True)
class JournalFill:
    """What an order filled, aggregated per order (the Venue protocol reports per order, not per trade).

    `fee` is estimated from the account's taker fee: the venues do not report fees per order.
    """

    client_order_id: str
    amount: Decimal
    price: Decimal
    fee: Decimal
    ts_ms: int


@dataclass(frozen=True)
class JournalPosition:
    """An open position as last read from the venue, with the protection resting on it."""

    symbol: str
    side: Side
    amount: Decimal
    entry_price: Decimal
    opened_at: int
    updated_at: int
    stop_loss_price: Decimal | None = None
    take_profit_prices: tuple[Decimal, ...] = ()
    funding: Decimal = Decimal(0)  # paid since opened; negative when received
    decision_id: str | None = None


@dataclass(frozen=True)
class TradeRecord:
    """A closed position: `pnl_usd` is net of fees and funding."""

    symbol: str
    side: Side
    entry_price: float
    exit_price: float | None  # None when the venue's history no longer shows the closing orders
    size: float
    pnl_usd: float
    fees_usd: float
    funding_usd: float
    opened_at: int
    closed_at: int
    reason: CloseReason
    decision_id: str | None = None


@dataclass(frozen=True)
class RiskState:
    """The risk state that survives restarts: the kill switch, the breaker, the day's start equity."""

    trading_state: TradingState = TradingState.ACTIVE
    reason: str | None = None
    breaker_tripped_until_ms: int | None = None
    start_of_day_equity: float | None = None
    day_start_ms: int | None = None
    updated_at: int | None = None


@dataclass(frozen=True)
class VenueTruth:
    """What the venue says, written into the journal in one transaction.

    `positions` replace the journal's open positions; `orders` and `fills` are upserted by
    client_order_id; `closed` trades are added (once each: a symbol and its opening time).
    """

    positions: tuple[JournalPosition, ...]
    now_ms: int
    orders: tuple[JournalOrder, ...] = ()
    fills: tuple[JournalFill, ...] = ()
    closed: tuple[TradeRecord, ...] = ()
    venue_state: VenueSnapshot | None = field(default=None, repr=False)


class Journal(Protocol):
    """The executor's records: intents, orders, fills, positions, closed trades, risk and venue state."""

    def record_intent(self, intent: OrderIntent, now_ms: int) -> None:
        """Record an approved intent, unless its decision is recorded already."""
        ...

    def intent(self, decision_id: str) -> OrderIntent | None: ...

    def record_execution(self, decision_id: str, status: str, detail: str, now_ms: int) -> None:
        """What the intent became (an ExecutionStatus and a one-line detail)."""
        ...

    def record_order(
        self, order: JournalOrder, fill: JournalFill | None = None, venue_state: VenueSnapshot | None = None
    ) -> None:
        """Insert or update the order (by client_order_id), with its fill and the venue's saved state."""
        ...

    def orders(self, *, symbol: str | None = None, active_only: bool = False) -> list[JournalOrder]:
        """Orders oldest first; `active_only`: pending and open ones."""
        ...

    def orders_by_id(self, client_order_ids: Sequence[str]) -> dict[str, JournalOrder]: ...

    def legs_used(self, decision_id: str) -> set[str]:
        """The legs of `decision_id` that have a client_order_id already."""
        ...

    def positions(self) -> list[JournalPosition]: ...

    def record_position(self, position: JournalPosition) -> None:
        """Insert or replace one open position (seen before the next full write of the venue's truth)."""
        ...

    def write_truth(self, truth: VenueTruth) -> None: ...

    def closed_trades(self, since_ms: int) -> list[TradeRecord]:
        """Trades closed at or after `since_ms`, oldest first."""
        ...

    def risk_state(self) -> RiskState: ...

    def set_breaker(self, until_ms: int | None, now_ms: int) -> None: ...

    def start_of_day_equity(self, day_start_ms: int, equity: float, now_ms: int) -> float:
        """The equity recorded for the UTC day from `day_start_ms`; `equity` at the first look."""
        ...

    def save_venue_state(self, snapshot: VenueSnapshot, now_ms: int) -> None:
        """Keep a venue's saved state (a paper account) so that it survives a restart."""
        ...
