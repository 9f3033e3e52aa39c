"""The fake Pacifica server failing at random: a seeded share of requests gets a fault instead of (or
on top of) the exchange's answer. For the execution soak (scripts/soak_execution.py).

    fake = ChaosPacifica(rate=0.2, seed=7)
    with serve(fake): ...              # fake.faults: Counter of the faults dealt, fake.total requests
    fake.after_write = hook            # called with the endpoint once the exchange acted on a POST

Faults, drawn per request (a GET never gets a business refusal, only a market order a partial fill):
  5xx        503 with an error envelope; the exchange did not act
  429        rate limited, Retry-After 0.01 s; the exchange did not act
  stall      the exchange acts, then the answer is held past the client's timeout
  reject     a business refusal envelope (422); the exchange did not act
  partial    the market order fills only in part (30-90 %)
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from tests.fakes.pacifica_venue import FakePacificaVenue
from tests.fakes.server import Reply

_READ_FAULTS = ("5xx", "429", "stall")
_WRITE_FAULTS = ("5xx", "429", "stall", "reject")
_MARKET_FAULTS = ("5xx", "429", "stall", "reject", "partial")
MARKET = "/orders/create_market"


class ChaosPacifica(FakePacificaVenue):
    """FakePacificaVenue with a fault on `rate` of the requests, drawn from a seeded generator."""

    def __init__(self, *, rate: float, seed: int, stall_s: float = 0.5, **options: Any) -> None:
        super().__init__(**options)
        self.rate = rate
        self.stall_s = stall_s
        self.enabled = True
        self.total = 0
        self.faults: Counter[str] = Counter()
        self.after_write: Callable[[str], None] | None = None
        self._rng = random.Random(seed)
        self._draw_lock = threading.Lock()

    def handle(self, method: str, target: str, body: bytes) -> Reply:
        endpoint = urlsplit(target).path.removeprefix(self.base_path)
        fault = self._draw(method, endpoint)
        if fault == "5xx":
            return _envelope(503, 503, "Service temporarily unavailable (chaos)")
        if fault == "429":
            return Reply(429, b"", {"Retry-After": "0.01"})
        if fault == "reject":
            return _envelope(422, 0, "Request rejected (chaos)")
        if fault == "partial":
            self.partial_fill(f"0.{self._rng_int(3, 9)}")
        reply = super().handle(method, target, body)
        hook = self.after_write
        if method == "POST" and hook is not None:
            hook(endpoint)  # e.g. the soak kills its client here, before it reads the answer
        if fault == "stall":
            self.stopping.wait(self.stall_s)  # the exchange acted; only the answer is late
        return reply

    def _draw(self, method: str, endpoint: str) -> str | None:
        with self._draw_lock:
            self.total += 1
            if not self.enabled or self._rng.random() >= self.rate:
                return None
            kinds = (
                _READ_FAULTS if method == "GET" else _MARKET_FAULTS if endpoint == MARKET else _WRITE_FAULTS
            )
            fault = self._rng.choice(kinds)
            self.faults[fault] += 1
            return fault

    def _rng_int(self, low: int, high: int) -> int:
        with self._draw_lock:
            return self._rng.randint(low, high)


def _envelope(status: int, code: int, message: str) -> Reply:
    body = {"success": False, "data": None, "error": message, "code": code}
    return Reply(status, json.dumps(body).encode())
