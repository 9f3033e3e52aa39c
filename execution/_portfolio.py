"""The Portfolio the risk engine is given: the venue's account, the journal's positions and closes, the
persisted risk state, and the daily-loss breaker checked and persisted.

The start-of-day equity is the equity at the first look after each UTC midnight (recorded then,
so a restart later in the day keeps it). A breaker trip is persisted with its end (the next UTC
midnight), so a restart does not reset it; once that time has passed it is cleared.

`PortfolioBook.build` reads the journal; `PortfolioBook.refresh` reuses those reads, for a caller
that knows nothing was traded or reconciled since (a backtest re-marking a flat paper account
every hour): only the account, the clock and what the book itself persisted have moved.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from execution.journal import Journal, JournalPosition, RiskState, TradeRecord
from execution.pacifica_models import AccountInfo
from execution.risk import check_breaker
from execution.types import ClosedTrade, Portfolio, Position, RiskLimits
from feeds.types import DAY_MS


def build_portfolio(journal: Journal, account: AccountInfo, now_ms: int, limits: RiskLimits) -> Portfolio:
    """The account as of `now_ms`, the journal written by the reconciliation just before."""
    return PortfolioBook(journal).build(account, now_ms, limits)


@dataclass(frozen=True)
class _Reads:
    """What a build read from the journal (and the start-of-day equity it recorded)."""

    state: RiskState
    positions: tuple[Position, ...]
    trades: tuple[TradeRecord, ...]  # closed at or after since_ms
    since_ms: int
    day_start_ms: int
    start_equity: float


class PortfolioBook:
    """Builds portfolios from one journal, keeping the last build's journal reads."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self._reads: _Reads | None = None

    def build(self, account: AccountInfo, now_ms: int, limits: RiskLimits) -> Portfolio:
        """The portfolio from a fresh read of the journal."""
        journal = self.journal
        state = journal.risk_state()
        day_start, equity, since = _day_start(now_ms), _equity(account), _since(now_ms, limits)
        start_equity = journal.start_of_day_equity(day_start, equity, now_ms)
        positions = tuple(_position(p) for p in journal.positions())
        trades = tuple(journal.closed_trades(since))
        self._reads = _Reads(state, positions, trades, since, day_start, start_equity)
        return self._assemble(equity, now_ms, limits)

    def forget(self) -> None:
        """The journal changed (a reconciliation wrote it): the next refresh reads it again."""
        self._reads = None

    def refresh(self, account: AccountInfo, now_ms: int, limits: RiskLimits) -> Portfolio:
        """`build` at a later moment when the journal has not changed since: no journal read."""
        reads = self._reads
        day_start, equity, since = _day_start(now_ms), _equity(account), _since(now_ms, limits)
        if reads is None or since < reads.since_ms:  # nothing kept, or older closes are wanted now
            return self.build(account, now_ms, limits)
        if day_start != reads.day_start_ms:
            # The first look of a new day records its start equity, as build does.
            start = self.journal.start_of_day_equity(day_start, equity, now_ms)
            reads = replace(reads, day_start_ms=day_start, start_equity=start)
        trades = tuple(t for t in reads.trades if t.closed_at >= since)
        self._reads = replace(reads, trades=trades, since_ms=since)
        return self._assemble(equity, now_ms, limits)

    def _assemble(self, equity: float, now_ms: int, limits: RiskLimits) -> Portfolio:
        reads = self._reads
        assert reads is not None  # set by build or refresh just before
        day_start, cooldown_from = reads.day_start_ms, now_ms - limits.cooldown_after_loss_ms
        state = reads.state
        portfolio = Portfolio(
            equity_usd=equity,
            start_of_day_equity_usd=max(reads.start_equity, 0.0),
            realized_pnl_today_usd=sum(t.pnl_usd for t in reads.trades if t.closed_at >= day_start),
            positions=reads.positions,
            recent_closes=tuple(
                ClosedTrade(symbol=t.symbol, closed_at_ms=t.closed_at, pnl_usd=t.pnl_usd)
                for t in reads.trades
                if t.closed_at >= cooldown_from
            ),
            trading_state=state.trading_state,
            breaker_tripped_until_ms=state.breaker_tripped_until_ms,
        )
        _, until = check_breaker(portfolio, now_ms, limits)
        if until != state.breaker_tripped_until_ms:
            self.journal.set_breaker(until, now_ms)
            self._reads = replace(reads, state=replace(state, breaker_tripped_until_ms=until))
        return portfolio.model_copy(update={"breaker_tripped_until_ms": until})


def _since(now_ms: int, limits: RiskLimits) -> int:
    """The oldest close a portfolio at `now_ms` reads: today's, and those still cooling down."""
    return min(_day_start(now_ms), now_ms - limits.cooldown_after_loss_ms)


def _day_start(now_ms: int) -> int:
    return now_ms - now_ms % DAY_MS


def _equity(account: AccountInfo) -> float:
    return max(float(account.account_equity), 0.0)


def _position(position: JournalPosition) -> Position:
    return Position(
        symbol=position.symbol,
        side=position.side,
        size_base=float(position.amount),
        entry_price=float(position.entry_price),
        stop_loss_price=None if position.stop_loss_price is None else float(position.stop_loss_price),
        take_profit_prices=tuple(float(p) for p in position.take_profit_prices),
        opened_at_ms=position.opened_at,
    )
