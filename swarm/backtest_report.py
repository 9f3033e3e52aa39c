"""The end of a backtest: its runs saved into its store as a report run, the report written from
the store (as `swarm report` would write it again later), the outcome printed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from consensus.leaderboard import LeaderboardRow
from consensus.scoring import DEFAULT_FEE_RATE
from swarm.backtest import BacktestRun, ReplayFeed
from swarm.backtest_runs import RANDOM_SEED, Outcome, Plan, SideRun
from swarm.baselines import FundingSeries, always_flat, buy_and_hold_basket
from swarm.cutoffs import members_before_cutoff
from swarm.report import write_report
from swarm.report_build import meta_to_json, report_from_store
from swarm.report_data import RunMeta
from swarm.report_results import ALWAYS_FLAT, BUY_AND_HOLD, RANDOM_ENTRIES, SWARM_CURVE, alone_curve
from swarm.store import Store
from swarm.timeutil import wall_clock_ms


def save_and_report(
    outcome: Outcome,
    roster: Sequence[str],
    report_path: Path,
    rows: Sequence[LeaderboardRow] | None = None,
) -> Path:
    """Save the backtest's runs as one report run of its store; write the report from the store
    (`rows`: the leaderboard at the end, when the caller has it)."""
    store, plan = outcome.store, outcome.plan
    meta = run_meta(plan, roster)
    run_id = store.create_run("backtest", meta_to_json(meta))
    _save_run(store, run_id, SWARM_CURVE, outcome.swarm)
    _save_baselines(store, run_id, outcome)
    for member, side in outcome.alone.items():
        _save_side(store, run_id, alone_curve(member), side)
    run = next(r for r in store.runs() if r.id == run_id)
    return write_report(report_from_store(store, run, wall_clock_ms(), rows), report_path)


def run_meta(plan: Plan, roster: Sequence[str]) -> RunMeta:
    return RunMeta(
        title=f"swarm backtest {', '.join(plan.symbols)}",
        roster=list(roster),
        symbols=list(plan.symbols),
        window_start_ms=plan.start_ms,
        window_end_ms=plan.end_ms,
        step_ms=plan.step_ms,
        starting_equity_usd=plan.settings.paper_equity_usd,
        taker_fee_rate=DEFAULT_FEE_RATE,
        generated_at_ms=0,  # not stored: each report stamps its own
        anonymized=plan.anonymize,
        cutoff_flags=members_before_cutoff(roster, plan.start_ms, plan.settings),
        random_seed=RANDOM_SEED,
    )


def _save_run(store: Store, run_id: int, curve: str, run: BacktestRun) -> None:
    e = run.equity
    store.write_curve(run_id, curve, e.ts_ms, e.equity, e.exposed)


def _save_side(store: Store, run_id: int, curve: str, side: SideRun) -> None:
    _save_run(store, run_id, curve, side.run)
    store.write_curve_trades(run_id, curve, side.trades)


def _save_baselines(store: Store, run_id: int, outcome: Outcome) -> None:
    plan = outcome.plan
    times = outcome.swarm.equity.ts_ms
    equity = plan.settings.paper_equity_usd
    held = _buy_and_hold(plan.feed, plan.symbols, times, equity)
    n = len(times)
    store.write_curve(run_id, BUY_AND_HOLD, times, held.tolist(), [True] * n)
    flat = always_flat(times, starting_equity=equity)
    store.write_curve(run_id, ALWAYS_FLAT, times, flat.tolist(), [False] * n)
    _save_side(store, run_id, RANDOM_ENTRIES, outcome.random)


def _buy_and_hold(feed: ReplayFeed, symbols: Sequence[str], times: list[int], equity: float) -> np.ndarray:
    """Equal parts of the equity in each symbol, bought at the first step and held, funding paid."""
    closes, funding = {}, {}
    for symbol in symbols:
        finest = feed.finest(symbol)
        index = np.searchsorted(finest.close_ms, np.asarray(times), side="right") - 1
        closes[symbol] = finest.close[np.clip(index, 0, None)].tolist()
        funding[symbol] = FundingSeries.from_prints(list(feed.histories[symbol].funding.items))
    return buy_and_hold_basket(times, closes, funding, starting_equity=equity, fee_rate=DEFAULT_FEE_RATE)


def show_result(outcome: Outcome, rows: Sequence[LeaderboardRow], db_path: Path, report_path: Path) -> None:
    from swarm.commands.leaderboard import show_leaderboard

    show_leaderboard(rows, outcome.swarm.equity.ts_ms[-1])
    final = outcome.swarm.equity.equity[-1]
    print(f"{outcome.swarm.steps} steps; final equity {final:,.2f} USD; record: {db_path}")
    print(f"report: {report_path}  (again later: swarm report --db {db_path} --out PATH)")
