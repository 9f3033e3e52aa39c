"""Structured logs: one JSON object per line to a file, rich or JSON on the console.

    configure_logging(Path("swarm.log"), "rich", "INFO")
    with bind_cycle(cycle_id):
        log_event("order_filled", symbol="BTC", price=70_000.5)

A file line: {"ts": "2026-01-15T12:00:00.123Z", "level": "info", "event": "order_filled",
"logger": "swarm.events", "cycle_id": "3f2a...", "symbol": "BTC", "price": 70000.5}.
`cycle_id` is there only inside `bind_cycle` (a contextvar, so tasks started inside the block
inherit it, and concurrent cycles do not mix). Fields come from `log_event(**fields)` or from
`extra=` of a plain logging call. `ts` is the moment of writing (wall clock, as logs are
operations' records); a backtest's simulated time belongs in a field.

Secrets: every handler redacts the value of any field whose name contains "key", "secret",
"signature", "password" or "token" (nested dicts and lists included), and `name=value` pairs
with such a name inside the message text. The one exception is a whole number under a name
ending in "tokens" (prompt_tokens=812): a token count is not a secret.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal

from rich.console import Console
from rich.logging import RichHandler

ConsoleFormat = Literal["json", "rich"]

EVENTS_LOGGER: Final = "swarm.events"
REDACTED: Final = "[redacted]"
SECRET_WORDS: Final = ("key", "secret", "signature", "password", "token")

_cycle: ContextVar[str | None] = ContextVar("swarm_cycle_id", default=None)
_OURS: Final = "_swarm_handler"  # marks the handlers configure_logging installed
# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD: Final = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
_SECRET_PAIR: Final = re.compile(
    r"(?P<name>\b\w*(?:key|secret|signature|password|token)\w*)(?P<sep>\"?\s*[=:]\s*\"?)(?P<value>[^\s,;\"'}&]+)",
    re.IGNORECASE,
)


@contextmanager
def bind_cycle(cycle_id: str) -> Iterator[None]:
    """Every log line inside the block (and in tasks started inside it) carries `cycle_id`."""
    token = _cycle.set(cycle_id)
    try:
        yield
    finally:
        _cycle.reset(token)


def current_cycle() -> str | None:
    return _cycle.get()


@contextmanager
def quiet_events(level: int = logging.WARNING) -> Iterator[None]:
    """Inside the block, events below `level` are not logged (runs whose cycles nobody records)."""
    logger = logging.getLogger(EVENTS_LOGGER)
    before = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(before)


def log_event(event: str, *, level: int = logging.INFO, **fields: Any) -> None:
    """Log one event (a past-tense name like "order_filled") with its fields."""
    logging.getLogger(EVENTS_LOGGER).log(level, event, extra={"fields": fields})


def configure_logging(
    log_file: Path | None,
    console_format: ConsoleFormat = "rich",
    level: int | str = logging.INFO,
    *,
    console_level: int | str | None = None,
) -> None:
    """Send every logger's records at `level` or above to `log_file` as JSON lines, and those at
    `console_level` (default: `level`) or above to the console.

    Calling it again replaces the handlers it installed before (and closes the old file).
    """
    reset_logging()
    console = _console_handler(console_format)
    if console_level is not None:
        console.setLevel(console_level)
    handlers: list[logging.Handler] = [console]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.FileHandler(log_file, encoding="utf-8")
        file_handler.setFormatter(JsonFormatter())
        handlers.append(file_handler)
    root = logging.getLogger()
    root.setLevel(level)
    for handler in handlers:
        handler.addFilter(ContextFilter())
        setattr(handler, _OURS, True)
        root.addHandler(handler)


def reset_logging() -> None:
    """Remove and close the handlers configure_logging installed; others are left alone."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(handler)
        handler.close()


class ContextFilter(logging.Filter):
    """Stamps the bound cycle id on each record and redacts secrets before any formatter sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "cycle_id", None) is None:
            record.cycle_id = _cycle.get()
        record.fields = redact(record_fields(record))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts, level, event, logger, cycle_id (when bound), then the fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": _iso_utc(record.created),
            "level": record.levelname.lower(),
            "event": redact_text(record.getMessage()),
            "logger": record.name,
        }
        cycle_id = getattr(record, "cycle_id", None)
        if cycle_id is not None:
            line["cycle_id"] = cycle_id
        fields = getattr(record, "fields", None)
        for name, value in (fields if isinstance(fields, dict) else redact(record_fields(record))).items():
            # A field never overwrites ts, level, event, logger or cycle_id: it gets a suffix.
            line[f"{name}_field" if name in line else name] = value
        if record.exc_info:
            line["exc"] = redact_text(self.formatException(record.exc_info))
        return json.dumps(line, default=str, ensure_ascii=False)


class _RichFieldsFormatter(logging.Formatter):
    """The message, then `name=value` for the cycle id and each field (rich adds time and level)."""

    def format(self, record: logging.LogRecord) -> str:
        parts = [redact_text(record.getMessage())]
        cycle_id = getattr(record, "cycle_id", None)
        if cycle_id is not None:
            parts.append(f"cycle_id={cycle_id}")
        fields = getattr(record, "fields", None) or {}
        parts.extend(f"{name}={value}" for name, value in fields.items())
        return " ".join(parts)


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields of a record: log_event's, plus any other `extra=` attributes."""
    fields = dict(getattr(record, "fields", None) or {})
    for name, value in vars(record).items():
        if name not in _STANDARD and name not in {"fields", "cycle_id"}:
            fields.setdefault(name, value)
    return fields


def redact(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `fields` with the values of secret-sounding names replaced, at any depth."""
    return {name: _redact_value(name, value) for name, value in fields.items()}


def redact_text(text: str) -> str:
    """`text` with the value of each `name=value` / `name: value` pair of a secret-sounding name hidden."""

    def hide(match: re.Match[str]) -> str:
        if _is_token_count(match["name"], match["value"]):
            return match[0]
        return f"{match['name']}{match['sep']}{REDACTED}"

    return _SECRET_PAIR.sub(hide, text)


def _redact_value(name: str, value: Any) -> Any:
    if _secret_name(name) and not _is_token_count(name, value):
        return REDACTED
    if isinstance(value, Mapping):
        return {str(k): _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(name, v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def _secret_name(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in SECRET_WORDS)


def _is_token_count(name: str, value: Any) -> bool:
    is_int = (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, str) and value.isdigit()
    )
    return name.lower().endswith("tokens") and is_int


def _console_handler(console_format: ConsoleFormat) -> logging.Handler:
    # stderr: stdout is kept for command output (`--json` prints exactly one document there).
    if console_format == "json":
        handler: logging.Handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        return handler
    if console_format != "rich":
        raise ValueError(f"console format must be 'json' or 'rich' (got {console_format!r})")
    # markup off: a model's reasoning must print as written, never be read as rich markup.
    handler = RichHandler(console=Console(stderr=True), markup=False, rich_tracebacks=False, show_path=False)
    handler.setFormatter(_RichFieldsFormatter())
    return handler


def _iso_utc(created: float) -> str:
    moment = datetime.fromtimestamp(created, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
