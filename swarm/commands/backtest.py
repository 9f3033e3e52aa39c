"""`swarm backtest`: the engine over replay data with a paper venue, then the report."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import anyio

from feeds.sources.replay import ReplaySource, default_data_dir
from feeds.types import Timeframe
from swarm.backtest import BacktestRun, ReplayFeed, run_loop
from swarm.backtest_setup import RandomMember, SimClock, wire
from swarm.config import Settings, load_settings
from swarm.errors import UsageError
from swarm.members.base import Member
from swarm.roster import build_members, parse_roster, require_keys
from swarm.store import Store
from swarm.timeutil import format_utc, parse_utc

RANDOM_SEED = 7
RANDOM_P_ENTRY = 0.02  # per step and symbol: about two entries a day on 15m bars


def run_backtest(
    *,
    models: str,
    symbols: str,
    start: str,
    end: str,
    data_dir: Path | None,
    interval: str,
    db: Path | None,
    report: Path | None,
    anonymize: bool,
) -> None:
    settings = load_settings(**({"data_dir": data_dir} if data_dir else {}))
    names = parse_roster(models)
    members = build_members(names, settings)
    require_keys(members)
    coins = _symbols(symbols)
    step = _interval(interval)
    source = ReplaySource(settings.data_dir or default_data_dir())
    start_ms, end_ms = _window(source, coins, start, end, step)
    _warn_cutoffs(names, start_ms, settings, anonymize)
    db_path = db or _default_db(start_ms, end_ms)
    if db_path.exists():
        raise UsageError(f"{db_path} exists: pass --db NEW.db or remove it (a backtest never overwrites)")
    report_path = report or db_path.with_suffix(".html")
    outcome = anyio.run(_run, settings, source, coins, members, start_ms, end_ms, step, db_path, anonymize)
    from swarm.backtest_report import build_report_data, show_result
    from swarm.report import write_report

    data = build_report_data(outcome, settings, names, coins, start_ms, end_ms, step, anonymize, RANDOM_SEED)
    write_report(data, report_path)
    show_result(outcome, db_path, report_path)


class Outcome:
    """The swarm's run and the random baseline's, with the store holding the swarm's record."""

    def __init__(self, swarm: BacktestRun, random: BacktestRun, store: Store, feed: ReplayFeed) -> None:
        self.swarm = swarm
        self.random = random
        self.store = store
        self.feed = feed


async def _run(
    settings: Settings,
    source: ReplaySource,
    symbols: list[str],
    members: list[Member],
    start_ms: int,
    end_ms: int,
    step: int,
    db_path: Path,
    anonymize: bool,
) -> Outcome:
    from swarm.members.cached import guarded

    feed = ReplayFeed(source, symbols)
    clock = SimClock(start_ms)
    store = Store.open(str(db_path), clock=clock, throwaway=True)  # rebuilt by rerunning, never recovered
    voters = [guarded(m, store, settings, use_cache=True) for m in members]
    if anonymize:
        voters = _anonymized(voters, feed, symbols, start_ms, settings)
    priors = {m.name: settings.member(m.name).prior_weight for m in members}
    swarm = await _loop(
        "swarm", store, clock, feed, voters, symbols, settings, start_ms, end_ms, step, priors
    )
    random = await _random_baseline(feed, symbols, settings, start_ms, end_ms, step)
    return Outcome(swarm, random, store, feed)


async def _random_baseline(
    feed: ReplayFeed,
    symbols: list[str],
    settings: Settings,
    start_ms: int,
    end_ms: int,
    step: int,
) -> BacktestRun:
    """Seeded random entries through the same risk rules and paper venue, on a throwaway store."""
    clock = SimClock(start_ms)
    store = Store.open("sqlite:///:memory:", clock=clock)
    try:
        times = list(range(start_ms, end_ms + 1, step))
        member = RandomMember(symbols, times, RANDOM_SEED, RANDOM_P_ENTRY)
        return await _loop(
            "random entries",
            store,
            clock,
            feed,
            [member],
            symbols,
            settings,
            start_ms,
            end_ms,
            step,
            None,
        )
    finally:
        store.close()


async def _loop(
    label: str,
    store: Store,
    clock: SimClock,
    feed: ReplayFeed,
    members: Sequence[Member],
    symbols: list[str],
    settings: Settings,
    start_ms: int,
    end_ms: int,
    step: int,
    priors: dict[str, float] | None,
) -> BacktestRun:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    wiring = wire(
        store=store, clock=clock, feed=feed, members=members, symbols=symbols,
        settings=settings, interval_ms=step, priors=priors,
    )  # fmt: skip
    total = (end_ms - start_ms) // step + 1
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"))
    with Progress(*columns, TimeElapsedColumn(), TimeRemainingColumn(), transient=False) as progress:
        task = progress.add_task(f"backtest {label}", total=total)

        def on_step(now_ms: int) -> None:
            clock.now = now_ms + step  # the next step's time stamps what the venue does before it
            progress.advance(task)

        return await run_loop(wiring.engine, wiring.stepper, start_ms, end_ms, step, on_step=on_step)


def _anonymized(
    members: list[Member], feed: ReplayFeed, symbols: list[str], start_ms: int, settings: Settings
) -> list[Member]:
    from feeds.anonymize import Anonymizer
    from swarm.members.anonymized import AnonymizedMember

    firsts = [feed.states[s].state_at(start_ms) for s in symbols]
    anonymizer = Anonymizer.from_first_states(firsts)
    return [AnonymizedMember(m, anonymizer, settings.paper_equity_usd) for m in members]


def _default_db(start_ms: int, end_ms: int) -> Path:
    """backtests/<from>_<to>_<run time>.db: a new file per run, so no run overwrites another."""
    from datetime import UTC, datetime

    ran = datetime.now(tz=UTC).strftime("%Y%m%dT%H%M%S")
    window = f"{format_utc(start_ms)[:10]}_{format_utc(end_ms)[:10]}"
    folder = Path("backtests")
    folder.mkdir(exist_ok=True)
    return folder / f"{window}_{ran}.db"


def _symbols(text: str) -> list[str]:
    coins = [s.strip().upper() for s in text.split(",") if s.strip()]
    if not coins:
        raise UsageError("--symbols: give at least one, e.g. --symbols BTC,ETH")
    return coins


def _interval(text: str) -> int:
    try:
        return Timeframe.parse(text).ms
    except ValueError as exc:
        raise UsageError(f"--interval: {exc}") from None


def _window(source: ReplaySource, symbols: list[str], start: str, end: str, step: int) -> tuple[int, int]:
    try:
        start_ms, end_ms = parse_utc(start), parse_utc(end)
    except ValueError as exc:
        raise UsageError(f"--from/--to: {exc}") from None
    if end_ms <= start_ms:
        raise UsageError("--to must be after --from")
    for symbol in symbols:
        first, last = source.coverage(symbol)
        if start_ms < first or end_ms > last:
            raise UsageError(
                f"{symbol}: the replay data covers {format_utc(first)} -> {format_utc(last)};"
                f" {format_utc(start_ms)} -> {format_utc(end_ms)} is outside it"
            )
    aligned_start = start_ms + (-start_ms) % step  # the first step on the interval's grid
    return aligned_start, end_ms - end_ms % step


def _warn_cutoffs(names: list[str], start_ms: int, settings: Settings, anonymize: bool) -> None:
    from swarm.cutoffs import members_before_cutoff

    flagged = members_before_cutoff(names, start_ms, settings)
    if flagged and not anonymize:
        listed = ", ".join(f"{f.member} (cutoff {f.cutoff})" for f in flagged)
        print(
            f"warning: the window starts before the knowledge cutoff of {listed}: they may remember"
            " these prices; the report marks them (use --anonymize to hide symbols and dates)",
            file=sys.stderr,
        )
