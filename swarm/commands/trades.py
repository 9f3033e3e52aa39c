"""`swarm trades`: the trade journal, newest last."""

from __future__ import annotations

import json
from typing import Any

from execution.journal import TradeRecord
from swarm.config import load_settings
from swarm.store import Store, database_label, sqlite_file
from swarm.timeutil import format_utc


def run_trades(*, as_json: bool, limit: int) -> None:
    settings = load_settings()
    path = sqlite_file(settings.db)
    trades: list[TradeRecord] = []
    if path is None or path.exists():  # a missing SQLite file is reported, never created
        store = Store.open(settings.db)
        try:
            trades = store.closed_trades()[-limit:]
        finally:
            store.close()
    if as_json:
        print(json.dumps({"trades": [trade_row(t) for t in trades]}, indent=2))
    elif not trades:
        print(f"No closed trades in {database_label(settings.db)} yet.")
    else:
        _show(trades)


def trade_row(trade: TradeRecord) -> dict[str, Any]:
    notional = trade.entry_price * trade.size
    return {
        "symbol": trade.symbol,
        "side": trade.side.value,
        "opened_at": format_utc(trade.opened_at),
        "closed_at": format_utc(trade.closed_at),
        "hold_h": round((trade.closed_at - trade.opened_at) / 3_600_000, 2),
        "entry_price": trade.entry_price,
        "exit_price": trade.exit_price,
        "size": trade.size,
        "pnl_usd": trade.pnl_usd,
        "pnl_pct": 100.0 * trade.pnl_usd / notional if notional else None,
        "fees_usd": trade.fees_usd,
        "funding_usd": trade.funding_usd,
        "reason": trade.reason,
        "decision_id": trade.decision_id,
    }


def _show(trades: list[TradeRecord]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="closed trades (PnL net of fees and funding)", title_justify="left")
    for header in ("closed", "symbol", "side", "entry", "exit", "hold h", "PnL $", "PnL %", "reason"):
        table.add_column(
            header, justify="left" if header in {"closed", "symbol", "side", "reason"} else "right"
        )
    for trade in trades:
        row = trade_row(trade)
        colour = "green" if trade.pnl_usd > 0 else "red"
        table.add_row(
            row["closed_at"], trade.symbol, row["side"], f"{trade.entry_price:,.6g}",
            "—" if trade.exit_price is None else f"{trade.exit_price:,.6g}", f"{row['hold_h']:.1f}",
            f"[{colour}]{trade.pnl_usd:+,.2f}[/{colour}]",
            "—" if row["pnl_pct"] is None else f"{row['pnl_pct']:+.2f}", str(trade.reason),
        )  # fmt: skip
    Console().print(table)
