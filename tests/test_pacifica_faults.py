"""PacificaVenue under faults: 429, 5xx, a timeout after the order was taken, lagging reads, partial fills."""

from __future__ import annotations

import time
from decimal import Decimal

import anyio
import pytest

from execution.errors import AmbiguousOrderState, TransientVenueError
from execution.pacifica import PacificaVenue, client_order_id
from execution.pacifica_models import Trigger
from execution.ratelimit import CreditBucket
from execution.signing import PacificaSigner
from tests.fakes.pacifica_venue import FakePacificaVenue
from tests.fakes.server import http_error, rate_limited
from tests.fakes.venue_fixtures import fake_venue_fixture, make_venue, signer_fixture, venue_fixture  # noqa: F401

pytestmark = pytest.mark.anyio

D = Decimal
MARKET = "/orders/create_market"
STOP = "/orders/stop/create"
ENTRY = client_order_id("decision-7", "entry")
SHORT_EXPIRY_MS = 800  # the venue waits this out after a timeout; long enough for a slow machine


def orders_held(fake: FakePacificaVenue, signer: PacificaSigner) -> list[str | None]:
    """The client ids of every order the exchange holds, in any state."""
    return [o.client_order_id for o in fake.account_of(signer.account).orders.values()]


def position_amount(fake: FakePacificaVenue, signer: PacificaSigner, symbol: str = "BTC") -> Decimal:
    return fake.account_of(signer.account).positions[symbol].amount


async def test_a_429_is_waited_out_and_the_order_sent_once_more(
    venue: PacificaVenue, fake_venue: FakePacificaVenue, signer: PacificaSigner
) -> None:
    fake_venue.inject(MARKET, rate_limited(retry_after=0.3))

    result = await venue.place_market_order("BTC", "bid", D("0.01"), client_order_id=ENTRY)

    first, second = fake_venue.calls(MARKET)
    assert second.at - first.at >= 0.3
    assert fake_venue.calls("/orders/history")[0].at > second.at  # a 429 was not taken: no lookup first
    assert result.filled_amount == D("0.01")
    assert orders_held(fake_venue, signer) == [ENTRY]


async def test_a_429_pauses_every_request_sharing_the_bucket(
    fake_venue: FakePacificaVenue, signer: PacificaSigner
) -> None:
    bucket = CreditBucket(credits=1000)
    fake_venue.inject("/positions", rate_limited(retry_after=0.4))
    async with make_venue(fake_venue, signer, bucket=bucket) as venue, anyio.create_task_group() as group:
        group.start_soon(venue.positions)
        await anyio.sleep(0.1)  # the 429 has come back and paused the bucket
        started = time.monotonic()
        await venue.account()
    assert time.monotonic() - started >= 0.2


async def test_5xx_reads_are_retried(venue: PacificaVenue, fake_venue: FakePacificaVenue) -> None:
    fake_venue.inject("/positions", http_error(502), times=2)
    assert await venue.positions() == []
    assert len(fake_venue.calls("/positions")) == 3


async def test_a_5xx_order_is_looked_up_before_it_is_sent_again(
    fake_venue: FakePacificaVenue, signer: PacificaSigner
) -> None:
    fake_venue.inject(MARKET, http_error(500, {"success": False, "error": "engine busy", "code": 500}))

    async with make_venue(fake_venue, signer, expiry_window_ms=SHORT_EXPIRY_MS) as venue:
        result = await venue.place_market_order("BTC", "bid", D("0.01"), client_order_id=ENTRY)

    first, second = fake_venue.calls(MARKET)
    [lookup, *_] = fake_venue.calls("/orders")
    assert first.at + SHORT_EXPIRY_MS / 1000 - 0.05 <= lookup.at < second.at  # waited for the first to expire
    assert result.fully_filled
    assert orders_held(fake_venue, signer) == [ENTRY]


async def test_a_timeout_after_the_order_was_taken_does_not_double_it(
    fake_venue: FakePacificaVenue, signer: PacificaSigner
) -> None:
    fake_venue.stall_after_accept(MARKET)
    async with make_venue(fake_venue, signer, timeout_s=0.3, expiry_window_ms=SHORT_EXPIRY_MS) as venue:
        result = await venue.place_market_order("BTC", "bid", D("0.01"), client_order_id=ENTRY)

    assert len(fake_venue.calls(MARKET)) == 1  # found by the lookup, never resent
    assert (result.filled_amount, result.client_order_id) == (D("0.01"), ENTRY)
    assert orders_held(fake_venue, signer) == [ENTRY]
    assert position_amount(fake_venue, signer) == D("0.01")


async def test_a_lagging_lookup_resends_and_the_duplicate_counts_as_placed(
    fake_venue: FakePacificaVenue, signer: PacificaSigner
) -> None:
    fake_venue.stall_after_accept(MARKET)
    fake_venue.hide_new_orders(reads=1)  # the lookup misses the order that did land
    async with make_venue(fake_venue, signer, timeout_s=0.3, expiry_window_ms=SHORT_EXPIRY_MS) as venue:
        result = await venue.place_market_order("BTC", "bid", D("0.01"), client_order_id=ENTRY)

    assert len(fake_venue.calls(MARKET)) == 2
    assert fake_venue.refusals[-1][:2] == (MARKET, 409)
    assert result.filled_amount == D("0.01")
    assert orders_held(fake_venue, signer) == [ENTRY]
    assert position_amount(fake_venue, signer) == D("0.01")


async def test_a_timeout_whose_lookups_fail_is_ambiguous_and_never_resent(
    fake_venue: FakePacificaVenue, signer: PacificaSigner
) -> None:
    fake_venue.stall_after_accept(MARKET)
    fake_venue.inject("/orders", http_error(503), times=100)
    async with make_venue(fake_venue, signer, timeout_s=0.3, expiry_window_ms=SHORT_EXPIRY_MS) as venue:
        with pytest.raises(AmbiguousOrderState, match="may have been placed") as caught:
            await venue.place_market_order("BTC", "bid", D("0.01"), client_order_id=ENTRY)

    assert caught.value.client_order_id == ENTRY
    assert len(fake_venue.calls(MARKET)) == 1
    assert orders_held(fake_venue, signer) == [ENTRY]


async def test_orders_that_never_left_are_transient_not_ambiguous(
    venue: PacificaVenue, fake_venue: FakePacificaVenue, signer: PacificaSigner
) -> None:
    fake_venue.inject(MARKET, rate_limited(retry_after=0.01), times=3)
    with pytest.raises(TransientVenueError, match=r"not placed: .*HTTP 429") as caught:
        await venue.place_market_order("BTC", "bid", D("0.01"), client_order_id=ENTRY)
    assert not isinstance(caught.value, AmbiguousOrderState)
    assert orders_held(fake_venue, signer) == []


async def test_a_partial_fill_is_reported_as_such(
    venue: PacificaVenue, fake_venue: FakePacificaVenue, signer: PacificaSigner
) -> None:
    fake_venue.partial_fill("0.4")

    result = await venue.place_market_order("ETH", "ask", D("0.5"), client_order_id=ENTRY)

    assert (result.amount, result.filled_amount, result.unfilled_amount) == (D("0.5"), D("0.2"), D("0.3"))
    assert not result.fully_filled
    assert result.status == "cancelled"  # a market order's unfilled rest is not kept
    assert result.average_price == D("3498.2")  # 3500 - 0.05 % = 3498.25, half-even to the 0.1 tick
    [position] = await venue.positions()
    assert (position.side, position.amount) == ("ask", D("0.2"))


async def test_the_bucket_spreads_requests_instead_of_failing(
    fake_venue: FakePacificaVenue, signer: PacificaSigner
) -> None:
    bucket = CreditBucket(credits=3, window_s=0.4)
    async with make_venue(fake_venue, signer, bucket=bucket) as venue:
        for _ in range(5):
            await venue.positions()
    calls = fake_venue.calls("/positions")
    assert len(calls) == 5
    assert calls[3].at - calls[0].at >= 0.35  # the fourth waited for the first to leave the window


async def test_a_cancel_costs_half_a_credit(fake_venue: FakePacificaVenue, signer: PacificaSigner) -> None:
    bucket = CreditBucket(credits=2, window_s=60)
    async with make_venue(fake_venue, signer, bucket=bucket) as venue:
        started = time.monotonic()
        for _ in range(4):
            assert await venue.cancel_all("BTC") == 0
    assert time.monotonic() - started < 0.5
    assert bucket.available() == 0


async def test_a_ladder_retried_after_a_failed_rung_places_each_rung_once(
    venue: PacificaVenue, fake_venue: FakePacificaVenue, signer: PacificaSigner
) -> None:
    await venue.place_market_order("BTC", "bid", D("0.01"), client_order_id=ENTRY)
    rungs = [
        Trigger(D(price), D("0.004"), client_order_id=client_order_id("decision-7", f"tp{i}"))
        for i, price in enumerate(("72000", "74000"))
    ]
    await venue.place_stop_order("BTC", "ask", rungs[0], kind="take_profit")
    fake_venue.inject(STOP, rate_limited(retry_after=0.01), times=3)
    with pytest.raises(TransientVenueError):
        await venue.place_take_profit_ladder("BTC", "ask", rungs)  # rung 0 is there, rung 1 fails

    ids = await venue.place_take_profit_ladder("BTC", "ask", rungs)

    assert fake_venue.refusals[-1][:2] == (STOP, 409)  # rung 0 again: already placed
    assert sorted(o.order_id for o in await venue.open_orders()) == sorted(ids)
    assert orders_held(fake_venue, signer) == [ENTRY, rungs[0].client_order_id, rungs[1].client_order_id]
