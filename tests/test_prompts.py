"""Rendering prompts: token budget, faithful numbers, determinism, versioning."""

from __future__ import annotations

import json
import math
import os
from datetime import timedelta, timezone
from typing import Any

import pytest

from consensus.decision import TradeDecision
from feeds.state import MarketState
from prompts.context import PortfolioView, PositionView, TradeOutcome
from prompts.render import PROMPT_VERSION, load_templates, render, render_with, significant_digits
from prompts.types import RenderedPrompt
from swarm.config import DEFAULT_ALIASES
from tests.states import NOW, full_state, indicators, rescaled

TOKEN_BUDGET = 1200

PORTFOLIO = PortfolioView(
    equity_usd=12345.678,
    positions=[
        PositionView(
            symbol="BTC",
            side="LONG",
            size=0.05,
            entry_price=115190.0,
            unrealized_pnl_usd=-49.12,
            stop_loss_price=112152.48,
            take_profit_prices=(118500.0, 120007.53),
        ),
        PositionView(
            symbol="ETH",
            side="SHORT",
            size=1.38,
            entry_price=4143.7,
            unrealized_pnl_usd=37.4312,
            stop_loss_price=4260.0,
            take_profit_prices=(4020.5, 3920.0),
        ),
        PositionView(
            symbol="SOL",
            side="LONG",
            size=14.79,
            entry_price=202.81,
            unrealized_pnl_usd=-25.96,
            stop_loss_price=192.589,
            take_profit_prices=(212.0, 222.997),
        ),
    ],
)

TRADES = [
    TradeOutcome(
        symbol=symbol,
        side=side,
        entry_price=entry,
        exit_price=exit_,
        pnl_pct=pnl,
        closed_at=NOW - timedelta(hours=31 - 3 * i),
        reason=reason,
    )
    for i, (symbol, side, entry, exit_, pnl, reason) in enumerate(
        [
            ("BTC", "LONG", 112450.0, 114120.5, 1.4312, "take_profit"),
            ("ETH", "SHORT", 4010.2, 4072.9, -1.5811, "stop_loss"),
            ("SOL", "LONG", 195.31, 201.77, 3.2514, "take_profit"),
            ("DOGE", "LONG", 0.19871, 0.19402, -2.4118, "stop_loss"),
            ("XRP", "SHORT", 2.7012, 2.6413, 2.1843, "signal"),
        ]
    )
]


def _count_tokens(prompt: RenderedPrompt, model: str) -> int:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    return int(litellm.token_counter(model=model, messages=prompt.messages()))


def _market(prompt: RenderedPrompt) -> dict[str, Any]:
    block = prompt.user.split("MARKET\n", 1)[1].split("\n\nPORTFOLIO", 1)[0]
    parsed: dict[str, Any] = json.loads(block)
    return parsed


@pytest.mark.parametrize("model", ["gpt-4o", DEFAULT_ALIASES["claude"]])
def test_full_prompt_fits_the_token_budget(model: str) -> None:
    prompt = render(full_state(), PORTFOLIO, TRADES)
    assert _count_tokens(prompt, model) <= TOKEN_BUDGET


@pytest.mark.parametrize(
    ("symbol", "factor"),
    [("ETH", 4116.25 / 114207.5), ("SOL", 202.81 / 114207.5), ("DOGE", 0.201545 / 114207.5)],
)
def test_decimal_priced_coins_fit_the_budget_too(symbol: str, factor: float) -> None:
    # Prices with decimals cost ~4 tokens each instead of 2; levels in basis points keep the
    # prompt the same size whatever the coin's price.
    prompt = render(rescaled(full_state(), factor, symbol), PORTFOLIO, TRADES)
    assert _count_tokens(prompt, "gpt-4o") <= TOKEN_BUDGET


def _state_numbers(state: MarketState) -> dict[str, float]:
    """Every number of the state by dotted path, e.g. "indicators.1h.macd.histogram"."""
    found: dict[str, float] = {}

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for key, sub in value.items():
                walk(sub, f"{path}.{key}" if path else key)
        elif isinstance(value, list):
            for i, sub in enumerate(value):
                walk(sub, f"{path}.{i}")
        elif isinstance(value, float | int) and not isinstance(value, bool) and path != "schema_version":
            found[path] = float(value)

    walk(state.model_dump(mode="json"), "")
    return found


# Shown in basis points of the current price: levels as the distance from it, sizes as a share.
LEVEL_BPS = {"ema_9", "ema_21", "ema_50", "ema_200", "closes"}
SIZE_BPS = {"atr_14", "macd_value", "macd_signal", "macd_histogram"}


def _from_bps(key: str, value: float, price: float) -> float:
    if key in LEVEL_BPS:
        return price * (1 + value / 10_000)
    if key in SIZE_BPS:
        return price * value / 10_000
    return value


def _prompt_numbers(market: dict[str, Any]) -> dict[str, float]:
    """The same paths read back from the prompt's JSON (indicators are one array per indicator)."""
    price = float(market["price"]["current"])
    table = market.pop("indicators")
    timeframes = table.pop("timeframes")
    closes = table.pop("closes")
    found: dict[str, float] = {}
    for key, values in table.items():
        for tf, value in zip(timeframes, values, strict=True):
            if value is not None:
                found[f"indicators.{tf}.{key.replace('macd_', 'macd.')}"] = _from_bps(key, value, price)
    for tf, series in closes.items():
        found.update(
            {f"indicators.{tf}.closes.{i}": _from_bps("closes", v, price) for i, v in enumerate(series)}
        )
    for section, fields in market.items():
        if isinstance(fields, dict):
            found.update({f"{section}.{k}": float(v) for k, v in fields.items()})
    return found


def _assert_same_numbers(state: MarketState, prompt: RenderedPrompt) -> None:
    expected = _state_numbers(state)
    shown = _prompt_numbers(_market(prompt))
    assert shown.keys() == expected.keys()
    price = state.price.current
    for path, value in expected.items():
        digits = significant_digits(path.rsplit(".", 1)[0] if path.split(".")[-1].isdigit() else path)
        # Whole basis points of the (rounded) price shown: exact to ~half a basis point of the price.
        in_bps = any(part in LEVEL_BPS | {"atr_14", "macd"} for part in path.split("."))
        abs_tol = price * 0.6e-4 if in_bps else 1e-12
        assert math.isclose(shown[path], value, rel_tol=5 * 10**-digits, abs_tol=abs_tol), path


def test_market_json_parses_back_to_the_state_numbers() -> None:
    state = full_state()
    prompt = render(state, PORTFOLIO, TRADES)
    _assert_same_numbers(state, prompt)
    # Prices keep 6 significant digits, oscillators 4: BTC 114207.5 shows as 114208.
    assert significant_digits("indicators.1h.closes") == 6
    assert significant_digits("price.current") == 6
    assert significant_digits("indicators.1h.rsi_14") == 4
    assert _market(prompt)["price"]["current"] == 114208


def test_missing_parts_are_dropped_and_listed() -> None:
    partial = {tf: indicators(tf) for tf in ("15m", "1h", "4h")}
    partial["4h"] = partial["4h"].model_copy(update={"ema_200": None})
    state = full_state(
        funding=None,
        open_interest=None,
        orderbook=None,
        indicators=partial | {"1d": None},
        missing=["funding", "open_interest", "orderbook", "indicators.1d"],
    )
    prompt = render(state, PortfolioView(equity_usd=1000.0), [])
    market = _market(prompt)
    assert not {"funding", "open_interest", "orderbook"} & market.keys()
    assert market["missing"] == ["funding", "open_interest", "orderbook", "indicators.1d"]
    assert market["indicators"]["timeframes"] == ["15m", "1h", "4h"]
    assert market["indicators"]["ema_200"][2] is None  # kept so the columns stay aligned
    _assert_same_numbers(state, prompt)


def test_user_prompt_shows_position_portfolio_and_last_five_trades() -> None:
    older = TRADES[0].model_copy(update={"symbol": "AVAX", "closed_at": NOW - timedelta(days=5)})
    future = TRADES[0].model_copy(update={"symbol": "LINK", "closed_at": NOW + timedelta(hours=1)})
    user = render(full_state(), PORTFOLIO, [*TRADES, older, future]).user
    assert "Your BTC position: LONG" in user
    assert "- ETH SHORT 1.38 @ 4143.7 uPnL +37.43 stop 4260 tp 4020.5/3920" in user
    assert "AVAX" not in user  # sixth most recent
    assert "LINK" not in user  # closed after the state's moment: not known yet
    assert "- XRP SHORT +2.18% signal, 19h ago" in user
    assert "regime trending_up" in user


def test_times_are_utc_and_old_trades_show_days() -> None:
    state = full_state(timestamp=NOW.astimezone(timezone(timedelta(hours=2))))
    old = TRADES[0].model_copy(update={"closed_at": NOW - timedelta(days=5, hours=3)})
    user = render(state, PORTFOLIO, [old]).user
    assert user.startswith("BTC at 2025-10-28T07:00:00Z,")
    assert "- BTC LONG +1.43% take_profit, 5d ago" in user


def test_empty_portfolio_and_no_trades() -> None:
    user = render(full_state(symbol="SOL"), PortfolioView(equity_usd=500.0), []).user
    assert "Your SOL position: none" in user
    assert "equity 500.00 USD; no open positions" in user
    assert "none yet" in user


def test_rendering_is_deterministic_whatever_the_input_order() -> None:
    state = full_state()
    first = render(state, PORTFOLIO, TRADES)
    reordered_state = full_state(indicators=dict(reversed(list(state.indicators.items()))))
    reordered_portfolio = PORTFOLIO.model_copy(update={"positions": tuple(reversed(PORTFOLIO.positions))})
    second = render(reordered_state, reordered_portfolio, list(reversed(TRADES)))
    assert second == first
    assert second.digest == first.digest


def test_a_different_state_changes_the_digest() -> None:
    base = render(full_state(), PORTFOLIO, TRADES)
    moved = render(full_state(regime="volatile"), PORTFOLIO, TRADES)
    assert moved.digest != base.digest


def test_a_version_bump_changes_the_digest() -> None:
    v1 = load_templates(PROMPT_VERSION)
    base = render_with(v1, full_state(), PORTFOLIO, TRADES)
    bumped = render_with(v1.__class__("v2", v1.system, v1.user), full_state(), PORTFOLIO, TRADES)
    assert bumped.user == base.user
    assert bumped.digest != base.digest


def test_unknown_version_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown prompt version 'v999' \(known: .*v1"):
        render(full_state(), PORTFOLIO, TRADES, version="v999")


def test_system_prompt_carries_the_answer_schema() -> None:
    system = render(full_state(), PORTFOLIO, TRADES).system
    example = json.loads(system.rsplit("\n", 1)[1])
    TradeDecision.model_validate(example)  # the example obeys the schema it teaches
    assert set(example) == {
        "action",
        "confidence",
        "position_size_pct",
        "take_profit",
        "stop_loss",
        "reasoning",
    }
    assert "0.0000125" in system
