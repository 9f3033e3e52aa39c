"""What every part of a report is made of: a curve and its metrics (RunResult), a journal trade as
a report row, and the names of the curves a run stores."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from execution.journal import TradeRecord
from swarm.metrics import summarize
from swarm.report_data import EquityCurve, RunMeta, RunResult, TradeRow
from swarm.report_store import StoredCurve

SWARM_CURVE = "swarm"
BUY_AND_HOLD, ALWAYS_FLAT, RANDOM_ENTRIES = "buy and hold", "always flat", "random entries"
BASELINES = (BUY_AND_HOLD, ALWAYS_FLAT, RANDOM_ENTRIES)
ALONE_PREFIX = "alone:"

Hits = tuple[list[float], list[bool]]  # confidences and whether each scored ballot was right


def alone_curve(member: str) -> str:
    return ALONE_PREFIX + member


def result(
    name: str,
    curve: StoredCurve,
    meta: RunMeta,
    trades: Sequence[TradeRow] = (),
    hits: Hits | None = None,
) -> RunResult:
    confidences, correct = hits or ([], [])
    summary = summarize(
        curve.ts_ms,
        curve.equity,
        in_position=curve.exposed,
        trades=trades,
        confidences=confidences,
        hits=correct,
        starting_equity=meta.starting_equity_usd,
    )
    return RunResult(EquityCurve(name, curve.ts_ms, curve.equity), summary)


def trade_row(trade: TradeRecord, **behind: Any) -> TradeRow:
    """A journal trade as the report shows it; `behind`: its consensus and entry state."""
    notional = trade.entry_price * trade.size
    return TradeRow(
        symbol=trade.symbol,
        side=trade.side.value,
        entry_ms=trade.opened_at,
        exit_ms=trade.closed_at,
        entry_price=trade.entry_price,
        exit_price=float(trade.exit_price or 0.0),
        size_base=trade.size,
        pnl_usd=trade.pnl_usd,
        pnl_pct=100.0 * trade.pnl_usd / notional if notional else 0.0,
        fees_usd=trade.fees_usd,
        funding_usd=trade.funding_usd,
        exit_reason=trade.reason,
        cycle_id=(trade.decision_id or "").rpartition(":")[0],
        **behind,
    )
