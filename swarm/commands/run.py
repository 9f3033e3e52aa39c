"""`swarm run`: the main job, on the wall clock, paper by default."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Literal

import anyio

from feeds.types import Timeframe
from swarm.config import Settings, load_settings
from swarm.engine import CycleReport, Engine, EngineConfig
from swarm.errors import UsageError
from swarm.feed import SOURCE_NAMES, SourceName, make_source
from swarm.members.base import Member
from swarm.roster import build_members, close_llm_clients, require_keys, resolve_roster
from swarm.timeutil import format_utc, wall_clock_ms

if TYPE_CHECKING:
    from execution.types import Portfolio
    from prompts.context import TradeOutcome
    from swarm.store import Store

LEVERAGE = {"BTC": 50, "ETH": 50, "SOL": 20}


def run_main(
    *,
    models: str | None,
    symbols: str,
    interval: str,
    live: bool,
    confirm_live: bool,
    once: bool,
    source: str,
) -> None:
    settings = load_settings()
    members = build_members(resolve_roster(models, settings, os.environ), settings)
    require_keys(members)
    coins = [s.strip().upper() for s in symbols.split(",") if s.strip()]
    if not coins:
        raise UsageError("--symbols: give at least one, e.g. --symbols SOL,BTC")
    try:
        step = Timeframe.parse(interval).ms
    except ValueError as exc:
        raise UsageError(f"--interval: {exc}") from None
    if source not in SOURCE_NAMES or source == "replay":
        raise UsageError(f"--source must be an exchange: pacifica, hyperliquid or binance (got {source!r})")
    mode: Literal["paper", "live"] = "live" if live else "paper"
    anyio.run(_run, settings, members, coins, step, mode, confirm_live, once, source)


async def _run(
    settings: Settings,
    members: list[Member],
    symbols: list[str],
    step: int,
    mode: Literal["paper", "live"],
    confirm_live: bool,
    once: bool,
    source_name: SourceName,
) -> None:
    from execution.orders import VenueExecutor
    from swarm.backtest import market_infos
    from swarm.live import LiveFeed, MarkingFeed, StopFlag, run_live
    from swarm.members.cached import guarded
    from swarm.recorder import StoreRecorder
    from swarm.scoring_job import score_due
    from swarm.store import Store
    from swarm.venues import open_venue

    store = Store.open(settings.db)
    venue = open_venue(mode, settings, confirm_live=confirm_live, environ=os.environ, journal=store)
    source = make_source(source_name, settings)
    stop = StopFlag()
    try:

        async def scorer(now_ms: int) -> int:
            return (await score_due(store, source, now_ms, settings.score_horizon_ms)).scored

        feed = MarkingFeed(LiveFeed(source), venue) if mode == "paper" else LiveFeed(source)
        voters = [guarded(m, store, settings, use_cache=False) for m in members]
        executor = VenueExecutor(venue, store, now=wall_clock_ms)
        engine = Engine(
            config=EngineConfig(symbols=tuple(symbols), interval_ms=step, deadline_s=settings.deadline_s),
            members=voters,
            feed=feed,
            executor=executor,
            recorder=StoreRecorder(store, scorer),
            markets=market_infos(symbols, LEVERAGE),
            priors={m.name: settings.member(m.name).prior_weight for m in members},
            recent_trades=lambda now_ms: last_trades(store, now_ms),
        )
        where = f"{mode} on {source_name}, {', '.join(symbols)}, every {step // 60_000} min"
        run_id = store.run_of_kind(mode, _run_meta(settings, members, symbols, step, where, mode))

        def on_cycle(report: CycleReport, account: Portfolio) -> None:
            # The run's equity curve and marks, which `swarm report` reads.
            # On the interval's grid (a cycle starts a moment after it), so the curve has one step.
            slot = report.now_ms - report.now_ms % step
            exposed = bool(account.positions)
            store.append_point(run_id, "swarm", slot, account.equity_usd, exposed, report.marks)
            _print_cycle(report)

        print(f"swarm run: {where}; Ctrl-C stops after the current step")
        stop.install()
        await run_live(engine, interval_ms=step, now=wall_clock_ms, once=once, stop=stop, on_cycle=on_cycle)
        executor.save_venue_state()
    finally:
        stop.restore()
        await close_llm_clients(members)
        await source.aclose()
        await venue.aclose()
        store.close()


def _run_meta(
    settings: Settings, members: list[Member], symbols: list[str], step: int, where: str, mode: str
) -> dict[str, object]:
    from consensus.scoring import DEFAULT_FEE_RATE
    from swarm.backtest_runs import RANDOM_SEED
    from swarm.report_build import meta_to_json
    from swarm.report_data import RunMeta

    names = [m.name for m in members]
    meta = RunMeta(
        title=f"swarm run ({where})",
        roster=names,
        symbols=symbols,
        window_start_ms=0,  # a report reads the window off the recorded curve
        window_end_ms=0,
        step_ms=step,
        starting_equity_usd=settings.paper_equity_usd,  # a report starts from the first point
        taker_fee_rate=DEFAULT_FEE_RATE,
        generated_at_ms=0,
        random_seed=RANDOM_SEED,  # of the random-entries baseline a report replays on the marks
        kind=mode,
    )
    return meta_to_json(meta)


def _print_cycle(report: CycleReport) -> None:
    parts = []
    for outcome in report.outcomes:
        c = outcome.consensus
        status = outcome.execution.status if outcome.execution else outcome.result.kind
        parts.append(f"{outcome.symbol} {c.action.value} {c.confidence:.0f} -> {status}")
    summary = "; ".join(parts) or "nothing due"
    print(f"{format_utc(report.now_ms)} {report.cycle_id}: {summary}; scored {report.scored}")


def last_trades(store: Store, now_ms: int, count: int = 5) -> list[TradeOutcome]:
    """The journal's last closed trades, as the prompt shows them (newest last)."""
    from datetime import UTC, datetime

    from prompts.context import TradeOutcome

    closed = [t for t in store.closed_trades() if t.exit_price and t.closed_at <= now_ms]
    return [
        TradeOutcome(
            symbol=t.symbol,
            side=t.side.value,
            entry_price=t.entry_price,
            exit_price=t.exit_price,
            pnl_pct=100.0 * t.pnl_usd / (t.entry_price * t.size),
            closed_at=datetime.fromtimestamp(t.closed_at / 1000, tz=UTC),
            reason=t.reason,
        )
        for t in closed[-count:]
    ]
