"""Schema version 3, the trade journal: decisions, venue orders, fills, positions, closed trades, risk
state and venue state. The migration step (a frozen snapshot, in SQLAlchemy Core) and the ORM
classes it yields; swarm.store_schema lists the step, tests/test_store.py checks the two agree.

Amounts and prices the venue deals in are decimal strings (exact, as sent and as read: a float
would make "the journal equals the venue" a matter of tolerance); closed trades are analytics and
use floats, as the risk engine does.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Field, SQLModel

ORDER_STATUSES = ("pending", "open", "filled", "cancelled", "rejected", "absent")
CLOSE_REASONS = ("stop_loss", "take_profit", "signal", "emergency", "unknown")
RISK_STATE_ID = 1  # the risk state is one row


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def v3_execution_journal(conn: Connection) -> None:
    """A snapshot of version 3. Never edit: append a new step instead."""
    meta = sa.MetaData()
    decision = sa.Table(
        "order_decision", meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("decision_id", sa.String, nullable=False, unique=True),
        sa.Column("cycle_id", sa.String),
        sa.Column("symbol", sa.String, nullable=False),
        sa.Column("action", sa.String, nullable=False),
        sa.Column("side", sa.String),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("intent", sa.JSON),
        sa.Column("denial_reason", sa.String),
        sa.Column("denial_detail", sa.String),
        sa.Column("clamps", sa.JSON, nullable=False),
        sa.Column("execution_status", sa.String),
        sa.Column("execution_detail", sa.String),
        sa.Column("created_at", sa.BigInteger, nullable=False, index=True),
        sa.Column("executed_at", sa.BigInteger),
        sa.CheckConstraint("kind IN ('approved', 'denied', 'no_action')", name="ck_order_decision_kind"),
    )  # fmt: skip
    order = sa.Table(
        "venue_order", meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("client_order_id", sa.String, nullable=False, unique=True),
        sa.Column("decision_id", sa.String, index=True),
        sa.Column("leg", sa.String, nullable=False),
        sa.Column("symbol", sa.String, nullable=False),
        sa.Column("side", sa.String, nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("reduce_only", sa.Boolean, nullable=False),
        sa.Column("amount", sa.String),
        sa.Column("price", sa.String),
        sa.Column("filled", sa.String, nullable=False),
        sa.Column("status", sa.String, nullable=False, index=True),
        sa.Column("venue_order_id", sa.BigInteger),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.CheckConstraint("side IN ('bid', 'ask')", name="ck_venue_order_side"),
        sa.CheckConstraint(_in("status", ORDER_STATUSES), name="ck_venue_order_status"),
    )  # fmt: skip
    fill = sa.Table(
        "order_fill", meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "client_order_id", sa.String, sa.ForeignKey("venue_order.client_order_id"),
            nullable=False, unique=True,
        ),
        sa.Column("amount", sa.String, nullable=False),
        sa.Column("price", sa.String, nullable=False),
        sa.Column("fee", sa.String, nullable=False),
        sa.Column("ts", sa.BigInteger, nullable=False),
    )  # fmt: skip
    position = sa.Table(
        "open_position", meta,
        sa.Column("symbol", sa.String, primary_key=True),
        sa.Column("side", sa.String, nullable=False),
        sa.Column("amount", sa.String, nullable=False),
        sa.Column("entry_price", sa.String, nullable=False),
        sa.Column("stop_loss_price", sa.String),
        sa.Column("take_profit_prices", sa.JSON, nullable=False),
        sa.Column("funding", sa.String, nullable=False),
        sa.Column("decision_id", sa.String),
        sa.Column("opened_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.CheckConstraint("side IN ('LONG', 'SHORT')", name="ck_open_position_side"),
    )  # fmt: skip
    trade = sa.Table(
        "closed_trade", meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("symbol", sa.String, nullable=False),
        sa.Column("side", sa.String, nullable=False),
        sa.Column("entry_price", sa.Float, nullable=False),
        sa.Column("exit_price", sa.Float),
        sa.Column("size", sa.Float, nullable=False),
        sa.Column("pnl_usd", sa.Float, nullable=False),
        sa.Column("fees_usd", sa.Float, nullable=False),
        sa.Column("funding_usd", sa.Float, nullable=False),
        sa.Column("opened_at", sa.BigInteger, nullable=False),
        sa.Column("closed_at", sa.BigInteger, nullable=False, index=True),
        sa.Column("reason", sa.String, nullable=False),
        sa.Column("decision_id", sa.String),
        # A position is one symbol from one opening time: seen closed twice, it is recorded once.
        sa.UniqueConstraint("symbol", "opened_at", name="uq_closed_trade_symbol_opened"),
        sa.CheckConstraint(_in("reason", CLOSE_REASONS), name="ck_closed_trade_reason"),
    )  # fmt: skip
    risk = sa.Table(
        "risk_state", meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("trading_state", sa.String, nullable=False),
        sa.Column("reason", sa.String),
        sa.Column("breaker_tripped_until_ms", sa.BigInteger),
        sa.Column("start_of_day_equity", sa.Float),
        sa.Column("day_start_ms", sa.BigInteger),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.CheckConstraint(f"id = {RISK_STATE_ID}", name="ck_risk_state_one_row"),
        sa.CheckConstraint("trading_state IN ('ACTIVE', 'REDUCING', 'HALTED')", name="ck_risk_state_state"),
    )  # fmt: skip
    venue = sa.Table(
        "venue_state", meta,
        sa.Column("name", sa.String, primary_key=True),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )  # fmt: skip
    meta.create_all(conn, tables=[decision, order, fill, position, trade, risk, venue])


class OrderDecisionRow(SQLModel, table=True):
    """What the risk engine made of one consensus, and what the approved intent became."""

    __tablename__ = "order_decision"

    id: int | None = Field(default=None, primary_key=True)
    decision_id: str = Field(unique=True)
    cycle_id: str | None = None
    symbol: str
    action: str  # LONG, SHORT, CLOSE, HOLD
    side: str | None = None  # the intent's order direction
    kind: str  # approved, denied, no_action
    intent: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    denial_reason: str | None = None
    denial_detail: str | None = None
    clamps: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    execution_status: str | None = None
    execution_detail: str | None = None
    created_at: int = Field(sa_type=sa.BigInteger)
    executed_at: int | None = Field(default=None, sa_type=sa.BigInteger)


class VenueOrderRow(SQLModel, table=True):
    """One order sent to (or found on) the venue, in its latest known state."""

    __tablename__ = "venue_order"

    id: int | None = Field(default=None, primary_key=True)
    client_order_id: str = Field(unique=True)
    decision_id: str | None = None
    leg: str
    symbol: str
    side: str
    kind: str
    reduce_only: bool
    amount: str | None = None
    price: str | None = None
    filled: str
    status: str
    venue_order_id: int | None = Field(default=None, sa_type=sa.BigInteger)
    created_at: int = Field(sa_type=sa.BigInteger)
    updated_at: int = Field(sa_type=sa.BigInteger)


class OrderFillRow(SQLModel, table=True):
    """What one order filled (aggregated per order), with its estimated fee."""

    __tablename__ = "order_fill"

    id: int | None = Field(default=None, primary_key=True)
    client_order_id: str = Field(foreign_key="venue_order.client_order_id", unique=True)
    amount: str
    price: str
    fee: str
    ts: int = Field(sa_type=sa.BigInteger)


class OpenPositionRow(SQLModel, table=True):
    """An open position as last read from the venue."""

    __tablename__ = "open_position"

    symbol: str = Field(primary_key=True)
    side: str
    amount: str
    entry_price: str
    stop_loss_price: str | None = None
    take_profit_prices: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    funding: str
    decision_id: str | None = None
    opened_at: int = Field(sa_type=sa.BigInteger)
    updated_at: int = Field(sa_type=sa.BigInteger)


class TradeColumns(SQLModel):
    """The columns of a closed trade (the journal's, and those of the report's other curves)."""

    symbol: str
    side: str
    entry_price: float
    exit_price: float | None = None
    size: float
    pnl_usd: float
    fees_usd: float
    funding_usd: float
    opened_at: int = Field(sa_type=sa.BigInteger)
    closed_at: int = Field(sa_type=sa.BigInteger)
    reason: str
    decision_id: str | None = None


class ClosedTradeRow(TradeColumns, table=True):
    """A closed position; `pnl_usd` net of fees and funding."""

    __tablename__ = "closed_trade"

    id: int | None = Field(default=None, primary_key=True)


class RiskStateRow(SQLModel, table=True):
    """The kill switch, the breaker and the day's start equity: one row that survives restarts."""

    __tablename__ = "risk_state"

    id: int = Field(default=RISK_STATE_ID, primary_key=True)
    trading_state: str
    reason: str | None = None
    breaker_tripped_until_ms: int | None = Field(default=None, sa_type=sa.BigInteger)
    start_of_day_equity: float | None = None
    day_start_ms: int | None = Field(default=None, sa_type=sa.BigInteger)
    updated_at: int = Field(sa_type=sa.BigInteger)


class VenueStateRow(SQLModel, table=True):
    """A venue's saved state by venue name (the paper account's PaperVenue.to_dict())."""

    __tablename__ = "venue_state"

    name: str = Field(primary_key=True)
    data: dict[str, Any] = Field(sa_type=sa.JSON)
    updated_at: int = Field(sa_type=sa.BigInteger)
