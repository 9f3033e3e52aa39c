"""A real HTTP server on loopback for a fake exchange, with scripted faults and a request log.

    fake = FakeBinance()
    fake.inject("/fapi/v1/klines", rate_limited(retry_after=0.3))
    with serve(fake) as base_url:       # http://127.0.0.1:<port><fake.base_path>
        ...                             # fake.calls("/fapi/v1/klines") -> what it received

A fault is used by the next request(s) to its endpoint and then forgotten, so "fail twice, then
answer" is `inject(endpoint, fault, times=2)`.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.fakes import market
from tests.fakes.market import NOW_MS, Row

RowsHook = Callable[[list[Row]], list[Row]]


@dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour: a status/body instead of the answer, a hang, or corrupt candles."""

    status: int = 200
    body: bytes | None = None  # sent instead of the real answer
    headers: Mapping[str, str] = field(default_factory=dict)
    hang_s: float = 0.0  # wait this long (or until the server stops) before answering
    rows: RowsHook | None = None  # rewrites the candle rows before they are encoded


def http_error(status: int, body: object = None) -> Fault:
    """An HTTP error status, with a JSON body if given (else an empty one)."""
    return Fault(status=status, body=b"" if body is None else json.dumps(body).encode())


def rate_limited(retry_after: float, body: object = None) -> Fault:
    fault = http_error(429, body)
    return Fault(status=429, body=fault.body, headers={"Retry-After": f"{retry_after:g}"})


def hang(seconds: float = 10.0) -> Fault:
    return Fault(hang_s=seconds)


def raw(body: str | bytes, status: int = 200) -> Fault:
    """Send these exact bytes (e.g. malformed JSON)."""
    return Fault(status=status, body=body.encode() if isinstance(body, str) else body)


def json_body(body: object, status: int = 200) -> Fault:
    """Send this JSON document instead of the answer (a wrong shape, an error envelope)."""
    return Fault(status=status, body=json.dumps(body).encode())


def corrupt(rows: RowsHook) -> Fault:
    return Fault(rows=rows)


def nan_close(rows: list[Row]) -> list[Row]:
    i = len(rows) // 2
    return [*rows[:i], Row(rows[i].t, rows[i].o, rows[i].h, rows[i].low, "NaN", rows[i].v), *rows[i + 1 :]]


def negative_low(rows: list[Row]) -> list[Row]:
    i = len(rows) // 2
    return [*rows[:i], Row(rows[i].t, rows[i].o, rows[i].h, "-1", rows[i].c, rows[i].v), *rows[i + 1 :]]


def duplicate_candle(rows: list[Row]) -> list[Row]:
    i = len(rows) // 2
    return [*rows[: i + 1], rows[i], *rows[i + 1 :]]


def swap_candles(rows: list[Row]) -> list[Row]:
    i = len(rows) // 2
    return [*rows[:i], rows[i + 1], rows[i], *rows[i + 2 :]]


@dataclass(frozen=True)
class Recorded:
    """A request the fake received: endpoint key, parameters (query or JSON body), arrival time."""

    endpoint: str
    params: Mapping[str, Any]
    at: float  # time.monotonic()


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


class FakeExchange:
    """Base of the fakes: routing, fault injection and recording; venues implement `route`/`answer`."""

    base_path = ""

    def __init__(self, now_ms: int = NOW_MS) -> None:
        self.now_ms = now_ms
        self.base_url = ""  # set by `serve`
        self.requests: list[Recorded] = []
        self.errors: list[BaseException] = []  # bugs in the fake itself, re-raised by `serve`
        self.stopping = threading.Event()
        self._faults: dict[str, deque[Fault]] = {}
        self._lock = threading.Condition()
        market.preload()

    def inject(self, endpoint: str, fault: Fault, times: int = 1) -> None:
        with self._lock:
            self._faults.setdefault(endpoint, deque()).extend([fault] * times)

    def calls(self, endpoint: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.endpoint == endpoint]

    def wait_for_calls(self, endpoint: str, count: int, timeout_s: float = 2.0) -> list[Recorded]:
        """The calls to `endpoint` once there are `count` of them (or the timeout passed).

        A client that timed out may hang up before the handler thread has read its request; the
        request still arrives, a moment later.
        """
        with self._lock:
            self._lock.wait_for(
                lambda: len([r for r in self.requests if r.endpoint == endpoint]) >= count, timeout_s
            )
        return self.calls(endpoint)

    def route(self, method: str, path: str, query: dict[str, str], body: bytes) -> tuple[str, dict[str, Any]]:
        """(endpoint key, parameters) of a request; raise LookupError for an unknown path."""
        raise NotImplementedError

    def answer(self, endpoint: str, params: dict[str, Any], rows: RowsHook | None) -> Reply:
        raise NotImplementedError

    def handle(self, method: str, target: str, body: bytes) -> Reply:
        url = urlsplit(target)
        if not url.path.startswith(self.base_path):
            return Reply(404, b"not found")
        try:
            endpoint, params = self.route(
                method, url.path[len(self.base_path) :], dict(parse_qsl(url.query)), body
            )
        except LookupError:
            return Reply(404, b"not found")
        with self._lock:
            self.requests.append(Recorded(endpoint, params, time.monotonic()))
            self._lock.notify_all()
            queue = self._faults.get(endpoint)
            fault = queue.popleft() if queue else Fault()
        if fault.hang_s:
            self.stopping.wait(fault.hang_s)
        if fault.body is not None or fault.status != 200:
            return Reply(fault.status, fault.body or b"", fault.headers)
        return self.answer(endpoint, params, fault.rows)


def _handler_for(fake: FakeExchange) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the real exchanges do
        timeout = 2  # an idle kept-alive connection does not hold up shutdown for long
        # Headers and body go out as two writes; with Nagle on, the body waits for the client's
        # delayed ACK of the headers: ~40 ms per request on loopback.
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def _serve(self, method: str) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                reply = fake.handle(method, self.path, body)
            except Exception as exc:  # a bug in the fake: answer, and let `serve` report it
                fake.errors.append(exc)
                reply = Reply(599, f"fake server error: {exc!r}".encode())
            self.send_response(reply.status)
            headers = {"Content-Type": "application/json", **reply.headers}
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the request log is `fake.requests`

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # joined on close: nothing outlives the test
    block_on_close = True
    # socketserver's default backlog of 5 is smaller than one snapshot's concurrent connections: the
    # kernel then drops a SYN and the client retries it a whole second later.
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out and hung up is a scripted outcome, not an error


@contextmanager
def serve(fake: FakeExchange) -> Iterator[str]:
    """Serve `fake` on 127.0.0.1 (ephemeral port); yields the base URL a source is given."""
    server = _Server(("127.0.0.1", 0), _handler_for(fake))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}{fake.base_path}"
    try:
        yield fake.base_url
    finally:
        fake.stopping.set()  # release hanging handlers
        server.shutdown()
        server.server_close()
        thread.join()
    if fake.errors:
        raise AssertionError(f"the fake {type(fake).__name__} failed: {fake.errors[0]!r}") from fake.errors[0]
