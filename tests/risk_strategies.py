"""Hypothesis strategies for the risk engine: consensus, portfolio, markets and limits.

A case stresses some dimensions (`wild`): those take any value, the others take values that pass
their rules. Fully random cases would almost never get an approval past a dozen rules, and a
broken rule only shows in an approval that should not have been given.
"""

from __future__ import annotations

import math
from typing import TypeVar

import numpy as np
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy as Strategy

from consensus.decision import Action
from consensus.vote import Consensus
from execution.types import (
    ClosedTrade,
    MarketInfo,
    Portfolio,
    Position,
    PriceHistory,
    RiskLimits,
    Side,
    TradingState,
)
from feeds.types import DAY_MS, HOUR_MS
from tests.risk_cases import NOW, consensus

SYMBOLS = ("BTC", "ETH", "SOL", "DOGE")
DIMENSIONS = (
    "state",
    "confidence",
    "market",
    "positions",
    "cooldown",
    "correlation",
    "stop",
    "ladder",
    "size",
)
RETURNS = 60

Markets = dict[str, MarketInfo]
Case = tuple[Consensus, Portfolio, Markets, int, RiskLimits]
Wild = frozenset[str]  # the dimensions that take any value
T = TypeVar("T")


def pick(draw: st.DrawFn, wild: Wild, dimension: str, tame: Strategy[T], anything: Strategy[T]) -> T:
    """A value that passes `dimension`'s rules, or any value when that dimension is wild."""
    return draw(anything if dimension in wild else tame)


def one_in(draw: st.DrawFn, n: int) -> bool:
    """True about once in `n` draws; shrinks to False, the ordinary case."""
    return draw(st.sampled_from([False] * (n - 1) + [True]))


@st.composite
def cases(draw: st.DrawFn, wild: Wild) -> Case:
    now_ms = draw(st.integers(NOW - 2 * DAY_MS, NOW + 2 * DAY_MS))
    lim = draw(limits(wild))
    c = draw(consensuses(lim, wild))
    return c, draw(portfolios(now_ms, c, lim, wild)), draw(market_set(now_ms, wild)), now_ms, lim


@st.composite
def limits(draw: st.DrawFn, wild: Wild) -> RiskLimits:
    leverage = draw(st.integers(1, 10))
    max_stop = draw(st.floats(0.005, 0.99)) / leverage
    cooldown = draw(st.sampled_from([HOUR_MS, 0]) | st.integers(0, 6 * HOUR_MS))
    return RiskLimits(
        max_position_pct=draw(st.floats(1.0, 100.0)),
        min_confidence=draw(st.one_of(st.just(60.0), st.floats(0.0, 100.0))),
        max_open_positions=pick(draw, wild, "positions", st.integers(3, 4), st.integers(0, 4)),
        daily_loss_pct=draw(st.floats(0.5, 20.0)),
        correlation_max=pick(
            draw, wild, "correlation", st.floats(0.6, 1.0), st.sampled_from([0.8, 1.0]) | st.floats(0, 1)
        ),
        correlation_window_ms=draw(st.sampled_from([30 * DAY_MS, 2 * DAY_MS])),
        correlation_min_returns=pick(draw, wild, "correlation", st.integers(3, 40), st.integers(3, 70)),
        cooldown_ms=cooldown,
        cooldown_after_loss_ms=cooldown
        + draw(st.sampled_from([3 * HOUR_MS, 0]) | st.integers(0, 6 * HOUR_MS)),
        leverage=leverage,
        max_stop_loss=max_stop,
        default_stop_loss=draw(st.none() | st.floats(0.01, 1.0).map(lambda f: f * max_stop)),
    )


@st.composite
def consensuses(draw: st.DrawFn, lim: RiskLimits, wild: Wild) -> Consensus:
    symbols = st.sampled_from(SYMBOLS)
    tame_ladder = st.lists(st.floats(1e-3, 0.9), max_size=4).map(sorted)
    any_ladder = st.lists(st.floats(1e-3, 0.9), min_size=2, max_size=4) | st.lists(
        st.floats(1e-12, 2.0), max_size=4
    )
    stop = st.floats(0.05 * lim.max_stop_loss, lim.max_stop_loss)
    return consensus(
        draw(st.sampled_from([Action.LONG, Action.SHORT, Action.CLOSE] * 2 + [Action.HOLD])),
        pick(draw, wild, "market", symbols, symbols | st.just("XRP")),
        confidence=pick(
            draw, wild, "confidence", st.floats(lim.min_confidence, 100.0), st.floats(0.0, 100.0)
        ),
        size=pick(
            draw,
            wild,
            "size",
            st.floats(1.0, 1.5 * lim.max_position_pct),
            st.floats(0.0, 150.0) | st.just(0.0),
        ),
        tp=tuple(pick(draw, wild, "ladder", tame_ladder, any_ladder)),
        sl=pick(
            draw,
            wild,
            "stop",
            stop,
            st.none() | st.floats(1e-12, 1.5 * lim.max_stop_loss),
        ),
    )


@st.composite
def portfolios(draw: st.DrawFn, now_ms: int, c: Consensus, lim: RiskLimits, wild: Wild) -> Portfolio:
    equity = pick(draw, wild, "size", st.floats(1e3, 1e6), st.just(0.0) | st.floats(0.0, 1e6))
    if "state" in wild:
        start = equity * (1.0 + draw(st.floats(-0.1, 0.1)))
        realized = draw(st.floats(-0.1, 0.1)) * start
    else:  # losses up to half the daily limit
        start = equity * (1.0 + draw(st.floats(-0.1, 0.5)) * lim.daily_loss_pct / 100.0)
        realized = -draw(st.floats(0.0, 0.5)) * start * lim.daily_loss_pct / 100.0
    states = st.sampled_from([TradingState.ACTIVE] * 3 + [TradingState.REDUCING, TradingState.HALTED])
    until = st.none() | st.integers(now_ms - DAY_MS, now_ms + DAY_MS)
    return Portfolio(
        equity_usd=equity,
        start_of_day_equity_usd=start,
        realized_pnl_today_usd=realized,
        positions=draw(positions(now_ms, c, wild)),
        recent_closes=draw(closes(now_ms, c, lim, wild)),
        trading_state=pick(draw, wild, "state", st.just(TradingState.ACTIVE), states),
        breaker_tripped_until_ms=pick(draw, wild, "state", st.none(), until),
    )


@st.composite
def positions(draw: st.DrawFn, now_ms: int, c: Consensus, wild: Wild) -> tuple[Position, ...]:
    """Any, or: none in the consensus's symbol (one if it is a CLOSE) and one or two others."""
    sides = st.sampled_from([Side.LONG, Side.SHORT, None])
    if "positions" in wild:
        chosen = {symbol: draw(st.sampled_from([None, Side.LONG, Side.SHORT])) for symbol in SYMBOLS}
    else:
        others = draw(
            st.lists(
                st.sampled_from([s for s in SYMBOLS if s != c.symbol]), min_size=1, max_size=2, unique=True
            )
        )
        chosen = {symbol: draw(sides) for symbol in others}
        if c.action is Action.CLOSE:
            chosen[c.symbol] = draw(st.sampled_from(list(Side)))
    return tuple(draw(position(symbol, side, now_ms)) for symbol, side in chosen.items() if side is not None)


@st.composite
def position(draw: st.DrawFn, symbol: str, side: Side, now_ms: int) -> Position:
    entry = draw(st.floats(1e-3, 1e5))
    return Position(
        symbol=symbol,
        side=side,
        size_base=draw(st.floats(1e-6, 1e3)),
        entry_price=entry,
        stop_loss_price=entry * (1 - side.sign * 0.05),
        opened_at_ms=now_ms - draw(st.integers(0, 10 * DAY_MS)),
    )


@st.composite
def closes(
    draw: st.DrawFn, now_ms: int, c: Consensus, lim: RiskLimits, wild: Wild
) -> tuple[ClosedTrade, ...]:
    """Closes of the last hours, mostly of the consensus's symbol; or only closes whose cooldown is over."""
    if "cooldown" in wild:
        # As an age, so that the simplest value (which Hypothesis favours) is a close just now.
        times, least = st.integers(-HOUR_MS, 8 * HOUR_MS).map(lambda ago: now_ms - ago), 1
    else:
        times, least = st.integers(now_ms - 20 * HOUR_MS, now_ms - lim.cooldown_after_loss_ms), 0
    symbols = st.sampled_from([c.symbol, c.symbol, *SYMBOLS])
    trade = st.builds(ClosedTrade, symbol=symbols, closed_at_ms=times, pnl_usd=st.floats(-100.0, 100.0))
    return tuple(draw(st.lists(trade, min_size=least, max_size=3)))


@st.composite
def market_set(draw: st.DrawFn, now_ms: int, wild: Wild) -> Markets:
    """Markets whose hourly returns mix a common factor with their own noise: any correlation from
    -1 to 1 when `correlation` is wild (and a history may lag or be missing), else independent."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    common = rng.normal(0.0, 0.01, RETURNS)
    found: Markets = {}
    for symbol in SYMBOLS:
        if "market" in wild and one_in(draw, 4):
            continue
        mix = pick(
            draw, wild, "correlation", st.just(0.0), st.sampled_from([-1.0, 0.95, 1.0]) | st.floats(-1.0, 1.0)
        )
        returns = mix * common + math.sqrt(1.0 - mix * mix) * rng.normal(0.0, 0.01, RETURNS)
        closes = tuple(float(c) for c in 100.0 * np.exp(np.concatenate([[0.0], np.cumsum(returns)])))
        lag = pick(draw, wild, "correlation", st.just(0), st.sampled_from([0, 0, 0, HOUR_MS]))
        history = PriceHistory(interval_ms=HOUR_MS, end_ms=now_ms - lag, closes=closes)
        found[symbol] = MarketInfo(
            symbol=symbol,
            mark_price=pick(draw, wild, "size", st.floats(0.01, 1e5), st.floats(1e-3, 1e5)),
            max_leverage=draw(st.integers(1, 50)),
            min_order_usd=pick(draw, wild, "size", st.floats(0.0, 10.0), st.floats(0.0, 1e4)),
            max_order_usd=pick(
                draw, wild, "size", st.none() | st.floats(1e3, 1e6), st.none() | st.floats(1.0, 1e6)
            ),
            history=pick(
                draw, wild, "correlation", st.just(history), st.sampled_from([history, history, None])
            ),
        )
    return found
