"""`swarm backtest`: the engine over replay data with a paper venue, then the report."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import anyio

from feeds.sources.replay import ReplaySource, default_data_dir
from feeds.types import Timeframe
from swarm.backtest import ReplayFeed
from swarm.backtest_runs import Plan, run_all
from swarm.config import Settings, load_settings
from swarm.errors import UsageError
from swarm.logs import ConsoleFormat, configure_logging
from swarm.members.base import Member
from swarm.roster import build_members, require_keys, resolve_roster
from swarm.timeutil import format_utc, parse_utc


def run_backtest(
    *,
    models: str | None,
    symbols: str,
    start: str,
    end: str,
    data_dir: Path | None,
    interval: str,
    db: Path | None,
    report: Path | None,
    anonymize: bool,
    log_file: Path | None = None,
    log_format: str = "rich",
) -> None:
    settings = load_settings(**({"data_dir": data_dir} if data_dir else {}))
    names = resolve_roster(models, settings, os.environ)
    members = build_members(names, settings)
    require_keys(members)
    coins = _symbols(symbols)
    step = _interval(interval)
    if log_format not in ("rich", "json"):
        raise UsageError(f"--log-format must be rich or json (got {log_format!r})")
    source = ReplaySource(settings.data_dir or default_data_dir())
    start_ms, end_ms = _window(source, coins, start, end, step)
    _warn_cutoffs(names, start_ms, settings, anonymize)
    _say_model_calls(members, coins, start_ms, end_ms, step)
    db_path = db or _default_db(start_ms, end_ms)
    if db_path.exists():
        raise UsageError(f"{db_path} exists: pass --db NEW.db or remove it (a backtest never overwrites)")
    report_path = report or db_path.with_suffix(".html")
    # Every event goes to the file; the console shows the progress bars and what went wrong.
    log_path = log_file or db_path.with_suffix(".log")
    console: ConsoleFormat = "json" if log_format == "json" else "rich"
    configure_logging(log_path, console, console_level=logging.WARNING)
    plan = Plan(ReplayFeed(source, coins), coins, settings, start_ms, end_ms, step, anonymize)
    outcome = anyio.run(run_all, plan, members, str(db_path))
    try:
        from swarm.backtest_report import save_and_report, show_result
        from swarm.report_build import leaderboard_rows

        rows = leaderboard_rows(outcome.store, outcome.swarm.equity.ts_ms[-1])  # read once, used twice
        save_and_report(outcome, names, report_path, rows)
        show_result(outcome, rows, db_path, report_path)
    finally:
        outcome.store.close()


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


def _say_model_calls(
    members: Sequence[Member], symbols: Sequence[str], start_ms: int, end_ms: int, step: int
) -> None:
    """How many model calls the backtest may make: a replay of an LLM asks it at every step."""
    llm = [m.name for m in members if m.provider != "local"]
    if llm:
        calls = ((end_ms - start_ms) // step + 1) * len(symbols) * len(llm)
        print(
            f"{', '.join(llm)}: at most {calls:,} model calls (answers in the response cache cost"
            " nothing; --models chooses the roster)",
            file=sys.stderr,
        )


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
