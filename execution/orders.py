"""VenueExecutor: approved intents become protected positions on one venue (the Executor contract).

    entry  update_leverage -> market order (leg "entry") -> read the fill -> position stop-loss
           (leg "sl", retried) -> take-profit ladder (legs "tp1", "tp2"...; the last rung takes
           what is left) ; no stop after the retries -> close reduce-only (leg "emergency_close")
           and report unprotected_closed
    exit   close reduce-only (leg "close") until flat -> cancel the symbol's resting orders
    reconcile  positions and open orders from the venue: cancel reduce-only orders without a
           position, put a stop on every position without one (the decision's stop, else the
           widest the limits allow) or close it, write the venue's truth into the journal

Why an exit closes before it cancels: the other order leaves the position without its stop if
the close fails. Everything else follows one rule, "never an unprotected position": every
execution ends with a reconciliation, and after any venue error the executor is not trusted
until a reconciliation succeeded (`portfolio` and `execute` run it first). Startup is the same
case: a new executor has never reconciled.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Literal

from execution._order_desk import DEFAULT_TAKER_FEE, OrderDesk, is_stop_loss
from execution._order_plan import default_stop, ladder, plan_entry, stop_of, wire_side
from execution._portfolio import PortfolioBook
from execution._venue_sync import journal_position, venue_truth
from execution.errors import OrderRejected, VenueError
from execution.executor import ExecutionReport, ExecutionStatus, ReconcileReport
from execution.journal import Journal
from execution.markets import closing_side
from execution.pacifica_models import AccountInfo, OrderResult, VenueOrder, VenuePosition
from execution.types import OrderIntent, Portfolio, RiskLimits
from execution.venue import Venue

LeveragePolicy = Literal["intent", "venue"]  # set the intent's leverage before an entry, or leave the venue's

log = logging.getLogger("execution.orders")


class Unprotected(VenueError):
    """A position could neither be given a stop nor be closed (the venue refused or was unreachable)."""


class VenueExecutor:
    """The Executor of execution/executor.py on `venue`, recording into `journal`.

    `now` is the clock (epoch ms) stamping the journal; `limits` give the default stop and the
    breaker; `attempts` bounds the retries of each step; `slippage_percent` is the entries' price
    tolerance, `exit_slippage_percent` that of closes (wider: getting out matters more than price).
    """

    def __init__(
        self,
        venue: Venue,
        journal: Journal,
        *,
        now: Callable[[], int],
        limits: RiskLimits | None = None,
        slippage_percent: Decimal = Decimal("0.5"),
        exit_slippage_percent: Decimal = Decimal("2"),
        leverage: LeveragePolicy = "intent",
        attempts: int = 3,
        retry_wait_s: float = 0.2,
        keep_venue_state: bool = True,
    ) -> None:
        """`keep_venue_state`: save a paper venue's account with every journal write, so that a
        restart resumes it (off for a backtest's throwaway store: its state only grows)."""
        self.venue = venue
        self.journal = journal
        self.limits = limits or RiskLimits()
        self.slippage_percent = slippage_percent
        self.exit_slippage_percent = exit_slippage_percent
        self.leverage = leverage
        self._now = now
        self._desk = OrderDesk(
            venue,
            journal,
            now,
            attempts=attempts,
            retry_wait_s=retry_wait_s,
            keep_venue_state=keep_venue_state,
        )
        self._reconciled = False  # nothing is trusted before the first reconciliation
        self._book = PortfolioBook(journal)
        # The last reconciliation found the venue flat (no position, no open order); None: the
        # journal's active orders are not checked yet (one read, at the first marked_portfolio).
        self._flat: bool | None = False

    @property
    def needs_reconcile(self) -> bool:
        """True at start and after a venue error, until a reconciliation succeeds."""
        return not self._reconciled

    # ---- the Executor contract ---------------------------------------------------------------

    async def execute(self, intent: OrderIntent) -> ExecutionReport:
        """Carry out an approved intent; the report says what it became (never raises a VenueError)."""
        self.journal.record_intent(intent, self._now())
        if self.needs_reconcile and not await self._try_reconcile():
            report = _report(intent, "rejected", "not reconciled with the venue: nothing was sent")
        else:
            report = await self._attempt(intent)
        self.journal.record_execution(intent.decision_id, report.status, report.detail, self._now())
        log.info("%s %s: %s %s", intent.decision_id, intent.symbol, report.status, report.detail)
        return report

    async def reconcile(self, now_ms: int) -> ReconcileReport:
        """Bring the venue to a safe state and the journal to the venue's; VenueError when it cannot."""
        self._reconciled = False
        self._book.forget()
        positions, orders = await self._read()
        cancelled = await self._cancel_orphans(positions, orders)
        stops, closed = await self._protect_all(positions, orders, now_ms)
        if cancelled or stops or closed:
            positions, orders = await self._read()
        self._flat = False
        self.journal.write_truth(await venue_truth(self._desk, positions, orders, now_ms))
        self._reconciled = True
        self._flat = None if not positions and not orders else False
        return ReconcileReport(
            positions=len(positions),
            open_orders=len(orders),
            stops_placed=tuple(stops),
            positions_closed=tuple(closed),
            orders_cancelled=tuple(cancelled),
        )

    async def portfolio(self, now_ms: int) -> Portfolio:
        """The account for the risk engine, after a reconciliation (so every decision sees a safe venue)."""
        await self.reconcile(now_ms)
        return self._book.build(await self._account(), now_ms, self.limits)

    async def marked_portfolio(self, now_ms: int) -> Portfolio:
        """`portfolio` again, for a caller that executed nothing and saw no fill since the last one.

        A flat account (no position and no order, on the venue and in the journal, at the last
        reconciliation and now) has nothing to reconcile and nothing to write: only its equity
        and the clock moved, so the account is read and the journal's last reads are reused.
        Anything else is reconciled, as `portfolio` does.
        """
        if not await self._still_flat():
            return await self.portfolio(now_ms)
        return self._book.refresh(await self._account(), now_ms, self.limits)

    async def _account(self) -> AccountInfo:
        account = await self._desk.retrying("account", self.venue.account)
        if account.taker_fee is not None:
            self._desk.taker_fee = account.taker_fee
        return account

    def save_venue_state(self) -> None:
        """Save the venue's own state (a paper account) now, e.g. after feeding it prices."""
        snapshot = self._desk.snapshot()
        if snapshot is not None:
            self.journal.save_venue_state(snapshot, self._now())

    # ---- execution -----------------------------------------------------------------------------

    async def _attempt(self, intent: OrderIntent) -> ExecutionReport:
        try:
            report = await (self._exit(intent) if intent.reduce_only else self._entry(intent))
        except OrderRejected as exc:  # refused before anything was open
            report = _report(intent, "rejected", str(exc))
        except VenueError as exc:
            return await self._recovered(intent, exc)
        except BaseException:
            self._reconciled = False  # a bug mid-way: the next call reconciles before anything else
            raise
        await self._try_reconcile()  # every execution ends with each position checked for its stop
        return report

    async def _entry(self, intent: OrderIntent) -> ExecutionReport:
        desk, symbol = self._desk, intent.symbol
        spec = await desk.retrying("market", lambda: self.venue.market(symbol))
        plan = plan_entry(intent, spec)
        if self.leverage == "intent":
            await desk.retrying("leverage", lambda: self.venue.update_leverage(symbol, plan.leverage))
        result = await desk.market(
            intent.decision_id, "entry", symbol, plan.side, plan.amount,
            reduce_only=False, slippage_percent=self.slippage_percent,
        )  # fmt: skip
        fee = desk.taker_fee
        if result.filled_amount <= 0:
            return _report(intent, "rejected", f"nothing filled ({result.status})", result, fee_rate=fee)
        position = await desk.position(symbol)
        if position is None or position.side != plan.side:
            return _report(
                intent, "filled", "the position closed before it was protected", result, fee_rate=fee
            )
        # Journaled now, so that its close is recorded as a trade even if it closes within this call.
        self.journal.record_position(journal_position(position, intent.decision_id, self._now()))
        if await desk.protect(symbol, plan.side, plan.stop_price, intent.decision_id) is None:
            return await self._unprotected(intent, result)
        rungs = ladder(plan, spec, result.filled_amount)
        placed = [await desk.place_rung(intent.decision_id, symbol, plan.closing, r) for r in rungs]
        missing = [r.leg for r, ok in zip(rungs, placed, strict=True) if not ok]
        detail = f"take-profit {', '.join(missing)} not placed" if missing else ""
        partly = "" if result.fully_filled else f"partly filled {result.filled_amount} of {result.amount}"
        return _report(intent, "filled", "; ".join(d for d in (partly, detail) if d), result, fee_rate=fee)

    async def _unprotected(self, intent: OrderIntent, entry: OrderResult) -> ExecutionReport:
        """No stop could be placed: the fresh position goes again."""
        outcome = await self._desk.close(
            intent.symbol, intent.decision_id, "emergency_close", self.exit_slippage_percent
        )
        if not outcome.flat:
            raise Unprotected(f"{intent.symbol}: no stop-loss could be placed and the close failed")
        detail = f"no stop-loss could be placed: closed {outcome.closed} at {outcome.average_price}"
        return _report(
            intent, "unprotected_closed", detail, entry, outcome.client_order_ids, self._desk.taker_fee
        )

    async def _exit(self, intent: OrderIntent) -> ExecutionReport:
        desk, symbol = self._desk, intent.symbol
        position = await desk.position(symbol)
        if position is None or position.side == wire_side(intent.side):
            return _report(intent, "noop", f"no position in {symbol} to close")
        outcome = await desk.close(symbol, intent.decision_id, "close", self.exit_slippage_percent)
        ids = outcome.client_order_ids
        if not outcome.flat:
            # The stop-loss still protects what is left: resting orders are kept.
            detail = f"closed {outcome.closed} of {position.amount}; the rest stays protected"
            return ExecutionReport(
                intent.decision_id, symbol, "rejected", float(outcome.closed), detail=detail
            )
        try:
            await desk.retrying("cancel", lambda: self.venue.cancel_all(symbol))
        except VenueError as exc:  # leftovers have nothing to reduce: reconciliation cancels them
            log.warning("%s: resting orders not cancelled after the close: %s", symbol, exc)
        average = None if outcome.average_price is None else float(outcome.average_price)
        fees = float(outcome.closed * (outcome.average_price or 0) * desk.taker_fee)  # estimated, as entries
        return ExecutionReport(
            intent.decision_id, symbol, "closed", float(outcome.closed), average, fees, ids
        )

    async def _recovered(self, intent: OrderIntent, error: VenueError) -> ExecutionReport:
        """After an ambiguous or unexpected venue error: reconcile, then report what the venue holds."""
        log.warning("%s %s: %s; reconciling", intent.decision_id, intent.symbol, error)
        if not await self._try_reconcile():
            status: ExecutionStatus = "rejected" if intent.reduce_only else "unprotected"
            return _report(intent, status, f"{error}; the venue could not be reconciled")
        try:
            position = await self._desk.position(intent.symbol)
        except VenueError:
            position = None
        if intent.reduce_only:
            closed = position is None
            return _report(intent, "closed" if closed else "rejected", f"{error}; reconciled")
        if position is not None and position.side == wire_side(intent.side):
            detail = f"{error}; reconciled: the position has its stop-loss, no take-profit ladder"
            return _report(intent, "filled", detail)
        return _report(intent, "rejected", f"{error}; reconciled: no position is open")

    # ---- reconciliation ------------------------------------------------------------------------

    async def _still_flat(self) -> bool:
        if self.needs_reconcile or self._flat is False:
            return False
        if self._flat is None:  # an order the venue no longer lists but could not settle stays active
            self._flat = not self.journal.orders(active_only=True)
        positions, orders = await self._read()
        return self._flat and not positions and not orders

    async def _try_reconcile(self) -> bool:
        try:
            await self.reconcile(self._now())
        except VenueError as exc:
            log.warning("reconciliation failed: %s", exc)
            return False
        return True

    async def _read(self) -> tuple[list[VenuePosition], list[VenueOrder]]:
        positions = await self._desk.retrying("positions", self.venue.positions)
        return positions, await self._desk.open_orders()

    async def _cancel_orphans(self, positions: list[VenuePosition], orders: list[VenueOrder]) -> list[str]:
        """Cancel reduce-only orders with nothing to reduce (no position, or one on their own side)."""
        sides = {p.symbol: closing_side(p.side) for p in positions}
        cancelled = []
        for order in orders:
            if order.reduce_only and sides.get(order.symbol) != order.side and await self._desk.cancel(order):
                cancelled.append(order.client_order_id or str(order.order_id))
        return cancelled

    async def _protect_all(
        self, positions: list[VenuePosition], orders: list[VenueOrder], now_ms: int
    ) -> tuple[list[str], list[str]]:
        """A stop-loss for every position without one, else the position is closed."""
        stops: list[str] = []
        closed: list[str] = []
        for position in positions:
            closing = closing_side(position.side)
            if any(is_stop_loss(o, position.symbol, closing) for o in orders):
                continue
            known = self._decision_of(position)
            self.journal.record_position(journal_position(position, known, now_ms))
            decision_id = known or f"reconcile:{position.symbol}:{now_ms}"
            stop = await self._stop_price(position, decision_id)
            log.warning("%s: position without a stop-loss; placing one at %s", position.symbol, stop)
            if await self._desk.protect(position.symbol, position.side, stop, decision_id) is not None:
                stops.append(position.symbol)
                continue
            slippage = self.exit_slippage_percent
            if not (await self._desk.close(position.symbol, decision_id, "emergency_close", slippage)).flat:
                raise Unprotected(f"{position.symbol}: no stop-loss could be placed and the close failed")
            closed.append(position.symbol)
        return stops, closed

    def _decision_of(self, position: VenuePosition) -> str | None:
        """The decision whose entry opened the position (the newest entry of its symbol and side)."""
        entries = [
            o
            for o in self.journal.orders(symbol=position.symbol)
            if o.leg == "entry" and o.side == position.side
        ]
        return entries[-1].decision_id if entries else None

    async def _stop_price(self, position: VenuePosition, decision_id: str) -> Decimal:
        """The decision's stop if it is known and protective, else the widest stop the limits allow."""
        spec = await self._desk.retrying("market", lambda: self.venue.market(position.symbol))
        intent = self.journal.intent(decision_id)
        planned = stop_of(intent, spec) if intent and wire_side(intent.side) == position.side else None
        if planned is not None:
            return planned
        return default_stop(spec, position.side, position.entry_price, self.limits.max_stop_loss)


def _report(
    intent: OrderIntent,
    status: ExecutionStatus,
    detail: str = "",
    result: OrderResult | None = None,
    extra_ids: tuple[str, ...] = (),
    fee_rate: Decimal = DEFAULT_TAKER_FEE,
) -> ExecutionReport:
    """The report of an entry; fees are estimated at the taker fee (the venues report none per order)."""
    if result is None or result.average_price is None:
        return ExecutionReport(
            intent.decision_id, intent.symbol, status, client_order_ids=extra_ids, detail=detail
        )
    fees = result.filled_amount * result.average_price * fee_rate
    return ExecutionReport(
        intent.decision_id, intent.symbol, status, float(result.filled_amount), float(result.average_price),
        float(fees), (result.client_order_id, *extra_ids), detail,
    )  # fmt: skip
