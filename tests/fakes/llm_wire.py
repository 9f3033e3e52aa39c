"""The three wire formats the fake model server speaks, as the vendors send them.

OpenAI chat completions (also DeepSeek's and xAI's, with their extra usage fields), Anthropic
Messages and Gemini generateContent: routes, request texts, answer, refusal and error bodies.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from typing import Any, Literal

Protocol = Literal["openai", "anthropic", "gemini"]

_GEMINI_PATH = re.compile(r"^/[^/]+/models/(?P<model>[^/:]+):generateContent$")


def route(path: str, body: dict[str, Any]) -> tuple[Protocol, str] | None:
    """The protocol and wire model name of a POST, or None for a path no vendor serves."""
    if path in ("/chat/completions", "/v1/chat/completions"):
        return "openai", str(body.get("model", ""))
    if path == "/v1/messages":
        return "anthropic", str(body.get("model", ""))
    match = _GEMINI_PATH.match(path)
    return ("gemini", match["model"]) if match else None


def prompt_texts(protocol: Protocol, body: dict[str, Any]) -> list[str]:
    """The text parts of a request's system and user messages, in order."""
    if protocol == "gemini":
        contents = [body.get("system_instruction", {}), *body.get("contents", [])]
        return [p.get("text", "") for c in contents for p in c.get("parts", [])]
    blocks: list[Any] = [body.get("system", "")] if protocol == "anthropic" else []
    blocks += [m.get("content", "") for m in body.get("messages", [])]
    return [text for block in blocks for text in _block_texts(block)]


def _block_texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content] if content else []
    return [part.get("text", "") for part in content if isinstance(part, dict)]


def tokens(text: str) -> int:
    """A deterministic stand-in for a tokenizer: about four characters a token."""
    return len(text) // 4 + 1


def _openai_body(model: str, text: str, truncated: bool, prompt: int, completion: int) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
    }
    usage.update(_VENDOR_USAGE.get(model.split("-")[0], {}))
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": None, "annotations": []},
                "logprobs": None,
                "finish_reason": "length" if truncated else "stop",
            }
        ],
        "usage": usage,
        "service_tier": "default",
        "system_fingerprint": "fp_fake0001",
    }


# Usage fields DeepSeek and xAI add to the OpenAI format (keyed by the model name's first word).
_VENDOR_USAGE: dict[str, dict[str, Any]] = {
    "deepseek": {"prompt_cache_hit_tokens": 0, "prompt_cache_miss_tokens": 0},
    "grok": {"num_sources_used": 0},
}


def _anthropic_body(model: str, text: str, truncated: bool, prompt: int, completion: int) -> dict[str, Any]:
    return {
        "id": f"msg_{uuid.uuid4().hex[:24]}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "max_tokens" if truncated else "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": prompt,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": completion,
            "service_tier": "standard",
        },
    }


def _gemini_body(model: str, text: str, truncated: bool, prompt: int, completion: int) -> dict[str, Any]:
    return {
        "candidates": [
            {
                "content": {"parts": [{"text": text}], "role": "model"},
                "finishReason": "MAX_TOKENS" if truncated else "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {
            "promptTokenCount": prompt,
            "candidatesTokenCount": completion,
            "totalTokenCount": prompt + completion,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}],
        },
        "modelVersion": model,
        "responseId": uuid.uuid4().hex[:22],
    }


_BODIES: dict[Protocol, Callable[[str, str, bool, int, int], dict[str, Any]]] = {
    "openai": _openai_body,
    "anthropic": _anthropic_body,
    "gemini": _gemini_body,
}


def answer_body(
    protocol: Protocol, model: str, text: str, truncated: bool, prompt: int, completion: int
) -> dict[str, Any]:
    """A 200 reply carrying `text`; `truncated` reports the protocol's max-tokens finish reason."""
    return _BODIES[protocol](model, text, truncated, prompt, completion)


def refusal_body(protocol: Protocol, model: str, prompt: int) -> dict[str, Any]:
    """A 200 reply whose answer the vendor's safety filter withheld."""
    if protocol == "gemini":
        usage = {"promptTokenCount": prompt, "totalTokenCount": prompt}
        return {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": usage, "modelVersion": model}
    if protocol == "anthropic":
        body = _anthropic_body(model, "", False, prompt, 0)
        return {**body, "content": [], "stop_reason": "refusal"}
    body = _openai_body(model, "", False, prompt, 0)
    body["choices"][0]["message"]["content"] = None
    body["choices"][0]["finish_reason"] = "content_filter"
    return body


# The per-request id header each vendor sends (Gemini sends none).
REQUEST_ID_HEADER: dict[Protocol, dict[str, str]] = {
    "openai": {"x-request-id": "req_fake0001"},
    "anthropic": {"request-id": "req_fake0001"},
}
_STATUS_TEXT = {429: "Rate limit reached, retry later", 500: "Internal server error", 503: "Overloaded"}
_GOOGLE_STATUS = {429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}
_ANTHROPIC_TYPE = {429: "rate_limit_error", 503: "overloaded_error"}


def error_body(protocol: Protocol, status: int) -> dict[str, Any]:
    message = _STATUS_TEXT.get(status, "error")
    if protocol == "anthropic":
        return {
            "type": "error",
            "error": {"type": _ANTHROPIC_TYPE.get(status, "api_error"), "message": message},
        }
    if protocol == "gemini":
        return {
            "error": {"code": status, "message": message, "status": _GOOGLE_STATUS.get(status, "UNKNOWN")}
        }
    kind, code = ("requests", "rate_limit_exceeded") if status == 429 else ("server_error", None)
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}
