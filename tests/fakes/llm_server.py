"""A fake model server on loopback that answers in the vendors' real wire formats.

It speaks the three protocols litellm uses for the default members:

- OpenAI chat completions: POST /chat/completions or /v1/chat/completions
  (litellm's openai/, deepseek/ and xai/ providers with `api_base=server.base_url`)
- Anthropic Messages: POST /v1/messages (anthropic/ with `api_base=server.base_url`)
- Gemini generateContent: POST /{version}/models/{model}:generateContent
  (gemini/ with `api_base=server.base_url + "/v1beta"`: litellm appends `models/{model}:generateContent`
  to a custom api_base)

`server.api_base(model)` returns the right base for a litellm model string. Behaviour is scripted
per wire model name (the part after the provider prefix, e.g. "gpt-5.5"): queued steps are used
one per request, then the model's default, then the server's default. Behaviours: Reply (text or a
function of the request such as `echo_decision`, latency, truncation), RateLimited, ServerError,
Hang, MalformedBody, Refused. Every request is recorded without its key headers, with how many
requests of its model were in flight when it arrived. The bodies themselves are in `llm_wire`.

    with FakeLLMServer() as fake:
        fake.script("gpt-5.5", RateLimited(retry_after=0.2), Reply('{"action": "HOLD", ...}'))
        ...litellm.acompletion(model="openai/gpt-5.5", api_base=fake.api_base("openai/gpt-5.5"))
        assert fake.requests("gpt-5.5")[0].json_mode == "json_schema"
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

from tests.fakes import llm_wire as wire
from tests.fakes.llm_wire import Protocol, prompt_texts

DEFAULT_ANSWER = '{"action": "HOLD", "confidence": 50, "reasoning": "fake server default"}'
_SECRET_HEADERS = frozenset({"authorization", "x-api-key", "x-goog-api-key", "api-key"})


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it, minus the secrets."""

    protocol: Protocol
    path: str
    model: str
    headers: dict[str, str]
    auth_header: str | None  # the name of the header that carried a key, if any
    body: dict[str, Any]
    received_at: float  # time.monotonic()
    in_flight: int  # requests of this model being handled when it arrived, itself included

    @property
    def prompt_text(self) -> str:
        """Every text part of the system and user messages, joined by newlines."""
        return "\n".join(prompt_texts(self.protocol, self.body))

    @property
    def json_mode(self) -> Literal["json_schema", "json_object"] | None:
        """Which JSON mode the client asked for, in OpenAI's words whatever the protocol."""
        if self.protocol == "openai":
            kind = (self.body.get("response_format") or {}).get("type")
            return kind if kind in ("json_schema", "json_object") else None
        if self.protocol == "anthropic":
            has_schema = "output_format" in self.body or "format" in self.body.get("output_config", {})
            return "json_schema" if has_schema else None
        config = self.body.get("generationConfig", {})
        if config.get("response_mime_type") != "application/json":
            return None
        has_schema = "response_json_schema" in config or "response_schema" in config
        return "json_schema" if has_schema else "json_object"

    @property
    def temperature(self) -> float | None:
        source = self.body.get("generationConfig", {}) if self.protocol == "gemini" else self.body
        value = source.get("temperature")
        return None if value is None else float(value)


Answer = str | Callable[[RecordedRequest], str]

_SYMBOL = re.compile(r"""["']?symbol["']?\s*[=:]\s*["']?([A-Za-z0-9]+)""")


def echo_decision(request: RecordedRequest) -> str:
    """A well-formed LONG decision for the symbol the prompt names (`symbol=BTC` or `"symbol": "BTC"`)."""
    match = _SYMBOL.search(request.prompt_text)
    decision = {
        "symbol": match[1] if match else "BTC",
        "action": "LONG",
        "confidence": 72,
        "reasoning": "trend up",
        "position_size_pct": 2.5,
        "take_profit": [0.02, 0.05],
        "stop_loss": 0.015,
    }
    return json.dumps(decision)


@dataclass(frozen=True)
class Reply:
    """Answer with `text` (or text computed from the request) after `latency_s`.

    `truncate_at` cuts the text there and reports the protocol's max-tokens finish reason.
    """

    text: Answer = DEFAULT_ANSWER
    latency_s: float = 0.0
    truncate_at: int | None = None


@dataclass(frozen=True)
class RateLimited:
    """HTTP 429 in the vendor's format, with a Retry-After header when `retry_after` is set.

    The header carries the number as given: fractions keep tests fast, where vendors send whole seconds.
    """

    retry_after: float | None = None


@dataclass(frozen=True)
class ServerError:
    """An HTTP 5xx in the vendor's format."""

    status: int = 500


@dataclass(frozen=True)
class Hang:
    """Never answer; the handler is released only when the server closes."""


@dataclass(frozen=True)
class MalformedBody:
    """HTTP 200 whose body is cut-off JSON."""


@dataclass(frozen=True)
class Refused:
    """HTTP 200 without an answer: the vendor's safety filter withheld it (content_filter, refusal,
    Gemini's blockReason)."""


Behaviour = Reply | RateLimited | ServerError | Hang | MalformedBody | Refused


@dataclass
class _State:
    """Everything the handler threads share, behind one lock."""

    default: Behaviour
    lock: threading.Lock = field(default_factory=threading.Lock)
    closing: threading.Event = field(default_factory=threading.Event)
    queued: dict[str, deque[Behaviour]] = field(default_factory=lambda: defaultdict(deque))
    defaults: dict[str, Behaviour] = field(default_factory=dict)
    in_flight: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    recorded: list[RecordedRequest] = field(default_factory=list)

    def next_behaviour(self, model: str) -> Behaviour:
        queue = self.queued[model]
        return queue.popleft() if queue else self.defaults.get(model, self.default)


class _Server(ThreadingHTTPServer):
    # socketserver's default backlog is 5: a cycle opening 100 connections at once would see SYNs
    # dropped and retried after 1, 3, 7 s, a queue no real vendor has.
    request_queue_size = 1024

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (timeout, cancelled cycle) is normal here; anything else is printed."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeLLMServer:
    """A threading HTTP server on 127.0.0.1 (ephemeral port) with scriptable model behaviour."""

    def __init__(self, default: Behaviour | None = None) -> None:
        self._state = _State(default=default or Reply())
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False  # hanging handlers must not hold up close()
        self._httpd.state = self._state  # type: ignore[attr-defined]
        # A short poll interval: close() waits for the serving loop to notice, and tests close often.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.02,), name="fake-llm", daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def api_base(self, model: str) -> str:
        """The api_base to give litellm for `model` so that it lands on this server."""
        return api_base_for(self.base_url, model)

    def script(self, model: str, *steps: Behaviour) -> None:
        """Queue behaviours for the next requests of a wire model name, one step per request."""
        with self._state.lock:
            self._state.queued[model].extend(steps)

    def set_default(self, model: str, behaviour: Behaviour) -> None:
        """What a model does once its queued steps are used up."""
        with self._state.lock:
            self._state.defaults[model] = behaviour

    def requests(self, model: str | None = None) -> list[RecordedRequest]:
        with self._state.lock:
            return [r for r in self._state.recorded if model is None or r.model == model]

    def max_in_flight(self, model: str) -> int:
        """The most requests of `model` that were being handled at the same time."""
        return max((r.in_flight for r in self.requests(model)), default=0)

    def start(self) -> FakeLLMServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self._state.closing.set()  # releases hanging and sleeping handlers
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def api_base_for(base_url: str, model: str) -> str:
    """litellm appends `models/{model}:generateContent` to a gemini/ api_base: it must name the version."""
    return f"{base_url}/v1beta" if model.startswith("gemini/") else base_url


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real APIs and httpx's pool expect
    # Headers and body go out in separate writes; with Nagle on, the client's delayed ACK holds
    # the body back ~40 ms per answer, which would swamp the overhead the benchmark measures.
    disable_nagle_algorithm = True
    server: ThreadingHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request stderr log."""

    def do_POST(self) -> None:
        state: _State = self.server.state  # type: ignore[attr-defined]
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
        route = wire.route(self.path, body)
        if route is None:
            self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
            return
        protocol, model = route
        with state.lock:
            state.in_flight[model] += 1
            request = self._record(protocol, model, body, state.in_flight[model])
            state.recorded.append(request)
            behaviour = state.next_behaviour(model)
        try:
            self._behave(behaviour, request, state.closing)
        finally:
            with state.lock:
                state.in_flight[model] -= 1

    def _record(
        self, protocol: Protocol, model: str, body: dict[str, Any], in_flight: int
    ) -> RecordedRequest:
        headers = {k.lower(): v for k, v in self.headers.items()}
        auth = next((k for k in headers if k in _SECRET_HEADERS), None)
        public = {k: v for k, v in headers.items() if k not in _SECRET_HEADERS}
        return RecordedRequest(protocol, self.path, model, public, auth, body, time.monotonic(), in_flight)

    def _behave(self, behaviour: Behaviour, request: RecordedRequest, closing: threading.Event) -> None:
        protocol = request.protocol
        if isinstance(behaviour, Hang):
            closing.wait()
            self.close_connection = True
        elif isinstance(behaviour, RateLimited):
            headers = {} if behaviour.retry_after is None else {"retry-after": f"{behaviour.retry_after:g}"}
            self._send(429, wire.error_body(protocol, 429), headers)
        elif isinstance(behaviour, ServerError):
            self._send(behaviour.status, wire.error_body(protocol, behaviour.status))
        elif isinstance(behaviour, Refused):
            self._send(200, wire.refusal_body(protocol, request.model, wire.tokens(request.prompt_text)))
        elif isinstance(behaviour, MalformedBody):
            self._send_raw(200, b'{"id": "cut-off", "choices": [{"index": 0, "mess')
        elif not closing.wait(behaviour.latency_s):  # False: the latency passed, the server is open
            self._reply(behaviour, request)

    def _reply(self, reply: Reply, request: RecordedRequest) -> None:
        text = reply.text(request) if callable(reply.text) else reply.text
        truncated = reply.truncate_at is not None
        if reply.truncate_at is not None:
            text = text[: reply.truncate_at]
        prompt_tokens, completion_tokens = wire.tokens(request.prompt_text), wire.tokens(text)
        body = wire.answer_body(
            request.protocol, request.model, text, truncated, prompt_tokens, completion_tokens
        )
        self._send(200, body, wire.REQUEST_ID_HEADER.get(request.protocol, {}))

    def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self._send_raw(status, json.dumps(payload).encode(), headers)

    def _send_raw(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
