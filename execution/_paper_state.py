"""The paper venue seen from outside: Pacifica's read models, and its state as plain JSON data.

The read models are those PacificaVenue parses from the exchange (execution/pacifica_models.py),
filled the way Pacifica fills them (a stop-market order lists price 0; a whole-position TP/SL
lists the position's current amount), so code reading either venue sees the same shapes.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from pydantic import TypeAdapter

from execution._paper_ledger import PaperLedger
from execution._paper_pricing import ZERO
from execution._paper_records import LedgerState, PaperOrder
from execution.markets import MarketSpec
from execution.pacifica_models import AccountInfo, OrderRecord, VenueOrder, VenuePosition

STATE_VERSION: Final = 1
_STATE = TypeAdapter(LedgerState)
_SPECS = TypeAdapter(dict[str, MarketSpec])


@dataclass(frozen=True)
class SavedPaper:
    """What `PaperVenue.to_dict` holds besides the ledger: the venue's settings."""

    specs: dict[str, MarketSpec]
    taker_fee: Decimal
    slippage_bps: Decimal
    state: LedgerState


def dump(saved: SavedPaper) -> dict[str, Any]:
    """JSON-ready data (decimals as strings) of a paper venue; `load` reads it back exactly."""
    return {
        "version": STATE_VERSION,
        "taker_fee": str(saved.taker_fee),
        "slippage_bps": str(saved.slippage_bps),
        "markets": _SPECS.dump_python(saved.specs, mode="json"),
        "state": _STATE.dump_python(saved.state, mode="json"),
    }


def load(data: dict[str, Any]) -> SavedPaper:
    """The paper venue `dump` wrote; ValueError (pydantic's ValidationError) on anything else."""
    version = data.get("version")
    if version != STATE_VERSION:
        raise ValueError(f"paper venue state version {version!r} is not {STATE_VERSION}")
    return SavedPaper(
        specs=_SPECS.validate_python(data["markets"]),
        taker_fee=Decimal(data["taker_fee"]),
        slippage_bps=Decimal(data["slippage_bps"]),
        state=_STATE.validate_python(data["state"]),
    )


def account_view(ledger: PaperLedger) -> AccountInfo:
    equity, used = ledger.equity(), ledger.margin_used()
    open_orders = ledger.open_orders()
    return AccountInfo(
        balance=ledger.state.balance,
        account_equity=equity,
        available_to_spend=equity - used,
        total_margin_used=used,
        taker_fee=ledger.taker_fee,
        positions_count=len(ledger.state.positions),
        orders_count=sum(not o.is_trigger for o in open_orders),
        stop_orders_count=sum(o.is_trigger for o in open_orders),
        updated_at=ledger.state.now_ms,
    )


def positions_view(ledger: PaperLedger) -> list[VenuePosition]:
    return [
        VenuePosition(
            symbol=symbol,
            side=p.side,
            amount=p.amount,
            entry_price=p.entry_price,
            funding=p.funding,
            created_at=p.created_at,
            updated_at=p.updated_at,
        )
        for symbol, p in ledger.state.positions.items()
    ]


def order_view(ledger: PaperLedger, order: PaperOrder) -> VenueOrder:
    amount = ledger.order_amount(order)
    return VenueOrder(
        order_id=order.order_id,
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        side=order.side,
        price=ZERO,  # no limit price: the paper venue's orders are all market or stop-market
        initial_amount=amount,
        filled_amount=order.filled,
        cancelled_amount=amount - order.filled if order.status == "cancelled" else ZERO,
        stop_price=order.stop_price,
        order_type=order.order_type,
        reduce_only=order.reduce_only,
        created_at=order.created_at,
    )


def record_view(ledger: PaperLedger, order: PaperOrder) -> OrderRecord:
    return OrderRecord(
        order_id=order.order_id,
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        side=order.side,
        initial_price=order.stop_price or ZERO,
        average_filled_price=order.notional / order.filled if order.filled else ZERO,
        amount=ledger.order_amount(order),
        filled_amount=order.filled,
        order_status=order.status,
        order_type=order.order_type,
        stop_price=order.stop_price,
        reduce_only=order.reduce_only,
        created_at=order.created_at,
    )
