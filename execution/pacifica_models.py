"""What PacificaVenue reads and returns: account, positions, orders, order results, trigger requests.

Wire fields keep Pacifica's names (exchange-apis.md 1.4); decimal strings become Decimal, so no
float ever stands for a price or an amount. Unknown fields are ignored: the exchange adds fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from execution.markets import WireSide


class _Wire(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class AccountInfo(_Wire):
    """GET /account: balances in USD."""

    balance: Decimal
    account_equity: Decimal
    available_to_spend: Decimal
    total_margin_used: Decimal = Decimal(0)
    fee_level: int = 0
    taker_fee: Decimal | None = None
    maker_fee: Decimal | None = None
    positions_count: int = 0
    orders_count: int = 0
    stop_orders_count: int = 0
    updated_at: int | None = None


class VenuePosition(_Wire):
    """One entry of GET /positions: `side` bid is long, ask is short; `amount` is unsigned base units."""

    symbol: str
    side: WireSide
    amount: Decimal
    entry_price: Decimal
    margin: Decimal = Decimal(0)
    funding: Decimal = Decimal(0)
    isolated: bool = False
    liquidation_price: Decimal | None = None
    created_at: int | None = None
    updated_at: int | None = None


class VenueOrder(_Wire):
    """One open order of GET /orders (limit, stop and take-profit orders alike)."""

    order_id: int
    client_order_id: str | None = None
    symbol: str
    side: WireSide
    price: Decimal | None = None
    initial_amount: Decimal
    filled_amount: Decimal = Decimal(0)
    cancelled_amount: Decimal = Decimal(0)
    stop_price: Decimal | None = None
    order_type: str
    stop_parent_order_id: int | None = None
    reduce_only: bool = False
    created_at: int | None = None


class OrderRecord(_Wire):
    """One order of GET /orders/history, in its latest state (open, filled, cancelled...)."""

    order_id: int
    client_order_id: str | None = None
    symbol: str
    side: WireSide
    initial_price: Decimal | None = None
    average_filled_price: Decimal | None = None
    amount: Decimal
    filled_amount: Decimal = Decimal(0)
    order_status: str
    order_type: str
    stop_price: Decimal | None = None
    reduce_only: bool = False
    created_at: int | None = None


@dataclass(frozen=True)
class OrderResult:
    """A placed market order and what of it filled; `amount` is what was sent (after rounding)."""

    order_id: int
    client_order_id: str
    symbol: str
    side: WireSide
    amount: Decimal
    filled_amount: Decimal
    average_price: Decimal | None  # None when nothing filled
    status: str  # the exchange's order_status, e.g. "filled"

    @property
    def fully_filled(self) -> bool:
        return self.filled_amount >= self.amount

    @property
    def unfilled_amount(self) -> Decimal:
        return max(self.amount - self.filled_amount, Decimal(0))

    @classmethod
    def from_record(cls, record: OrderRecord, client_order_id: str) -> OrderResult:
        filled = record.filled_amount
        return cls(
            order_id=record.order_id,
            client_order_id=client_order_id,
            symbol=record.symbol,
            side=record.side,
            amount=record.amount,
            filled_amount=filled,
            average_price=record.average_filled_price if filled > 0 else None,
            status=record.order_status,
        )


@dataclass(frozen=True)
class Trigger:
    """A stop-loss or take-profit: fires at `stop_price` (mark price), market unless `limit_price`.

    `amount` None means the whole position (position TP/SL only); a ladder rung needs an amount
    and a client_order_id.
    """

    stop_price: Decimal
    amount: Decimal | None = None
    limit_price: Decimal | None = None
    client_order_id: str | None = None
