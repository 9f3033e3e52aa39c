"""Rich renderings of our objects for the terminal."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table

from consensus.vote import Consensus
from feeds.state import MarketState, TimeframeIndicators
from swarm.members.base import Answer


def _num(value: float | None, digits: int = 2, suffix: str = "") -> str:
    if value is None:
        return "[dim]—[/dim]"
    return f"{value:,.{digits}f}{suffix}"


def _signed_pct(value: float | None) -> str:
    if value is None:
        return "[dim]—[/dim]"
    colour = "green" if value > 0 else "red" if value < 0 else "white"
    return f"[{colour}]{value:+.2f} %[/{colour}]"


def _changes(change_1h: float | None, change_24h: float | None) -> str:
    return f"1h {_signed_pct(change_1h)}  24h {_signed_pct(change_24h)}"


def _overview(state: MarketState) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    price = state.price
    table.add_row(
        "price",
        f"{price.current:,.6g}  {_changes(price.change_1h_pct, price.change_24h_pct)}",
    )
    if state.volume is not None:
        table.add_row(
            "volume 24h", f"${state.volume.usd_24h:,.0f}  x{_num(state.volume.vs_avg_7d)} of 7d avg"
        )
    if state.funding is not None:
        f = state.funding
        table.add_row(
            "funding /h",
            f"{f.current * 100:.5f} %  8h avg {f.avg_8h * 100:.5f} %  24h avg {f.avg_24h * 100:.5f} %",
        )
    if state.open_interest is not None:
        oi = state.open_interest
        table.add_row(
            "open interest",
            f"${oi.current_usd:,.0f}  {_changes(oi.change_1h_pct, oi.change_24h_pct)}",
        )
    if state.orderbook is not None:
        ob = state.orderbook
        table.add_row(
            "order book",
            f"bids ${ob.bid_depth_usd:,.0f}  asks ${ob.ask_depth_usd:,.0f}  "
            f"imbalance {ob.imbalance:+.2f}  spread {ob.spread_pct:.4f} %",
        )
    table.add_row("regime", f"[bold]{state.regime}[/bold]")
    if state.missing:
        table.add_row("missing", "[yellow]" + ", ".join(state.missing) + "[/yellow]")
    return table


def _ema(value: float | None) -> str:
    return "[dim]—[/dim]" if value is None else f"{value:,.6g}"


_ROWS: list[tuple[str, Callable[[TimeframeIndicators], str]]] = [
    ("RSI 14", lambda i: _num(i.rsi_14, 1)),
    ("RSI 21", lambda i: _num(i.rsi_21, 1)),
    ("MACD", lambda i: "[dim]—[/dim]" if i.macd is None else f"{i.macd.value:.4g}"),
    ("MACD signal", lambda i: "[dim]—[/dim]" if i.macd is None else f"{i.macd.signal:.4g}"),
    ("MACD hist", lambda i: "[dim]—[/dim]" if i.macd is None else f"{i.macd.histogram:+.4g}"),
    ("EMA 9", lambda i: _ema(i.ema_9)),
    ("EMA 21", lambda i: _ema(i.ema_21)),
    ("EMA 50", lambda i: _ema(i.ema_50)),
    ("EMA 200", lambda i: _ema(i.ema_200)),
    ("ATR 14", lambda i: _ema(i.atr_14)),
    ("OBV trend", lambda i: _num(i.obv_trend, 2)),
    ("last close", lambda i: _ema(i.closes[-1]) if i.closes else "[dim]—[/dim]"),
]


def _indicators(state: MarketState) -> Table:
    """One column per timeframe, one row per indicator: fits an 80-column terminal."""
    table = Table(title="indicators on closed candles", title_justify="left")
    table.add_column("")
    for timeframe in state.indicators:
        table.add_column(timeframe, justify="right")
    for label, cell in _ROWS:
        values = [cell(ind) if ind is not None else "[dim]—[/dim]" for ind in state.indicators.values()]
        table.add_row(label, *values)
    return table


def show_market_state(state: MarketState, console: Console | None = None) -> None:
    console = console or Console()
    title = f"{state.symbol} @ {state.timestamp:%Y-%m-%d %H:%M} UTC  [dim]({state.source})[/dim]"
    console.print(Panel(Group(_overview(state), _indicators(state)), title=title, title_align="left"))


def _vote_cells(answer: Answer) -> list[str]:
    vote = answer.vote
    if vote.kind == "abstain":
        return [f"[yellow]abstain: {vote.reason}[/yellow]", "", "", "", ""]
    d = vote.decision
    colour = {"LONG": "green", "SHORT": "red"}.get(d.action.value, "white")
    targets = " / ".join(f"{t:.2%}" for t in d.take_profit) or "—"
    stop = "—" if d.stop_loss is None else f"{d.stop_loss:.2%}"
    return [
        f"[{colour}]{d.action.value}[/{colour}]",
        f"{d.confidence:.0f}",
        f"{d.position_size_pct:g} %",
        targets,
        stop,
    ]


def _cost(answer: Answer) -> str:
    if answer.cached:
        return "cached"
    cost = answer.vote.usage.cost_usd
    return "unknown" if cost is None else f"${cost:.4f}"


def show_answers(
    state: MarketState, prompt_version: str, answers: Sequence[Answer], consensus: Consensus
) -> None:
    """One row per member: its vote or why it abstained, latency and cost; reasons underneath."""
    console = Console()
    title = f"{state.symbol} @ {state.timestamp:%Y-%m-%d %H:%M} UTC, prompt {prompt_version}"
    table = Table(title=title, title_justify="left")
    for header in ("member", "vote", "conf", "size", "take profit", "stop", "latency", "cost"):
        table.add_column(header, justify="right" if header in {"conf", "latency", "cost"} else "left")
    for answer in answers:
        latency = f"{answer.vote.usage.latency_ms / 1000:.2f} s"
        table.add_row(answer.vote.member, *_vote_cells(answer), latency, _cost(answer))
    console.print(table)
    for answer in answers:
        vote = answer.vote
        why = vote.decision.reasoning if vote.kind == "ballot" else vote.detail
        if why:
            console.print(f"[bold]{vote.member}[/bold]: {why}")
    action = consensus.action.value
    console.print(
        f"[bold]consensus[/bold]: {action} at {consensus.confidence:.0f} "
        f"(agreement {consensus.agreement:.0%}, for: {', '.join(consensus.members_for) or 'none'}) "
        f"— {consensus.reason}"
    )
