"""A client-side credit bucket for Pacifica's rolling-window rate limit (exchange-apis.md 1.7).

Pacifica counts credits per 60 s rolling window (100 for an unidentified IP; 300 with an API
config key; more by fee tier): a request costs 1, a cancel 0.5, heavy reads more. Spending them
on our side first means the exchange's 429 stays the exception; when one comes anyway, its
Retry-After pauses every caller, not just the request that got it.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import anyio

# Heavy GETs as ccxt weighs them for a key-less client (the docs give a 3-12 range).
_HEAVY_GETS = MappingProxyType(
    {"/orders/history": 12.0, "/orders/history_by_id": 12.0, "/trades/history": 12.0}
)
_CANCELS = frozenset({"/orders/cancel", "/orders/cancel_all", "/orders/stop/cancel"})


@dataclass(frozen=True)
class Costs:
    """Credits per request: `request` by default, `cancel` for the cancel endpoints, `heavy` by path."""

    request: float = 1.0
    cancel: float = 0.5
    heavy: Mapping[str, float] = field(default_factory=lambda: _HEAVY_GETS)

    def of(self, method: str, path: str) -> float:
        if method == "POST" and path in _CANCELS:
            return self.cancel
        return self.heavy.get(path, self.request) if method == "GET" else self.request


class CreditBucket:
    """Waits until a request's credits fit in the rolling window; never raises for lack of them.

    Share one bucket between every client of one account/IP. `clock` is monotonic seconds.
    """

    def __init__(
        self, credits: float = 100.0, window_s: float = 60.0, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if credits <= 0 or window_s <= 0:
            raise ValueError(f"invalid rate limit: {credits} credits per {window_s} s")
        self.credits = credits
        self.window_s = window_s
        self._clock = clock
        self._spent: deque[tuple[float, float]] = deque()  # (when, credits), oldest first
        self._paused_until = 0.0
        self._lock = anyio.Lock()  # first come, first served: a cheap request cannot starve a dear one

    async def acquire(self, cost: float) -> None:
        """Wait until `cost` credits are free, then spend them."""
        cost = min(cost, self.credits)  # a request dearer than the whole bucket waits for an empty one
        async with self._lock:
            # Waiting for time to pass, not for another task to set something: sleep is right.
            while (wait := self._wait_s(cost)) > 0:  # noqa: ASYNC110
                await anyio.sleep(wait)
            self._spent.append((self._clock(), cost))

    def pause(self, seconds: float) -> None:
        """Hold every request for `seconds` (a 429's Retry-After)."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    def available(self) -> float:
        self._expire(self._clock())
        return self.credits - sum(c for _, c in self._spent)

    def _wait_s(self, cost: float) -> float:
        now = self._clock()
        if now < self._paused_until:
            return self._paused_until - now
        self._expire(now)
        used = sum(c for _, c in self._spent)
        if used + cost <= self.credits + 1e-9:
            return 0.0
        # Free enough of the oldest spends for this request to fit.
        freed, excess = 0.0, used + cost - self.credits
        for when, spent in self._spent:
            freed += spent
            if freed >= excess - 1e-9:
                return max(when + self.window_s - now, 0.001)
        raise AssertionError("unreachable: the whole window frees the bucket")

    def _expire(self, now: float) -> None:
        while self._spent and self._spent[0][0] + self.window_s <= now:
            self._spent.popleft()
