"""The contract between the engine and order execution (implemented by execution/orders.py).

Approved(OrderIntent) -> Executor.execute -> venue orders: entry, then the exchange-side stop
and take-profit ladder; never an unprotected position (no stop -> the position is closed).
Executor.reconcile: positions and open orders read from the venue, local records brought in
line, missing stops placed; run at start-up and after any venue error, before any decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from execution.types import OrderIntent, Portfolio

ExecutionStatus = Literal[
    "filled",  # entry filled (fully or partly) and protected by its stop
    "closed",  # an exit closed the position
    "rejected",  # the venue refused the entry; nothing is open
    "unprotected_closed",  # the stop could not be placed, so the fresh position was closed again
    # The venue could be reached neither to protect nor to close (nor to rule out) a position:
    # a human should look. The executor reconciles before it sends anything else.
    "unprotected",
    "noop",  # nothing to do (e.g. CLOSE with no position on the venue)
]


@dataclass(frozen=True)
class ExecutionReport:
    """What one intent became on the venue."""

    decision_id: str
    symbol: str
    status: ExecutionStatus
    filled_base: float = 0.0
    average_price: float | None = None
    fees_usd: float = 0.0
    client_order_ids: tuple[str, ...] = ()
    detail: str = ""


@dataclass(frozen=True)
class ReconcileReport:
    """What reconciliation found and did."""

    positions: int
    open_orders: int
    stops_placed: tuple[str, ...] = field(default=())  # symbols that got a missing stop
    positions_closed: tuple[str, ...] = field(default=())  # symbols closed because no stop could be placed
    orders_cancelled: tuple[str, ...] = field(default=())  # orphan client order ids cancelled
    detail: str = ""


class Executor(Protocol):
    """Turns approved intents into protected positions on one venue."""

    async def execute(self, intent: OrderIntent) -> ExecutionReport: ...

    async def reconcile(self, now_ms: int) -> ReconcileReport: ...

    async def portfolio(self, now_ms: int) -> Portfolio:
        """The account as the risk engine needs it: equity, positions, recent closes, risk state."""
        ...

    async def marked_portfolio(self, now_ms: int) -> Portfolio:
        """`portfolio`, for a caller that executed nothing and saw no fill since the last call.

        An executor may skip what cannot have changed then (a backtest re-marks its paper
        account every hour); live trading calls `portfolio` every cycle.
        """
        ...
