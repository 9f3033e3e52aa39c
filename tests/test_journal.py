"""The trade journal in the store: decisions, orders, fills, positions, trades, risk and venue state.

Tests taking `db_url` run on SQLite and, when SWARM_TEST_POSTGRES_URL is set, on PostgreSQL too.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
import sqlalchemy as sa

from consensus.decision import Action
from execution.journal import JournalFill, JournalOrder, JournalPosition, RiskState, TradeRecord, VenueTruth
from execution.paper import PaperVenue, paper_markets
from execution.types import Approved, Clamp, Denied, NoAction, OrderIntent, Side, TakeProfit, TradingState
from swarm.store import Store, StoreError
from tests.stores import FakeClock

D = Decimal
T0 = 1_767_268_800_000
DAY = 86_400_000


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    opened = Store.open(db_url, clock=FakeClock(T0))
    yield opened
    opened.close()


def intent(decision_id: str = "d1", symbol: str = "BTC") -> OrderIntent:
    return OrderIntent(
        decision_id=decision_id,
        symbol=symbol,
        side=Side.LONG,
        reduce_only=False,
        reference_price=70_000.0,
        notional_usd=5_000.0,
        size_base=5_000 / 70_000,
        leverage=3,
        stop_loss_price=68_600.0,
        take_profit=(TakeProfit(price=71_400.0, fraction=1.0),),
        clamps=(Clamp(field="position_size_pct", asked=80.0, allowed=50.0, limit="max_position_pct"),),
    )


def order(cloid: str = "c1", status: str = "pending", **changes: object) -> JournalOrder:
    fields: dict[str, object] = {
        "client_order_id": cloid, "decision_id": "d1", "leg": "entry", "symbol": "BTC", "side": "bid",
        "kind": "market", "amount": D("0.07142"), "price": None, "reduce_only": False, "status": status,
        "created_at": T0, "updated_at": T0,
    }  # fmt: skip
    return JournalOrder(**(fields | changes))  # type: ignore[arg-type]


def position(symbol: str = "BTC", opened_at: int = T0) -> JournalPosition:
    return JournalPosition(
        symbol=symbol, side=Side.LONG, amount=D("0.07142"), entry_price=D("70035"), opened_at=opened_at,
        updated_at=T0, stop_loss_price=D("68600"), take_profit_prices=(D("71400"),), decision_id="d1",
    )  # fmt: skip


def trade(reason: str = "stop_loss", closed_at: int = T0 + 60_000) -> TradeRecord:
    return TradeRecord(
        symbol="BTC", side=Side.LONG, entry_price=70_035.0, exit_price=68_600.0, size=0.07142,
        pnl_usd=-104.5, fees_usd=3.96, funding_usd=0.0, opened_at=T0, closed_at=closed_at,
        reason=reason,  # type: ignore[arg-type]
        decision_id="d1",
    )  # fmt: skip


# --- decisions ---------------------------------------------------------------------------------


def test_every_risk_result_is_recorded_once_with_its_reason_and_clamps(store: Store) -> None:
    denied = Denied(symbol="ETH", action=Action.LONG, reason="cooldown", detail="ETH in cooldown until 1")
    store.record_risk_result("d1", "cycle-1", Approved(intent=intent()), T0)
    store.record_risk_result("d2", "cycle-1", denied, T0)
    store.record_risk_result("d3", "cycle-1", NoAction(symbol="SOL", detail="HOLD: flat market"), T0)
    store.record_intent(intent(), T0 + 1)  # the executor's copy of d1 keeps the engine's row

    approved = store.decision("d1")
    assert approved is not None
    assert (approved.cycle_id, approved.kind, approved.action, approved.side) == (
        "cycle-1",
        "approved",
        "LONG",
        "LONG",
    )
    assert approved.clamps == [
        {"field": "position_size_pct", "asked": 80.0, "allowed": 50.0, "limit": "max_position_pct"}
    ]
    assert store.intent("d1") == intent()
    refused = store.decision("d2")
    assert refused is not None
    assert (refused.kind, refused.denial_reason, refused.denial_detail) == (
        "denied",
        "cooldown",
        denied.detail,
    )
    assert store.intent("d2") is None
    assert store.unexecuted_intents() == [intent()]
    store.record_execution("d1", "filled", "", T0 + 2)
    assert store.unexecuted_intents() == []


# --- orders and fills --------------------------------------------------------------------------


def test_an_order_is_updated_in_place_and_keeps_its_creation_time(store: Store) -> None:
    store.record_order(order())
    filled = order(
        status="filled", price=D("70035"), filled=D("0.07142"), venue_order_id=7, updated_at=T0 + 5
    )
    fill = JournalFill("c1", D("0.07142"), D("70035"), D("2.0006"), T0 + 5)
    store.record_order(filled, fill)

    assert store.orders() == [filled]
    assert store.fills() == [fill]
    assert store.orders(active_only=True) == []
    assert store.legs_used("d1") == {"entry"}


def test_a_venue_state_travels_with_its_order(store: Store) -> None:
    paper = PaperVenue(paper_markets(), D(10_000))
    store.record_order(order(status="filled"), venue_state=(paper.name, paper.to_dict()))
    saved = store.venue_state("paper")
    assert saved is not None
    assert PaperVenue.from_dict(saved).to_dict() == paper.to_dict()


# --- the venue's truth -------------------------------------------------------------------------


def test_the_venue_truth_replaces_positions_and_adds_each_trade_once(store: Store) -> None:
    store.write_truth(VenueTruth(positions=(position("BTC"), position("ETH")), now_ms=T0))
    closed = VenueTruth(positions=(position("ETH"),), now_ms=T0 + 60_000, closed=(trade(),))
    store.write_truth(closed)
    store.write_truth(closed)  # seen closed twice: recorded once

    assert [p.symbol for p in store.positions()] == ["ETH"]
    assert store.positions()[0] == position("ETH")
    assert store.closed_trades() == [trade()]
    assert store.closed_trades(since_ms=T0 + 60_001) == []


def test_a_failure_mid_write_leaves_no_partial_rows(store: Store) -> None:
    store.write_truth(VenueTruth(positions=(position("BTC"),), now_ms=T0))
    orphan_fill = JournalFill("no-such-order", D(1), D(1), D(0), T0)  # breaks the foreign key
    broken = VenueTruth(
        positions=(position("SOL"),),
        now_ms=T0 + 1,
        orders=(order("c9"),),
        fills=(orphan_fill,),
        closed=(trade(),),
    )
    with pytest.raises(StoreError, match="venue truth"):
        store.write_truth(broken)

    assert [p.symbol for p in store.positions()] == ["BTC"]
    assert store.orders() == []
    assert store.closed_trades() == []


def test_an_exception_inside_a_write_rolls_it_back(store: Store) -> None:
    not_json = ("paper", {"state": object()})  # fails while the row is being written
    # SQLAlchemy wraps the encoder's TypeError on SQLite; psycopg lets it through on PostgreSQL.
    with pytest.raises((sa.exc.StatementError, TypeError), match="not JSON serializable"):
        store.record_order(order(status="filled"), venue_state=not_json)
    assert store.orders() == []
    assert store.venue_state("paper") is None


def test_a_bad_closed_trade_is_refused_with_everything_else(store: Store) -> None:
    with pytest.raises(StoreError):
        store.write_truth(
            VenueTruth(positions=(position("ETH"),), now_ms=T0, closed=(trade(reason="bored"),))
        )
    assert store.positions() == []


# --- risk state --------------------------------------------------------------------------------


def test_the_risk_state_starts_active_and_the_kill_switch_persists(db_url: str) -> None:
    store = Store.open(db_url)
    assert store.risk_state() == RiskState()
    store.set_trading_state(TradingState.HALTED, "manual", T0)
    store.set_trading_state(TradingState.HALTED, "manual", T0 + 1)  # twice is fine
    store.close()
    again = Store.open(db_url)
    state = again.risk_state()
    assert (state.trading_state, state.reason, state.updated_at) == (TradingState.HALTED, "manual", T0 + 1)
    assert again.set_trading_state(TradingState.ACTIVE, None, T0 + 2).trading_state is TradingState.ACTIVE
    again.close()


def test_the_start_of_day_equity_is_the_first_look_of_each_day(store: Store) -> None:
    day = T0 - T0 % DAY
    assert store.start_of_day_equity(day, 10_000.0, T0) == 10_000.0
    assert store.start_of_day_equity(day, 9_000.0, T0 + 1) == 10_000.0  # later the same day
    assert store.start_of_day_equity(day + DAY, 9_500.0, day + DAY + 5) == 9_500.0
    store.set_breaker(day + 2 * DAY, T0)
    assert store.risk_state().breaker_tripped_until_ms == day + 2 * DAY
    store.set_breaker(None, T0)
    assert store.risk_state().breaker_tripped_until_ms is None
