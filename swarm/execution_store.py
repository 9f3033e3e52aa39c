"""The trade journal in the store (execution.journal.Journal): decisions, orders, fills, positions and
closed trades. The risk state and the venue state are in swarm.risk_store.

    record_risk_result(decision_id, cycle_id, result)   every Approved / Denied / NoAction, once
    record_order(order, fill, venue_state)              an order's latest state, by client_order_id
    write_truth(truth)                                  the venue's positions, orders, fills, closes

Every write is one transaction (all of it or none); a write that follows a venue change carries
the venue's own saved state (a paper account) into the same transaction, so that the journal and
the paper account never disagree after a crash.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, delete, select

from execution.journal import (
    TERMINAL,
    JournalFill,
    JournalOrder,
    JournalPosition,
    TradeRecord,
    VenueSnapshot,
    VenueTruth,
)
from execution.types import Approved, Denied, OrderIntent, RiskResult, Side
from swarm._sql import insert_ignoring_duplicates, translated
from swarm.execution_schema import (
    ClosedTradeRow,
    OpenPositionRow,
    OrderDecisionRow,
    OrderFillRow,
    VenueOrderRow,
)
from swarm.report_schema import CurveTradeRow
from swarm.risk_store import RiskStateStore, put_venue_state

_INTENT = TypeAdapter(OrderIntent)


class ExecutionStore(RiskStateStore):
    """The journal half of the Store (mixed into swarm.store.Store)."""

    _engine: Engine

    # ---- decisions -----------------------------------------------------------------------------

    def record_risk_result(
        self, decision_id: str, cycle_id: str | None, result: RiskResult, now_ms: int
    ) -> None:
        """Record what the risk engine made of a consensus; a decision recorded already is kept as is."""
        row = _decision_values(decision_id, cycle_id, result, now_ms)
        table = OrderDecisionRow.metadata.tables[OrderDecisionRow.__tablename__]
        with translated(f"decision {decision_id}"), self._engine.begin() as conn:
            conn.execute(insert_ignoring_duplicates(table, conn.dialect.name), [row])

    def record_intent(self, intent: OrderIntent, now_ms: int) -> None:
        self.record_risk_result(intent.decision_id, None, Approved(intent=intent), now_ms)

    def intent(self, decision_id: str) -> OrderIntent | None:
        row = self._decision(decision_id)
        return None if row is None or row.intent is None else _INTENT.validate_python(row.intent)

    def record_execution(self, decision_id: str, status: str, detail: str, now_ms: int) -> None:
        with translated(f"execution of {decision_id}"), Session(self._engine) as session, session.begin():
            row = session.exec(
                select(OrderDecisionRow).where(OrderDecisionRow.decision_id == decision_id)
            ).one()
            row.execution_status, row.execution_detail, row.executed_at = status, detail, now_ms

    def decision(self, decision_id: str) -> OrderDecisionRow | None:
        """The recorded decision (its risk result, intent and execution), if any."""
        return self._decision(decision_id)

    def unexecuted_intents(self) -> list[OrderIntent]:
        """Approved intents without a recorded execution (a crash came between), oldest first."""
        query = (
            select(OrderDecisionRow)
            .where(OrderDecisionRow.kind == "approved", col(OrderDecisionRow.execution_status).is_(None))
            .order_by(col(OrderDecisionRow.id))
        )
        with self._journal_read(), Session(self._engine) as session:
            return [_INTENT.validate_python(row.intent) for row in session.exec(query) if row.intent]

    def _decision(self, decision_id: str) -> OrderDecisionRow | None:
        query = select(OrderDecisionRow).where(OrderDecisionRow.decision_id == decision_id)
        with self._journal_read(), Session(self._engine) as session:
            return session.exec(query).first()

    # ---- orders and fills ----------------------------------------------------------------------

    def record_order(
        self, order: JournalOrder, fill: JournalFill | None = None, venue_state: VenueSnapshot | None = None
    ) -> None:
        with translated(f"order {order.client_order_id}"), Session(self._engine) as session, session.begin():
            _upsert_order(session, order)
            if fill is not None:
                session.flush()  # the fill's foreign key needs the order row
                _upsert_fill(session, fill)
            if venue_state is not None:
                put_venue_state(session, venue_state, order.updated_at)

    def orders(self, *, symbol: str | None = None, active_only: bool = False) -> list[JournalOrder]:
        query = select(VenueOrderRow).order_by(col(VenueOrderRow.id))
        if symbol is not None:
            query = query.where(VenueOrderRow.symbol == symbol)
        if active_only:
            query = query.where(col(VenueOrderRow.status).not_in(TERMINAL))
        with self._journal_read(), Session(self._engine) as session:
            return [_order(row) for row in session.exec(query)]

    def orders_by_id(self, client_order_ids: Sequence[str]) -> dict[str, JournalOrder]:
        query = select(VenueOrderRow).where(col(VenueOrderRow.client_order_id).in_(list(client_order_ids)))
        with self._journal_read(), Session(self._engine) as session:
            return {row.client_order_id: _order(row) for row in session.exec(query)}

    def legs_used(self, decision_id: str) -> set[str]:
        query = select(VenueOrderRow.leg).where(VenueOrderRow.decision_id == decision_id)
        with self._journal_read(), Session(self._engine) as session:
            return set(session.exec(query))

    def fills(self) -> list[JournalFill]:
        with self._journal_read(), Session(self._engine) as session:
            rows = session.exec(select(OrderFillRow).order_by(col(OrderFillRow.id)))
            return [
                JournalFill(r.client_order_id, Decimal(r.amount), Decimal(r.price), Decimal(r.fee), r.ts)
                for r in rows
            ]

    # ---- positions and closed trades -----------------------------------------------------------

    def positions(self) -> list[JournalPosition]:
        with self._journal_read(), Session(self._engine) as session:
            return [
                _position(row)
                for row in session.exec(select(OpenPositionRow).order_by(OpenPositionRow.symbol))
            ]

    def record_position(self, position: JournalPosition) -> None:
        with translated(f"position {position.symbol}"), Session(self._engine) as session, session.begin():
            row = session.get(OpenPositionRow, position.symbol)
            if row is not None:
                session.delete(row)
                session.flush()
            session.add(_position_row(position))

    def write_truth(self, truth: VenueTruth) -> None:
        """The venue's positions replace the journal's; orders, fills, closed trades and state go in."""
        with translated("venue truth"), Session(self._engine) as session, session.begin():
            _upsert_orders(session, truth.orders)
            session.flush()
            for fill in truth.fills:
                _upsert_fill(session, fill)
            session.exec(delete(OpenPositionRow))
            session.add_all(_position_row(p) for p in truth.positions)
            session.flush()
            trades = ClosedTradeRow.metadata.tables[ClosedTradeRow.__tablename__]
            rows = [trade_values(t) for t in truth.closed]
            if rows:
                connection = session.connection()
                connection.execute(insert_ignoring_duplicates(trades, connection.dialect.name), rows)
            if truth.venue_state is not None:
                put_venue_state(session, truth.venue_state, truth.now_ms)

    def closed_trades(self, since_ms: int = 0) -> list[TradeRecord]:
        query = (
            select(ClosedTradeRow)
            .where(col(ClosedTradeRow.closed_at) >= since_ms)
            .order_by(col(ClosedTradeRow.closed_at), col(ClosedTradeRow.id))
        )
        with self._journal_read(), Session(self._engine) as session:
            return [trade_record(row) for row in session.exec(query)]


# ---- rows <-> records ------------------------------------------------------------------------


def _decision_values(
    decision_id: str, cycle_id: str | None, result: RiskResult, now_ms: int
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "decision_id": decision_id, "cycle_id": cycle_id, "kind": result.kind, "intent": None,
        "side": None, "denial_reason": None, "denial_detail": None, "clamps": [], "created_at": now_ms,
    }  # fmt: skip
    if isinstance(result, Approved):
        intent = result.intent
        values |= {
            "symbol": intent.symbol,
            "action": "CLOSE" if intent.reduce_only else intent.side.value,
            "side": intent.side.value,
            "intent": intent.model_dump(mode="json"),
            "clamps": [c.model_dump(mode="json") for c in intent.clamps],
        }
    elif isinstance(result, Denied):
        values |= {
            "symbol": result.symbol,
            "action": result.action.value,
            "denial_reason": result.reason,
            "denial_detail": result.detail,
        }
    else:
        values |= {"symbol": result.symbol, "action": "HOLD", "denial_detail": result.detail}
    return values


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _dec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _upsert_order(session: Session, order: JournalOrder) -> None:
    _upsert_orders(session, [order])


def _upsert_orders(session: Session, orders: Sequence[JournalOrder]) -> None:
    """Insert or update orders by client_order_id; the rows are looked up in one query (a
    reconciliation rewrites every order it knows, mostly unchanged)."""
    if not orders:
        return
    ids = [o.client_order_id for o in orders]
    found = session.exec(select(VenueOrderRow).where(col(VenueOrderRow.client_order_id).in_(ids)))
    rows = {row.client_order_id: row for row in found}
    for order in orders:
        row = rows.get(order.client_order_id)
        if row is None:
            row = VenueOrderRow(
                client_order_id=order.client_order_id, created_at=order.created_at, **_order_fields(order)
            )
            rows[order.client_order_id] = row
        else:
            for name, value in _order_fields(order).items():
                setattr(row, name, value)
        session.add(row)


def _order_fields(order: JournalOrder) -> dict[str, Any]:
    return {
        "decision_id": order.decision_id, "leg": order.leg, "symbol": order.symbol, "side": order.side,
        "kind": order.kind, "reduce_only": order.reduce_only, "amount": _text(order.amount),
        "price": _text(order.price), "filled": str(order.filled), "status": order.status,
        "venue_order_id": order.venue_order_id, "updated_at": order.updated_at,
    }  # fmt: skip


def _order(row: VenueOrderRow) -> JournalOrder:
    return JournalOrder(
        client_order_id=row.client_order_id, decision_id=row.decision_id, leg=row.leg, symbol=row.symbol,
        side=row.side,  # type: ignore[arg-type]  # the table's check constraint allows bid and ask only
        kind=row.kind, amount=_dec(row.amount), price=_dec(row.price), reduce_only=row.reduce_only,
        status=row.status,  # type: ignore[arg-type]  # checked by the table's constraint
        created_at=row.created_at, updated_at=row.updated_at, filled=Decimal(row.filled),
        venue_order_id=row.venue_order_id,
    )  # fmt: skip


def _upsert_fill(session: Session, fill: JournalFill) -> None:
    row = session.exec(
        select(OrderFillRow).where(OrderFillRow.client_order_id == fill.client_order_id)
    ).first()
    row = row or OrderFillRow(
        client_order_id=fill.client_order_id, amount="", price="", fee="", ts=fill.ts_ms
    )
    row.amount, row.price, row.fee, row.ts = str(fill.amount), str(fill.price), str(fill.fee), fill.ts_ms
    session.add(row)


def _position_row(p: JournalPosition) -> OpenPositionRow:
    return OpenPositionRow(
        symbol=p.symbol, side=p.side.value, amount=str(p.amount), entry_price=str(p.entry_price),
        stop_loss_price=_text(p.stop_loss_price), take_profit_prices=[str(t) for t in p.take_profit_prices],
        funding=str(p.funding), decision_id=p.decision_id, opened_at=p.opened_at, updated_at=p.updated_at,
    )  # fmt: skip


def _position(row: OpenPositionRow) -> JournalPosition:
    return JournalPosition(
        symbol=row.symbol, side=Side(row.side), amount=Decimal(row.amount),
        entry_price=Decimal(row.entry_price), opened_at=row.opened_at, updated_at=row.updated_at,
        stop_loss_price=_dec(row.stop_loss_price),
        take_profit_prices=tuple(Decimal(t) for t in row.take_profit_prices),
        funding=Decimal(row.funding), decision_id=row.decision_id,
    )  # fmt: skip


def trade_values(t: TradeRecord) -> dict[str, Any]:
    """A trade's columns (closed_trade's, and curve_trade's beside its run and curve)."""
    return {
        "symbol": t.symbol, "side": t.side.value, "entry_price": t.entry_price, "exit_price": t.exit_price,
        "size": t.size, "pnl_usd": t.pnl_usd, "fees_usd": t.fees_usd, "funding_usd": t.funding_usd,
        "opened_at": t.opened_at, "closed_at": t.closed_at, "reason": t.reason, "decision_id": t.decision_id,
    }  # fmt: skip


def trade_record(row: ClosedTradeRow | CurveTradeRow) -> TradeRecord:
    return TradeRecord(
        symbol=row.symbol, side=Side(row.side), entry_price=row.entry_price, exit_price=row.exit_price,
        size=row.size, pnl_usd=row.pnl_usd, fees_usd=row.fees_usd, funding_usd=row.funding_usd,
        opened_at=row.opened_at, closed_at=row.closed_at,
        reason=row.reason,  # type: ignore[arg-type]  # checked by the table's constraint
        decision_id=row.decision_id,
    )  # fmt: skip
