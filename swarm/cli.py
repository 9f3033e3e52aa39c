"""The `swarm` command line. Heavy modules (litellm, pandas, ta) are imported inside commands only,
so that `swarm --help` stays fast."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from swarm.errors import UsageError, exit_on_error

app = typer.Typer(
    name="swarm",
    help="Multi-model swarm consensus engine for swing trading crypto perpetuals (paper by default).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

SourceOption = Annotated[
    str, typer.Option("--source", help="replay | pacifica | hyperliquid | binance", show_default=True)
]
AtOption = Annotated[
    str | None, typer.Option("--at", help="Point in time, ISO-8601 UTC (replay only; default: end of data)")
]
DataDirOption = Annotated[
    Path | None, typer.Option("--data-dir", help="Replay data folder (layout of the shared data)")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document")]
ModelsOption = Annotated[
    str | None,
    typer.Option(
        "--models",
        help="Comma list of members (see `swarm ask --help`); default: local/trend, local/meanrev,"
        " local/funding and every alias whose API key is in the environment",
    ),
]
LogFormatOption = Annotated[str, typer.Option("--log-format", help="Console log lines: rich or json")]


@app.callback()
def _root() -> None:
    """Multi-model swarm consensus engine for swing trading crypto perpetuals (paper by default)."""


@app.command()
def snapshot(
    symbol: Annotated[str, typer.Argument(help="Coin, e.g. BTC")],
    source: SourceOption = "replay",
    at: AtOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Build one point-in-time MarketState and print it."""
    with exit_on_error():
        from swarm.commands.snapshot import run_snapshot

        run_snapshot(symbol, source=source, at=at, data_dir=data_dir, as_json=as_json)


@app.command()
def ask(
    symbol: Annotated[str, typer.Argument(help="Coin, e.g. BTC")],
    models: Annotated[
        str,
        typer.Option(
            "--models",
            help="Comma list of aliases (deepseek, grok, claude, gpt, gemini), litellm model strings"
            " and local members (local/trend, local/meanrev, local/funding)",
        ),
    ] = "local/trend,local/meanrev,local/funding",
    source: SourceOption = "replay",
    at: AtOption = None,
    data_dir: DataDirOption = None,
    deadline: Annotated[
        float | None,
        typer.Option("--deadline", help="Seconds for the whole fan-out (default SWARM_DEADLINE_S)"),
    ] = None,
    cache: Annotated[
        bool | None,
        typer.Option(
            "--cache/--no-cache",
            help="Answer identical prompts from the response cache (default: on for replay)",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Ask every member about one MarketState and print each ballot or abstention. Places no order."""
    with exit_on_error():
        from swarm.commands.ask import run_ask

        run_ask(
            symbol,
            models=models,
            source=source,
            at=at,
            data_dir=data_dir,
            deadline_s=deadline,
            use_cache=cache,
            as_json=as_json,
        )


@app.command()
def leaderboard(
    as_json: JsonOption = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV to stdout")] = False,
    member: Annotated[
        str | None, typer.Option("--member", help="Only this member's row ('swarm' for the consensus)")
    ] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="As of this time, ISO-8601 UTC (default: now)")
    ] = None,
) -> None:
    """Each member's track record and the swarm's: hit rate, Brier, PnL followed, weight, latency, cost."""
    with exit_on_error():
        from swarm.commands.leaderboard import run_leaderboard

        run_leaderboard(as_json=as_json, as_csv=as_csv, member=member, at=at)


@app.command()
def halt(
    reason: Annotated[str | None, typer.Option("--reason", help="Why, shown by swarm status")] = None,
) -> None:
    """Kill switch: deny every order (exits included) until `swarm resume`; resting stops stay."""
    with exit_on_error():
        from execution.types import TradingState
        from swarm.commands.control import run_set_state

        run_set_state(TradingState.HALTED, reason)


@app.command()
def resume() -> None:
    """Lift the kill switch: trading is ACTIVE again (the daily-loss breaker still applies)."""
    with exit_on_error():
        from execution.types import TradingState
        from swarm.commands.control import run_set_state

        run_set_state(TradingState.ACTIVE, None)


@app.command()
def status(as_json: JsonOption = False) -> None:
    """Trading state, daily-loss breaker and open positions, as the journal last recorded them."""
    with exit_on_error():
        from swarm.commands.control import run_status

        run_status(as_json=as_json)


@app.command()
def run(
    models: ModelsOption = None,
    symbols: Annotated[str, typer.Option("--symbols", help="Comma list of coins")] = "SOL,BTC",
    interval: Annotated[str, typer.Option("--interval", help="Cycle interval: 15m, 1h, 4h or 1d")] = "15m",
    paper: Annotated[bool, typer.Option("--paper", help="Paper venue (the default)")] = True,
    live: Annotated[
        bool, typer.Option("--live", help="Real orders on Pacifica (needs confirmation)")
    ] = False,
    confirm_live: Annotated[
        bool, typer.Option("--confirm-live", help="Confirm real orders (or SWARM_CONFIRM_LIVE=yes)")
    ] = False,
    once: Annotated[bool, typer.Option("--once", help="Run one cycle and stop")] = False,
    source: Annotated[str, typer.Option("--source", help="pacifica | hyperliquid | binance")] = "pacifica",
    log_file: Annotated[
        Path | None, typer.Option("--log-file", help="One JSON object per event line")
    ] = Path("swarm.log"),
    log_format: LogFormatOption = "rich",
) -> None:
    """The main job: the swarm trades on the wall clock, paper by default."""
    with exit_on_error():
        from swarm.commands.run import run_main
        from swarm.logs import configure_logging

        if log_format not in ("rich", "json"):
            raise UsageError(f"--log-format must be rich or json (got {log_format!r})")
        configure_logging(log_file, "json" if log_format == "json" else "rich")

        run_main(
            models=models,
            symbols=symbols,
            interval=interval,
            live=live,
            confirm_live=confirm_live,
            once=once,
            source=source,
        )


@app.command()
def backtest(
    models: ModelsOption = None,
    symbols: Annotated[str, typer.Option("--symbols", help="Comma list of coins")] = "BTC,ETH",
    start: Annotated[str, typer.Option("--from", help="Window start, ISO-8601 UTC")] = "2025-08-17",
    end: Annotated[str, typer.Option("--to", help="Window end, ISO-8601 UTC")] = "2026-05-16",
    data_dir: DataDirOption = None,
    interval: Annotated[str, typer.Option("--interval", help="Cycle interval: 15m, 1h, 4h or 1d")] = "15m",
    db: Annotated[Path | None, typer.Option("--db", help="New SQLite file for the run's record")] = None,
    report: Annotated[Path | None, typer.Option("--report", help="HTML report path")] = None,
    anonymize: Annotated[
        bool,
        typer.Option("--anonymize", help="Members see neutral symbols, relative time, prices rebased to 100"),
    ] = False,
    log_file: Annotated[
        Path | None,
        typer.Option("--log-file", help="One JSON object per event line (default: next to the --db file)"),
    ] = None,
    log_format: LogFormatOption = "rich",
) -> None:
    """Replay the engine over bundled (or --data-dir) data with a paper venue; write the report."""
    with exit_on_error():
        from swarm.commands.backtest import run_backtest

        run_backtest(
            models=models,
            symbols=symbols,
            start=start,
            end=end,
            data_dir=data_dir,
            interval=interval,
            db=db,
            report=report,
            anonymize=anonymize,
            log_file=log_file,
            log_format=log_format,
        )


@app.command()
def report(
    db: Annotated[
        str | None,
        typer.Option("--db", help="A backtest's .db file, or a database URL (default: SWARM_DB)"),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="HTML file to write (default: report.html)")
    ] = None,
    run_id: Annotated[
        int | None, typer.Option("--run", help="Run id (default: the run written to last; see --list)")
    ] = None,
    list_runs: Annotated[bool, typer.Option("--list", help="List the database's runs and stop")] = False,
    as_json: JsonOption = False,
) -> None:
    """Write one self-contained HTML report of a run: equity vs baselines, drawdown, weights, trades."""
    with exit_on_error():
        from swarm.commands.report import run_report

        run_report(db=db, out=out, run_id=run_id, list_runs=list_runs, as_json=as_json)


@app.command()
def trades(
    as_json: JsonOption = False,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Show the last N trades")] = 50,
) -> None:
    """The trade journal: entry and exit, hold time, PnL net of fees and funding."""
    with exit_on_error():
        from swarm.commands.trades import run_trades

        run_trades(as_json=as_json, limit=limit)


def main() -> None:
    app()
