"""PacificaVenue against the fake Pacifica venue: orders, TP/SL, ladder, rounding, cancels, reads, auth."""

from __future__ import annotations

import time
import uuid
from decimal import Decimal

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from execution.errors import AuthError, OrderRejected
from execution.markets import MarketSpec, Rounding, quantize, wire
from execution.pacifica import PacificaVenue, client_order_id
from execution.pacifica_models import Trigger
from execution.signing import PacificaSigner
from tests.fakes.pacifica_venue import FakePacificaVenue
from tests.fakes.venue_fixtures import (  # noqa: F401
    DoublingTransport,
    fake_venue_fixture,
    make_venue,
    signer_fixture,
    venue_fixture,
)

pytestmark = pytest.mark.anyio

D = Decimal
ENTRY, SL, TP1, TP2 = (client_order_id("decision-1", leg) for leg in ("entry", "sl", "tp1", "tp2"))


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def all_posts(fake: FakePacificaVenue) -> list[dict[str, object]]:
    return [dict(r.params) for r in fake.requests if "verified" in r.params]


async def open_long(venue: PacificaVenue, amount: str = "0.01", cloid: str = ENTRY) -> None:
    result = await venue.place_market_order("BTC", "bid", D(amount), client_order_id=cloid)
    assert result.fully_filled


async def test_a_market_order_fills_and_opens_the_position(
    venue: PacificaVenue, fake_venue: FakePacificaVenue
) -> None:
    result = await venue.place_market_order("BTC", "bid", D("0.01"), client_order_id=ENTRY)

    assert (result.symbol, result.side, result.client_order_id) == ("BTC", "bid", ENTRY)
    assert (result.amount, result.filled_amount, result.status) == (D("0.01"), D("0.01"), "filled")
    assert result.average_price == D("70035")  # mark 70000 + 0.05 % slippage, on the tick
    [position] = await venue.positions()
    assert (position.symbol, position.side, position.amount, position.entry_price) == (
        "BTC", "bid", D("0.01"), D("70035"),
    )  # fmt: skip
    [post] = fake_venue.posts("/orders/create_market")
    assert post.verified
    assert post.body["slippage_percent"] == "0.5"
    assert post.body["client_order_id"] == ENTRY


async def test_stop_loss_take_profit_and_ladder_rest_as_reduce_only_orders(
    venue: PacificaVenue, fake_venue: FakePacificaVenue
) -> None:
    await open_long(venue)
    await venue.set_position_tpsl(
        "BTC", "ask", stop_loss=Trigger(D("66000")), take_profit=Trigger(D("80000"), client_order_id=TP2)
    )
    ids = await venue.place_take_profit_ladder(
        "BTC", "ask", [Trigger(D("72000"), D("0.004"), client_order_id=TP1)]
    )

    orders = {o.order_type: o for o in await venue.open_orders()}
    assert set(orders) == {"stop_loss_market", "take_profit_market", "stop_market"}
    assert all(o.reduce_only and o.side == "ask" for o in orders.values())
    assert orders["stop_loss_market"].stop_price == D("66000")
    assert orders["take_profit_market"].client_order_id == TP2
    rung = orders["stop_market"]
    assert (rung.order_id, rung.client_order_id, rung.stop_price, rung.initial_amount) == (
        ids[0], TP1, D("72000"), D("0.004"),
    )  # fmt: skip
    [tpsl] = fake_venue.posts("/positions/tpsl")
    assert tpsl.body["stop_loss"] == {"stop_price": "66000", "trigger_price_type": "mark_price"}
    assert all(post["verified"] for post in all_posts(fake_venue))


async def test_the_mark_reaching_the_ladder_then_the_stop_closes_the_position(
    venue: PacificaVenue, fake_venue: FakePacificaVenue
) -> None:
    await open_long(venue)
    await venue.set_position_tpsl("BTC", "ask", stop_loss=Trigger(D("66000")))
    await venue.place_take_profit_ladder("BTC", "ask", [Trigger(D("72000"), D("0.004"), client_order_id=TP1)])

    fake_venue.set_mark("BTC", "72500")
    [position] = await venue.positions()
    assert position.amount == D("0.006")
    fake_venue.set_mark("BTC", "65000")
    assert await venue.positions() == []
    assert await venue.open_orders() == []
    account = await venue.account()
    assert account.positions_count == 0
    assert account.balance < D("100000")  # a loss on the rest, and fees


async def test_amounts_round_down_to_the_lot_and_triggers_towards_the_price(
    venue: PacificaVenue, fake_venue: FakePacificaVenue
) -> None:
    # ODD: tick 0.5, lot 0.25, mark 20.
    result = await venue.place_market_order("ODD", "bid", D("1.99"), client_order_id=ENTRY)
    await venue.set_position_tpsl(
        "ODD", "ask", stop_loss=Trigger(D("17.3")), take_profit=Trigger(D("23.9"), amount=D("0.6"))
    )

    assert result.amount == D("1.75")
    tpsl = fake_venue.posts("/positions/tpsl")[0].body
    assert tpsl["stop_loss"]["stop_price"] == "17.5"  # a long's stop rounds up: never a bigger loss
    assert tpsl["take_profit"] == {"stop_price": "23.5", "amount": "0.5", "trigger_price_type": "mark_price"}


def test_rounding_rules_for_each_side_and_kind() -> None:
    spec = MarketSpec(symbol="X", tick_size=D("0.5"), lot_size=D("0.1"), max_leverage=5)
    assert spec.amount(D("0.39")) == D("0.3")
    assert (spec.limit_price(D("10.2"), "bid"), spec.limit_price(D("10.2"), "ask")) == (D("10"), D("10.5"))
    assert spec.trigger_price(D("9.2"), "ask", "stop_loss") == D("9.5")  # long's stop, below: up
    assert spec.trigger_price(D("11.2"), "ask", "take_profit") == D("11")  # long's target, above: down
    assert spec.trigger_price(D("11.2"), "bid", "stop_loss") == D("11")  # short's stop, above: down
    assert spec.trigger_price(D("9.2"), "bid", "take_profit") == D("9.5")  # short's target, below: up
    assert spec.trigger_price(D("9.5"), "bid", "take_profit") == D("9.5")  # on the tick: unchanged
    with pytest.raises(OrderRejected, match="below one lot"):
        spec.amount(D("0.09"))
    assert quantize(D("-1.25"), D("0.5"), Rounding.DOWN) == D("-1.5")
    assert [wire(D(v)) for v in ("1E+2", "0.00010", "-0", "5")] == ["100", "0.0001", "0", "5"]


MARKETS = {"BTC": D("70000"), "ETH": D("3500"), "SOL": D("150"), "ODD": D("20")}
notional = st.decimals(min_value=D("15"), max_value=D("3000"), places=3)
fraction = st.decimals(min_value=D("0.005"), max_value=D("0.2"), places=5)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(symbol=st.sampled_from(sorted(MARKETS)), usd=notional, sl=fraction, tp=fraction, split=fraction)
async def test_every_rounded_request_is_accepted(
    venue: PacificaVenue, fake_venue: FakePacificaVenue, symbol: str, usd: D, sl: D, tp: D, split: D
) -> None:
    mark, spec = MARKETS[symbol], await venue.market(symbol)
    amount = usd / mark * D("1.0000137")  # hardly ever a lot multiple by luck
    entry = await venue.place_market_order(symbol, "bid", amount, client_order_id=str(uuid.uuid4()))
    await venue.set_position_tpsl(symbol, "ask", stop_loss=Trigger(mark * (1 - sl) + D("0.00123")))
    rung = Trigger(
        mark * (1 + tp) - D("0.00123"), entry.filled_amount * split * 5, client_order_id=str(uuid.uuid4())
    )
    if rung.amount and rung.amount >= spec.lot_size:
        await venue.place_take_profit_ladder(symbol, "ask", [rung])
    await venue.cancel_all(symbol)
    exit_id = str(uuid.uuid4())
    await venue.place_market_order(
        symbol, "ask", entry.filled_amount, client_order_id=exit_id, reduce_only=True
    )

    assert fake_venue.refusals == []
    assert entry.filled_amount == spec.amount(amount) > 0
    assert await venue.positions() == []


async def test_the_fake_refuses_an_amount_off_the_lot(
    fake_venue: FakePacificaVenue, signer: PacificaSigner
) -> None:
    payload = {
        "symbol": "BTC",
        "amount": "0.000015",
        "side": "bid",
        "slippage_percent": "0.5",
        "reduce_only": False,
    }
    body = signer.sign("create_market_order", payload, now_ms(), 5000)
    async with httpx.AsyncClient() as client:
        response = await client.post(fake_venue.base_url + "/orders/create_market", json=body)
    assert (response.status_code, response.json()["error"]) == (400, "Bad Request")
    assert fake_venue.account_of(signer.account).positions == {}


async def test_a_body_changed_after_signing_is_refused_as_auth_error(
    fake_venue: FakePacificaVenue, signer: PacificaSigner
) -> None:
    async with httpx.AsyncClient(transport=DoublingTransport()) as client:
        venue = make_venue(fake_venue, signer, client=client)
        with pytest.raises(AuthError, match=r"POST /orders/create_market: HTTP 400: Verification failed"):
            await venue.place_market_order("BTC", "bid", D("0.01"), client_order_id=ENTRY)

    [post] = fake_venue.posts("/orders/create_market")
    assert (post.verified, post.reason, post.body["amount"]) == (False, "signature does not verify", "0.02")
    assert fake_venue.account_of(signer.account).orders == {}


async def test_an_expired_signature_is_an_auth_error(
    fake_venue: FakePacificaVenue, signer: PacificaSigner
) -> None:
    async with make_venue(fake_venue, signer, clock_ms=lambda: now_ms() - 60_000) as venue:
        with pytest.raises(AuthError, match="Verification failed"):
            await venue.update_leverage("BTC", 5)
    assert [p.reason for p in fake_venue.posts("/account/leverage")] == ["signature expired"]


async def test_an_agent_key_trades_for_the_main_account_once_bound(fake_venue: FakePacificaVenue) -> None:
    main = PacificaSigner(bytes(range(50, 82))).public_key
    agent = PacificaSigner(bytes(range(90, 122)), account=main)
    fake_venue.fund(main, "5000")
    async with make_venue(fake_venue, agent) as venue:
        with pytest.raises(AuthError, match="Agent not authorized for account"):
            await venue.update_leverage("BTC", 5)
        fake_venue.bind_agent(main, agent.public_key)
        await venue.place_market_order("BTC", "ask", D("0.001"), client_order_id=ENTRY)
        [position] = await venue.positions()

    assert (position.side, position.amount) == ("ask", D("0.001"))
    post = fake_venue.posts("/orders/create_market")[0]
    assert (post.body["account"], post.body["agent_wallet"], post.verified) == (main, agent.public_key, True)


async def test_an_exchange_refusal_carries_its_code(
    venue: PacificaVenue, fake_venue: FakePacificaVenue
) -> None:
    with pytest.raises(OrderRejected, match="Insufficient balance") as caught:
        await venue.place_market_order("BTC", "bid", D("100"), client_order_id=ENTRY)  # 7 M USD
    assert (caught.value.code, caught.value.status) == (5, 422)
    assert await venue.positions() == []

    fake_venue.inject("/orders/create_market", fake_venue.reject(30, "Price too far from mark"))
    with pytest.raises(OrderRejected) as far:
        await venue.place_market_order("BTC", "bid", D("0.01"), client_order_id=SL)
    assert (far.value.code, far.value.status) == (30, 422)


async def test_cancel_by_client_order_id_and_cancel_all(venue: PacificaVenue) -> None:
    await open_long(venue)
    rungs = [
        Trigger(D("72000"), D("0.004"), client_order_id=TP1),
        Trigger(D("74000"), D("0.004"), client_order_id=TP2),
    ]
    await venue.place_take_profit_ladder("BTC", "ask", rungs)

    assert await venue.cancel_order("BTC", TP1) is True
    assert await venue.cancel_order("BTC", TP1) is False
    assert [o.client_order_id for o in await venue.open_orders()] == [TP2]
    assert await venue.cancel_all("BTC") == 1
    assert await venue.open_orders() == []


async def test_leverage_within_the_market_maximum(
    venue: PacificaVenue, fake_venue: FakePacificaVenue
) -> None:
    await venue.update_leverage("SOL", 20)
    with pytest.raises(OrderRejected, match=r"leverage 21 outside 1\.\.20"):
        await venue.update_leverage("SOL", 21)
    assert [p.body["leverage"] for p in fake_venue.posts("/account/leverage")] == [20]


async def test_reads_parse_the_wire_format(venue: PacificaVenue) -> None:
    markets = await venue.markets()
    assert sorted(markets) == ["BTC", "ETH", "ODD", "SOL"]  # the spot market is left out
    assert (markets["BTC"].tick_size, markets["BTC"].lot_size, markets["BTC"].min_order_size) == (
        D("1"), D("0.00001"), D("10"),
    )  # fmt: skip
    account = await venue.account()
    assert (account.balance, account.account_equity, account.positions_count) == (D("100000"), D("100000"), 0)
    with pytest.raises(OrderRejected, match="no perpetual market 'DOGE'"):
        await venue.market("DOGE")


def test_client_order_ids_derive_from_the_decision_and_the_leg() -> None:
    first = client_order_id("decision-1", "entry")
    assert first == ENTRY
    assert uuid.UUID(first).version == 5
    assert len({ENTRY, SL, TP1, TP2, client_order_id("decision-2", "entry")}) == 5
    assert client_order_id("a", "b:c") != client_order_id("a:b", "c")
