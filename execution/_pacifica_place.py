"""Idempotent order creation: a resend after a timeout can never double an order.

A creation that fails in a way that may have reached the exchange (a timeout, a 5xx, a dropped
connection) is not simply sent again. First the attempt's signature must expire (after
`timestamp + expiry_window` the exchange refuses it, so it can no longer land); then the
client_order_id is looked up in the open orders and the order history. Only if it is absent is
the order sent again, under the same id; a "duplicate client_order_id" answer (the exchange's own
guard against a copy that did land, e.g. behind a lagging snapshot) counts as placed. When no
lookup can settle the question the answer is AmbiguousOrderState: the caller reconciles, the
venue never guesses.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

import anyio

from execution._pacifica_http import PacificaHttp
from execution.errors import (
    AmbiguousOrderState,
    DuplicateClientOrderId,
    TransientVenueError,
    VenueResponseError,
)

T = TypeVar("T")
Lookup = Callable[[str], Awaitable[int | None]]

log = logging.getLogger("execution.pacifica")


class IdempotentPlacer:
    """Sends order creations at most once in effect; `locate(cloid)` finds a placed order's id."""

    def __init__(self, http: PacificaHttp, locate: Lookup, *, clock_skew_ms: int) -> None:
        self._http = http
        self._locate = locate
        self._clock_skew_ms = clock_skew_ms  # how far the exchange's clock may lag ours

    async def place(self, path: str, op_type: str, payload: Mapping[str, object], cloid: str) -> int:
        """Create the order `cloid` (its id is inside `payload`); returns the exchange's order id."""
        retry, started = self._http.retry, time.monotonic()
        in_flight: int | None = None  # signing time of the newest attempt that may have landed
        last: TransientVenueError | None = None
        wait_s = 0.0
        for attempt in range(1, retry.attempts + 1):
            if attempt > 1 and time.monotonic() - started >= retry.total_s:
                break
            await anyio.sleep(wait_s)
            if in_flight is not None:
                try:
                    found = await self._settled_lookup(cloid, in_flight)
                except TransientVenueError as exc:
                    last, wait_s = exc, retry.wait_s(attempt, exc.retry_after_s)
                    continue  # absence unproven: no resend
                if found is not None:
                    return found
                in_flight = None  # absent, and too old to land any more
            stamp = self._http.clock_ms()
            try:
                return _order_id(await self._http.post_once(path, op_type, payload, stamp), path)
            except DuplicateClientOrderId:
                log.info("pacifica POST %s: client_order_id %s is already placed", path, cloid)
                return await self.visible(cloid, self._locate)
            except TransientVenueError as exc:
                last, wait_s = exc, retry.wait_s(attempt, exc.retry_after_s)
                in_flight = stamp if exc.maybe_sent else in_flight
                log.info("pacifica POST %s: attempt %d for %s failed: %s", path, attempt, cloid, exc)
        return await self._give_up(path, cloid, in_flight, last)

    async def visible(self, cloid: str, lookup: Callable[[str], Awaitable[T | None]]) -> T:
        """`lookup(cloid)` of an order known to be placed, retried while it does not show yet.

        The order exists, so a failure here is AmbiguousOrderState, never "not placed".
        """
        retry = self._http.retry
        for attempt in range(1, retry.attempts + 1):
            try:
                found = await lookup(cloid)
            except TransientVenueError as exc:
                raise AmbiguousOrderState(
                    f"pacifica: order {cloid} was placed but cannot be read back: {exc}",
                    client_order_id=cloid,
                ) from exc
            if found is not None:
                return found
            if attempt < retry.attempts:
                await anyio.sleep(retry.wait_s(attempt, None))
        raise AmbiguousOrderState(
            f"pacifica: order {cloid} was placed but does not show in the orders", client_order_id=cloid
        )

    async def _give_up(
        self, path: str, cloid: str, in_flight: int | None, last: TransientVenueError | None
    ) -> int:
        """After the last attempt: the order id if an attempt landed after all, else why not."""
        not_placed = TransientVenueError(f"pacifica POST {path}: not placed: {last}")
        if in_flight is None:
            raise not_placed from last
        try:
            found = await self._settled_lookup(cloid, in_flight)
        except TransientVenueError:
            raise AmbiguousOrderState(
                f"pacifica POST {path}: order {cloid} may have been placed and the lookups failed: {last}",
                client_order_id=cloid,
            ) from last
        if found is None:
            raise not_placed from last
        return found

    async def _settled_lookup(self, cloid: str, sent_ms: int) -> int | None:
        """The order id of `cloid` (or None) once an attempt signed at `sent_ms` can no longer land."""
        settle_ms = sent_ms + self._http.expiry_window_ms + self._clock_skew_ms - self._http.clock_ms()
        if settle_ms > 0:
            await anyio.sleep(settle_ms / 1000)
        return await self._locate(cloid)


def _order_id(data: object, path: str) -> int:
    order_id = data.get("order_id") if isinstance(data, dict) else None
    if not isinstance(order_id, int):
        raise VenueResponseError(f"pacifica POST {path}: no order_id in {data!r:.80}")
    return order_id
