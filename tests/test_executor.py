"""VenueExecutor against both venues: entries get their stop and ladder, exits close, failures leave no
unprotected position, and a resend never doubles an order.

Intents come from the real RiskEngine over the executor's own portfolio; the venue is either the
paper venue or PacificaVenue on the fake Pacifica server (tests/executor_harness.py).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from consensus.decision import Action
from execution.journal import JournalOrder
from execution.orders import VenueExecutor
from execution.pacifica import client_order_id
from execution.pacifica_models import Trigger, VenueOrder
from tests.executor_harness import (  # noqa: F401
    Harness,
    harness_fixture,
    pacifica_harness_fixture,
    paper_harness_fixture,
)
from tests.fakes.server import http_error
from tests.fakes.venue_fixtures import fake_venue_fixture, signer_fixture  # noqa: F401

pytestmark = pytest.mark.anyio

D = Decimal
MARKET = "/orders/create_market"


def stops(orders: list[VenueOrder]) -> list[VenueOrder]:
    return [o for o in orders if o.order_type.startswith("stop_loss")]


def rungs(orders: list[VenueOrder]) -> list[VenueOrder]:
    return sorted(
        (o for o in orders if not o.order_type.startswith("stop_loss")), key=lambda o: o.stop_price or 0
    )


def legs(harness: Harness) -> dict[str, str]:
    return {o.leg: o.status for o in harness.store.orders()}


async def test_an_entry_gets_its_stop_and_a_ladder_that_adds_up_to_the_fill(harness: Harness) -> None:
    intent = await harness.approve(Action.LONG, "BTC", size=20.0, tp=(0.02, 0.04, 0.06), sl=0.02)

    report = await harness.executor.execute(intent)

    assert report.status == "filled", report.detail
    position = (await harness.positions())["BTC"]
    assert (position.side, position.amount) == ("bid", D(repr(report.filled_base)))
    orders = await harness.open_orders("BTC")
    assert all(o.reduce_only and o.side == "ask" for o in orders)
    [stop] = stops(orders)
    assert stop.stop_price is not None
    assert intent.stop_loss_price is not None
    assert 0 <= float(stop.stop_price) - intent.stop_loss_price < 1  # on the tick, towards the price
    ladder = rungs(orders)
    assert [float(o.stop_price or 0) for o in ladder] == pytest.approx(
        [r.price for r in intent.take_profit], abs=1
    )
    assert sum(o.initial_amount for o in ladder) == position.amount  # no dust left behind
    assert legs(harness) == {"entry": "filled", "sl": "open", "tp1": "open", "tp2": "open", "tp3": "open"}
    decision = harness.store.decision(intent.decision_id)
    assert decision is not None
    assert decision.execution_status == "filled"
    portfolio = await harness.executor.portfolio(harness.tick())
    [held] = portfolio.positions
    assert held.stop_loss_price == float(stop.stop_price)
    assert held.take_profit_prices == tuple(float(o.stop_price or 0) for o in ladder)


async def test_a_position_whose_stop_cannot_be_placed_is_closed_again(harness: Harness) -> None:
    intent = await harness.approve(Action.LONG, "ETH")
    harness.refuse_stops(3)  # every attempt of the executor

    report = await harness.executor.execute(intent)

    assert report.status == "unprotected_closed", report.detail
    assert report.filled_base > 0
    assert await harness.positions() == {}
    assert await harness.open_orders() == []
    assert legs(harness) == {  # the refused stops are settled by the reconciliation: never there
        "entry": "filled",
        "sl": "absent",
        "sl-2": "absent",
        "sl-3": "absent",
        "emergency_close": "filled",
    }
    [trade] = harness.store.closed_trades()
    assert (trade.symbol, trade.reason, trade.decision_id) == ("ETH", "emergency", intent.decision_id)
    assert trade.pnl_usd < 0  # slippage and two fees


async def test_an_exit_closes_and_cancels_the_resting_orders(harness: Harness) -> None:
    entry = await harness.approve(Action.SHORT, "SOL")
    assert (await harness.executor.execute(entry)).status == "filled"
    exit_ = await harness.approve(Action.CLOSE, "SOL")

    report = await harness.executor.execute(exit_)

    assert report.status == "closed", report.detail
    assert report.filled_base == pytest.approx(exit_.size_base)
    assert await harness.positions() == {}
    assert await harness.open_orders() == []
    [trade] = harness.store.closed_trades()
    assert (trade.side.value, trade.reason) == ("SHORT", "signal")
    assert trade.size == pytest.approx(exit_.size_base)
    again = await harness.executor.execute(exit_)  # a resend finds nothing left to close
    assert again.status == "noop"
    assert len(harness.store.closed_trades()) == 1


async def test_targets_and_stops_that_fire_become_closed_trades(harness: Harness) -> None:
    intent = await harness.approve(Action.LONG, "BTC", tp=(0.02, 0.04), sl=0.02)
    report = await harness.executor.execute(intent)
    full = report.filled_base

    harness.set_mark("BTC", "71500")  # through the first target
    portfolio = await harness.executor.portfolio(harness.tick())
    assert portfolio.positions[0].size_base == pytest.approx(full / 2, abs=1e-5)
    harness.set_mark("BTC", "68000")  # through the stop
    portfolio = await harness.executor.portfolio(harness.tick())

    assert portfolio.positions == ()
    [trade] = harness.store.closed_trades()
    assert trade.reason == "stop_loss"
    assert trade.size == pytest.approx(full)
    assert trade.exit_price is not None
    assert 68_000 * 0.999 < trade.exit_price < 71_500
    assert portfolio.recent_closes[0].pnl_usd == trade.pnl_usd
    assert portfolio.realized_pnl_today_usd == pytest.approx(trade.pnl_usd)
    assert legs(harness)["tp1"] == "filled"
    assert legs(harness)["tp2"] == "cancelled"  # with the position


async def test_a_partial_fill_is_protected_for_what_filled(pacifica_harness: Harness) -> None:
    harness = pacifica_harness
    assert harness.fake is not None
    intent = await harness.approve(Action.LONG, "ETH", tp=(0.02, 0.04, 0.06))
    harness.fake.partial_fill("0.4")

    report = await harness.executor.execute(intent)

    assert report.status == "filled"
    assert "partly filled" in report.detail
    position = (await harness.positions())["ETH"]
    assert float(position.amount) == pytest.approx(intent.size_base * 0.4, abs=2e-4)  # lot-rounded
    orders = await harness.open_orders("ETH")
    assert len(stops(orders)) == 1
    assert sum(o.initial_amount for o in rungs(orders)) == position.amount


async def test_a_resend_after_a_timeout_after_accept_places_one_order(pacifica_harness: Harness) -> None:
    harness = pacifica_harness
    assert harness.fake is not None
    intent = await harness.approve(Action.LONG, "BTC")
    harness.fake.stall_after_accept(MARKET, seconds=1.0)

    first = await harness.executor.execute(intent)
    again = await harness.executor.execute(intent)  # the engine resends the same decision

    entry = client_order_id(intent.decision_id, "entry")
    held = [order for acct in harness.fake.ledger.accounts.values() for order in acct.orders.values()]
    assert [o.client_order_id for o in held if not o.reduce_only] == [entry]
    assert (first.status, again.status) == ("filled", "filled")
    assert (await harness.positions())["BTC"].amount == D(repr(first.filled_base))
    assert len(stops(await harness.open_orders("BTC"))) == 1


async def test_an_ambiguous_entry_is_reconciled_before_the_report(pacifica_harness: Harness) -> None:
    harness = pacifica_harness
    assert harness.fake is not None
    intent = await harness.approve(Action.LONG, "BTC")
    harness.fake.stall_after_accept(MARKET, seconds=1.0)
    harness.fake.inject("/orders", http_error(503), times=12)  # every lookup of the venue fails

    report = await harness.executor.execute(intent)

    assert report.status == "filled"
    assert "reconciled" in report.detail
    assert len(stops(await harness.open_orders("BTC"))) == 1  # the decision's stop, from the journal
    assert not harness.executor.needs_reconcile


async def test_reconcile_protects_a_position_an_interrupted_entry_left(harness: Harness) -> None:
    # As if the process died right after sending the entry: the intent and the order are journaled.
    intent = await harness.approve(Action.LONG, "BTC", sl=0.03)
    now = harness.tick()
    harness.store.record_intent(intent, now)
    entry = client_order_id(intent.decision_id, "entry")
    pending = JournalOrder(
        entry, intent.decision_id, "entry", "BTC", "bid", "market", D("0.1"), None, False, "pending", now, now
    )
    harness.store.record_order(pending)
    await harness.venue.place_market_order("BTC", "bid", D("0.1"), client_order_id=entry)
    restarted = VenueExecutor(harness.venue, harness.store, now=harness.clock, attempts=3, retry_wait_s=0)
    assert restarted.needs_reconcile

    await restarted.portfolio(harness.tick())  # no decision before reconciling

    [stop] = stops(await harness.open_orders("BTC"))
    assert stop.stop_price is not None
    assert intent.stop_loss_price is not None
    assert 0 <= float(stop.stop_price) - intent.stop_loss_price < 1  # the decision's own stop
    [position] = harness.store.positions()
    assert (position.decision_id, position.stop_loss_price) == (intent.decision_id, stop.stop_price)
    [settled] = harness.store.orders_by_id([entry]).values()
    assert (settled.status, settled.filled) == ("filled", D("0.1"))


async def test_reconcile_gives_an_unknown_position_the_widest_stop(harness: Harness) -> None:
    await harness.venue.place_market_order("ETH", "ask", D("1"), client_order_id=client_order_id("x", "y"))
    entry_price = (await harness.positions())["ETH"].entry_price

    report = await harness.executor.reconcile(harness.tick())

    assert report.stops_placed == ("ETH",)
    [stop] = stops(await harness.open_orders("ETH"))
    assert stop.stop_price == (entry_price * D("1.2")).quantize(D("0.1"), rounding="ROUND_FLOOR")


async def test_reconcile_cancels_orders_with_nothing_to_reduce_and_is_idempotent(harness: Harness) -> None:
    intent = await harness.approve(Action.SHORT, "BTC")
    await harness.executor.execute(intent)
    orphan = client_order_id("orphan", "tp1")
    await harness.venue.place_stop_order(
        "SOL", "ask", Trigger(D("140"), D("1"), client_order_id=orphan), kind="take_profit"
    )

    report = await harness.executor.reconcile(harness.tick())

    assert report.orders_cancelled == (orphan,)
    assert report.stops_placed == report.positions_closed == ()
    assert await harness.open_orders("SOL") == []
    journal = (harness.store.orders(), harness.store.positions())
    again = await harness.executor.reconcile(harness.clock.now)
    assert (again.orders_cancelled, again.stops_placed, again.positions_closed) == ((), (), ())
    assert (harness.store.orders(), harness.store.positions()) == journal


async def test_a_stop_resent_after_a_timeout_is_followed_by_its_newest_order(
    pacifica_harness: Harness,
) -> None:
    harness = pacifica_harness
    assert harness.fake is not None
    intent = await harness.approve(Action.LONG, "BTC", sl=0.02)
    harness.fake.stall_after_accept("/positions/tpsl", seconds=1.0)  # the resend replaces the first

    assert (await harness.executor.execute(intent)).status == "filled"
    harness.set_mark("BTC", "68000")  # through the stop
    await harness.executor.portfolio(harness.tick())

    sl = client_order_id(intent.decision_id, "sl")
    held = [o for acct in harness.fake.ledger.accounts.values() for o in acct.orders.values()]
    assert [o.status for o in held if o.client_order_id == sl] == ["cancelled", "filled"]
    assert legs(harness)["sl"] == "filled"
    [trade] = harness.store.closed_trades()
    assert trade.reason == "stop_loss"


async def test_a_refused_resend_does_not_unmake_the_order_that_landed(pacifica_harness: Harness) -> None:
    harness = pacifica_harness
    assert harness.fake is not None
    intent = await harness.approve(Action.LONG, "ETH")
    first = await harness.executor.execute(intent)
    harness.fake.inject(MARKET, harness.fake.reject(0, "Try again later"))

    again = await harness.executor.execute(intent)  # executed again after a crash, say

    assert (first.status, again.status) == ("filled", "filled")
    assert "reconciled" in again.detail
    assert legs(harness)["entry"] == "filled"  # the refusal did not turn it into "rejected"
    assert (await harness.positions())["ETH"].amount == D(repr(first.filled_base))


@pytest.mark.parametrize("keep", [True, False])
async def test_a_paper_account_is_saved_with_the_journal_unless_told_not_to(
    paper_harness: Harness, keep: bool
) -> None:
    """`swarm run --paper` resumes its account from the store; a backtest's store never is."""
    assert paper_harness.paper is not None
    executor = VenueExecutor(
        paper_harness.paper,
        paper_harness.store,
        now=paper_harness.clock,
        keep_venue_state=keep,
        retry_wait_s=0.0,
    )
    paper_harness.executor = executor
    report = await executor.execute(await paper_harness.approve(Action.LONG, "BTC", size=20.0, sl=0.02))
    assert report.status == "filled"
    saved = paper_harness.store.venue_state(paper_harness.paper.name)
    if keep:
        assert saved == paper_harness.paper.to_dict()
    else:
        assert saved is None
