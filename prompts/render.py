"""Render a MarketState, the portfolio and the last trades into a versioned prompt.

Templates are package data (prompts/templates/system_<version>.txt, user_<version>.txt) with
`$name` placeholders. Rendering is a pure function: the same inputs give the same text, hence
the same digest, which the response cache keys on. Editing a template means adding a new version
so that cached answers of the old text are never reused for the new one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from string import Template
from typing import Any

from feeds.state import MarketState
from prompts.context import PortfolioView, PositionView, TradeOutcome
from prompts.types import RenderedPrompt

PROMPT_VERSION = "v1"
RECENT_TRADES = 5
PRICE_DIGITS = 6
COARSE_DIGITS = 4

_HEADER_KEYS = {"schema_version", "symbol", "timestamp", "source", "regime"}
_COARSE_SECTIONS = {"volume", "funding", "open_interest"}
_COARSE_KEYS = {"rsi_14", "rsi_21", "obv_trend", "imbalance", "macd", "atr_14"}

_TIMEFRAME_ORDER = ("15m", "1h", "4h", "1d")
_INDICATOR_KEYS = (
    "rsi_14", "rsi_21", "macd_value", "macd_signal", "macd_histogram",
    "ema_9", "ema_21", "ema_50", "ema_200", "atr_14", "obv_trend",
)  # fmt: skip
# Levels shown in basis points of the current price, not in USD (see `to_bps`).
_BPS_KEYS = {"ema_9", "ema_21", "ema_50", "ema_200"}
_BPS_SIZE_KEYS = {"atr_14", "macd_value", "macd_signal", "macd_histogram"}
_VERSION_RE = re.compile(r"v\d+")


@dataclass(frozen=True)
class Templates:
    """The two template texts of one prompt version."""

    version: str
    system: str
    user: str


def render(
    state: MarketState,
    portfolio: PortfolioView,
    recent_trades: Sequence[TradeOutcome],
    version: str = PROMPT_VERSION,
) -> RenderedPrompt:
    """The system and user messages for one symbol, from the templates of `version`."""
    return render_with(load_templates(version), state, portfolio, recent_trades)


def render_with(
    templates: Templates,
    state: MarketState,
    portfolio: PortfolioView,
    recent_trades: Sequence[TradeOutcome],
) -> RenderedPrompt:
    """Like `render`, with the templates given (tests and template experiments)."""
    user = Template(templates.user).substitute(
        symbol=state.symbol,
        timestamp=state.timestamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        regime=state.regime,
        own_position=_own_position(portfolio, state.symbol),
        market=market_json(state),
        portfolio=_portfolio(portfolio),
        trades=_trades(recent_trades, state.timestamp),
    )
    return RenderedPrompt(system=templates.system.strip(), user=user.strip(), version=templates.version)


@lru_cache(maxsize=8)
def load_templates(version: str) -> Templates:
    """Read the templates of `version` from the package; ValueError names the known versions."""
    folder = resources.files("prompts") / "templates"
    known = sorted(
        p.name[len("system_") : -len(".txt")] for p in folder.iterdir() if p.name.startswith("system_")
    )
    if not _VERSION_RE.fullmatch(version) or version not in known:
        raise ValueError(f"unknown prompt version {version!r} (known: {', '.join(known)})")
    system = (folder / f"system_{version}.txt").read_text(encoding="utf-8")
    user = (folder / f"user_{version}.txt").read_text(encoding="utf-8")
    return Templates(version=version, system=system, user=user)


def market_json(state: MarketState) -> str:
    """The state as compact JSON: rounded floats, nulls dropped, `missing` kept.

    Keys the user message shows in its header (symbol, timestamp, regime) or that never vary
    in meaning (schema_version, source, funding unit: the system prompt states it) are left out.
    Prices keep 6 significant digits; oscillators, percentages and USD totals keep 4, since more
    digits cost tokens and tell a swing trader nothing. Indicators are laid out as one array per
    indicator with one value per timeframe (see `indicator_table`).
    """
    data = _compact(state.model_dump(mode="json", exclude=_HEADER_KEYS), "")
    if "funding" in data:
        del data["funding"]["unit"]
    data["indicators"] = indicator_table(data["indicators"], state.price.current)
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def indicator_table(by_timeframe: dict[str, Any], price: float) -> dict[str, Any]:
    """Per-timeframe indicator objects -> {"timeframes": [...], "<indicator>": [one per timeframe]}.

    Naming the 13 indicator keys once instead of once per timeframe saves ~130 tokens a prompt
    and puts a timeframe comparison (RSI on 15m..1d) on one line. Timeframes the source has no
    candles of are left out; a null inside an array (history too short) keeps the columns aligned.
    """
    timeframes = [tf for tf in _TIMEFRAME_ORDER if tf in by_timeframe]
    rows = [_flat_indicators(by_timeframe[tf]) for tf in timeframes]
    table: dict[str, Any] = {"timeframes": timeframes}
    for key in _INDICATOR_KEYS:
        values = [row.get(key) for row in rows]
        if key in _BPS_KEYS:
            values = [None if v is None else to_bps(v, price) for v in values]
        elif key in _BPS_SIZE_KEYS:  # distances, not levels: their size in basis points of the price
            values = [None if v is None else _size_bps(v, price) for v in values]
        if any(v is not None for v in values):
            table[key] = values
    table["closes"] = {
        tf: [to_bps(c, price) for c in row["closes"]] for tf, row in zip(timeframes, rows, strict=True)
    }
    return table


def to_bps(value: float, price: float) -> int:
    """A price level as whole basis points relative to the current price (-25 = 0.25 % below).

    An integer such as -25 costs one or two tokens where a price such as 4105.62 costs four, and
    it is what a trader reads anyway: how far a level is from here. Ten closes on each of four
    timeframes plus EMAs and ATR make this the difference between ~1,300 and ~1,000 tokens.
    """
    return round((value / price - 1.0) * 10_000)


def _size_bps(value: float, price: float) -> float | int:
    """A price distance in basis points of the price, one decimal (MACD on 15m is often < 1 bp)."""
    return _round(value / price * 10_000, 3) if abs(value / price) < 0.01 else round(value / price * 10_000)


def _flat_indicators(indicators: dict[str, Any]) -> dict[str, Any]:
    macd = indicators.get("macd", {})
    return indicators | {f"macd_{k}": v for k, v in macd.items()}


def significant_digits(path: str) -> int:
    """Digits kept for the number at a dotted path such as "indicators.1h.rsi_14"."""
    parts = path.split(".")
    coarse = (
        parts[0] in _COARSE_SECTIONS
        or any(part in _COARSE_KEYS for part in parts)
        or parts[-1].endswith(("_pct", "_usd"))
    )
    return COARSE_DIGITS if coarse else PRICE_DIGITS


def _compact(value: Any, path: str) -> Any:
    if isinstance(value, dict):
        return {k: _compact(v, f"{path}.{k}" if path else k) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_compact(v, path) for v in value]
    if isinstance(value, float):
        return _round(value, significant_digits(path))
    return value


def _round(value: float, digits: int) -> float | int:
    """Round to `digits` significant digits; integral results print without ".0" (fewer tokens)."""
    rounded = float(f"{value:.{digits}g}")
    if rounded.is_integer() and abs(rounded) < 1e15:
        return int(rounded)
    return rounded


def _num(value: float) -> str:
    return f"{value:.{PRICE_DIGITS}g}"


def _position_line(p: PositionView) -> str:
    stop = _num(p.stop_loss_price) if p.stop_loss_price is not None else "none"
    targets = "/".join(_num(t) for t in p.take_profit_prices) or "none"
    return (
        f"- {p.symbol} {p.side} {_num(p.size)} @ {_num(p.entry_price)} "
        f"uPnL {p.unrealized_pnl_usd:+.2f} stop {stop} tp {targets}"
    )


def _own_position(portfolio: PortfolioView, symbol: str) -> str:
    position = portfolio.position(symbol)
    return "none" if position is None else f"{position.side} (see portfolio)"


def _portfolio(portfolio: PortfolioView) -> str:
    equity = f"equity {portfolio.equity_usd:.2f} USD"
    if not portfolio.positions:
        return f"{equity}; no open positions"
    header = f"{equity}; open positions (coins @ entry):"
    # Sorted so that the same portfolio always renders the same text (cache hits).
    positions = sorted(portfolio.positions, key=lambda p: (p.symbol, p.side))
    return "\n".join([header, *(_position_line(p) for p in positions)])


def _trades(trades: Sequence[TradeOutcome], now: datetime) -> str:
    # A trade closed after the state's moment would leak the future into a replay: left out.
    closed = sorted((t for t in trades if t.closed_at <= now), key=lambda t: (t.closed_at, t.symbol))
    last = closed[-RECENT_TRADES:]
    if not last:
        return "none yet"
    return "\n".join(_trade_line(t, now) for t in last)


def _trade_line(t: TradeOutcome, now: datetime) -> str:
    # Age rather than a timestamp: shorter, and what matters for "how recent was this loss".
    hours = (now - t.closed_at).total_seconds() / 3600
    age = f"{hours:.0f}h" if hours < 48 else f"{hours / 24:.0f}d"
    return f"- {t.symbol} {t.side} {t.pnl_pct:+.2f}% {t.reason}, {age} ago"
