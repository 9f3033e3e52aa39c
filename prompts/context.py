"""What a prompt shows besides the market: the portfolio and the last closed trades.

Other packages (execution, the engine) fill these; prompts only reads them. Prices are USD,
sizes are in coins (base units), times are aware datetimes.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Side = Literal["LONG", "SHORT"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class PositionView(_Frozen):
    """One open position as the model sees it; stop and targets are absolute prices."""

    symbol: str
    side: Side
    size: float = Field(gt=0, description="Coins (base units)")
    entry_price: float = Field(gt=0)
    unrealized_pnl_usd: float
    stop_loss_price: float | None = Field(default=None, gt=0)
    take_profit_prices: tuple[float, ...] = ()


class PortfolioView(_Frozen):
    """Account equity and the open positions, at the moment of the prompt."""

    equity_usd: float = Field(ge=0)
    positions: tuple[PositionView, ...] = ()

    def position(self, symbol: str) -> PositionView | None:
        """The open position in `symbol`, if any."""
        return next((p for p in self.positions if p.symbol == symbol), None)


class TradeOutcome(_Frozen):
    """A closed trade and how it ended."""

    symbol: str
    side: Side
    entry_price: float = Field(gt=0)
    exit_price: float = Field(gt=0)
    pnl_pct: float = Field(description="Return on the position's notional, percent, after fees")
    closed_at: AwareDatetime
    reason: str = Field(
        pattern=r"^[\w\- ]{1,40}$", description='Why it closed, e.g. "take_profit", "stop_loss", "signal"'
    )
