"""Pacifica reads for the venue: market specs (cached), account, positions, open orders, history.

GET endpoints take `account=<pubkey>` and no signature (exchange-apis.md 1.4).
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import TypeAdapter, ValidationError

from execution._pacifica_http import PacificaHttp
from execution.errors import OrderRejected, VenueResponseError
from execution.markets import MarketSpec
from execution.pacifica_models import AccountInfo, OrderRecord, VenueOrder, VenuePosition

T = TypeVar("T")

_SPECS = TypeAdapter(list[MarketSpec])
_ACCOUNT = TypeAdapter(AccountInfo)
_POSITIONS = TypeAdapter(list[VenuePosition])
_ORDERS = TypeAdapter(list[VenueOrder])
_HISTORY = TypeAdapter(list[OrderRecord])


class PacificaReads:
    """The read side of PacificaVenue."""

    def __init__(self, http: PacificaHttp) -> None:
        self._http = http
        self._specs: dict[str, MarketSpec] = {}

    @property
    def account_address(self) -> str:
        """The account traded (the main account when signing with an agent key)."""
        return self._http.signer.account

    async def markets(self, *, refresh: bool = False) -> dict[str, MarketSpec]:
        """Perpetual market specs by symbol, cached after the first call."""
        if refresh or not self._specs:
            specs = _parse(_SPECS, await self._http.get("/info"), "GET /info")
            self._specs = {spec.symbol: spec for spec in specs if spec.instrument_type != "spot"}
        return dict(self._specs)

    async def market(self, symbol: str) -> MarketSpec:
        """The spec of `symbol`; an unknown symbol refreshes the cache once, then is refused."""
        if symbol not in self._specs:
            await self.markets(refresh=True)
        spec = self._specs.get(symbol)
        if spec is None:
            raise OrderRejected(f"pacifica: no perpetual market {symbol!r}")
        return spec

    async def account(self) -> AccountInfo:
        return _parse(_ACCOUNT, await self._get_own("/account"), "GET /account")

    async def positions(self) -> list[VenuePosition]:
        return _parse(_POSITIONS, await self._get_own("/positions"), "GET /positions")

    async def open_orders(self) -> list[VenueOrder]:
        """Open orders, stop and take-profit orders included."""
        return _parse(_ORDERS, await self._get_own("/orders"), "GET /orders")

    async def order_history(self, limit: int = 100) -> list[OrderRecord]:
        """The newest `limit` orders in their latest state (open, filled, cancelled...)."""
        data = await self._http.get("/orders/history", {"account": self.account_address, "limit": limit})
        return _parse(_HISTORY, data, "GET /orders/history")

    async def find_order(self, client_order_id: str) -> OrderRecord | None:
        """The order with this client_order_id in the recent order history, if any."""
        return next((o for o in await self.order_history() if o.client_order_id == client_order_id), None)

    async def locate(self, client_order_id: str) -> int | None:
        """The order id of `client_order_id` among the open orders, else the order history."""
        for order in await self.open_orders():
            if order.client_order_id == client_order_id:
                return order.order_id
        record = await self.find_order(client_order_id)
        return record.order_id if record else None

    async def _get_own(self, path: str) -> object:
        return await self._http.get(path, {"account": self.account_address})


def _parse(adapter: TypeAdapter[T], data: object, where: str) -> T:
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(part) for part in first["loc"]) or "top level"
        raise VenueResponseError(
            f"pacifica {where}: unexpected shape at {loc}: {first['msg']} ({exc.error_count()} problem(s))"
        ) from None
