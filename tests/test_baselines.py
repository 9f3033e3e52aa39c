"""Baselines: buy-and-hold and flat equity by hand; seeded random entries that the risk engine takes."""

from __future__ import annotations

import numpy as np
import pytest

from consensus.decision import Action
from execution.risk import RiskEngine
from execution.types import Approved, MarketInfo, Portfolio, Side
from feeds.types import FundingRate
from swarm.baselines import (
    RANDOM_BASELINE,
    FundingSeries,
    always_flat,
    buy_and_hold,
    random_decisions,
    to_consensus,
)

M15 = 15 * 60_000
HOUR = 3_600_000
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z, on an hour boundary


def test_buy_and_hold_by_hand() -> None:
    # 1000 USD at 100 -> 10 coins; entry fee 0.001 x 1000 = 1 USD, no exit fee.
    equity = buy_and_hold(
        [T0, T0 + M15, T0 + 2 * M15], [100.0, 110.0, 90.0], starting_equity=1000, fee_rate=0.001
    )
    np.testing.assert_allclose(equity, [999.0, 1099.0, 899.0])


def test_buy_and_hold_pays_funding_once_per_hour_crossed() -> None:
    # Steps at 00:30, 00:45, 01:00, 01:15, ..., 02:00: hours crossed at 01:00 and at 02:00.
    ts = [T0 + HOUR // 2 + i * M15 for i in range(7)]
    closes = [100.0, 100.0, 120.0, 100.0, 100.0, 100.0, 80.0]
    # 0.001/h until 01:30, then -0.002/h (a long receives).
    funding = FundingSeries([T0 - HOUR, T0 + HOUR + HOUR // 2], [0.001, -0.002])
    equity = buy_and_hold(ts, closes, starting_equity=1000, fee_rate=0.0, funding=funding)
    # 10 coins. At 01:00: pays 10 x 120 x 0.001 = 1.2. At 02:00: receives 10 x 80 x 0.002 = 1.6.
    price_part = np.array([1000.0, 1000.0, 1200.0, 1000.0, 1000.0, 1000.0, 800.0])
    funding_paid = np.array([0, 0, 1.2, 1.2, 1.2, 1.2, 1.2 - 1.6])
    np.testing.assert_allclose(equity, price_part - funding_paid)


def test_buy_and_hold_with_a_4h_step_counts_every_hour() -> None:
    ts = [T0, T0 + 4 * HOUR]
    funding = FundingSeries([T0], [0.0001])
    equity = buy_and_hold(ts, [100.0, 100.0], starting_equity=1000, fee_rate=0.0, funding=funding)
    # Four hours at 10 coins x 100 x 0.0001 = 0.1 each.
    np.testing.assert_allclose(equity, [1000.0, 999.6])


def test_funding_before_the_first_print_is_zero() -> None:
    funding = FundingSeries.from_prints([FundingRate(T0 + 2 * HOUR, 0.01)])
    np.testing.assert_allclose(funding.rate_at(np.array([T0, T0 + 2 * HOUR, T0 + 9 * HOUR])), [0, 0.01, 0.01])
    with pytest.raises(ValueError, match="strictly increasing"):
        FundingSeries([T0, T0], [0.1, 0.2]).rate_at(np.array([T0]))


def test_buy_and_hold_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="one close per timestamp"):
        buy_and_hold([T0, T0 + M15], [100.0], starting_equity=1000, fee_rate=0.0)
    with pytest.raises(ValueError, match="positive"):
        buy_and_hold([T0, T0 + M15], [100.0, -1.0], starting_equity=1000, fee_rate=0.0)
    with pytest.raises(ValueError, match="increasing"):
        buy_and_hold([T0, T0], [100.0, 100.0], starting_equity=1000, fee_rate=0.0)


def test_always_flat_is_the_starting_equity() -> None:
    np.testing.assert_array_equal(always_flat([T0, T0 + M15, T0 + 2 * M15], starting_equity=500), [500.0] * 3)


def test_random_decisions_are_reproducible_and_depend_on_the_seed() -> None:
    ts = [T0 + i * M15 for i in range(200)]
    first = [d.decision.action for d in random_decisions(ts, seed=7, p_entry=0.2)]
    again = [d.decision.action for d in random_decisions(ts, seed=7, p_entry=0.2)]
    other = [d.decision.action for d in random_decisions(ts, seed=8, p_entry=0.2)]
    assert first == again
    assert first != other
    assert [d.ts_ms for d in random_decisions(ts, seed=7, p_entry=0.2)] == ts


def test_random_decisions_enter_at_the_given_rate_on_both_sides() -> None:
    ts = list(range(20_000))
    actions = [d.decision.action for d in random_decisions(ts, seed=1, p_entry=0.1)]
    longs, shorts = actions.count(Action.LONG), actions.count(Action.SHORT)
    # Binomial(20,000, 0.05): sd about 31, so +-200 is more than 6 sd.
    assert 800 < longs < 1200
    assert 800 < shorts < 1200
    assert set(actions) == {Action.LONG, Action.SHORT, Action.HOLD}
    assert {d.decision.action for d in random_decisions(ts[:50], seed=1, p_entry=0.0)} == {Action.HOLD}
    assert Action.HOLD not in {d.decision.action for d in random_decisions(ts[:50], seed=1, p_entry=1.0)}


def test_random_entries_have_the_local_members_risk_shape() -> None:
    entry = next(d.decision for d in random_decisions(range(100), seed=3, p_entry=1.0))
    assert entry.stop_loss == 0.02
    assert entry.take_profit == (0.03, 0.06)  # 1.5 R and 3 R
    assert entry.confidence == 75.0
    assert entry.position_size_pct == 18.75  # 0.5 % risk x 0.75 / 2 % stop
    wide = next(d.decision for d in random_decisions(range(1), seed=3, p_entry=1.0, stop_loss=0.01))
    assert wide.position_size_pct == 20.0  # 37.5 capped at 20 % of equity


def test_random_decisions_refuse_bad_parameters() -> None:
    with pytest.raises(ValueError, match="p_entry"):
        next(random_decisions([T0], seed=1, p_entry=1.5))
    with pytest.raises(ValueError, match="stop_loss"):
        next(random_decisions([T0], seed=1, p_entry=0.5, stop_loss=0.0))


def test_a_random_entry_passes_the_same_risk_engine_as_the_swarm() -> None:
    draw = next(
        d
        for d in random_decisions([T0 + i * M15 for i in range(50)], seed=5, p_entry=0.5)
        if d.decision.action is not Action.HOLD
    )
    consensus = to_consensus("BTC", draw)
    assert consensus.members_for == (RANDOM_BASELINE,)
    assert consensus.confidence == 75.0
    portfolio = Portfolio(equity_usd=10_000.0, start_of_day_equity_usd=10_000.0)
    market = MarketInfo(symbol="BTC", mark_price=100_000.0, max_leverage=20, min_order_usd=10.0)
    result = RiskEngine().evaluate(consensus, portfolio, {"BTC": market}, draw.ts_ms)
    assert isinstance(result, Approved)
    intent = result.intent
    assert intent.side is Side(draw.decision.action.value)
    assert intent.notional_usd == pytest.approx(1875.0)  # 18.75 % of 10,000
    assert intent.stop_loss_price == pytest.approx(100_000.0 * (1 - 0.02 * intent.side.sign))
