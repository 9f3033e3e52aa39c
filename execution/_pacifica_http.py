"""Pacifica over HTTP for the venue: credits first, a fresh signature per attempt, errors translated.

Why not feeds' JsonHttp: it resends the same body on a retry, and a signed body expires
(`timestamp + expiry_window`), so every attempt here signs anew; the venue also needs the HTTP
status and the exchange's code of a refusal, and must know whether a failed request may still
have reached the exchange. The retry bounds are feeds' RetryPolicy, shared.

Nothing here logs or raises with a body: a body carries the signature.
"""

from __future__ import annotations

import functools
import json
import logging
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

import anyio
import httpx

from execution.errors import (
    AuthError,
    DuplicateClientOrderId,
    OrderRejected,
    TransientVenueError,
    VenueError,
    VenueResponseError,
)
from execution.ratelimit import Costs, CreditBucket
from execution.signing import PacificaSigner
from feeds.sources.http import RetryPolicy, one_line, retry_after_s

T = TypeVar("T")
Params = Mapping[str, str | int]

log = logging.getLogger("execution.pacifica")

VERIFICATION_FAILED = "Verification failed"  # the bare body Pacifica sends for a bad signature
# Failures before the request left: nothing can have reached the exchange.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


@functools.cache
def _tls() -> ssl.SSLContext:
    """One verifying TLS context for every client: loading the CA bundle takes ~30 ms each time."""
    return httpx.create_ssl_context()


class PacificaHttp:
    """Requests to one Pacifica REST prefix on behalf of one signer; returns an envelope's `data`."""

    def __init__(
        self,
        base_url: str,
        signer: PacificaSigner,
        *,
        client: httpx.AsyncClient | None,
        timeout_s: float,
        retry: RetryPolicy,
        bucket: CreditBucket,
        costs: Costs,
        expiry_window_ms: int,
        clock_ms: Callable[[], int],
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.signer = signer
        self.retry = retry
        self.expiry_window_ms = expiry_window_ms
        self.clock_ms = clock_ms
        self._bucket = bucket
        self._costs = costs
        self._timeout = httpx.Timeout(timeout_s)
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(headers={"Accept": "application/json"}, verify=_tls())

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def get(self, path: str, params: Params | None = None) -> object:
        """GET with retries of transient failures."""
        return await self.retrying(lambda: self.send("GET", path, params=params), f"GET {path}")

    async def post(self, path: str, op_type: str, payload: Mapping[str, object]) -> object:
        """A signed POST with retries; only for operations that are safe to repeat."""
        return await self.retrying(lambda: self.post_once(path, op_type, payload), f"POST {path}")

    async def post_once(
        self, path: str, op_type: str, payload: Mapping[str, object], timestamp_ms: int | None = None
    ) -> object:
        """One signed POST, signed at `timestamp_ms` (now by default)."""
        stamp = self.clock_ms() if timestamp_ms is None else timestamp_ms
        body = self.signer.sign(op_type, payload, stamp, self.expiry_window_ms)
        return await self.send("POST", path, body=body, redact=str(body["signature"]))

    async def retrying(self, call: Callable[[], Awaitable[T]], what: str) -> T:
        """`call()` until it succeeds, fails for good, or the RetryPolicy's attempts or time run out."""
        started, maybe_sent = time.monotonic(), False
        for attempt in range(1, self.retry.attempts + 1):
            try:
                return await call()
            except TransientVenueError as exc:
                maybe_sent = maybe_sent or exc.maybe_sent
                if attempt == self.retry.attempts or time.monotonic() - started >= self.retry.total_s:
                    raise TransientVenueError(
                        f"{exc} (gave up after {attempt} attempt(s))",
                        retry_after_s=exc.retry_after_s,
                        maybe_sent=maybe_sent,
                    ) from exc
                wait_s = self.retry.wait_s(attempt, exc.retry_after_s)
                log.info("pacifica %s: attempt %d failed, retrying in %.2f s: %s", what, attempt, wait_s, exc)
                await anyio.sleep(wait_s)
        raise AssertionError("unreachable: RetryPolicy.attempts >= 1")

    async def send(
        self, method: str, path: str, *, params: Params | None = None, body: object = None, redact: str = ""
    ) -> object:
        """One request: spend its credits, send it, return `data` or raise a VenueError."""
        where = f"pacifica {method} {path}"
        await self._bucket.acquire(self._costs.of(method, path))
        log.debug("%s", where)
        try:
            response = await self._client.request(
                method, self.base_url + path, params=params, json=body, timeout=self._timeout
            )
        except _NOT_SENT as exc:
            raise TransientVenueError(f"{where}: {type(exc).__name__} (not sent)") from None
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            # It may have been received and acted on before the connection failed.
            raise TransientVenueError(
                f"{where}: {type(exc).__name__} after sending", maybe_sent=True
            ) from None
        except httpx.HTTPError as exc:
            raise VenueError(f"{where}: request failed: {type(exc).__name__}") from None
        return self._decode(response, method, where, redact)

    def _decode(self, response: httpx.Response, method: str, where: str, redact: str) -> object:
        status = response.status_code
        body = _json_or_text(response)
        code, text = _describe(body)
        if redact:
            text = text.replace(redact, "<signature>")  # an error could echo the body back
        if text.strip().lower() == VERIFICATION_FAILED.lower():
            raise AuthError(f"{where}: HTTP {status}: {VERIFICATION_FAILED}")
        if status == 429 or status >= 500:
            retry_after = retry_after_s(response)
            if status == 429:
                self._bucket.pause(retry_after if retry_after is not None else self.retry.backoff_s)
            raise TransientVenueError(
                f"{where}: HTTP {status}: {text or '(empty body)'}",
                retry_after_s=retry_after,
                maybe_sent=status != 429,  # a 5xx may come after the order was taken
            )
        if status < 300 and body == "":
            return None  # some operations answer success with no body at all (UNVERIFIED which)
        if status >= 400 or (isinstance(body, dict) and body.get("success") is False):
            raise _refusal(method, where, status, code, text)
        if not (isinstance(body, dict) and body.get("success") is True):
            raise VenueResponseError(f"{where}: HTTP {status}: not a success envelope: {text[:80]!r}")
        return body.get("data")


def _refusal(method: str, where: str, status: int, code: object, text: str) -> VenueError:
    """The error for an exchange's refusal, by remedy."""
    lower = text.lower()
    message = f"{where}: HTTP {status}" + (f", code {code}" if code is not None else "") + f": {text}"
    if status in (401, 403) or "not authorized" in lower or "unauthorized" in lower:
        return AuthError(message)
    wire_code = code if isinstance(code, int | str) else None
    if method != "POST":
        return VenueError(message)
    if status == 409 or ("client_order_id" in lower and ("exist" in lower or "duplicate" in lower)):
        return DuplicateClientOrderId(message, code=wire_code, status=status)
    return OrderRejected(message, code=wire_code, status=status)


def _json_or_text(response: httpx.Response) -> object:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.text


def _describe(body: object) -> tuple[object, str]:
    """(code, one-line message) of a body: the envelope's error, a bare string, else the JSON."""
    if isinstance(body, dict):
        message = body.get("error") or body.get("message") or body.get("msg")
        return body.get("code"), one_line(str(message if message is not None else ""))
    return None, one_line("" if body is None else str(body))
