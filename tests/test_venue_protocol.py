"""One interface, two venues: the same scenarios against PaperVenue and PacificaVenue (on the fake).

Each scenario is written once against `Venue` and asserts literal expectations, so passing on
both venues shows they answer the order manager's calls with the same positions and orders.
The paper venue is set up like the fake: marks BTC 70 000, fee 0.0004, 5 bps slippage, 100 000 USD.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from execution.errors import OrderRejected
from execution.pacifica import PacificaVenue, client_order_id
from execution.pacifica_models import Trigger, VenueOrder
from execution.paper import PaperVenue, paper_markets
from execution.venue import Venue
from tests.fakes.venue_fixtures import (  # noqa: F401
    fake_venue_fixture,
    make_venue,
    signer_fixture,
    venue_fixture,
)

pytestmark = pytest.mark.anyio

D = Decimal
ENTRY, EXIT, SL, TP1, TP2 = (
    client_order_id("shared-1", leg) for leg in ("entry", "exit", "sl", "tp1", "tp2")
)


def _paper() -> PaperVenue:
    paper = PaperVenue(paper_markets(), D(100_000))
    paper.set_mark("BTC", D(70_000), 1_767_225_600_000)
    return paper


@pytest.fixture(name="any_venue", params=["paper", "pacifica"])
async def any_venue_fixture(request: pytest.FixtureRequest) -> AsyncIterator[Venue]:
    if request.param == "pacifica":
        fake, signer = request.getfixturevalue("fake_venue"), request.getfixturevalue("signer")
        async with make_venue(fake, signer) as pacifica:
            yield pacifica
    else:
        async with _paper() as paper:
            yield paper


def drive(venue: Venue) -> str:
    """Typed against the protocol only: mypy checks the calls below accept either venue."""
    return venue.name


async def test_both_venues_satisfy_the_protocol(venue: PacificaVenue) -> None:
    paper = _paper()
    assert isinstance(venue, Venue)
    assert isinstance(paper, Venue)
    assert (drive(venue), drive(paper)) == ("pacifica", "paper")


def _shape(order: VenueOrder) -> tuple[object, ...]:
    return (
        order.symbol, order.side, order.order_type, order.stop_price, order.initial_amount,
        order.reduce_only, order.client_order_id, order.price,
    )  # fmt: skip


async def test_entry_protection_cancel_and_reads_have_the_same_shapes(any_venue: Venue) -> None:
    result = await any_venue.place_market_order("BTC", "bid", D("0.01"), client_order_id=ENTRY)
    await any_venue.set_position_tpsl(
        "BTC", "ask", stop_loss=Trigger(D("66000.4")), take_profit=Trigger(D(80_000), client_order_id=TP2)
    )
    ids = await any_venue.place_take_profit_ladder(
        "BTC", "ask", [Trigger(D(72_000), D("0.004"), client_order_id=TP1)]
    )

    assert (result.filled_amount, result.average_price, result.status) == (D("0.01"), D(70_035), "filled")
    [position] = await any_venue.positions()
    assert (position.symbol, position.side, position.amount, position.entry_price) == (
        "BTC", "bid", D("0.01"), D(70_035),
    )  # fmt: skip
    assert sorted(_shape(o) for o in await any_venue.open_orders()) == [
        ("BTC", "ask", "stop_loss_market", D(66_001), D("0.01"), True, None, D(0)),  # a long's stop rounds up
        ("BTC", "ask", "stop_market", D(72_000), D("0.004"), True, TP1, D(0)),
        ("BTC", "ask", "take_profit_market", D(80_000), D("0.01"), True, TP2, D(0)),
    ]
    assert [o.order_id for o in await any_venue.open_orders() if o.client_order_id == TP1] == ids

    assert await any_venue.cancel_order("BTC", TP1) is True
    assert await any_venue.cancel_order("BTC", TP1) is False
    record = await any_venue.find_order(TP1)
    assert record is not None
    assert (record.order_status, record.stop_price) == ("cancelled", D(72_000))
    assert await any_venue.cancel_all("BTC", exclude_reduce_only=True) == 0
    assert await any_venue.cancel_all("BTC") == 2
    assert await any_venue.open_orders() == []
    account = await any_venue.account()
    assert (account.balance, account.positions_count, account.stop_orders_count) == (
        D(100_000) - D("0.28014"), 1, 0,
    )  # fmt: skip


async def test_a_resent_entry_or_stop_order_is_the_order_already_placed(any_venue: Venue) -> None:
    first = await any_venue.place_market_order("BTC", "bid", D("0.01"), client_order_id=ENTRY)
    again = await any_venue.place_market_order("BTC", "bid", D("0.01"), client_order_id=ENTRY)
    stop = Trigger(D(66_000), D("0.01"), client_order_id=SL)
    stop_id = await any_venue.place_stop_order("BTC", "ask", stop, kind="stop_loss")
    stop_again = await any_venue.place_stop_order("BTC", "ask", stop, kind="stop_loss")

    assert again == first
    assert stop_again == stop_id
    [position] = await any_venue.positions()
    assert position.amount == D("0.01")
    assert [o.client_order_id for o in await any_venue.open_orders()] == [SL]


async def test_reduce_only_closes_and_refuses_with_nothing_to_reduce(any_venue: Venue) -> None:
    await any_venue.place_market_order("BTC", "bid", D("0.01"), client_order_id=ENTRY)
    await any_venue.set_position_tpsl("BTC", "ask", stop_loss=Trigger(D(66_000)))
    result = await any_venue.place_market_order(
        "BTC", "ask", D("0.02"), client_order_id=EXIT, reduce_only=True
    )

    assert (result.amount, result.filled_amount, result.average_price) == (D("0.01"), D("0.01"), D(69_965))
    assert await any_venue.positions() == []
    assert await any_venue.open_orders() == []  # the stop went with the position
    with pytest.raises(OrderRejected, match=r"(?i)position"):  # refused on both, in their own words
        await any_venue.place_market_order("BTC", "ask", D("0.01"), client_order_id=SL, reduce_only=True)
