"""PacificaVenue: market orders, position TP/SL, a take-profit ladder, cancels and account reads.

Wire formats: docs/exchange-apis.md 1.4-1.7. Every amount and price sent goes through the
rounding of execution/markets.py, with the market's lot and tick from GET /info. Orders are
idempotent by client_order_id (`client_order_id(decision_id, leg)`): see _pacifica_place.py for
how a creation that timed out is settled before anything is sent again.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from decimal import Decimal
from types import TracebackType
from typing import Final, cast

import httpx

from execution._pacifica_http import PacificaHttp
from execution._pacifica_place import IdempotentPlacer
from execution._pacifica_reads import PacificaReads
from execution.errors import DuplicateClientOrderId, OrderRejected, VenueResponseError
from execution.markets import MarketSpec, TriggerKind, WireSide, wire
from execution.pacifica_models import OrderResult, Trigger
from execution.ratelimit import Costs, CreditBucket
from execution.signing import PacificaSigner
from feeds.sources.http import RetryPolicy

# Mainnet, for callers to name; deliberately not a default: real money needs an explicit choice.
DEFAULT_BASE_URL: Final = "https://api.pacifica.fi/api/v1"
ORDER_NOT_FOUND: Final = 6  # Pacifica business error code (numbering shifted between doc revisions)

# Fixed forever: a new namespace would give every decision's legs new ids.
_CLOID_NAMESPACE: Final = uuid.uuid5(uuid.NAMESPACE_URL, "swarm:pacifica:client_order_id")

log = logging.getLogger("execution.pacifica")


def client_order_id(decision_id: str, leg: str) -> str:
    """The client_order_id of one leg ("entry", "sl", "tp1"...) of one decision.

    A UUID5 of the pair, so a resend of the same leg always carries the same id.
    """
    return str(uuid.uuid5(_CLOID_NAMESPACE, json.dumps([decision_id, leg])))


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class PacificaVenue(PacificaReads):
    """Trading on Pacifica for one account, signed by `signer`.

    `base_url` is the REST prefix (DEFAULT_BASE_URL, the testnet prefix or a fake's URL). A
    `client` passed in is shared, not closed. `bucket` spends rate-limit credits (share one per
    account/IP; default 100 credits per 60 s). `expiry_window_ms` is each signature's lifetime;
    `clock_skew_ms` how far the exchange's clock may lag ours when waiting a signature out.
    """

    name = "pacifica"

    def __init__(
        self,
        base_url: str,
        signer: PacificaSigner,
        *,
        client: httpx.AsyncClient | None = None,
        timeout_s: float = 10.0,
        retry: RetryPolicy | None = None,
        bucket: CreditBucket | None = None,
        costs: Costs | None = None,
        expiry_window_ms: int = 5_000,
        clock_skew_ms: int = 1_000,
        clock_ms: Callable[[], int] = _wall_ms,
    ) -> None:
        http = PacificaHttp(
            base_url,
            signer,
            client=client,
            timeout_s=timeout_s,
            retry=retry or RetryPolicy(),
            bucket=bucket or CreditBucket(),
            costs=costs or Costs(),
            expiry_window_ms=expiry_window_ms,
            clock_ms=clock_ms,
        )
        super().__init__(http)
        self._placer = IdempotentPlacer(http, self.locate, clock_skew_ms=clock_skew_ms)

    def __repr__(self) -> str:
        return f"PacificaVenue({self._http.base_url!r}, account={self.account_address!r})"

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> PacificaVenue:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def place_market_order(
        self,
        symbol: str,
        side: WireSide,
        amount: Decimal,
        *,
        client_order_id: str,
        slippage_percent: Decimal = Decimal("0.5"),
        reduce_only: bool = False,
    ) -> OrderResult:
        """A market order of `amount` (rounded down to the lot); returns what of it filled."""
        spec = await self.market(symbol)
        payload: dict[str, object] = {
            "symbol": symbol,
            "amount": wire(spec.amount(amount)),
            "side": _side(side),
            "slippage_percent": wire(slippage_percent),
            "reduce_only": reduce_only,
            "client_order_id": client_order_id,
        }
        await self._placer.place("/orders/create_market", "create_market_order", payload, client_order_id)
        record = await self._placer.visible(client_order_id, self.find_order)
        return OrderResult.from_record(record, client_order_id)

    async def set_position_tpsl(
        self,
        symbol: str,
        side: WireSide,
        *,
        stop_loss: Trigger | None = None,
        take_profit: Trigger | None = None,
    ) -> None:
        """Attach a stop-loss and/or take-profit to the position; `side` is the closing side.

        Setting it again replaces the previous TP/SL, so a resend is harmless; an exchange that
        refuses the resend's client_order_ids as duplicates holds them already.
        """
        if stop_loss is None and take_profit is None:
            raise ValueError("set_position_tpsl needs a stop_loss or a take_profit")
        spec = await self.market(symbol)
        payload: dict[str, object] = {"symbol": symbol, "side": _side(side)}
        if take_profit is not None:
            payload["take_profit"] = _trigger_wire(spec, take_profit, side, "take_profit")
        if stop_loss is not None:
            payload["stop_loss"] = _trigger_wire(spec, stop_loss, side, "stop_loss")
        try:
            await self._http.post("/positions/tpsl", "set_position_tpsl", payload)
        except DuplicateClientOrderId:
            log.info("pacifica POST /positions/tpsl: %s TP/SL already set", symbol)

    async def place_stop_order(
        self, symbol: str, side: WireSide, trigger: Trigger, *, kind: TriggerKind, reduce_only: bool = True
    ) -> int:
        """A stop order (POST /orders/stop/create); needs an amount and a client_order_id.

        `kind` only picks the rounding of the trigger: the documented stop_order object has no
        type, and the stop fires when the mark reaches `stop_price`.
        """
        if trigger.amount is None or trigger.client_order_id is None:
            raise ValueError("a stop order needs an amount and a client_order_id")
        spec = await self.market(symbol)
        payload: dict[str, object] = {
            "symbol": symbol,
            "side": _side(side),
            "reduce_only": reduce_only,
            "stop_order": _trigger_wire(spec, trigger, side, kind),
        }
        cloid = trigger.client_order_id
        return await self._placer.place("/orders/stop/create", "create_stop_order", payload, cloid)

    async def place_take_profit_ladder(
        self, symbol: str, side: WireSide, rungs: Sequence[Trigger]
    ) -> list[int]:
        """One reduce-only take-profit stop order per rung, in order; returns their order ids."""
        return [await self.place_stop_order(symbol, side, rung, kind="take_profit") for rung in rungs]

    async def cancel_order(self, symbol: str, client_order_id: str) -> bool:
        """Cancel an open order or stop order by client_order_id.

        False when no open order has that id (filled, cancelled, never placed; also after a
        retried cancel whose first try got through). Either way none is left open.
        """
        try:
            by_client_id = {"symbol": symbol, "client_order_id": client_order_id}
            await self._http.post("/orders/cancel", "cancel_order", by_client_id)
            return True
        except OrderRejected as exc:
            if not _not_found(exc):
                raise
        # Stop orders have their own cancel, by order id.
        order = next((o for o in await self.open_orders() if o.client_order_id == client_order_id), None)
        if order is None:
            return False
        by_order_id = {"symbol": symbol, "order_id": order.order_id}
        await self._http.post("/orders/stop/cancel", "cancel_stop_order", by_order_id)
        return True

    async def cancel_all(self, symbol: str | None = None, *, exclude_reduce_only: bool = False) -> int:
        """Cancel the open orders of `symbol` (every symbol if None); returns how many went."""
        payload: dict[str, object] = {
            "all_symbols": symbol is None,
            "exclude_reduce_only": exclude_reduce_only,
        }
        if symbol is not None:
            payload["symbol"] = symbol
        data = await self._http.post("/orders/cancel_all", "cancel_all_orders", payload)
        count = data.get("cancelled_count") if isinstance(data, dict) else None
        if not isinstance(count, int):
            raise VenueResponseError(f"pacifica POST /orders/cancel_all: no cancelled_count in {data!r:.80}")
        return count

    async def update_leverage(self, symbol: str, leverage: int) -> None:
        spec = await self.market(symbol)
        if not 1 <= leverage <= spec.max_leverage:
            raise OrderRejected(f"pacifica {symbol}: leverage {leverage} outside 1..{spec.max_leverage}")
        payload = {"symbol": symbol, "leverage": leverage}
        await self._http.post("/account/leverage", "update_leverage", payload)


def _trigger_wire(spec: MarketSpec, trigger: Trigger, side: WireSide, kind: TriggerKind) -> dict[str, object]:
    """A stop_order / take_profit / stop_loss object, every price and amount rounded by `spec`."""
    fields: dict[str, object] = {
        "stop_price": wire(spec.trigger_price(trigger.stop_price, side, kind)),
        "trigger_price_type": "mark_price",  # omitted, the exchange triggers on mid (MCP notes)
    }
    if trigger.limit_price is not None:
        fields["limit_price"] = wire(spec.limit_price(trigger.limit_price, side))
    if trigger.amount is not None:
        fields["amount"] = wire(spec.amount(trigger.amount))
    if trigger.client_order_id is not None:
        fields["client_order_id"] = trigger.client_order_id
    return fields


def _side(side: str) -> WireSide:
    if side not in ("bid", "ask"):
        raise ValueError(f"side must be 'bid' or 'ask', not {side!r}")
    return cast(WireSide, side)


def _not_found(exc: OrderRejected) -> bool:
    return exc.code == ORDER_NOT_FOUND or "not found" in str(exc).lower()
