"""Property tests: whatever the consensus, portfolio, markets and limits, no approval breaks a limit.

Every check below is written from the limits' definition (docs/risk.md), not from the engine's
helpers, so that a bug in a helper cannot hide itself.
"""

from __future__ import annotations

import math
from collections import Counter
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consensus.decision import Action
from consensus.vote import Consensus
from execution.risk import RiskEngine
from execution.types import (
    Approved,
    Denied,
    MarketInfo,
    NoAction,
    OrderIntent,
    Portfolio,
    RiskLimits,
    Side,
    TradingState,
)
from tests.risk_strategies import DIMENSIONS, Case, Markets, cases

REL = 1e-9  # float slack for quantities the engine computes with one or two roundings


# The denials each stressed dimension must produce, to show that it was stressed at all.
STRESS_SHOWS: dict[str, set[str]] = {
    "state": {"halted", "reducing", "breaker"},
    "confidence": {"confidence"},
    "market": {"no_market"},
    "positions": {"already_open", "opposite_open", "max_positions", "no_position"},
    "cooldown": {"cooldown"},
    "correlation": {"correlated", "correlation_unknown"},
    "stop": {"no_stop_loss", "bad_stop_loss", "stop_too_wide"},
    "ladder": {"bad_take_profit"},
    "size": {"too_small", "bad_size"},
}


# Two dimensions at once, for the interactions between rules.
PAIRS = (
    st.lists(st.sampled_from(DIMENSIONS), min_size=2, max_size=2, unique=True).map(frozenset).flatmap(cases)
)


@pytest.mark.parametrize("stressed", [*DIMENSIONS, "pairs"])
def test_no_approval_ever_breaks_a_limit(stressed: str) -> None:
    outcomes: Counter[str] = Counter()

    @settings(max_examples=80, deadline=None)
    @given(PAIRS if stressed == "pairs" else cases(frozenset([stressed])))
    def check(case: Case) -> None:
        c, folio, infos, now_ms, lim = case
        result = RiskEngine(lim).evaluate(c, folio, infos, now_ms)
        assert result == RiskEngine(lim).evaluate(c, folio, infos, now_ms)  # pure: same in, same out
        assert isinstance(result, NoAction) == (c.action is Action.HOLD)
        if isinstance(result, Denied):
            outcomes[result.reason] += 1
        elif isinstance(result, Approved):
            outcomes["approved"] += 1
            check_common(c, folio, infos, lim, result.intent)
            if result.intent.reduce_only:
                check_exit(c, folio, result.intent)
            else:
                check_entry(c, folio, infos, now_ms, lim, result.intent)

    check()
    # Not vacuous: approvals occur (typically 10 to 40 of 80; Hypothesis's choices vary widely from
    # run to run, hence the low bar), and so do the denials of the stressed dimension.
    assert outcomes["approved"] >= 2, outcomes
    shows = set().union(*STRESS_SHOWS.values()) if stressed == "pairs" else STRESS_SHOWS[stressed]
    assert shows & set(outcomes), outcomes


def check_common(
    c: Consensus, folio: Portfolio, infos: Markets, lim: RiskLimits, intent: OrderIntent
) -> None:
    assert folio.trading_state is not TradingState.HALTED
    assert c.confidence >= lim.min_confidence
    assert intent.symbol == c.symbol
    assert intent.reference_price == infos[c.symbol].mark_price


def check_exit(c: Consensus, folio: Portfolio, intent: OrderIntent) -> None:
    held = folio.position(c.symbol)
    assert c.action is Action.CLOSE
    assert held is not None
    assert intent.side is held.side.opposite
    assert intent.size_base == held.size_base


def check_entry(
    c: Consensus, folio: Portfolio, infos: Markets, now_ms: int, lim: RiskLimits, intent: OrderIntent
) -> None:
    assert c.action.value == intent.side.value
    assert folio.trading_state is TradingState.ACTIVE
    assert not clearly_tripped(folio, now_ms, lim)
    assert folio.position(c.symbol) is None
    assert len(folio.positions) + 1 <= lim.max_open_positions
    for close in folio.recent_closes:
        wait = lim.cooldown_after_loss_ms if close.pnl_usd < 0 else lim.cooldown_ms
        assert close.symbol != c.symbol or now_ms >= close.closed_at_ms + wait
    check_size(c, folio, infos[c.symbol], lim, intent)
    check_stop_and_ladder(c, lim, intent)
    check_correlation(c, folio, infos, lim, intent.side)


def clearly_tripped(folio: Portfolio, now_ms: int, lim: RiskLimits) -> bool:
    """The breaker's definition, away from the float boundary the engine resolves itself."""
    until = folio.breaker_tripped_until_ms
    loss = max(folio.start_of_day_equity_usd - folio.equity_usd, -folio.realized_pnl_today_usd)
    beyond = loss > 0 and loss > folio.start_of_day_equity_usd * lim.daily_loss_pct / 100 * (1 + 1e-6)
    return (until is not None and now_ms < until) or beyond


def check_size(
    c: Consensus, folio: Portfolio, info: MarketInfo, lim: RiskLimits, intent: OrderIntent
) -> None:
    assert 0 < intent.notional_usd <= folio.equity_usd * lim.max_position_pct / 100 * (1 + REL)
    assert intent.notional_usd >= info.min_order_usd
    assert info.max_order_usd is None or intent.notional_usd <= info.max_order_usd
    assert math.isclose(intent.size_base * info.mark_price, intent.notional_usd, rel_tol=REL)
    assert intent.leverage == min(lim.leverage, info.max_leverage)
    clamped = {clamp.field: clamp for clamp in intent.clamps}
    if c.position_size_pct > lim.max_position_pct:
        assert clamped["position_size_pct"].asked == c.position_size_pct
        assert clamped["position_size_pct"].allowed == lim.max_position_pct
    if lim.leverage > info.max_leverage:
        assert clamped["leverage"].allowed == info.max_leverage


def check_stop_and_ladder(c: Consensus, lim: RiskLimits, intent: OrderIntent) -> None:
    mark, sign, stop = intent.reference_price, intent.side.sign, intent.stop_loss_price
    assert stop is not None
    assert (mark - stop) * sign > 0  # below a long's price, above a short's
    asked = c.stop_loss if c.stop_loss is not None else lim.default_stop_loss
    assert asked is not None
    assert asked <= lim.max_stop_loss
    # abs_tol: 1 - stop rounds to a multiple of 2^-53, which matters for a stop of 1e-12.
    assert math.isclose(abs(mark - stop) / mark, asked, rel_tol=1e-9, abs_tol=1e-15)
    away = [(rung.price - mark) * sign for rung in intent.take_profit]
    assert all(d > 0 for d in away)
    assert all(b > a for a, b in pairwise(away))
    assert len(intent.take_profit) <= len(c.take_profit)
    if c.take_profit:
        assert math.isclose(sum(rung.fraction for rung in intent.take_profit), 1.0)


def check_correlation(c: Consensus, folio: Portfolio, infos: Markets, lim: RiskLimits, side: Side) -> None:
    if lim.correlation_max >= 1:
        return
    mine = infos[c.symbol].history
    for held in folio.positions:
        other = infos[held.symbol].history if held.symbol in infos else None
        assert mine is not None
        assert other is not None
        assert (mine.interval_ms, mine.end_ms) == (other.interval_ms, other.end_ms)
        n = min(len(mine.closes), len(other.closes), lim.correlation_window_ms // mine.interval_ms + 1)
        assert n - 1 >= lim.correlation_min_returns
        a, b = (np.diff(np.log(np.asarray(h.closes[-n:]))) for h in (mine, other))
        assert side.sign * held.side.sign * float(np.corrcoef(a, b)[0, 1]) <= lim.correlation_max + 1e-9


@settings(max_examples=100, deadline=None)
@given(cases(frozenset(DIMENSIONS)))
def test_hold_never_yields_an_order(case: Case) -> None:
    c, folio, infos, now_ms, lim = case
    hold = c.model_copy(update={"action": Action.HOLD})
    assert isinstance(RiskEngine(lim).evaluate(hold, folio, infos, now_ms), NoAction)
