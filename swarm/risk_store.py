"""The risk state (kill switch, daily-loss breaker, start-of-day equity) and the venues' saved state.

The risk state is one row, created on first use; `swarm halt` / `swarm resume` and the executor
share it, possibly from two processes at once, so each change is a locked read-modify-write.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from execution.journal import RiskState, VenueSnapshot
from execution.types import TradingState
from swarm._sql import insert_ignoring_duplicates, translated
from swarm.execution_schema import RISK_STATE_ID, RiskStateRow, VenueStateRow
from swarm.store_schema import WRITE_LOCK_OPTION


class RiskStateStore:
    """The risk-state half of the journal (mixed into swarm.store.Store)."""

    _engine: Engine

    def risk_state(self) -> RiskState:
        with self._journal_read(), Session(self._engine) as session:
            row = session.get(RiskStateRow, RISK_STATE_ID)
        return RiskState() if row is None else _state(row)

    def set_trading_state(self, state: TradingState, reason: str | None, now_ms: int) -> RiskState:
        """The kill switch: HALTED (nothing goes through), REDUCING (exits only) or ACTIVE."""
        what = f"trading state {state.value}"
        return self._change(lambda row: replace(row, trading_state=state, reason=reason), now_ms, what)

    def set_breaker(self, until_ms: int | None, now_ms: int) -> None:
        """Persist the daily-loss breaker: tripped until `until_ms`, or cleared (None)."""
        self._change(lambda row: replace(row, breaker_tripped_until_ms=until_ms), now_ms, "breaker")

    def start_of_day_equity(self, day_start_ms: int, equity: float, now_ms: int) -> float:
        """The equity recorded for the UTC day from `day_start_ms`; `equity` at the first look."""

        def change(row: RiskState) -> RiskState:
            if row.day_start_ms != day_start_ms or row.start_of_day_equity is None:
                return replace(row, day_start_ms=day_start_ms, start_of_day_equity=equity)
            return row

        recorded = self._change(change, now_ms, "start-of-day equity").start_of_day_equity
        assert recorded is not None  # set by `change` when it was not
        return recorded

    def venue_state(self, name: str) -> dict[str, Any] | None:
        """What a venue saved (PaperVenue.to_dict()), if anything."""
        with self._journal_read(), Session(self._engine) as session:
            row = session.get(VenueStateRow, name)
            return None if row is None else dict(row.data)

    def save_venue_state(self, snapshot: VenueSnapshot, now_ms: int) -> None:
        with translated(f"venue state {snapshot[0]}"), Session(self._engine) as session, session.begin():
            put_venue_state(session, snapshot, now_ms)

    def _change(self, change: Callable[[RiskState], RiskState], now_ms: int, what: str) -> RiskState:
        """Apply `change` to the risk row under the write lock (creating the row first if needed).

        Core statements, not the ORM: the backtest calls this every simulated day.
        """
        locked = self._engine.execution_options(**{WRITE_LOCK_OPTION: True})
        with translated(what), locked.begin() as conn:
            create, read, write = _statements(conn.dialect.name)
            first = {"id": RISK_STATE_ID, "trading_state": TradingState.ACTIVE.value, "updated_at": now_ms}
            conn.execute(create, [first])
            state = replace(change(_state(conn.execute(read).one())), updated_at=now_ms)
            conn.execute(write, _row_values(state))
            return state

    def _journal_read(self) -> AbstractContextManager[None]:
        """A failed read (a corrupt file, a lost server) as one StoreError line naming the database."""
        return translated(f"{self._engine.url.render_as_string(hide_password=True)}: reading the journal")


@functools.cache
def _statements(dialect: str) -> tuple[sa.Insert, sa.Select[Any], sa.Update]:
    """The risk row's create-if-missing, locked read and write, built once (SQLAlchemy then keeps
    their compiled form; building them anew costs more than running them)."""
    table = RiskStateRow.metadata.tables[RiskStateRow.__tablename__]
    where = table.c.id == RISK_STATE_ID
    return (
        insert_ignoring_duplicates(table, dialect),
        sa.select(table).where(where).with_for_update(),
        sa.update(table).where(where),
    )


def put_venue_state(session: Session, snapshot: VenueSnapshot, now_ms: int) -> None:
    """Insert or replace a venue's saved state inside the caller's transaction."""
    name, data = snapshot
    row = session.get(VenueStateRow, name) or VenueStateRow(name=name, data={}, updated_at=now_ms)
    row.data, row.updated_at = data, now_ms
    session.add(row)


def _state(row: RiskStateRow | sa.Row[Any]) -> RiskState:
    return RiskState(
        trading_state=TradingState(row.trading_state),
        reason=row.reason,
        breaker_tripped_until_ms=row.breaker_tripped_until_ms,
        start_of_day_equity=row.start_of_day_equity,
        day_start_ms=row.day_start_ms,
        updated_at=row.updated_at,
    )


def _row_values(state: RiskState) -> dict[str, Any]:
    return {
        "trading_state": state.trading_state.value,
        "reason": state.reason,
        "breaker_tripped_until_ms": state.breaker_tripped_until_ms,
        "start_of_day_equity": state.start_of_day_equity,
        "day_start_ms": state.day_start_ms,
        "updated_at": state.updated_at,
    }
