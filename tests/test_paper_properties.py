"""PaperVenue properties: whatever orders, triggers, candles and funding come, the books balance.

After every step of a random session:
- balance = start + realized - fees - funding, and equity = balance + unrealized at the marks
  (computed here from the positions and the marks fed in), exactly, in Decimal;
- the fills of each symbol add up to its position: no position exists but by fills;
- realized PnL and fees are the sums of the fills' own;
- no reduce-only order outlives the position it protects.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from execution.errors import OrderRejected
from execution.markets import closing_side
from execution.pacifica_models import Trigger
from execution.paper import PaperVenue, paper_markets
from feeds.types import HOUR_MS

pytestmark = pytest.mark.anyio

D = Decimal
START = D(20_000)
SYMBOLS = ("BTC", "ETH")
FIRST_MARKS = {"BTC": D(70_000), "ETH": D(3_500)}

# Menus rather than ranges: hypothesis favours a menu's first entries and a range's bounds, so
# the interesting values come first (one market mostly, so that its steps meet).
symbols = st.sampled_from(("BTC", "ETH", "BTC"))
sides = st.sampled_from(("bid", "ask"))
usd = st.sampled_from((D(450), D(3_000), D(60), D(25_000), D(7), D(900_000)))  # some refused
moves = st.sampled_from([D(x) for x in ("0.02", "-0.02", "0.005", "-0.06", "0", "0.06", "-0.005")])
widths = st.sampled_from([D(x) for x in ("0.03", "0.01", "0.08", "0.001")])
distances = st.sampled_from([D(x) for x in ("0.01", "0.02", "0.003", "0.05")])  # of stops, targets
shares = st.sampled_from([D(x) for x in ("0.5", "1", "0.2")])

_KINDS = {
    "entry": st.tuples(st.just("entry"), symbols, sides, usd, distances, distances, shares),
    "order": st.tuples(st.just("order"), symbols, sides, usd, st.booleans()),
    "tpsl": st.tuples(st.just("tpsl"), symbols, distances, distances),
    "ladder": st.tuples(st.just("ladder"), symbols, distances, shares),
    "candle": st.tuples(st.just("candle"), symbols, moves, widths, widths, moves),
    "mark": st.tuples(st.just("mark"), symbols, moves),
    "funding": st.tuples(st.just("funding"), symbols, st.sampled_from([D("0.0000125"), D("-0.0004")])),
    "cancel_all": st.tuples(st.just("cancel_all"), symbols),
}
# Candles and entries come most often: they are where positions open, fire and close.
_WEIGHTED = ("candle", "entry", "candle", "order", "candle", "entry", "tpsl", "ladder", "mark", "funding")
steps = st.lists(
    st.sampled_from((*_WEIGHTED, "cancel_all")).flatmap(_KINDS.__getitem__), min_size=4, max_size=30
)


@dataclass
class Session:
    paper: PaperVenue
    marks: dict[str, Decimal] = field(default_factory=lambda: dict(FIRST_MARKS))
    clock: int = 1_767_225_600_000
    ids: int = 0

    def new_id(self) -> str:
        self.ids += 1
        return f"cloid-{self.ids}"


async def run(session: Session, step: tuple[object, ...]) -> None:
    """One step; refusals (margin, lot, min size, nothing to reduce) are normal outcomes."""
    with contextlib.suppress(OrderRejected):
        await _STEPS[str(step[0])](session, *step[1:])


async def entry(
    session: Session, symbol: str, side: str, usd: Decimal, stop: Decimal, target: Decimal, share: Decimal
) -> None:
    """A protected entry as the order manager places it: market order, TP/SL, a two-rung ladder."""
    await order(session, symbol, side, usd, False)
    await tpsl(session, symbol, stop, target)
    await ladder(session, symbol, target / 2, share)


async def order(session: Session, symbol: str, side: str, usd: Decimal, reduce_only: bool) -> None:
    amount = usd / session.marks[symbol]
    await session.paper.place_market_order(
        symbol,
        "bid" if side == "bid" else "ask",
        amount,
        client_order_id=session.new_id(),
        reduce_only=reduce_only,
    )


async def tpsl(session: Session, symbol: str, stop: Decimal, target: Decimal) -> None:
    position = next((p for p in await session.paper.positions() if p.symbol == symbol), None)
    if position is None:
        return
    sign, mark = (1 if position.side == "bid" else -1), session.marks[symbol]
    await session.paper.set_position_tpsl(
        symbol,
        closing_side(position.side),
        stop_loss=Trigger(mark * (1 - sign * stop)),
        take_profit=Trigger(mark * (1 + sign * target), client_order_id=session.new_id()),
    )


async def ladder(session: Session, symbol: str, distance: Decimal, share: Decimal) -> None:
    position = next((p for p in await session.paper.positions() if p.symbol == symbol), None)
    if position is None:
        return
    sign, mark = (1 if position.side == "bid" else -1), session.marks[symbol]
    rungs = [
        Trigger(
            mark * (1 + sign * distance * k), position.amount * share / 2, client_order_id=session.new_id()
        )
        for k in (1, 2)
    ]
    await session.paper.place_take_profit_ladder(symbol, closing_side(position.side), rungs)


async def candle(
    session: Session, symbol: str, gap: Decimal, up: Decimal, down: Decimal, move: Decimal
) -> None:
    mark = session.marks[symbol]
    open_, close = mark * (1 + gap), mark * (1 + move)
    high, low = max(open_, close) * (1 + up), min(open_, close) * (1 - down)
    session.paper.on_candle(symbol, session.clock, open_, high, low, close, HOUR_MS)
    session.clock += HOUR_MS
    session.marks[symbol] = close


async def mark(session: Session, symbol: str, move: Decimal) -> None:
    session.marks[symbol] *= 1 + move
    session.paper.set_mark(symbol, session.marks[symbol], session.clock)


async def funding(session: Session, symbol: str, rate: Decimal) -> None:
    session.paper.apply_funding(symbol, rate, session.clock)


async def cancel_all(session: Session, symbol: str) -> None:
    await session.paper.cancel_all(symbol)


_STEPS: dict[str, Callable[..., Awaitable[None]]] = {
    "entry": entry,
    "order": order,
    "tpsl": tpsl,
    "ladder": ladder,
    "candle": candle,
    "mark": mark,
    "funding": funding,
    "cancel_all": cancel_all,
}


def usdc(value: Decimal) -> Decimal:
    return value.quantize(D("0.000001"), rounding=ROUND_HALF_EVEN)


async def check_books(session: Session) -> None:
    paper = session.paper
    account, statement, fills = await paper.account(), paper.statement(), paper.fills()
    positions = {p.symbol: p for p in await paper.positions()}
    assert statement.balance == account.balance
    assert account.balance == START + statement.realized_pnl - statement.fees_paid - statement.funding_paid
    unrealized = sum(
        (
            usdc((session.marks[s] - p.entry_price) * p.amount * (1 if p.side == "bid" else -1))
            for s, p in positions.items()
        ),
        D(0),
    )
    assert account.account_equity == account.balance + unrealized
    assert statement.realized_pnl == sum((f.realized_pnl for f in fills), D(0))
    assert statement.fees_paid == sum((f.fee for f in fills), D(0))
    for symbol in SYMBOLS:
        traded = sum((f.amount if f.side == "bid" else -f.amount for f in fills if f.symbol == symbol), D(0))
        held = positions.get(symbol)
        assert traded == (0 if held is None else held.amount if held.side == "bid" else -held.amount)
    for open_order in await paper.open_orders():
        if open_order.reduce_only:
            held = positions.get(open_order.symbol)
            assert held is not None
            assert held.side != open_order.side


@settings(max_examples=100, deadline=None)
@given(steps=steps)
async def test_the_ledger_always_balances_and_positions_come_only_from_fills(
    steps: list[tuple[object, ...]],
) -> None:
    paper = PaperVenue(paper_markets(), START)
    session = Session(paper)
    for symbol, price in FIRST_MARKS.items():
        paper.set_mark(symbol, price, session.clock)
    for step in steps:
        await run(session, step)
        await check_books(session)
