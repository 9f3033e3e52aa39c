"""The executor's hands: one venue action at a time, journaled before and after, retried within bounds.

Every order is recorded "pending" before it is sent, so a crash while a request is in flight
leaves a row that reconciliation settles; the answer then updates the row (one transaction with
the venue's saved state, for the paper venue).

Client order ids are `client_order_id(decision_id, leg)`. The entry and the take-profit rungs
always use their own leg ("entry", "tp1", ...): a resend is then the same order, and the venue
returns it instead of placing a second. Stops and closes are retried with a fresh leg ("sl",
"sl-2", ...; "close", "close-2", ...) because a venue answers a reused id of a finished order with
that old order: a stop re-sent under a used id would silently not be placed. Neither can double
anything: a position stop replaces the previous one, a reduce-only close never exceeds the position.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Final, Protocol, TypeVar, runtime_checkable

import anyio

from execution._order_plan import ZERO, Rung
from execution.errors import AmbiguousOrderState, OrderRejected, TransientVenueError, VenueError
from execution.journal import Journal, JournalFill, JournalOrder, OrderStatus, VenueSnapshot
from execution.markets import WireSide, closing_side
from execution.pacifica import client_order_id
from execution.pacifica_models import OrderResult, Trigger, VenueOrder, VenuePosition
from execution.venue import Venue

T = TypeVar("T")
DEFAULT_TAKER_FEE: Final = Decimal("0.0004")  # Pacifica's base tier, until the account says otherwise

log = logging.getLogger("execution.orders")


@runtime_checkable
class SavesState(Protocol):
    """A venue whose whole state is data (the paper venue), saved with the journal."""

    @property
    def name(self) -> str: ...

    def to_dict(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Draft:
    """An order as the journal first records it; `record` adds its state."""

    decision_id: str
    leg: str
    symbol: str
    side: WireSide
    kind: str  # market, stop_loss, take_profit
    amount: Decimal | None
    price: Decimal | None
    reduce_only: bool

    @property
    def client_order_id(self) -> str:
        return client_order_id(self.decision_id, self.leg)


@dataclass(frozen=True)
class CloseOutcome:
    """What closing a position achieved: flat or not, how much closed, at what average price."""

    flat: bool
    closed: Decimal = ZERO
    average_price: Decimal | None = None
    client_order_ids: tuple[str, ...] = ()


def is_stop_loss(order: VenueOrder, symbol: str, closing: WireSide) -> bool:
    """A position stop-loss protecting `symbol` (set_position_tpsl's order types)."""
    return order.symbol == symbol and order.side == closing and order.order_type.startswith("stop_loss")


class OrderDesk:
    """Venue calls with journal records and bounded retries, for one venue and one journal."""

    def __init__(
        self,
        venue: Venue,
        journal: Journal,
        now: Callable[[], int],
        *,
        attempts: int,
        retry_wait_s: float,
        keep_venue_state: bool = True,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self.keep_venue_state = keep_venue_state
        self.venue = venue
        self.journal = journal
        self.now = now
        self.attempts = attempts
        self.retry_wait_s = retry_wait_s
        self.taker_fee = DEFAULT_TAKER_FEE  # the account's, once read (fees are estimated with it)

    def snapshot(self) -> VenueSnapshot | None:
        """The venue's own state to save with the next journal write (a paper account), if it has one
        and it is kept."""
        venue = self.venue
        if not self.keep_venue_state or not isinstance(venue, SavesState):
            return None
        return venue.name, venue.to_dict()

    async def retrying(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        """`call()`, retried on TransientVenueError up to `attempts` times; other errors pass through."""
        for attempt in range(1, self.attempts + 1):
            try:
                return await call()
            except TransientVenueError as exc:
                if attempt == self.attempts:
                    raise
                log.info("%s: attempt %d failed, retrying: %s", what, attempt, exc)
                await anyio.sleep(self.retry_wait_s * attempt)
        raise AssertionError("unreachable: attempts >= 1")

    def next_leg(self, decision_id: str, base: str) -> str:
        """`base`, or `base-2`, `base-3`... : the first leg of the decision without a client order id yet."""
        used = self.journal.legs_used(decision_id)
        if base not in used:
            return base
        n = 2
        while f"{base}-{n}" in used:
            n += 1
        return f"{base}-{n}"

    # ---- reads -------------------------------------------------------------------------------

    async def position(self, symbol: str) -> VenuePosition | None:
        positions = await self.retrying("positions", self.venue.positions)
        return next((p for p in positions if p.symbol == symbol), None)

    async def open_orders(self) -> list[VenueOrder]:
        return await self.retrying("open orders", self.venue.open_orders)

    # ---- orders ------------------------------------------------------------------------------

    async def market(
        self,
        decision_id: str,
        leg: str,
        symbol: str,
        side: WireSide,
        amount: Decimal,
        *,
        reduce_only: bool,
        slippage_percent: Decimal,
    ) -> OrderResult:
        """A market order; OrderRejected when refused (recorded), other errors leave it pending.

        A refused resend raises AmbiguousOrderState: its first send may have landed.
        """
        draft = Draft(decision_id, leg, symbol, side, "market", amount, None, reduce_only)
        cloid = draft.client_order_id
        resend = self._sent_before(cloid)
        self.record(draft, "pending")
        try:
            result = await self.retrying(
                f"{symbol} {leg}",
                lambda: self.venue.place_market_order(
                    symbol, side, amount, client_order_id=cloid,
                    slippage_percent=slippage_percent, reduce_only=reduce_only,
                ),
            )  # fmt: skip
        except OrderRejected as exc:
            if resend:  # the first send may have landed: the row stays pending for reconciliation
                raise AmbiguousOrderState(f"{exc} (refused as a resend)", client_order_id=cloid) from exc
            self.record(draft, "rejected")
            raise
        self._settled(draft, result)
        return result

    async def protect(
        self, symbol: str, position_side: WireSide, stop_price: Decimal, decision_id: str
    ) -> VenueOrder | None:
        """Attach a stop-loss to the position and see it resting; None when no attempt got one there."""
        closing = closing_side(position_side)
        for attempt in range(1, self.attempts + 1):
            if attempt > 1:
                await anyio.sleep(self.retry_wait_s * attempt)
            leg = self.next_leg(decision_id, "sl")
            draft = Draft(decision_id, leg, symbol, closing, "stop_loss", None, stop_price, True)
            cloid = draft.client_order_id
            self.record(draft, "pending")
            try:
                await self.venue.set_position_tpsl(
                    symbol, closing, stop_loss=Trigger(stop_price, client_order_id=cloid)
                )
                # Seen resting, or it does not count: a venue may answer success and hold nothing.
                stop = next((o for o in await self.open_orders() if is_stop_loss(o, symbol, closing)), None)
            except VenueError as exc:
                # Left pending even when refused: the venue retries a TP/SL blindly (a resend only
                # replaces it), so an earlier try may have landed; reconciliation settles the row.
                self.record(draft, "pending")
                log.warning("%s: stop-loss attempt %d failed: %s", symbol, attempt, exc)
                continue
            if stop is not None:
                ours = stop.client_order_id == cloid
                self.record(
                    draft, "open" if ours else "absent", venue_order_id=stop.order_id if ours else None
                )
                return stop
            self.record(draft, "absent")
        return None

    async def place_rung(self, decision_id: str, symbol: str, closing: WireSide, rung: Rung) -> bool:
        """One take-profit rung (reduce-only stop order); False when it could not be placed."""
        draft = Draft(decision_id, rung.leg, symbol, closing, "take_profit", rung.amount, rung.price, True)
        resend = self._sent_before(draft.client_order_id)
        self.record(draft, "pending")
        trigger = Trigger(rung.price, rung.amount, client_order_id=draft.client_order_id)
        try:
            order_id = await self.retrying(
                f"{symbol} {rung.leg}",
                lambda: self.venue.place_stop_order(symbol, closing, trigger, kind="take_profit"),
            )
        except VenueError as exc:
            self.record(draft, "rejected" if isinstance(exc, OrderRejected) and not resend else "pending")
            log.warning("%s: take-profit %s not placed: %s", symbol, rung.leg, exc)
            return False
        self.record(draft, "open", venue_order_id=order_id)
        return True

    async def close(self, symbol: str, decision_id: str, leg: str, slippage_percent: Decimal) -> CloseOutcome:
        """Close the whole position reduce-only, retrying what is left; flat tells whether it worked."""
        closed, notional = ZERO, ZERO
        cloids: list[str] = []
        for _ in range(self.attempts):
            position = await self.position(symbol)
            if position is None:
                return _outcome(True, closed, notional, cloids)
            attempt_leg = self.next_leg(decision_id, leg)
            cloids.append(client_order_id(decision_id, attempt_leg))
            try:
                result = await self.market(
                    decision_id, attempt_leg, symbol, closing_side(position.side), position.amount,
                    reduce_only=True, slippage_percent=slippage_percent,
                )  # fmt: skip
            except VenueError as exc:  # the position is read again before the next attempt
                log.warning("%s: %s attempt failed: %s", symbol, attempt_leg, exc)
                continue
            closed += result.filled_amount
            notional += result.filled_amount * (result.average_price or ZERO)
        return _outcome(await self.position(symbol) is None, closed, notional, cloids)

    async def cancel(self, order: VenueOrder) -> bool:
        """Cancel one resting order (by client id; every order of its symbol if it has none)."""
        if order.client_order_id is None:
            return await self.retrying("cancel all", lambda: self.venue.cancel_all(order.symbol)) > 0
        cloid = order.client_order_id
        return await self.retrying("cancel", lambda: self.venue.cancel_order(order.symbol, cloid))

    # ---- journal -----------------------------------------------------------------------------

    def _sent_before(self, cloid: str) -> bool:
        """Whether this client id was sent before (a decision executed again after a crash).

        A refusal then proves nothing, as the first send may have landed: the row stays pending
        and reconciliation settles it from the venue's history.
        """
        return bool(self.journal.orders_by_id([cloid]))

    def record(
        self,
        draft: Draft,
        status: OrderStatus,
        *,
        venue_order_id: int | None = None,
        filled: Decimal = ZERO,
        fill: JournalFill | None = None,
    ) -> None:
        now = self.now()
        order = JournalOrder(
            client_order_id=draft.client_order_id, decision_id=draft.decision_id, leg=draft.leg,
            symbol=draft.symbol, side=draft.side, kind=draft.kind, amount=draft.amount, price=draft.price,
            reduce_only=draft.reduce_only, status=status, created_at=now, updated_at=now, filled=filled,
            venue_order_id=venue_order_id,
        )  # fmt: skip
        # The venue's state goes with every row written after the venue may have changed.
        self.journal.record_order(order, fill, None if status == "pending" else self.snapshot())

    def _settled(self, draft: Draft, result: OrderResult) -> None:
        """A market order's answer: filled (in full), else cancelled (a market order's rest is not kept)."""
        price, fill = result.average_price, None
        if result.filled_amount > 0 and price is not None:
            fee = result.filled_amount * price * self.taker_fee
            fill = JournalFill(result.client_order_id, result.filled_amount, price, fee, self.now())
        settled = replace(draft, amount=result.amount, price=price)
        status: OrderStatus = "filled" if result.fully_filled else "cancelled"
        self.record(settled, status, venue_order_id=result.order_id, filled=result.filled_amount, fill=fill)


def _outcome(flat: bool, closed: Decimal, notional: Decimal, cloids: list[str]) -> CloseOutcome:
    average = notional / closed if closed > 0 else None
    return CloseOutcome(flat, closed, average, tuple(cloids))
