"""Schema version 4, what a report is rebuilt from: runs, equity curves, their trades, the marks of
a live run and the market state at each entry. The migration step (a frozen snapshot, in
SQLAlchemy Core) and the ORM classes it yields; swarm.store_schema lists the step.

    report_run    one per backtest (its own database) and one per mode of `swarm run` (paper,
                  live), which every restart extends; `meta` is the report's RunMeta as JSON
    equity_point  a curve's equity at each step: "swarm", the baselines, "alone:<member>"
    curve_trade   the closed trades of the curves that are not the swarm (the swarm's are the
                  journal's closed_trade rows)
    run_mark      the price and funding of each symbol at each cycle of a `swarm run`, which the
                  baselines of a live report are computed from
    entry_state   the MarketState the members saw when the swarm opened a position
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Field, SQLModel

from swarm.execution_schema import TradeColumns

RUN_KINDS = ("backtest", "paper", "live")


def v4_report_record(conn: Connection) -> None:
    """A snapshot of version 4. Never edit: append a new step instead."""
    meta = sa.MetaData()
    run = sa.Table(
        "report_run", meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("meta", sa.JSON, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.CheckConstraint("kind IN ('backtest', 'paper', 'live')", name="ck_report_run_kind"),
    )  # fmt: skip
    point = sa.Table(
        "equity_point", meta,
        sa.Column("run_id", sa.Integer, sa.ForeignKey("report_run.id"), primary_key=True),
        sa.Column("curve", sa.String, primary_key=True),
        sa.Column("ts_ms", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("equity_usd", sa.Float, nullable=False),
        sa.Column("exposed", sa.Boolean, nullable=False),
    )  # fmt: skip
    trade = sa.Table(
        "curve_trade", meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("report_run.id"), nullable=False),
        sa.Column("curve", sa.String, nullable=False),
        sa.Column("symbol", sa.String, nullable=False),
        sa.Column("side", sa.String, nullable=False),
        sa.Column("entry_price", sa.Float, nullable=False),
        sa.Column("exit_price", sa.Float),
        sa.Column("size", sa.Float, nullable=False),
        sa.Column("pnl_usd", sa.Float, nullable=False),
        sa.Column("fees_usd", sa.Float, nullable=False),
        sa.Column("funding_usd", sa.Float, nullable=False),
        sa.Column("opened_at", sa.BigInteger, nullable=False),
        sa.Column("closed_at", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.String, nullable=False),
        sa.Column("decision_id", sa.String),
        sa.Index("ix_curve_trade_run_curve", "run_id", "curve"),
    )  # fmt: skip
    mark = sa.Table(
        "run_mark", meta,
        sa.Column("run_id", sa.Integer, sa.ForeignKey("report_run.id"), primary_key=True),
        sa.Column("symbol", sa.String, primary_key=True),
        sa.Column("ts_ms", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("price", sa.Float, nullable=False),
        sa.Column("funding_rate_per_hour", sa.Float),
    )  # fmt: skip
    state = sa.Table(
        "entry_state", meta,
        sa.Column("decision_id", sa.String, primary_key=True),
        sa.Column("symbol", sa.String, nullable=False),
        sa.Column("market_ts", sa.BigInteger, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )  # fmt: skip
    meta.create_all(conn, tables=[run, point, trade, mark, state])
    # A report finds each trade's consensus by its cycle.
    conn.execute(sa.text("CREATE INDEX ix_consensus_vote_cycle_id ON consensus_vote (cycle_id)"))


class ReportRunRow(SQLModel, table=True):
    """One run a report can be written for."""

    __tablename__ = "report_run"

    id: int | None = Field(default=None, primary_key=True)
    kind: str  # backtest | paper | live
    meta: dict[str, Any] = Field(sa_type=sa.JSON)
    created_at: int = Field(sa_type=sa.BigInteger)
    updated_at: int = Field(sa_type=sa.BigInteger)


class EquityPointRow(SQLModel, table=True):
    """One curve's mark-to-market equity at one step, and whether a position was open."""

    __tablename__ = "equity_point"

    run_id: int = Field(foreign_key="report_run.id", primary_key=True)
    curve: str = Field(primary_key=True)
    ts_ms: int = Field(sa_type=sa.BigInteger, primary_key=True)
    equity_usd: float
    exposed: bool


class CurveTradeRow(TradeColumns, table=True):
    """A closed trade of a baseline or of a member followed alone (net of fees and funding)."""

    __tablename__ = "curve_trade"

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="report_run.id")
    curve: str


class RunMarkRow(SQLModel, table=True):
    """A symbol's price and funding rate at one cycle of a `swarm run`."""

    __tablename__ = "run_mark"

    run_id: int = Field(foreign_key="report_run.id", primary_key=True)
    symbol: str = Field(primary_key=True)
    ts_ms: int = Field(sa_type=sa.BigInteger, primary_key=True)
    price: float
    funding_rate_per_hour: float | None = None


class EntryStateRow(SQLModel, table=True):
    """The MarketState (its JSON) behind an approved entry, by the decision's id."""

    __tablename__ = "entry_state"

    decision_id: str = Field(primary_key=True)
    symbol: str
    market_ts: int = Field(sa_type=sa.BigInteger)
    state: str = Field(sa_type=sa.Text)
    created_at: int = Field(sa_type=sa.BigInteger)
