"""The paper venue's persisted records: orders, positions, fills, marks and the account state.

Plain mutable dataclasses over Decimal; `LedgerState` is exactly what `PaperVenue.to_dict` saves
(pydantic serialises it), so a field added here is persisted without more code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from execution._paper_pricing import ZERO
from execution.markets import TriggerKind, WireSide


@dataclass
class PaperOrder:
    """One order in its latest state; `amount` None is a position TP/SL for the whole position."""

    order_id: int
    client_order_id: str | None
    symbol: str
    side: WireSide
    order_type: str  # market, stop_market, take_profit_market, stop_loss_market (Pacifica's names)
    amount: Decimal | None
    reduce_only: bool
    created_at: int
    stop_price: Decimal | None = None
    kind: TriggerKind | None = None  # of a trigger order: breaks ties, conservatively, stops first
    fires_above: bool = False  # a trigger fires when the price is >= stop_price (else <=)
    tpsl: bool = False  # a position TP/SL: replaced by the next one of its kind
    filled: Decimal = ZERO
    notional: Decimal = ZERO  # sum of fill amount x price, for the average fill price
    status: str = "open"  # open, filled, cancelled
    updated_at: int = 0

    @property
    def is_trigger(self) -> bool:
        return self.stop_price is not None


@dataclass
class PaperPosition:
    side: WireSide  # bid long, ask short
    amount: Decimal
    entry_price: Decimal
    created_at: int
    updated_at: int
    funding: Decimal = ZERO  # paid since opened; negative when received

    @property
    def sign(self) -> int:
        return 1 if self.side == "bid" else -1


@dataclass(frozen=True)
class Fill:
    """One execution; `realized_pnl` is the PnL of the part that closed a position (before fee)."""

    order_id: int
    client_order_id: str | None
    symbol: str
    side: WireSide
    amount: Decimal
    price: Decimal
    fee: Decimal
    realized_pnl: Decimal
    ts_ms: int


@dataclass
class Mark:
    price: Decimal
    ts_ms: int


@dataclass
class LedgerState:
    """Everything that survives a restart (to_dict / from_dict serialise exactly this)."""

    starting_equity: Decimal
    balance: Decimal
    realized_pnl: Decimal = ZERO
    fees_paid: Decimal = ZERO
    funding_paid: Decimal = ZERO
    positions: dict[str, PaperPosition] = field(default_factory=dict)
    orders: list[PaperOrder] = field(default_factory=list)  # every order ever, oldest first
    fills: list[Fill] = field(default_factory=list)
    leverage: dict[str, int] = field(default_factory=dict)
    marks: dict[str, Mark] = field(default_factory=dict)
    candle_close_ms: dict[str, int] = field(default_factory=dict)  # end of the last candle seen
    funding_hour: dict[str, int] = field(default_factory=dict)  # last funding hour settled
    next_order_id: int = 1
    now_ms: int = 0  # the newest time the caller has given
