"""`swarm halt` / `swarm resume` (the kill switch) and `swarm status`.

The kill switch is the store's risk state, which every executor reads before each decision: a
running bot sees HALTED at its next cycle and the risk engine then lets nothing through (exits
included); the stops and take-profits already resting on the venue keep protecting what is open.
`swarm status` reads the journal only: it never touches a venue, and a missing SQLite file is
reported, not created.
"""

from __future__ import annotations

import json
from typing import Any

from execution.journal import JournalPosition, RiskState
from execution.types import TradingState
from swarm.config import load_settings
from swarm.store import Store, database_label, sqlite_file
from swarm.timeutil import format_utc, wall_clock_ms


def run_set_state(state: TradingState, reason: str | None) -> None:
    """Persist the trading state and print it; setting the state it already has is fine."""
    settings = load_settings()
    store = Store.open(settings.db)
    try:
        result = store.set_trading_state(state, reason, wall_clock_ms())
    finally:
        store.close()
    why = f" ({result.reason})" if result.reason else ""
    print(f"trading state: {result.trading_state.value}{why}")


def run_status(*, as_json: bool) -> None:
    settings = load_settings()
    now = wall_clock_ms()
    path = sqlite_file(settings.db)
    if path is not None and not path.exists():
        state, positions = RiskState(), []
    else:
        store = Store.open(settings.db)
        try:
            state, positions = store.risk_state(), store.positions()
        finally:
            store.close()
    document = status_document(state, positions, now)
    if as_json:
        print(json.dumps(document, indent=2))
    else:
        _show(document, database_label(settings.db))


def status_document(state: RiskState, positions: list[JournalPosition], now_ms: int) -> dict[str, Any]:
    """The JSON document `swarm status --json` prints (an expired breaker shows as not tripped)."""
    until = state.breaker_tripped_until_ms
    tripped = until is not None and now_ms < until
    return {
        "as_of": format_utc(now_ms),
        "trading_state": state.trading_state.value,
        "reason": state.reason,
        "breaker": {"tripped": tripped, "until": format_utc(until) if tripped and until else None},
        "start_of_day_equity_usd": state.start_of_day_equity,
        "positions": [
            {
                "symbol": p.symbol,
                "side": p.side.value,
                "size": str(p.amount),
                "entry_price": str(p.entry_price),
                "stop_loss_price": None if p.stop_loss_price is None else str(p.stop_loss_price),
                "take_profit_prices": [str(t) for t in p.take_profit_prices],
                "opened_at": format_utc(p.opened_at),
                "decision_id": p.decision_id,
            }
            for p in positions
        ],
    }


def _show(document: dict[str, Any], where: str) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    reason = f" ({document['reason']})" if document["reason"] else ""
    console.print(f"[bold]trading state[/bold] {document['trading_state']}{reason}   [dim]{where}[/dim]")
    breaker = document["breaker"]
    console.print(
        f"[bold]breaker[/bold] {'tripped until ' + breaker['until'] if breaker['tripped'] else 'not tripped'}"
    )
    if not document["positions"]:
        console.print("no open positions (as last recorded)")
        return
    table = Table("symbol", "side", "size", "entry", "stop", "targets", "opened")
    for p in document["positions"]:
        stop = p["stop_loss_price"] or "[red]none[/red]"
        table.add_row(
            p["symbol"],
            p["side"],
            p["size"],
            p["entry_price"],
            stop,
            " ".join(p["take_profit_prices"]),
            p["opened_at"],
        )
    console.print(table)
