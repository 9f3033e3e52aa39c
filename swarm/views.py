"""Rich renderings of our objects for the terminal."""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table

from feeds.state import MarketState, TimeframeIndicators


def _num(value: float | None, digits: int = 2, suffix: str = "") -> str:
    if value is None:
        return "[dim]—[/dim]"
    return f"{value:,.{digits}f}{suffix}"


def _signed_pct(value: float | None) -> str:
    if value is None:
        return "[dim]—[/dim]"
    colour = "green" if value > 0 else "red" if value < 0 else "white"
    return f"[{colour}]{value:+.2f} %[/{colour}]"


def _overview(state: MarketState) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    price = state.price
    table.add_row(
        "price",
        f"{price.current:,.6g}  1h {_signed_pct(price.change_1h_pct)}  24h {_signed_pct(price.change_24h_pct)}",
    )
    if state.volume is not None:
        table.add_row("volume 24h", f"${state.volume.usd_24h:,.0f}  x{_num(state.volume.vs_avg_7d)} of 7d avg")
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
            f"${oi.current_usd:,.0f}  1h {_signed_pct(oi.change_1h_pct)}  24h {_signed_pct(oi.change_24h_pct)}",
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


def _indicator_rows(ind: TimeframeIndicators) -> list[str]:
    macd = ind.macd
    return [
        _num(ind.rsi_14, 1),
        _num(ind.rsi_21, 1),
        "—" if macd is None else f"{macd.value:.4g} / {macd.signal:.4g} / {macd.histogram:+.3g}",
        " / ".join(f"{v:,.6g}" if v is not None else "—" for v in (ind.ema_9, ind.ema_21, ind.ema_50, ind.ema_200)),
        _num(ind.atr_14, 4),
        _num(ind.obv_trend, 2),
        " ".join(f"{c:.6g}" for c in ind.closes[-5:]),
    ]


def _indicators(state: MarketState) -> Table:
    table = Table(title="indicators (closed candles)", title_justify="left")
    for header in ("tf", "RSI14", "RSI21", "MACD / signal / hist", "EMA 9 / 21 / 50 / 200", "ATR14", "OBV", "last 5 closes"):
        table.add_column(header, no_wrap=header != "EMA 9 / 21 / 50 / 200")
    for timeframe, ind in state.indicators.items():
        if ind is None:
            table.add_row(timeframe, *(["[dim]—[/dim]"] * 7))
        else:
            table.add_row(timeframe, *_indicator_rows(ind))
    return table


def show_market_state(state: MarketState, console: Console | None = None) -> None:
    console = console or Console()
    title = f"{state.symbol} @ {state.timestamp:%Y-%m-%d %H:%M} UTC  [dim]({state.source})[/dim]"
    console.print(Panel(Group(_overview(state), _indicators(state)), title=title, title_align="left"))
