"""The `Venue` protocol: the calls the order manager makes, answered by Pacifica or the paper venue.

Both venues speak Pacifica's vocabulary: sides "bid" (buy, long) and "ask" (sell, short), Decimal
amounts in base units and prices in USD, rounded by the market's lot and tick in
execution/markets.py, and idempotent order creation by client_order_id (a resend of an id the
venue holds returns the order already placed instead of placing a second one).

    async def enter(venue: Venue) -> None:
        await venue.place_market_order("BTC", "bid", Decimal("0.01"), client_order_id=entry_id)
        await venue.set_position_tpsl("BTC", "ask", stop_loss=Trigger(Decimal("66000")))

`PacificaVenue` and `PaperVenue` satisfy it structurally (checked by mypy below, by isinstance in
the tests). Errors are those of execution/errors.py: OrderRejected for a refused order (an unknown
market, an amount under one lot, a reduce-only order with nothing to reduce, too little margin).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from execution.markets import MarketSpec, TriggerKind, WireSide
from execution.pacifica_models import (
    AccountInfo,
    OrderRecord,
    OrderResult,
    Trigger,
    VenueOrder,
    VenuePosition,
)


@runtime_checkable
class Venue(Protocol):
    """Orders, exchange-side triggers and account reads of one trading account."""

    @property
    def name(self) -> str:
        """ "pacifica", "paper": what the journal records as the venue."""
        ...

    async def markets(self, *, refresh: bool = False) -> dict[str, MarketSpec]:
        """Perpetual market specs by symbol."""
        ...

    async def market(self, symbol: str) -> MarketSpec:
        """The spec of `symbol`; OrderRejected when the venue has no such market."""
        ...

    async def account(self) -> AccountInfo:
        """Balance, equity (balance + unrealized PnL at the mark), margin used, counts."""
        ...

    async def positions(self) -> list[VenuePosition]:
        """Open positions, one per symbol (perpetuals net per symbol)."""
        ...

    async def open_orders(self) -> list[VenueOrder]:
        """Open orders, stop, stop-loss and take-profit orders included."""
        ...

    async def order_history(self, limit: int = 100) -> list[OrderRecord]:
        """The newest `limit` orders, newest first, in their latest state."""
        ...

    async def find_order(self, client_order_id: str) -> OrderRecord | None:
        """The order with this client_order_id in the recent history, if any."""
        ...

    async def place_market_order(
        self,
        symbol: str,
        side: WireSide,
        amount: Decimal,
        *,
        client_order_id: str,
        slippage_percent: Decimal = ...,
        reduce_only: bool = False,
    ) -> OrderResult:
        """A market order of `amount` (rounded down to the lot); returns what of it filled.

        A client_order_id the venue already holds returns that order's result, placing nothing.
        """
        ...

    async def set_position_tpsl(
        self,
        symbol: str,
        side: WireSide,
        *,
        stop_loss: Trigger | None = None,
        take_profit: Trigger | None = None,
    ) -> None:
        """Attach (or replace) the position's stop-loss and/or take-profit; `side` is the closing side."""
        ...

    async def place_stop_order(
        self, symbol: str, side: WireSide, trigger: Trigger, *, kind: TriggerKind, reduce_only: bool = True
    ) -> int:
        """A stop-market order firing at `trigger.stop_price`; returns its order id."""
        ...

    async def place_take_profit_ladder(
        self, symbol: str, side: WireSide, rungs: Sequence[Trigger]
    ) -> list[int]:
        """One reduce-only take-profit stop order per rung, in order; returns their order ids."""
        ...

    async def cancel_order(self, symbol: str, client_order_id: str) -> bool:
        """Cancel an open order of `symbol` by client_order_id; False when none is open."""
        ...

    async def cancel_all(self, symbol: str | None = None, *, exclude_reduce_only: bool = False) -> int:
        """Cancel the open orders of `symbol` (every symbol if None); returns how many went."""
        ...

    async def update_leverage(self, symbol: str, leverage: int) -> None:
        """Set the leverage of `symbol` (1..max_leverage, else OrderRejected)."""
        ...

    async def aclose(self) -> None:
        """Release connections; the venue is not used afterwards."""
        ...


if TYPE_CHECKING:
    # A static proof that both venues satisfy the protocol: mypy fails here if a signature drifts.
    from execution.pacifica import PacificaVenue
    from execution.paper import PaperVenue

    def _both_are_venues(pacifica: PacificaVenue, paper: PaperVenue) -> tuple[Venue, Venue]:
        return pacifica, paper
