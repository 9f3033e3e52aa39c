"""Turn a finished backtest (its runs and its store) into ReportData, and print the outcome."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from consensus.leaderboard import SWARM, leaderboard
from consensus.scoring import DEFAULT_FEE_RATE
from execution.journal import TradeRecord
from swarm.backtest import BacktestRun, ReplayFeed
from swarm.baselines import FundingSeries, always_flat, buy_and_hold
from swarm.config import Settings
from swarm.cutoffs import members_before_cutoff
from swarm.metrics import summarize
from swarm.report import EquityCurve, MemberReport, ReportData, RunMeta, RunResult, TradeRow, WeightSeries
from swarm.timeutil import wall_clock_ms

if TYPE_CHECKING:
    from swarm.commands.backtest import Outcome


def build_report_data(
    outcome: Outcome,
    settings: Settings,
    roster: Sequence[str],
    symbols: Sequence[str],
    start_ms: int,
    end_ms: int,
    step_ms: int,
    anonymized: bool,
    seed: int,
) -> ReportData:
    store = outcome.store
    facts = store.leaderboard_facts(end_ms)
    weights = store.member_weights(end_ms)
    rows = leaderboard(facts.answers, facts.consensus, weights)
    trades = [_trade_row(t) for t in store.closed_trades() if t.exit_price is not None]
    swarm = _result("swarm", outcome.swarm, settings, trades)
    members = [MemberReport(member=r.member, model=r.member, row=r) for r in rows if r.member != SWARM]
    meta = RunMeta(
        title=f"swarm backtest {', '.join(symbols)}",
        roster=list(roster),
        symbols=list(symbols),
        window_start_ms=start_ms,
        window_end_ms=end_ms,
        step_ms=step_ms,
        starting_equity_usd=settings.paper_equity_usd,
        taker_fee_rate=DEFAULT_FEE_RATE,
        generated_at_ms=wall_clock_ms(),
        anonymized=anonymized,
        cutoff_flags=members_before_cutoff(roster, start_ms, settings),
        random_seed=seed,
    )
    return ReportData(
        meta=meta,
        swarm=swarm,
        baselines=_baselines(outcome, settings, symbols),
        members=members,
        weights=_weight_series(facts.consensus, outcome.swarm),
        trades=trades,
    )


def _result(name: str, run: BacktestRun, settings: Settings, trades: Sequence[TradeRow] = ()) -> RunResult:
    ts, equity, exposed = run.equity.arrays()
    curve = EquityCurve(name, ts.tolist(), equity.tolist())
    summary = summarize(
        ts.tolist(),
        equity,
        in_position=exposed.tolist(),
        trades=trades,
        starting_equity=settings.paper_equity_usd,
    )
    return RunResult(curve, summary)


def _baselines(outcome: Outcome, settings: Settings, symbols: Sequence[str]) -> list[RunResult]:
    ts, _, _ = outcome.swarm.equity.arrays()
    times = ts.tolist()
    equity = settings.paper_equity_usd
    held = _buy_and_hold(outcome.feed, symbols, times, equity)
    flat = always_flat(times, starting_equity=equity)
    n = len(times)
    return [
        RunResult(
            EquityCurve("buy and hold", times, held.tolist()),
            summarize(times, held, in_position=[True] * n, starting_equity=equity),
        ),
        RunResult(
            EquityCurve("always flat", times, flat.tolist()), summarize(times, flat, in_position=[False] * n)
        ),
        _result("random entries", outcome.random, settings),
    ]


def _buy_and_hold(feed: ReplayFeed, symbols: Sequence[str], times: list[int], equity: float) -> np.ndarray:
    """Equal parts of the equity in each symbol, bought at the first step and held, funding paid."""
    total = np.zeros(len(times))
    for symbol in symbols:
        finest = feed.finest(symbol)
        index = np.searchsorted(finest.close_ms, np.asarray(times), side="right") - 1
        closes = finest.close[np.clip(index, 0, None)]
        funding = FundingSeries.from_prints(list(feed.histories[symbol].funding.items))
        total += buy_and_hold(
            times,
            closes.tolist(),
            starting_equity=equity / len(symbols),
            fee_rate=DEFAULT_FEE_RATE,
            funding=funding,
        )
    return total


def _weight_series(consensus: Sequence[object], run: BacktestRun) -> list[WeightSeries]:
    """Each member's weight at every step, carried forward from the last vote that used it."""
    times = run.equity.ts_ms
    by_time: dict[int, dict[str, float]] = {}
    for vote in consensus:
        cast_at = int(str(getattr(vote, "cycle_id", "bt-0")).removeprefix("bt-") or 0)
        by_time.setdefault(cast_at, {}).update(getattr(vote, "weights", {}))
    members = sorted({m for weights in by_time.values() for m in weights})
    series = []
    for member in members:
        value, values = 0.0, []
        for t in times:
            value = by_time.get(t, {}).get(member, value)
            values.append(value)
        series.append(WeightSeries(member, list(times), values))
    return series


def _trade_row(trade: TradeRecord) -> TradeRow:
    notional = trade.entry_price * trade.size
    return TradeRow(
        symbol=trade.symbol,
        side=trade.side.value,
        entry_ms=trade.opened_at,
        exit_ms=trade.closed_at,
        entry_price=trade.entry_price,
        exit_price=float(trade.exit_price or 0.0),
        size_base=trade.size,
        pnl_usd=trade.pnl_usd,
        pnl_pct=100.0 * trade.pnl_usd / notional if notional else 0.0,
        fees_usd=trade.fees_usd,
        funding_usd=trade.funding_usd,
        exit_reason=trade.reason,
        cycle_id=(trade.decision_id or "").split(":")[0],
    )


def show_result(outcome: Outcome, db_path: Path, report_path: Path) -> None:
    from swarm.commands.leaderboard import show_leaderboard

    store = outcome.store
    end = outcome.swarm.equity.ts_ms[-1]
    facts = store.leaderboard_facts(end)
    rows = leaderboard(facts.answers, facts.consensus, store.member_weights(end))
    show_leaderboard(rows, end)
    final = outcome.swarm.equity.equity[-1]
    print(f"{outcome.swarm.steps} steps; final equity {final:,.2f} USD; record: {db_path}")
    print(f"report: {report_path}")
