"""Performance metrics of an equity curve and of a list of closed trades: pure numpy, no I/O.

Conventions (the report states them next to the numbers):

- An equity curve is equity in USD sampled at a fixed step (e.g. every 15 minutes), oldest first,
  with its timestamps in UTC epoch ms. Equity must stay positive: a return from zero is undefined.
- Returns are simple returns per step, r_i = e_i / e_{i-1} - 1 (n points give n - 1 returns).
- Annualisation: crypto trades around the clock, so a year is 365 days of steps:
  periods_per_year = 365 x 86,400,000 / step_ms (35,040 for 15 minutes, 8,760 for 1 hour).
- Sharpe = mean(r) / std(r, ddof=1) x sqrt(periods_per_year), risk-free rate 0.
- Sortino = mean(r) / DD x sqrt(periods_per_year), DD = sqrt(mean(min(r, 0)^2)) over ALL periods
  (target 0; the positive ones count as 0), as in empyrical's downside_risk.
  Both are None with fewer than 2 returns or a zero denominator (flat equity; no downside).
- Max drawdown: the largest fall from a running peak, as a positive fraction of that peak
  (0.25 = equity 25 % below its high), with the peak's and the trough's times and the time
  equity first got back to the peak (None: not recovered by the end).
- Exposure: share of steps with an open position, from one boolean per step.
- Trades: a win has pnl_usd > 0, a loss pnl_usd < 0; a trade at exactly 0 counts in `count`
  (so it lowers the win rate) but in neither average. Profit factor = sum of wins / |sum of
  losses|: None without trades or when every trade is at 0, math.inf with wins and no loss,
  0.0 with losses and no win.
- Confidence vs outcome: Pearson correlation between each ballot's confidence and its 0/1 hit;
  None with fewer than 3 pairs or when either side does not vary.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Protocol

import numpy as np
import numpy.typing as npt

from feeds.types import DAY_MS

DAYS_PER_YEAR: Final = 365  # crypto perpetuals trade every day of the year

FloatArray = npt.NDArray[np.float64]


class TradeResult(Protocol):
    """What the trade statistics read of one closed trade (the report's TradeRow has all of it)."""

    @property
    def pnl_usd(self) -> float:
        """Realized PnL net of fees and funding, USD."""
        ...

    @property
    def pnl_pct(self) -> float:
        """pnl_usd as percent of the entry notional."""
        ...

    @property
    def fees_usd(self) -> float: ...

    @property
    def funding_usd(self) -> float:
        """Funding paid while open (negative when received)."""
        ...

    @property
    def hold_ms(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Drawdown:
    """The deepest fall from a running peak; the times are None when equity never fell."""

    fraction: float
    peak_ms: int | None
    trough_ms: int | None
    recovered_ms: int | None


@dataclass(frozen=True, slots=True)
class TradeStats:
    """Statistics of closed trades; averages are None when there is nothing to average."""

    count: int
    wins: int
    losses: int
    win_rate: float | None  # fraction of `count`
    avg_win_usd: float | None
    avg_loss_usd: float | None  # negative
    avg_win_pct: float | None
    avg_loss_pct: float | None  # negative
    profit_factor: float | None
    total_pnl_usd: float
    total_fees_usd: float
    total_funding_usd: float
    avg_hold_ms: float | None


@dataclass(frozen=True, slots=True)
class PerformanceSummary:
    """Every headline number of one run (the swarm, a baseline or one member followed alone)."""

    step_ms: int
    periods_per_year: float
    start_equity: float  # the capital the run started with
    end_equity: float
    total_return: float  # fraction: end / start - 1
    sharpe: float | None
    sortino: float | None
    max_drawdown: Drawdown
    exposure: float | None
    trades: TradeStats
    confidence_correlation: float | None


def periods_per_year(step_ms: int) -> float:
    """Steps in a 365-day year: the factor Sharpe and Sortino are annualised with."""
    if step_ms <= 0:
        raise ValueError(f"step_ms must be positive (got {step_ms})")
    return DAYS_PER_YEAR * DAY_MS / step_ms


def fixed_step_ms(timestamps_ms: Sequence[int] | npt.NDArray[np.int64]) -> int:
    """The common step of evenly spaced timestamps; ValueError if they are not evenly spaced."""
    ts = np.asarray(timestamps_ms, dtype=np.int64)
    if ts.size < 2:
        raise ValueError("an equity curve needs at least 2 points to have a step")
    steps = np.diff(ts)
    if steps[0] <= 0 or not np.all(steps == steps[0]):
        raise ValueError("timestamps must be strictly increasing at one fixed step")
    return int(steps[0])


def step_returns(equity: Sequence[float] | FloatArray) -> FloatArray:
    """Simple returns per step: e[i] / e[i-1] - 1, one fewer than the points."""
    values = _equity_array(equity)
    return values[1:] / values[:-1] - 1.0


def sharpe_ratio(returns: FloatArray, periods: float) -> float | None:
    """Annualised Sharpe ratio (risk-free 0, sample std); None if undefined."""
    if returns.size < 2:
        return None
    std = float(np.std(returns, ddof=1))
    if std == 0.0 or not math.isfinite(std):
        return None
    return float(np.mean(returns)) / std * math.sqrt(periods)


def sortino_ratio(returns: FloatArray, periods: float) -> float | None:
    """Annualised Sortino ratio (target 0, downside deviation over all periods); None if undefined."""
    if returns.size < 2:
        return None
    downside = math.sqrt(float(np.mean(np.minimum(returns, 0.0) ** 2)))
    if downside == 0.0:
        return None
    return float(np.mean(returns)) / downside * math.sqrt(periods)


def drawdown_series(equity: Sequence[float] | FloatArray) -> FloatArray:
    """Per point, equity / running peak - 1: 0 at a new high, negative below it (for charts)."""
    values = _equity_array(equity)
    return values / np.maximum.accumulate(values) - 1.0


def max_drawdown(timestamps_ms: Sequence[int], equity: Sequence[float] | FloatArray) -> Drawdown:
    """The deepest drawdown, its peak and trough times, and when equity regained that peak."""
    values = _equity_array(equity)
    if len(timestamps_ms) != values.size:
        raise ValueError("timestamps and equity differ in length")
    depth = drawdown_series(values)
    trough = int(np.argmin(depth))
    if depth[trough] >= 0.0:
        return Drawdown(0.0, None, None, None)
    peak = int(np.argmax(values[: trough + 1]))  # the first point at the running high
    after = np.nonzero(values[trough:] >= values[peak])[0]
    recovered = int(timestamps_ms[trough + int(after[0])]) if after.size else None
    return Drawdown(-float(depth[trough]), int(timestamps_ms[peak]), int(timestamps_ms[trough]), recovered)


def exposure(in_position: Sequence[bool] | npt.NDArray[np.bool_]) -> float | None:
    """Share of steps with an open position; None for no steps."""
    flags = np.asarray(in_position, dtype=bool)
    return float(flags.mean()) if flags.size else None


def trade_stats(trades: Sequence[TradeResult]) -> TradeStats:
    """Count, win rate, average win and loss, profit factor and totals of closed trades."""
    pnl = np.array([t.pnl_usd for t in trades], dtype=np.float64)
    pct = np.array([t.pnl_pct for t in trades], dtype=np.float64)
    won, lost = pnl > 0, pnl < 0
    return TradeStats(
        count=len(trades),
        wins=int(won.sum()),
        losses=int(lost.sum()),
        win_rate=float(won.mean()) if trades else None,
        avg_win_usd=_mean(pnl[won]),
        avg_loss_usd=_mean(pnl[lost]),
        avg_win_pct=_mean(pct[won]),
        avg_loss_pct=_mean(pct[lost]),
        profit_factor=profit_factor(pnl),
        total_pnl_usd=math.fsum(pnl),
        total_fees_usd=math.fsum(t.fees_usd for t in trades),
        total_funding_usd=math.fsum(t.funding_usd for t in trades),
        avg_hold_ms=_mean(np.array([t.hold_ms for t in trades], dtype=np.float64)),
    )


def profit_factor(pnl_usd: Sequence[float] | FloatArray) -> float | None:
    """Sum of wins / |sum of losses|; inf with no loss, None with neither a win nor a loss."""
    pnl = np.asarray(pnl_usd, dtype=np.float64)
    gains, losses = math.fsum(pnl[pnl > 0]), -math.fsum(pnl[pnl < 0])
    if losses == 0.0:
        return math.inf if gains > 0.0 else None
    return gains / losses


def confidence_correlation(confidences: Sequence[float], hits: Sequence[bool]) -> float | None:
    """Pearson correlation of confidence with a 0/1 hit; None below 3 pairs or without variance."""
    if len(confidences) != len(hits):
        raise ValueError("confidences and hits differ in length")
    if len(hits) < 3:
        return None
    x = np.asarray(confidences, dtype=np.float64)
    y = np.asarray(hits, dtype=np.float64)
    dx, dy = x - x.mean(), y - y.mean()
    denominator = math.sqrt(float(dx @ dx) * float(dy @ dy))
    if denominator == 0.0:
        return None
    # Rounding can push a perfect correlation a hair past 1.
    return max(-1.0, min(1.0, float(dx @ dy) / denominator))


def summarize(
    timestamps_ms: Sequence[int],
    equity: Sequence[float] | FloatArray,
    *,
    in_position: Sequence[bool] | None = None,
    trades: Sequence[TradeResult] = (),
    confidences: Sequence[float] = (),
    hits: Sequence[bool] = (),
    starting_equity: float | None = None,
) -> PerformanceSummary:
    """Every metric of one run; exposure is None without the in_position series.

    `starting_equity` is the capital before the first point (default: the first point). Give it
    when the first point already carries a cost, e.g. buy-and-hold's entry fee: the total return
    is measured from it. Per-step returns and drawdown use the curve's points only.
    """
    values = _equity_array(equity)
    start = float(values[0]) if starting_equity is None else starting_equity
    if not start > 0:
        raise ValueError(f"starting_equity must be positive (got {start})")
    step = fixed_step_ms(timestamps_ms)
    periods = periods_per_year(step)
    returns = step_returns(values)
    if in_position is not None and len(in_position) != values.size:
        raise ValueError("in_position needs one flag per equity point")
    return PerformanceSummary(
        step_ms=step,
        periods_per_year=periods,
        start_equity=start,
        end_equity=float(values[-1]),
        total_return=float(values[-1]) / start - 1.0,
        sharpe=sharpe_ratio(returns, periods),
        sortino=sortino_ratio(returns, periods),
        max_drawdown=max_drawdown(timestamps_ms, values),
        exposure=None if in_position is None else exposure(in_position),
        trades=trade_stats(trades),
        confidence_correlation=confidence_correlation(confidences, hits),
    )


def frequency_text(step_ms: int) -> str:
    """How the ratios are annualised, in words: '15m steps, 35,040 per year (365 days)'."""
    minutes = step_ms / 60_000
    unit = f"{minutes / 60:g}h" if minutes >= 60 and minutes % 60 == 0 else f"{minutes:g}m"
    return f"{unit} steps, {periods_per_year(step_ms):,.0f} per year (365 days)"


def _equity_array(equity: Sequence[float] | FloatArray) -> FloatArray:
    values = np.asarray(equity, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError("equity must be a non-empty 1-d series")
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ValueError("equity must be finite and positive at every point")
    return values


def _mean(values: FloatArray) -> float | None:
    return float(values.mean()) if values.size else None
