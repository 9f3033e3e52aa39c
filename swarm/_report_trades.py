"""The report's trade journal: one row per closed trade, then its consensus, every ballot with
its reasoning, the abstentions and the market state at entry, folded in a <details>."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from consensus.decision import Abstain, Ballot
from consensus.vote import Consensus
from feeds.state import MarketState
from swarm._report_format import (
    NONE,
    duration,
    money,
    number,
    pct,
    price,
    signed_money,
    signed_pct,
    timestamp,
)
from swarm._report_html import badge, e, signed, table
from swarm.report_data import TradeRow

HEAD = (
    "#", "symbol", "side", "entry", "entry price", "exit", "exit price", "hold", "PnL", "PnL %",
    "fees", "funding", "exit reason", "consensus conf / agreement",
)  # fmt: skip


def trades_section(trades: Sequence[TradeRow], flagged: Mapping[str, str]) -> str:
    """The "Trades" heading and journal table, or a line saying there were none."""
    if not trades:
        return "<h2>Trades</h2>\n<p>No closed trades.</p>"
    rows = "".join(_trade_rows(i + 1, t, flagged) for i, t in enumerate(trades))
    return f"<h2>Trades ({len(trades)})</h2>\n{table(HEAD, rows, id_='trades', left=3)}"


def _trade_rows(n: int, t: TradeRow, flagged: Mapping[str, str]) -> str:
    c = t.consensus
    agreement = NONE if c is None else f"{c.confidence:.0f} / {c.agreement * 100:.0f} %"
    plain = [
        timestamp(t.entry_ms),
        price(t.entry_price),
        timestamp(t.exit_ms),
        price(t.exit_price),
        duration(t.hold_ms),
    ]
    cells = [e(x) for x in plain]
    cells += [signed(signed_money(t.pnl_usd), t.pnl_usd), signed(signed_pct(t.pnl_pct / 100), t.pnl_usd)]
    cells += [e(x) for x in (money(t.fees_usd), signed_money(t.funding_usd), t.exit_reason, agreement)]
    lefts = "".join(f'<td class="l">{e(x)}</td>' for x in (n, t.symbol, t.side))
    main = "<tr>" + lefts + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"
    return main + f'<tr class="answers"><td class="l" colspan="{len(HEAD)}">{_details(t, flagged)}</td></tr>'


def _details(t: TradeRow, flagged: Mapping[str, str]) -> str:
    c = t.consensus
    count = 0 if c is None else len(c.ballots) + len(c.abstentions)
    parts = [f"<details><summary>cycle {e(t.cycle_id)}: the consensus and its {count} answers</summary>"]
    if c is not None:
        parts.append(_consensus(c, flagged))
    if t.entry_state is not None:
        parts.append(_state(t.entry_state))
    parts.append("</details>")
    return "".join(parts)


def _consensus(c: Consensus, flagged: Mapping[str, str]) -> str:
    voters = ", ".join(c.members_for) or "none"
    head = (
        f"<p><b>{e(c.action.value)}</b> at confidence {c.confidence:.0f}, "
        f"agreement {c.agreement * 100:.0f} %, for: {e(voters)}. {e(c.reason)}</p>"
    )
    ballots = "".join(_ballot(b, c.weights.get(b.member), flagged) for b in c.ballots)
    return head + ballots + "".join(_abstain(a, flagged) for a in c.abstentions)


def _ballot(b: Ballot, weight: float | None, flagged: Mapping[str, str]) -> str:
    d = b.decision
    stop = NONE if d.stop_loss is None else pct(d.stop_loss)
    targets = " / ".join(pct(x) for x in d.take_profit) or NONE
    line = (
        f"{d.action.value} {d.confidence:.0f} · size {d.position_size_pct:g} % · stop {stop} · "
        f"targets {targets} · weight {number(weight)}"
    )
    return (
        f'<div class="ballot"><b>{e(b.member)}</b>{badge(flagged, b.member)} {e(line)}'
        f'<p class="why">{e(d.reasoning)}</p></div>'
    )


def _abstain(a: Abstain, flagged: Mapping[str, str]) -> str:
    why = a.reason + (f": {a.detail}" if a.detail else "")
    return f'<div class="ballot"><b>{e(a.member)}</b>{badge(flagged, a.member)} abstained ({e(why)})</div>'


def _state(state: MarketState) -> str:
    p = state.price
    summary = (
        f"market at entry: {price(p.current)}, 1h {_change(p.change_1h_pct)}, "
        f"24h {_change(p.change_24h_pct)}, regime {state.regime}"
    )
    # Quotes need no escaping inside an element: `escape(quote=False)` keeps the JSON readable.
    json_text = escape(state.model_dump_json(indent=1), quote=False)
    return f"<details><summary>{e(summary)}</summary><pre>{json_text}</pre></details>"


def _change(value: float | None) -> str:
    return NONE if value is None else f"{value:+.2f} %"
