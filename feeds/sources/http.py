"""JSON over HTTP for the exchange sources: one client, bounded retries, errors translated here.

Every failure leaves this module as a feeds error whose one-line message names the exchange and
the endpoint:

- 429, 5xx, timeouts and connection errors are retried (a 429's Retry-After is honoured, capped)
  and raised as TransientError once the attempts or the time budget are used up;
- any other 4xx is final: ExchangeError, or the subclass the exchange's error code maps to, with
  the exchange's own code and message;
- a success body that is not JSON: MalformedResponseError.
"""

from __future__ import annotations

import functools
import json
import math
import ssl
from collections.abc import Mapping
from dataclasses import dataclass

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    stop_before_delay,
)

from feeds.errors import ExchangeError, FeedError, MalformedResponseError, SourceError, TransientError

Params = Mapping[str, str | int]
ErrorCodes = Mapping[int | str, type[FeedError]]

_MAX_TEXT = 300  # an error body can be a whole HTML page; a message stays short


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to retry a transient failure; the defaults suit a live cycle, tests pass tiny ones."""

    attempts: int = 4
    total_s: float = 30.0  # no new attempt starts once this much time has passed
    backoff_s: float = 0.5  # first wait; doubles per attempt
    backoff_max_s: float = 8.0
    retry_after_max_s: float = 30.0  # cap on a server's Retry-After, so one header cannot stall a cycle

    def __post_init__(self) -> None:
        if (
            self.attempts < 1
            or min(self.total_s, self.backoff_s, self.backoff_max_s, self.retry_after_max_s) < 0
        ):
            raise ValueError(f"invalid retry policy: {self}")

    def wait_s(self, attempt: int, retry_after_s: float | None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        if retry_after_s is not None:
            return min(retry_after_s, self.retry_after_max_s)
        return float(min(self.backoff_s * 2 ** (attempt - 1), self.backoff_max_s))


class JsonHttp:
    """A JSON client for one exchange: `get`/`post` return the decoded body or raise a FeedError.

    `error_codes` maps an exchange error code (the `code` of an error body) to the error class to
    raise, e.g. Binance's -1121 "Invalid symbol." to UnknownSymbolError; others are ExchangeError.
    A `client` passed in is used as is (its own base URL is ignored) and not closed by `aclose`.
    """

    def __init__(
        self,
        exchange: str,
        base_url: str,
        *,
        timeout_s: float = 10.0,
        retry: RetryPolicy | None = None,
        client: httpx.AsyncClient | None = None,
        error_codes: ErrorCodes | None = None,
    ) -> None:
        self.exchange = exchange
        self._base = base_url.rstrip("/")
        self._timeout = httpx.Timeout(timeout_s)
        self._retry = retry or RetryPolicy()
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(headers={"Accept": "application/json"}, verify=_tls())
        self._error_codes: ErrorCodes = error_codes or {}

    async def get(self, path: str, params: Params | None = None) -> object:
        return await self._request("GET", path, f"GET {path}", params=params)

    async def post(self, path: str, body: Mapping[str, object], *, endpoint: str = "") -> object:
        """POST a JSON body; `endpoint` names the call in errors when the path alone does not."""
        return await self._request("POST", path, endpoint or f"POST {path}", body=body)

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    def where(self, endpoint: str) -> str:
        """The 'exchange endpoint' prefix of every error message."""
        return f"{self.exchange} {endpoint}"

    def error(self, endpoint: str, code: object, message: str, status: int | None = None) -> FeedError:
        """The error for an exchange's error answer (also used for error envelopes sent with 200)."""
        cls = self._error_codes.get(code, ExchangeError) if isinstance(code, int | str) else ExchangeError
        http = f"HTTP {status}, " if status is not None else ""
        coded = f"error {code}: " if code is not None else ""
        return cls(f"{self.where(endpoint)}: {http}{coded}{one_line(message)}")

    async def _request(
        self, method: str, path: str, endpoint: str, *, params: Params | None = None, body: object = None
    ) -> object:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._retry.attempts) | stop_before_delay(self._retry.total_s),
            wait=self._wait,
            retry=retry_if_exception_type(TransientError),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._attempt(method, path, endpoint, params=params, body=body)
        except TransientError as exc:
            tries = retrying.statistics.get("attempt_number", 1)
            raise TransientError(f"{exc} (gave up after {tries} attempt(s))", exc.retry_after_s) from exc
        raise AssertionError("unreachable: tenacity either returns or raises")

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        retry_after = error.retry_after_s if isinstance(error, TransientError) else None
        return self._retry.wait_s(state.attempt_number, retry_after)

    async def _attempt(
        self, method: str, path: str, endpoint: str, *, params: Params | None, body: object
    ) -> object:
        where = self.where(endpoint)
        try:
            response = await self._client.request(
                method, self._base + path, params=params, json=body, timeout=self._timeout
            )
        except httpx.TimeoutException as exc:
            raise TransientError(f"{where}: timed out ({type(exc).__name__})") from exc
        except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise TransientError(f"{where}: {type(exc).__name__}: {one_line(str(exc))}") from exc
        except httpx.HTTPError as exc:  # a bad URL or protocol: retrying cannot help
            raise SourceError(f"{where}: request failed: {one_line(str(exc))}") from exc
        return self._decode(response, endpoint)

    def _decode(self, response: httpx.Response, endpoint: str) -> object:
        status = response.status_code
        if status == 429 or status >= 500:
            code, message = _describe(response)
            coded = f"error {code}: " if code is not None else ""
            raise TransientError(
                f"{self.where(endpoint)}: HTTP {status}, {coded}{message or '(empty body)'}",
                retry_after_s(response),
            )
        if status >= 400:
            code, message = _describe(response)
            raise self.error(endpoint, code, message or "(empty body)", status)
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            text = one_line(response.text[:80])
            raise MalformedResponseError(f"{self.where(endpoint)}: body is not JSON: {text!r}") from None


@functools.cache
def _tls() -> ssl.SSLContext:
    """One verifying TLS context for every client: loading the CA bundle takes ~30 ms each time."""
    return httpx.create_ssl_context()


def _describe(response: httpx.Response) -> tuple[object, str]:
    """(code, message) of an error body: the JSON fields exchanges use, else the text itself."""
    try:
        body: object = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None, one_line(response.text)
    if isinstance(body, dict):
        message = body.get("msg") or body.get("error") or body.get("message")
        return body.get("code"), one_line(str(message if message is not None else body))
    return None, "" if body is None else one_line(str(body))


def retry_after_s(response: httpx.Response) -> float | None:
    """Retry-After in seconds; an HTTP-date form would need the wall clock, so it falls back to backoff."""
    try:
        seconds = float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _MAX_TEXT else flat[: _MAX_TEXT - 3] + "..."
