"""Builders for risk-engine tests: a Consensus without ballots, markets with price histories."""

from __future__ import annotations

import numpy as np

from consensus.decision import Action
from consensus.vote import Consensus
from execution.types import Denied, MarketInfo, Portfolio, Position, PriceHistory, RiskResult, Side
from feeds.types import HOUR_MS

NOW = 1_767_268_800_000  # 2026-01-01T12:00:00Z
MIDNIGHT = 1_767_312_000_000  # 2026-01-02T00:00:00Z, the next UTC midnight after NOW
HISTORY_CLOSES = 24 * 30 + 1  # 30 days of hourly closes -> 720 returns


def consensus(
    action: Action,
    symbol: str = "BTC",
    *,
    confidence: float = 80.0,
    size: float = 20.0,
    tp: tuple[float, ...] = (0.02, 0.04),
    sl: float | None = 0.02,
) -> Consensus:
    return Consensus(
        symbol=symbol,
        action=action,
        confidence=confidence,
        position_size_pct=size,
        take_profit=tp,
        stop_loss=sl,
        agreement=confidence / 100.0,
        quorum_met=True,
        members_for=(),
        ballots=(),
        reason="test",
    )


def walk(seed: int, n: int = HISTORY_CLOSES, start: float = 100.0) -> tuple[float, ...]:
    """A seeded random walk of closes (hourly log returns of about 0.5 %)."""
    returns = np.random.default_rng(seed).normal(0.0, 0.005, n - 1)
    return tuple(float(c) for c in start * np.exp(np.concatenate([[0.0], np.cumsum(returns)])))


def history(closes: tuple[float, ...], end_ms: int = NOW) -> PriceHistory:
    return PriceHistory(interval_ms=HOUR_MS, end_ms=end_ms, closes=closes)


# Unrelated random walks: every pair correlates near 0, so the correlation rule lets entries pass.
SEEDS = {"BTC": 1, "ETH": 2, "SOL": 3, "DOGE": 4}


def market(
    symbol: str = "BTC",
    *,
    mark: float = 100.0,
    max_leverage: int = 20,
    min_order: float = 10.0,
    max_order: float | None = None,
    closes: tuple[float, ...] | None = None,
) -> MarketInfo:
    return MarketInfo(
        symbol=symbol,
        mark_price=mark,
        max_leverage=max_leverage,
        min_order_usd=min_order,
        max_order_usd=max_order,
        history=history(closes if closes is not None else walk(SEEDS.get(symbol, 9))),
    )


def markets(*infos: MarketInfo) -> dict[str, MarketInfo]:
    """By symbol; every symbol of SEEDS with default values unless given."""
    found = {symbol: market(symbol) for symbol in SEEDS}
    found.update({info.symbol: info for info in infos})
    return found


def position(symbol: str = "ETH", side: Side = Side.LONG, size: float = 1.0) -> Position:
    return Position(
        symbol=symbol,
        side=side,
        size_base=size,
        entry_price=100.0,
        stop_loss_price=98.0 if side is Side.LONG else 102.0,
        opened_at_ms=NOW - 10 * HOUR_MS,
    )


def portfolio(equity: float = 10_000.0, **changes: object) -> Portfolio:
    fields: dict[str, object] = {"equity_usd": equity, "start_of_day_equity_usd": equity}
    fields.update(changes)
    return Portfolio.model_validate(fields)


def reason_of(result: RiskResult) -> str | None:
    """The denial's reason code; None for an approval or no action."""
    return result.reason if isinstance(result, Denied) else None
