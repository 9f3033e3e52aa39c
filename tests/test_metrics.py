"""Performance metrics, every expected number worked out by hand in the comments."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest

from swarm.metrics import (
    Drawdown,
    confidence_correlation,
    drawdown_series,
    exposure,
    fixed_step_ms,
    frequency_text,
    max_drawdown,
    periods_per_year,
    profit_factor,
    sharpe_ratio,
    sortino_ratio,
    step_returns,
    summarize,
    trade_stats,
)

M15 = 15 * 60_000
T0 = 1_760_000_000_000


def ts(n: int, step: int = M15) -> list[int]:
    return [T0 + i * step for i in range(n)]


def assert_drawdown(
    d: Drawdown, fraction: float, peak: int | None, trough: int | None, back: int | None
) -> None:
    assert d.fraction == pytest.approx(fraction)
    assert (d.peak_ms, d.trough_ms, d.recovered_ms) == (peak, trough, back)


@dataclass(frozen=True)
class Trade:
    pnl_usd: float
    pnl_pct: float = 0.0
    fees_usd: float = 0.0
    funding_usd: float = 0.0
    hold_ms: int = 0


def test_periods_per_year_counts_every_day_of_the_year() -> None:
    assert periods_per_year(M15) == 35_040  # 4 x 24 x 365
    assert periods_per_year(3_600_000) == 8_760
    assert frequency_text(M15) == "15m steps, 35,040 per year (365 days)"
    assert frequency_text(4 * 3_600_000) == "4h steps, 2,190 per year (365 days)"
    with pytest.raises(ValueError, match="positive"):
        periods_per_year(0)


def test_fixed_step_refuses_uneven_or_too_short_series() -> None:
    assert fixed_step_ms(ts(3)) == M15
    with pytest.raises(ValueError, match="fixed step"):
        fixed_step_ms([T0, T0 + M15, T0 + 3 * M15])
    with pytest.raises(ValueError, match="at least 2"):
        fixed_step_ms([T0])


def test_returns_sharpe_and_sortino_by_hand() -> None:
    # 100 -> 110 -> 99 -> 108.9: returns +10 %, -10 %, +10 %.
    returns = step_returns([100.0, 110.0, 99.0, 108.9])
    np.testing.assert_allclose(returns, [0.1, -0.1, 0.1])
    # mean 1/30; deviations 2/30, -4/30, 2/30; sample variance (4 + 16 + 4) / 900 / 2 = 12/900,
    # so std = sqrt(12)/30 and Sharpe per step = 1/sqrt(12).
    assert sharpe_ratio(returns, 35_040) == pytest.approx(math.sqrt(35_040) / math.sqrt(12))
    # Downside: mean of (0, 0.01, 0) = 0.01/3 -> DD = 0.1/sqrt(3); per step (1/30)/(0.1/sqrt(3)) = 1/sqrt(3).
    assert sortino_ratio(returns, 35_040) == pytest.approx(math.sqrt(35_040) / math.sqrt(3))


def test_ratios_are_none_when_undefined() -> None:
    flat = step_returns([100.0] * 5)
    assert sharpe_ratio(flat, 35_040) is None
    assert sortino_ratio(flat, 35_040) is None
    rising = step_returns([100.0, 101.0, 103.0])
    assert sharpe_ratio(rising, 35_040) is not None
    assert sortino_ratio(rising, 35_040) is None  # no downside at all
    one = step_returns([100.0, 90.0])
    assert sharpe_ratio(one, 35_040) is None
    assert sortino_ratio(one, 35_040) is None


def test_equity_must_be_positive_and_finite() -> None:
    with pytest.raises(ValueError, match="positive"):
        step_returns([100.0, 0.0, 50.0])
    with pytest.raises(ValueError, match="finite"):
        step_returns([100.0, math.nan])
    with pytest.raises(ValueError, match="non-empty"):
        step_returns([])


def test_max_drawdown_picks_the_deepest_fall_and_its_dates() -> None:
    # Falls: 100 -> 90 (10 %), then 130 -> 104 (20 %): the second is the max.
    t = ts(4)
    assert_drawdown(max_drawdown(t, [100.0, 90.0, 130.0, 104.0]), 0.2, t[2], t[3], None)
    np.testing.assert_allclose(drawdown_series([100.0, 90.0, 130.0, 104.0]), [0, -0.1, 0, -0.2])


def test_max_drawdown_recovery_is_the_first_return_to_the_peak() -> None:
    # Peak 120 at t1, trough 90 at t2 (25 %), back above 120 first at t4; then 125 -> 80 (36 %).
    t = ts(6)
    assert_drawdown(max_drawdown(t, [100.0, 120.0, 90.0, 100.0, 125.0, 80.0]), 0.36, t[4], t[5], None)
    assert max_drawdown(t[:5], [100.0, 120.0, 90.0, 100.0, 125.0]) == Drawdown(0.25, t[1], t[2], t[4])
    # Equal to the peak counts as recovered.
    assert max_drawdown(t[:4], [100.0, 120.0, 90.0, 120.0]).recovered_ms == t[3]


def test_no_drawdown_on_a_rising_or_flat_curve() -> None:
    assert max_drawdown(ts(3), [100.0, 100.0, 100.0]) == Drawdown(0.0, None, None, None)
    assert max_drawdown(ts(3), [100.0, 101.0, 102.0]) == Drawdown(0.0, None, None, None)


def test_exposure_is_the_share_of_steps_in_a_position() -> None:
    assert exposure([True, False, False, True]) == 0.5
    assert exposure([False, False]) == 0.0
    assert exposure([]) is None


def test_trade_stats_by_hand() -> None:
    trades = [
        Trade(30.0, 3.0, fees_usd=1.0, funding_usd=0.5, hold_ms=1000),
        Trade(-10.0, -1.0, fees_usd=1.0, funding_usd=-0.25, hold_ms=2000),
        Trade(0.0, 0.0, fees_usd=0.5, hold_ms=3000),  # break-even: counted, neither win nor loss
        Trade(-20.0, -2.0, fees_usd=1.0, hold_ms=4000),
        Trade(50.0, 5.0, fees_usd=1.5, hold_ms=5000),
    ]
    stats = trade_stats(trades)
    assert (stats.count, stats.wins, stats.losses) == (5, 2, 2)
    assert stats.win_rate == pytest.approx(0.4)
    assert stats.avg_win_usd == pytest.approx(40.0)
    assert stats.avg_loss_usd == pytest.approx(-15.0)
    assert stats.avg_win_pct == pytest.approx(4.0)
    assert stats.avg_loss_pct == pytest.approx(-1.5)
    assert stats.profit_factor == pytest.approx(80 / 30)
    assert stats.total_pnl_usd == pytest.approx(50.0)
    assert stats.total_fees_usd == pytest.approx(5.0)
    assert stats.total_funding_usd == pytest.approx(0.25)
    assert stats.avg_hold_ms == pytest.approx(3000.0)


def test_no_trades_gives_none_not_zero() -> None:
    stats = trade_stats([])
    assert (stats.count, stats.wins, stats.losses) == (0, 0, 0)
    assert stats.win_rate is None
    assert stats.avg_win_usd is None
    assert stats.avg_loss_usd is None
    assert stats.profit_factor is None
    assert stats.avg_hold_ms is None
    assert stats.total_pnl_usd == 0.0


def test_one_winning_trade() -> None:
    stats = trade_stats([Trade(12.5, 1.25, fees_usd=0.8, hold_ms=60_000)])
    assert (stats.count, stats.wins, stats.losses, stats.win_rate) == (1, 1, 0, 1.0)
    assert stats.avg_win_usd == 12.5
    assert stats.avg_loss_usd is None
    assert stats.profit_factor == math.inf


def test_profit_factor_rules() -> None:
    assert profit_factor([-5.0, -5.0]) == 0.0
    assert profit_factor([0.0, 0.0]) is None
    assert profit_factor([]) is None
    assert profit_factor([10.0, -4.0]) == 2.5


def test_confidence_correlation_by_hand() -> None:
    # x = 60, 70, 80, 90 ; y = 0, 0, 1, 1. dx = -15, -5, 5, 15 ; dy = -.5, -.5, .5, .5.
    # sum dx dy = 20 ; sum dx^2 = 500 ; sum dy^2 = 1 -> r = 20 / sqrt(500) = 0.894427...
    assert confidence_correlation([60, 70, 80, 90], [False, False, True, True]) == pytest.approx(
        20 / math.sqrt(500)
    )
    assert confidence_correlation([60, 70, 80], [True, False, False]) == pytest.approx(-math.sqrt(3) / 2)


def test_confidence_correlation_undefined_cases() -> None:
    assert confidence_correlation([60, 70], [True, False]) is None  # fewer than 3
    assert confidence_correlation([60, 70, 80], [True, True, True]) is None  # hits do not vary
    assert confidence_correlation([70, 70, 70], [True, False, True]) is None  # confidence does not vary
    with pytest.raises(ValueError, match="length"):
        confidence_correlation([60, 70, 80], [True, False])


def test_summary_of_a_flat_curve_without_trades() -> None:
    summary = summarize(ts(5), [1000.0] * 5, in_position=[False] * 5)
    assert summary.step_ms == M15
    assert summary.periods_per_year == 35_040
    assert summary.total_return == 0.0
    assert summary.sharpe is None
    assert summary.sortino is None
    assert summary.max_drawdown == Drawdown(0.0, None, None, None)
    assert summary.exposure == 0.0
    assert summary.trades.count == 0
    assert summary.confidence_correlation is None


def test_summary_puts_the_pieces_together() -> None:
    t = ts(4)
    summary = summarize(
        t,
        [100.0, 110.0, 99.0, 108.9],
        in_position=[False, True, True, False],
        trades=[Trade(8.9, 8.9)],
        confidences=[60, 70, 80, 90],
        hits=[False, False, True, True],
    )
    assert summary.start_equity == 100.0
    assert summary.end_equity == 108.9
    assert summary.total_return == pytest.approx(0.089)
    assert summary.sharpe == pytest.approx(math.sqrt(35_040 / 12))
    assert_drawdown(summary.max_drawdown, 0.1, t[1], t[2], None)
    assert summary.exposure == 0.5
    assert summary.trades.wins == 1
    assert summary.confidence_correlation == pytest.approx(20 / math.sqrt(500))
    assert summarize(t, [100.0] * 4).exposure is None


def test_total_return_from_the_capital_before_the_first_point() -> None:
    # Buy-and-hold's first point already paid the entry fee: 1,000 -> 999 at the first close.
    summary = summarize(ts(2), [999.0, 1099.0], starting_equity=1000.0)
    assert summary.start_equity == 1000.0
    assert summary.total_return == pytest.approx(0.099)
    with pytest.raises(ValueError, match="starting_equity"):
        summarize(ts(2), [1.0, 2.0], starting_equity=0.0)


def test_summary_refuses_mismatched_series() -> None:
    with pytest.raises(ValueError, match="one flag per equity point"):
        summarize(ts(3), [1.0, 2.0, 3.0], in_position=[True])
    with pytest.raises(ValueError, match="length"):
        summarize(ts(3), [1.0, 2.0])
