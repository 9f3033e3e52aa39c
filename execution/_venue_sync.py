"""The venue's truth as journal rows: positions, orders, fills, and the trades that closed meanwhile.

Reconciliation and `portfolio` read the venue's positions and open orders and hand them here.
Orders the journal holds as pending or open that the venue no longer lists as open are looked up
in the venue's order history (one read, only when needed): filled, cancelled, or absent (never
landed, or older than the history shows). A position the journal holds that the venue no longer
has has closed: its closing fills are the history's filled orders of the symbol on the closing
side since it opened, and their legs tell why it closed (stop-loss, take-profit, signal, emergency).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Final

from execution._order_desk import OrderDesk
from execution._order_plan import ZERO, side_of, wire_side
from execution.journal import (
    CloseReason,
    JournalFill,
    JournalOrder,
    JournalPosition,
    OrderStatus,
    TradeRecord,
    VenueTruth,
)
from execution.markets import WireSide, closing_side
from execution.pacifica_models import OrderRecord, VenueOrder, VenuePosition

HISTORY_LIMIT: Final = 200
_REASONS: Final[dict[str, CloseReason]] = {
    "sl": "stop_loss",
    "tp": "take_profit",
    "close": "signal",
    "emergency_close": "emergency",
}


def cloid_of(order: VenueOrder | OrderRecord) -> str:
    """The journal's key of a venue order: its client id, or one made of its venue id."""
    return order.client_order_id or f"venue-order-{order.order_id}"


async def venue_truth(
    desk: OrderDesk, positions: Sequence[VenuePosition], open_orders: Sequence[VenueOrder], now_ms: int
) -> VenueTruth:
    """The journal rows that make the journal agree with what the venue says now."""
    journal = desk.journal
    held = {p.symbol: p for p in journal.positions()}
    live = {p.symbol: p for p in positions}
    open_ids = {cloid_of(o) for o in open_orders}
    stale = [o for o in journal.orders(active_only=True) if o.client_order_id not in open_ids]
    gone = [p for s, p in held.items() if s not in live or live[s].side != _wire(p)]
    history: list[OrderRecord] = []
    if stale or gone:
        history = await desk.retrying("order history", lambda: desk.venue.order_history(HISTORY_LIMIT))
    known = journal.orders_by_id([cloid_of(o) for o in open_orders] + [cloid_of(r) for r in history])
    settled, fills = _settled(stale, newest_by_id(history), desk.taker_fee, now_ms)
    return VenueTruth(
        positions=tuple(_position(desk, p, held.get(p.symbol), open_orders, now_ms) for p in positions),
        now_ms=now_ms,
        orders=tuple(_open_order(o, known.get(cloid_of(o)), now_ms) for o in open_orders) + tuple(settled),
        fills=tuple(fills),
        closed=tuple(_closed(p, history, known, desk.taker_fee, now_ms) for p in gone),
        venue_state=desk.snapshot(),
    )


def newest_by_id(history: Sequence[OrderRecord]) -> dict[str, OrderRecord]:
    """The newest order of each client id: a position stop set again under its id replaces the old
    one, so the history can hold a cancelled and a live order under one id."""
    newest: dict[str, OrderRecord] = {}
    for record in history:
        cloid = cloid_of(record)
        if cloid not in newest or record.order_id > newest[cloid].order_id:
            newest[cloid] = record
    return newest


def _wire(position: JournalPosition) -> WireSide:
    return wire_side(position.side)


def _open_order(order: VenueOrder, known: JournalOrder | None, now_ms: int) -> JournalOrder:
    return JournalOrder(
        client_order_id=cloid_of(order),
        decision_id=known.decision_id if known else None,
        leg=known.leg if known else "venue",
        symbol=order.symbol,
        side=order.side,
        kind=known.kind if known else "venue",
        # A whole-position stop lists the position's amount; the journal keeps "whole position".
        amount=known.amount if known and known.amount is None else order.initial_amount,
        price=order.stop_price if order.stop_price is not None else order.price,
        reduce_only=order.reduce_only,
        status="open",
        created_at=known.created_at if known else (order.created_at or now_ms),
        updated_at=now_ms,
        filled=order.filled_amount,
        venue_order_id=order.order_id,
    )


def _settled(
    stale: Sequence[JournalOrder], history: dict[str, OrderRecord], fee_rate: Decimal, now_ms: int
) -> tuple[list[JournalOrder], list[JournalFill]]:
    """Final states of orders that left the venue's open orders, with the fills they made."""
    orders, fills = [], []
    for order in stale:
        record = history.get(order.client_order_id)
        if record is None:
            orders.append(replace(order, status="absent", updated_at=now_ms))
            continue
        status = _status(record)
        if status in ("open", "pending"):
            continue  # the open-orders read lagged behind: settled at a later look
        filled_at = record.average_filled_price if record.filled_amount > 0 else None
        # A market order's price is its fill price; a stop's stays its trigger (the fill has the rest).
        price = filled_at if order.kind == "market" and filled_at is not None else order.price
        orders.append(
            replace(
                order, status=status, filled=record.filled_amount, price=price,
                venue_order_id=record.order_id, updated_at=now_ms,
            )
        )  # fmt: skip
        if filled_at is not None:
            fee = record.filled_amount * filled_at * fee_rate
            fills.append(JournalFill(order.client_order_id, record.filled_amount, filled_at, fee, now_ms))
    return orders, fills


def _status(record: OrderRecord) -> OrderStatus:
    status = record.order_status.lower()
    if status == "filled":
        return "filled"
    if status in ("cancelled", "canceled", "expired"):
        return "cancelled"
    if status == "rejected":
        return "rejected"
    return "open"  # open, partially_filled, untriggered...


def _position(
    desk: OrderDesk,
    position: VenuePosition,
    held: JournalPosition | None,
    open_orders: Sequence[VenueOrder],
    now_ms: int,
) -> JournalPosition:
    same = held if held is not None and held.side is side_of(position.side) else None
    decision_id = same.decision_id if same else _entry_decision(desk, position)
    return journal_position(position, decision_id, now_ms, open_orders, same.opened_at if same else None)


def journal_position(
    position: VenuePosition,
    decision_id: str | None,
    now_ms: int,
    open_orders: Sequence[VenueOrder] = (),
    opened_at: int | None = None,
) -> JournalPosition:
    """A venue position as the journal holds it, with the stop and targets resting on it."""
    side = side_of(position.side)
    closing = closing_side(position.side)
    mine = [o for o in open_orders if o.symbol == position.symbol and o.side == closing and o.stop_price]
    stops = [o.stop_price for o in mine if o.order_type.startswith("stop_loss") and o.stop_price]
    sign = 1 if side.value == "LONG" else -1
    targets = sorted(
        (o.stop_price for o in mine if o.stop_price and (o.stop_price - position.entry_price) * sign > 0),
        key=lambda price: price * sign,
    )
    return JournalPosition(
        symbol=position.symbol,
        side=side,
        amount=position.amount,
        entry_price=position.entry_price,
        opened_at=position.created_at or opened_at or now_ms,
        updated_at=now_ms,
        stop_loss_price=stops[0] if stops else None,
        take_profit_prices=tuple(t for t in targets if t not in stops),
        funding=position.funding,
        decision_id=decision_id,
    )


def _entry_decision(desk: OrderDesk, position: VenuePosition) -> str | None:
    """The decision whose entry opened this position: the newest entry of the symbol on its side."""
    entries = [
        o
        for o in desk.journal.orders(symbol=position.symbol)
        if o.leg == "entry" and o.side == position.side and o.status in ("pending", "filled", "cancelled")
    ]
    return entries[-1].decision_id if entries else None


def _closed(
    position: JournalPosition,
    history: Sequence[OrderRecord],
    known: dict[str, JournalOrder],
    fee_rate: Decimal,
    now_ms: int,
) -> TradeRecord:
    """The trade a vanished position made, from its closing fills in the venue's history."""
    closing = closing_side(_wire(position))
    fills = sorted(
        (
            r
            for r in history
            if r.symbol == position.symbol
            and r.side == closing
            and r.filled_amount > 0
            and r.average_filled_price is not None
            and (r.created_at is None or r.created_at >= position.opened_at)
        ),
        key=lambda r: (r.created_at or 0, r.order_id),
    )
    size = sum((r.filled_amount for r in fills), ZERO)
    exit_notional = sum((r.filled_amount * (r.average_filled_price or ZERO) for r in fills), ZERO)
    sign = 1 if position.side.value == "LONG" else -1
    gross = (exit_notional - position.entry_price * size) * sign
    amount = size if size > 0 else position.amount
    fees = (position.entry_price * amount + exit_notional) * fee_rate
    return TradeRecord(
        symbol=position.symbol,
        side=position.side,
        entry_price=float(position.entry_price),
        exit_price=float(exit_notional / size) if size > 0 else None,
        size=float(amount),
        pnl_usd=float(gross - fees - position.funding),
        fees_usd=float(fees),
        funding_usd=float(position.funding),
        opened_at=position.opened_at,
        closed_at=now_ms,
        reason=_reason(fills, known),
        decision_id=position.decision_id,
    )


def _reason(fills: Sequence[OrderRecord], known: dict[str, JournalOrder]) -> CloseReason:
    """Why the position closed, from the legs of its closing fills.

    The venues give no fill times, so the order of the fills is unknown; what ended the position
    is the fill that closes "whatever is left": a stop-loss, else a close, else the targets.
    """
    reasons = {_reason_of(record, known) for record in fills}
    order: tuple[CloseReason, ...] = ("stop_loss", "emergency", "signal", "take_profit")
    return next((reason for reason in order if reason in reasons), "unknown")


def _reason_of(record: OrderRecord, known: dict[str, JournalOrder]) -> CloseReason:
    order = known.get(cloid_of(record))
    if order is not None:
        base = order.leg.split("-")[0]
        base = "tp" if base.startswith("tp") else base
        if base in _REASONS:
            return _REASONS[base]
    if record.order_type.startswith("stop_loss"):
        return "stop_loss"
    if record.order_type.startswith("take_profit") or (record.reduce_only and record.stop_price is not None):
        return "take_profit"
    return "unknown"
