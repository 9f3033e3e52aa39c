"""The `swarm` command line. Heavy modules (litellm, pandas, ta) are imported inside commands only,
so that `swarm --help` stays fast."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from swarm.errors import exit_on_error

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


def main() -> None:
    app()
