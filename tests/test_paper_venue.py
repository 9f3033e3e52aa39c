"""PaperVenue, hand-computed: fills, book walks, TP/SL and ladders on candles, funding, ids, state.

Defaults throughout: BTC tick 1, lot 0.00001; taker fee 0.0004; slippage 5 bps; 10 000 USD.
A buy of 0.01 BTC at mark 70 000 fills at 70 000 x 1.0005 = 70 035 and pays 0.28014 fee.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from execution.errors import OrderRejected
from execution.pacifica import client_order_id
from execution.pacifica_models import Trigger
from execution.paper import PaperVenue, paper_markets
from feeds.types import HOUR_MS, BookLevel, Candles, OrderBook, Timeframe

pytestmark = pytest.mark.anyio

D = Decimal
START = D(10_000)
ENTRY, EXIT, TP1, TP2, TP3 = (
    client_order_id("decision-1", leg) for leg in ("entry", "exit", "tp1", "tp2", "tp3")
)
T0 = 1_767_225_600_000  # 2026-01-01T00:00Z, on the hour


def venue(**options: D) -> PaperVenue:
    paper = PaperVenue(paper_markets(), START, **options)
    paper.set_mark("BTC", D(70_000), T0)
    paper.set_mark("ETH", D(3_500), T0)
    return paper


async def long_btc(paper: PaperVenue, amount: str = "0.01") -> None:
    result = await paper.place_market_order("BTC", "bid", D(amount), client_order_id=ENTRY)
    assert result.fully_filled


def candle(paper: PaperVenue, hour: int, o: int, h: int, low: int, c: int) -> None:
    paper.on_candle("BTC", T0 + hour * HOUR_MS, D(o), D(h), D(low), D(c), HOUR_MS)


async def open_shapes(paper: PaperVenue) -> list[tuple[str, str, D | None, D]]:
    return sorted((o.order_type, o.side, o.stop_price, o.initial_amount) for o in await paper.open_orders())


async def test_a_market_buy_fills_at_the_mark_plus_slippage_and_pays_the_taker_fee() -> None:
    paper = venue()
    result = await paper.place_market_order("BTC", "bid", D("0.010004"), client_order_id=ENTRY)

    assert (result.amount, result.filled_amount, result.average_price, result.status) == (
        D("0.01"), D("0.01"), D("70035"), "filled",
    )  # fmt: skip
    [position] = await paper.positions()
    assert (position.symbol, position.side, position.amount, position.entry_price) == (
        "BTC", "bid", D("0.01"), D("70035"),
    )  # fmt: skip
    account = await paper.account()
    assert account.balance == START - D("0.28014")  # 700.35 x 0.0004
    assert account.account_equity == START - D("0.28014") - D("0.35")  # marked at 70 000
    assert account.total_margin_used == D("14")  # 700 / 50x


async def test_a_modelled_fill_rounds_to_the_tick_against_the_taker() -> None:
    paper = venue(slippage_bps=D(10))
    paper.set_mark("SOL", D("150.123"), T0)
    buy = await paper.place_market_order("SOL", "bid", D(1), client_order_id=ENTRY)
    sell = await paper.place_market_order("SOL", "ask", D(1), client_order_id=EXIT)

    assert buy.average_price == D("150.28")  # 150.273123 up
    assert sell.average_price == D("149.97")  # 149.973877 down
    assert await paper.positions() == []
    assert paper.statement().realized_pnl == D("-0.31")


def book(*asks: tuple[str, str], ts_ms: int = T0) -> OrderBook:
    bids = (BookLevel(69_990.0, 1.0),)
    return OrderBook(ts_ms, bids, tuple(BookLevel(float(p), float(a)) for p, a in asks))


async def test_a_market_order_walks_the_book_and_uses_its_liquidity_up() -> None:
    paper = venue()
    paper.set_book("BTC", book(("70010", "0.01"), ("70030", "0.01"), ("70050", "0.02")))

    first = await paper.place_market_order("BTC", "bid", D("0.03"), client_order_id=ENTRY)
    second = await paper.place_market_order("BTC", "bid", D("0.01"), client_order_id=TP1)

    # (0.01 x 70010 + 0.01 x 70030 + 0.01 x 70050) / 0.03
    assert (first.filled_amount, first.average_price) == (D("0.03"), D("70030"))
    assert (second.filled_amount, second.average_price) == (D("0.01"), D("70050"))  # what was left
    assert paper.statement().fees_paid == D("0.84036") + D("0.2802")  # 2100.9 and 700.5 x 0.0004


async def test_a_book_too_thin_within_the_slippage_fills_in_part() -> None:
    paper = venue()
    paper.set_book("BTC", book(("70010", "0.01"), ("70030", "0.01"), ("70400", "1")))

    result = await paper.place_market_order("BTC", "bid", D("0.05"), client_order_id=ENTRY)

    # 70400 is beyond 70000 x 1.005: only the first two levels are taken.
    assert (result.filled_amount, result.average_price, result.status) == (D("0.02"), D("70020"), "cancelled")
    assert result.unfilled_amount == D("0.03")
    [position] = await paper.positions()
    assert position.amount == D("0.02")


async def test_a_book_older_than_the_mark_is_not_used() -> None:
    paper = venue()
    paper.set_book("BTC", book(("71000", "1")))
    paper.set_mark("BTC", D(70_000), T0 + 1)
    result = await paper.place_market_order("BTC", "bid", D("0.01"), client_order_id=ENTRY)
    assert result.average_price == D("70035")


async def test_the_stop_fires_at_its_price_with_fee_and_takes_the_targets_with_it() -> None:
    paper = venue()
    await long_btc(paper)
    await paper.set_position_tpsl(
        "BTC", "ask", stop_loss=Trigger(D(66_000)), take_profit=Trigger(D(80_000), client_order_id=TP2)
    )
    await paper.place_take_profit_ladder("BTC", "ask", [Trigger(D(72_000), D("0.004"), client_order_id=TP1)])
    assert await open_shapes(paper) == [
        ("stop_loss_market", "ask", D(66_000), D("0.01")),
        ("stop_market", "ask", D(72_000), D("0.004")),
        ("take_profit_market", "ask", D(80_000), D("0.01")),
    ]

    candle(paper, 0, 70_000, 71_000, 65_500, 66_500)

    assert await paper.positions() == []
    assert await paper.open_orders() == []
    stop = paper.fills()[-1]
    assert (stop.side, stop.amount, stop.price) == ("ask", D("0.01"), D("65967"))  # 66000 x 0.9995
    assert (stop.realized_pnl, stop.fee) == (D("-40.68"), D("0.263868"))
    statuses = {r.client_order_id: r.order_status for r in await paper.order_history()}
    assert (statuses[TP1], statuses[TP2]) == ("cancelled", "cancelled")
    assert (await paper.account()).balance == START - D("0.28014") - D("40.68") - D("0.263868")


async def test_a_candle_touching_stop_and_target_fires_the_stop_first() -> None:
    paper = venue()
    await long_btc(paper)
    await paper.set_position_tpsl("BTC", "ask", stop_loss=Trigger(D(66_000)), take_profit=Trigger(D(72_000)))

    candle(paper, 0, 70_000, 73_000, 65_000, 72_500)

    assert [(f.side, f.price) for f in paper.fills()] == [("bid", D(70_035)), ("ask", D(65_967))]
    assert await paper.open_orders() == []


async def test_a_short_stopped_and_targeted_in_one_candle_is_stopped_at_the_high_side() -> None:
    paper = venue()
    await paper.place_market_order("BTC", "ask", D("0.01"), client_order_id=ENTRY)
    await paper.set_position_tpsl("BTC", "bid", stop_loss=Trigger(D(74_000)), take_profit=Trigger(D(68_000)))

    candle(paper, 0, 70_000, 75_000, 67_000, 68_000)

    entry, stop = paper.fills()
    assert (entry.price, stop.side, stop.price) == (D(69_965), "bid", D(74_037))  # 74000 x 1.0005
    assert stop.realized_pnl == D("-40.72")
    assert await paper.positions() == []


async def test_a_gap_through_the_stop_fills_at_the_open() -> None:
    paper = venue()
    await long_btc(paper)
    await paper.set_position_tpsl("BTC", "ask", stop_loss=Trigger(D(66_000)))

    candle(paper, 0, 64_000, 65_000, 63_000, 64_500)

    stop = paper.fills()[-1]
    assert (stop.price, stop.realized_pnl) == (D(63_968), D("-60.67"))  # 64000 x 0.9995


async def test_an_open_already_beyond_the_target_fills_it_there_before_the_stop() -> None:
    paper = venue()
    await long_btc(paper)
    await paper.set_position_tpsl("BTC", "ask", stop_loss=Trigger(D(66_000)), take_profit=Trigger(D(72_000)))

    candle(paper, 0, 72_500, 73_000, 65_000, 66_000)  # the open is the one price known to come first

    target = paper.fills()[-1]
    assert (len(paper.fills()), target.price, target.realized_pnl) == (2, D(72_463), D("24.28"))
    assert await paper.open_orders() == []


async def test_a_candle_series_from_the_feeds_is_replayed_in_order() -> None:
    paper = venue()
    await long_btc(paper)
    await paper.set_position_tpsl("BTC", "ask", stop_loss=Trigger(D(66_000)))
    series = Candles.build(
        Timeframe.H1, [T0, T0 + HOUR_MS], [70_000, 70_500], [71_000, 71_000], [69_000, 65_000],
        [70_500, 66_100.5], [1, 1],
    )  # fmt: skip

    paper.on_candles("BTC", series)

    assert (paper.fills()[-1].price, paper.fills()[-1].ts_ms) == (D(65_967), T0 + 2 * HOUR_MS)
    assert (await paper.account()).updated_at == T0 + 2 * HOUR_MS
    assert paper.statement().equity == paper.statement().balance  # flat: the close 66100.5 is moot


async def test_a_mark_through_the_stop_fills_at_the_mark() -> None:
    paper = venue()
    await long_btc(paper)
    await paper.set_position_tpsl("BTC", "ask", stop_loss=Trigger(D(66_000)))

    paper.set_mark("BTC", D(66_001), T0 + 1)
    assert len(paper.fills()) == 1
    paper.set_mark("BTC", D(65_000), T0 + 2)
    assert paper.fills()[-1].price == D(64_967)  # 65000 x 0.9995


async def test_the_ladder_closes_the_position_in_order_and_the_last_rung_is_capped() -> None:
    paper = venue()
    await long_btc(paper)
    await paper.set_position_tpsl("BTC", "ask", stop_loss=Trigger(D(66_000)))
    rungs = [
        Trigger(D(72_000), D("0.004"), client_order_id=TP1),
        Trigger(D(74_000), D("0.004"), client_order_id=TP2),
        Trigger(D(76_000), D("0.004"), client_order_id=TP3),
    ]
    await paper.place_take_profit_ladder("BTC", "ask", rungs)

    candle(paper, 0, 70_000, 73_000, 69_500, 72_800)
    [position] = await paper.positions()
    assert position.amount == D("0.006")
    candle(paper, 1, 72_800, 77_000, 72_500, 76_500)

    exits = [(f.client_order_id, f.amount, f.price, f.realized_pnl) for f in paper.fills()[1:]]
    assert exits == [
        (TP1, D("0.004"), D(71_964), D("7.716")),  # (71964 - 70035) x 0.004
        (TP2, D("0.004"), D(73_963), D("15.712")),
        (TP3, D("0.002"), D(75_962), D("11.854")),  # only what was left
    ]
    assert await paper.positions() == []
    assert await paper.open_orders() == []  # the stop went with the position


async def test_funding_is_hourly_idempotent_and_signed_by_side() -> None:
    paper = venue()
    await long_btc(paper)  # 0.01 BTC x 70 000 = 700 USD notional
    await paper.place_market_order("ETH", "ask", D(1), client_order_id=EXIT)  # 3 500 USD notional
    rate = D("0.0000125")

    assert paper.apply_funding("BTC", rate, T0 + 5 * 60_000) == D("0.00875")
    assert paper.apply_funding("BTC", rate, T0 + 59 * 60_000) == 0  # the same hour again
    assert paper.apply_funding("BTC", rate, T0 + HOUR_MS) == D("0.00875")
    assert paper.apply_funding("BTC", rate, T0) == 0  # an hour already settled
    assert paper.apply_funding("ETH", rate, T0) == D("-0.04375")  # the short receives
    assert paper.apply_funding("ETH", -rate, T0 + HOUR_MS) == D("0.04375")  # and pays a negative rate

    positions = {p.symbol: p.funding for p in await paper.positions()}
    assert positions == {"BTC": D("0.0175"), "ETH": D(0)}
    assert paper.statement().funding_paid == D("0.0175")


async def test_a_resent_client_order_id_returns_the_first_order_and_places_nothing() -> None:
    paper = venue()
    first = await paper.place_market_order("BTC", "bid", D("0.01"), client_order_id=ENTRY)
    again = await paper.place_market_order("BTC", "bid", D("0.01"), client_order_id=ENTRY)
    await paper.place_market_order("BTC", "ask", D("0.01"), client_order_id=EXIT, reduce_only=True)
    exit_again = await paper.place_market_order(
        "BTC", "ask", D("0.01"), client_order_id=EXIT, reduce_only=True
    )

    assert again == first
    assert (exit_again.order_id, exit_again.status) == (first.order_id + 1, "filled")
    assert len(paper.fills()) == 2
    assert await paper.positions() == []


async def test_reduce_only_never_opens_or_flips_a_position() -> None:
    paper = venue()
    with pytest.raises(OrderRejected, match="no opposite position") as flat:
        await paper.place_market_order("BTC", "ask", D("0.01"), client_order_id=EXIT, reduce_only=True)
    assert flat.value.code == 10
    await long_btc(paper)
    with pytest.raises(OrderRejected, match="no opposite position"):
        await paper.place_market_order("BTC", "bid", D("0.01"), client_order_id=TP1, reduce_only=True)

    capped = await paper.place_market_order("BTC", "ask", D("0.05"), client_order_id=TP2, reduce_only=True)

    assert (capped.amount, capped.filled_amount) == (D("0.01"), D("0.01"))
    assert await paper.positions() == []
    await paper.place_market_order("BTC", "bid", D("0.01"), client_order_id=TP3)
    flipped = await paper.place_market_order("BTC", "ask", D("0.03"), client_order_id=EXIT)  # not reduce-only
    [short] = await paper.positions()
    assert (flipped.filled_amount, short.side, short.amount) == (D("0.03"), "ask", D("0.02"))


async def test_orders_the_account_cannot_carry_are_refused() -> None:
    paper = venue()
    with pytest.raises(OrderRejected, match="insufficient balance") as caught:
        await paper.place_market_order("BTC", "bid", D(10), client_order_id=ENTRY)  # 700 000 USD at 50x
    assert caught.value.code == 5
    with pytest.raises(OrderRejected, match="below the minimum order size"):
        await paper.place_market_order("BTC", "bid", D("0.0001"), client_order_id=TP1)  # 7 USD
    with pytest.raises(OrderRejected, match=r"leverage 51 outside 1\.\.50"):
        await paper.update_leverage("BTC", 51)
    with pytest.raises(OrderRejected, match="limit-price triggers are not simulated"):
        await paper.place_stop_order("BTC", "ask", Trigger(D(1), D(1), D(1), TP2), kind="stop_loss")
    with pytest.raises(OrderRejected, match="no perpetual market 'DOGE'"):
        await paper.market("DOGE")
    assert await paper.positions() == []


async def test_equity_after_a_round_trip_is_start_minus_fees_and_funding_plus_pnl() -> None:
    paper = venue()
    await long_btc(paper)
    paper.apply_funding("BTC", D("0.0000125"), T0)
    paper.set_mark("BTC", D(71_000), T0 + HOUR_MS)
    await paper.place_market_order("BTC", "ask", D("0.01"), client_order_id=EXIT, reduce_only=True)

    fees = D("0.28014") + D("0.283856")  # 700.35 and 709.64 x 0.0004 (exit 71000 x 0.9995 = 70964.5 down)
    pnl = D("9.29")  # (70964 - 70035) x 0.01
    account, statement = await paper.account(), paper.statement()
    assert account.account_equity == account.balance == START - fees - D("0.00875") + pnl
    assert (statement.fees_paid, statement.funding_paid, statement.realized_pnl) == (fees, D("0.00875"), pnl)


def test_time_and_prices_are_checked_where_they_enter() -> None:
    paper = venue()
    with pytest.raises(ValueError, match="older than the last one"):
        paper.set_mark("BTC", D(70_000), T0 - 1)
    with pytest.raises(ValueError, match="not a positive number"):
        paper.set_mark("BTC", D("NaN"), T0)
    with pytest.raises(ValueError, match="bracketing"):
        candle(paper, 0, 70_000, 69_000, 68_000, 68_500)
    candle(paper, 0, 70_000, 71_000, 69_000, 70_500)
    with pytest.raises(ValueError, match="overlaps"):
        candle(paper, 0, 70_000, 71_000, 69_000, 70_500)
    with pytest.raises(ValueError, match="ascending order"):
        paper.set_book("BTC", book(("70030", "1"), ("70010", "1")))


async def test_the_state_survives_a_restart() -> None:
    paper = venue()
    await long_btc(paper)
    await paper.set_position_tpsl("BTC", "ask", stop_loss=Trigger(D(66_000)), take_profit=Trigger(D(80_000)))
    await paper.place_take_profit_ladder("BTC", "ask", [Trigger(D(72_000), D("0.004"), client_order_id=TP1)])
    paper.apply_funding("BTC", D("0.0000125"), T0)
    candle(paper, 0, 70_000, 70_500, 69_000, 69_800)

    saved = json.loads(json.dumps(paper.to_dict()))
    restored = PaperVenue.from_dict(saved)

    assert restored.to_dict() == saved
    assert await restored.positions() == await paper.positions()
    assert await restored.open_orders() == await paper.open_orders()
    assert await restored.order_history() == await paper.order_history()
    assert await restored.account() == await paper.account()
    for either in (paper, restored):  # both go on the same way, the funding hour included
        assert either.apply_funding("BTC", D("0.0000125"), T0 + 1) == 0
        candle(either, 1, 69_800, 72_100, 69_700, 71_000)
        again = await either.place_market_order("BTC", "bid", D(1), client_order_id=ENTRY)
        assert again.filled_amount == D("0.01")  # the entry, not a new order
    assert restored.to_dict() == paper.to_dict()
    assert restored.statement() == paper.statement()
    with pytest.raises(ValueError, match="version"):
        PaperVenue.from_dict({**saved, "version": 99})
