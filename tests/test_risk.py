"""The risk engine by example: one test per rule and reason code, the rule order, clamps, the breaker."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

import pytest
from pydantic import Field, TypeAdapter

from consensus.decision import Action
from consensus.vote import Consensus
from execution.risk import RiskEngine, check_breaker, next_utc_midnight, trading_state_at
from execution.types import (
    Approved,
    ClosedTrade,
    Denied,
    MarketInfo,
    NoAction,
    OrderIntent,
    RiskLimits,
    RiskResult,
    Side,
    TakeProfit,
    TradingState,
)
from feeds.types import HOUR_MS, MINUTE_MS
from tests.risk_cases import (
    MIDNIGHT,
    NOW,
    SEEDS,
    consensus,
    market,
    markets,
    portfolio,
    position,
    reason_of,
    walk,
)

ENGINE = RiskEngine()


def approved(result: RiskResult) -> OrderIntent:
    assert isinstance(result, Approved), result
    return result.intent


def denial(result: RiskResult) -> str:
    assert isinstance(result, Denied), result
    return result.reason


def test_a_long_becomes_an_entry_with_stop_and_ladder() -> None:
    intent = approved(ENGINE.evaluate(consensus(Action.LONG), portfolio(), markets(), NOW))
    assert intent.side is Side.LONG
    assert not intent.reduce_only
    assert intent.notional_usd == 2_000.0  # 20 % of 10,000
    assert intent.size_base == 20.0  # at mark 100
    assert intent.leverage == 3
    assert intent.stop_loss_price == pytest.approx(98.0)
    assert intent.take_profit == (
        TakeProfit(price=102.0, fraction=0.5),
        TakeProfit(price=104.0, fraction=0.5),
    )
    assert intent.clamps == ()
    assert intent.decision_id == f"{NOW}-BTC-LONG"


def test_a_short_mirrors_stop_and_ladder() -> None:
    intent = approved(ENGINE.evaluate(consensus(Action.SHORT), portfolio(), markets(), NOW))
    assert intent.side is Side.SHORT
    assert intent.stop_loss_price == pytest.approx(102.0)
    assert [r.price for r in intent.take_profit] == [98.0, 96.0]


def test_hold_is_no_action_even_when_everything_else_would_deny() -> None:
    halted = portfolio(trading_state=TradingState.HALTED)
    result = ENGINE.evaluate(consensus(Action.HOLD, confidence=0.0), halted, {}, NOW)
    assert isinstance(result, NoAction)
    assert result.symbol == "BTC"


def test_halted_denies_entries_and_exits() -> None:
    held = portfolio(trading_state=TradingState.HALTED, positions=(position("BTC"),))
    assert denial(ENGINE.evaluate(consensus(Action.LONG, "ETH"), held, markets(), NOW)) == "halted"
    assert denial(ENGINE.evaluate(consensus(Action.CLOSE), held, markets(), NOW)) == "halted"


def test_reducing_denies_entries_but_lets_a_close_through() -> None:
    held = portfolio(trading_state=TradingState.REDUCING, positions=(position("BTC"),))
    assert denial(ENGINE.evaluate(consensus(Action.SHORT, "SOL"), held, markets(), NOW)) == "reducing"
    assert approved(ENGINE.evaluate(consensus(Action.CLOSE), held, markets(), NOW)).reduce_only


def test_confidence_at_the_minimum_passes_and_below_it_is_denied() -> None:
    assert isinstance(
        ENGINE.evaluate(consensus(Action.LONG, confidence=60.0), portfolio(), markets(), NOW), Approved
    )
    low = ENGINE.evaluate(consensus(Action.LONG, confidence=59.9), portfolio(), markets(), NOW)
    assert denial(low) == "confidence"
    held = portfolio(positions=(position("BTC"),))
    assert (
        denial(ENGINE.evaluate(consensus(Action.CLOSE, confidence=10.0), held, markets(), NOW))
        == "confidence"
    )


def test_no_market_when_missing_or_filed_under_another_symbol() -> None:
    assert denial(ENGINE.evaluate(consensus(Action.LONG, "XRP"), portfolio(), markets(), NOW)) == "no_market"
    mislabelled = {"BTC": market("ETH")}
    assert denial(ENGINE.evaluate(consensus(Action.LONG), portfolio(), mislabelled, NOW)) == "no_market"


def test_close_exits_the_whole_position_reduce_only() -> None:
    held = portfolio(positions=(position("BTC", Side.SHORT, size=0.5),))
    intent = approved(ENGINE.evaluate(consensus(Action.CLOSE), held, markets(market(mark=110.0)), NOW))
    assert intent.reduce_only
    assert intent.side is Side.LONG  # buying back the short
    assert intent.size_base == 0.5
    assert intent.notional_usd == 55.0
    assert (intent.stop_loss_price, intent.take_profit, intent.leverage) == (None, (), None)


def test_close_without_a_position_is_denied() -> None:
    held = portfolio(positions=(position("ETH"),))
    assert denial(ENGINE.evaluate(consensus(Action.CLOSE), held, markets(), NOW)) == "no_position"


def test_breaker_denies_entries_but_not_exits() -> None:
    losing = portfolio(equity=9_400.0, start_of_day_equity_usd=10_000.0, positions=(position("BTC"),))
    assert denial(ENGINE.evaluate(consensus(Action.LONG, "SOL"), losing, markets(), NOW)) == "breaker"
    assert approved(ENGINE.evaluate(consensus(Action.CLOSE), losing, markets(), NOW)).reduce_only


@pytest.mark.parametrize(
    ("open_side", "reason"), [(Side.LONG, "already_open"), (Side.SHORT, "opposite_open")]
)
def test_a_position_in_the_symbol_blocks_a_new_entry(open_side: Side, reason: str) -> None:
    held = portfolio(positions=(position("BTC", open_side),))
    assert denial(ENGINE.evaluate(consensus(Action.LONG), held, markets(), NOW)) == reason


@pytest.mark.parametrize(
    ("pnl_usd", "ago_ms", "reason"),
    [
        (25.0, 59 * MINUTE_MS, "cooldown"),
        (25.0, 61 * MINUTE_MS, None),
        (0.0, 61 * MINUTE_MS, None),  # break-even is not a loss
        (-25.0, 61 * MINUTE_MS, "cooldown"),  # a loss waits longer
        (-25.0, 4 * HOUR_MS - 1, "cooldown"),
        (-25.0, 4 * HOUR_MS, None),
    ],
)
def test_cooldown_after_a_close_is_longer_after_a_loss(
    pnl_usd: float, ago_ms: int, reason: str | None
) -> None:
    closed = portfolio(recent_closes=(ClosedTrade(symbol="BTC", closed_at_ms=NOW - ago_ms, pnl_usd=pnl_usd),))
    result = ENGINE.evaluate(consensus(Action.LONG), closed, markets(), NOW)
    assert reason_of(result) == reason


def test_cooldown_keeps_a_loss_even_after_a_later_win_and_ignores_other_symbols() -> None:
    closes = (
        ClosedTrade(symbol="BTC", closed_at_ms=NOW - 3 * HOUR_MS, pnl_usd=-50.0),
        ClosedTrade(symbol="BTC", closed_at_ms=NOW - 2 * HOUR_MS, pnl_usd=10.0),
        ClosedTrade(symbol="ETH", closed_at_ms=NOW - 1 * MINUTE_MS, pnl_usd=-10.0),
    )
    closed = portfolio(recent_closes=closes)
    assert denial(ENGINE.evaluate(consensus(Action.LONG), closed, markets(), NOW)) == "cooldown"
    assert isinstance(ENGINE.evaluate(consensus(Action.LONG, "SOL"), closed, markets(), NOW), Approved)


def test_max_positions() -> None:
    two = (position("ETH"), position("SOL", Side.SHORT))
    assert isinstance(
        ENGINE.evaluate(consensus(Action.LONG), portfolio(positions=two), markets(), NOW), Approved
    )
    three = (*two, position("DOGE"))
    assert (
        denial(ENGINE.evaluate(consensus(Action.LONG), portfolio(positions=three), markets(), NOW))
        == "max_positions"
    )


def test_an_entry_needs_a_stop_unless_a_default_is_configured() -> None:
    naked = consensus(Action.LONG, sl=None)
    assert denial(ENGINE.evaluate(naked, portfolio(), markets(), NOW)) == "no_stop_loss"
    lenient = RiskEngine(RiskLimits(default_stop_loss=0.03))
    intent = approved(lenient.evaluate(naked, portfolio(), markets(), NOW))
    assert intent.stop_loss_price == pytest.approx(97.0)
    assert [(c.field, c.asked, c.allowed) for c in intent.clamps] == [("stop_loss", None, 0.03)]


@pytest.mark.parametrize(
    ("sl", "reason"),
    [
        (1e-18, "bad_stop_loss"),  # 100 x (1 - 1e-18) is 100.0: no price below the mark
        (0.2, None),
        (0.2001, "stop_too_wide"),
    ],
)
def test_a_stop_must_give_a_protective_price_within_the_maximum(sl: float, reason: str | None) -> None:
    result = ENGINE.evaluate(consensus(Action.LONG, sl=sl), portfolio(), markets(), NOW)
    if reason is None:
        assert approved(result).stop_loss_price == pytest.approx(80.0)
    else:
        assert denial(result) == reason


@pytest.mark.parametrize(
    ("action", "tp"),
    [
        (Action.LONG, (0.05, 0.02)),  # not ascending (a Consensus does not check)
        (Action.SHORT, (0.5, 1.0)),  # a short cannot gain 100 %: the target price would be 0
        (Action.LONG, (1e-18,)),  # rounds to the mark itself
    ],
)
def test_bad_take_profit(action: Action, tp: tuple[float, ...]) -> None:
    result = ENGINE.evaluate(consensus(action, tp=tp), portfolio(), markets(), NOW)
    assert denial(result) == "bad_take_profit"


@pytest.mark.parametrize("field", ["stop_loss", "take_profit", "position_size_pct"])
def test_a_consensus_cannot_carry_infinity(field: str) -> None:
    value: object = (float("inf"),) if field == "take_profit" else float("inf")
    with pytest.raises(ValueError, match="finite number"):
        Consensus.model_validate(consensus(Action.LONG).model_dump() | {field: value})


def test_ladder_splits_the_position_and_merges_repeated_targets() -> None:
    intent = approved(
        ENGINE.evaluate(consensus(Action.LONG, tp=(0.01, 0.01, 0.03)), portfolio(), markets(), NOW)
    )
    assert [r.price for r in intent.take_profit] == [101.0, 103.0]
    assert [r.fraction for r in intent.take_profit] == [2 / 3, 1 / 3]
    bare = approved(ENGINE.evaluate(consensus(Action.LONG, tp=()), portfolio(), markets(), NOW))
    assert bare.take_profit == ()


@pytest.mark.parametrize(
    ("equity", "size", "min_order"),
    [(10_000.0, 0.0, 10.0), (10_000.0, 0.09, 10.0), (0.0, 20.0, 0.0)],
)
def test_too_small(equity: float, size: float, min_order: float) -> None:
    result = ENGINE.evaluate(
        consensus(Action.LONG, size=size), portfolio(equity), markets(market(min_order=min_order)), NOW
    )
    assert denial(result) == "too_small"


def test_size_and_leverage_are_clamped_and_the_clamps_recorded() -> None:
    info = market(max_leverage=2, max_order=4_000.0)
    intent = approved(ENGINE.evaluate(consensus(Action.LONG, size=80.0), portfolio(), markets(info), NOW))
    assert intent.notional_usd == 4_000.0
    assert intent.size_base == 40.0
    assert intent.leverage == 2
    assert [(c.field, c.asked, c.allowed, c.limit) for c in intent.clamps] == [
        ("position_size_pct", 80.0, 50.0, "max_position_pct"),
        ("notional_usd", 5_000.0, 4_000.0, "market max_order_usd"),
        ("leverage", 3, 2, "market max_leverage"),
    ]


@dataclass
class _Broken:
    """A case that breaks every rule at once; `repair` fixes them one by one, in order."""

    consensus: Consensus = field(
        default_factory=lambda: consensus(
            Action.LONG, "ETH", confidence=10.0, sl=None, tp=(0.05, 0.01), size=0.0
        )
    )
    state: dict[str, Any] = field(
        default_factory=lambda: {
            "trading_state": TradingState.HALTED,
            "equity_usd": 9_000.0,  # 10 % down on the day
            "positions": (position("ETH", Side.SHORT), position("BTC"), position("DOGE"), position("SOL")),
            "recent_closes": (ClosedTrade(symbol="ETH", closed_at_ms=NOW, pnl_usd=-1.0),),
        }
    )
    # No ETH market yet; when it comes, it first moves exactly like BTC (an open LONG).
    infos: dict[str, MarketInfo] = field(
        default_factory=lambda: {s: market(s) for s in ("BTC", "SOL", "DOGE")}
    )

    def evaluate(self) -> RiskResult:
        return ENGINE.evaluate(self.consensus, portfolio(**self.state), self.infos, NOW)

    def repair(self, reason: str) -> None:
        update: dict[str, dict[str, Any]] = {
            "confidence": {"confidence": 90.0},
            "no_stop_loss": {"stop_loss": 0.02},
            "bad_take_profit": {"take_profit": (0.01, 0.05)},
            "too_small": {"position_size_pct": 10.0},
        }
        state: dict[str, dict[str, Any]] = {
            "halted": {"trading_state": TradingState.REDUCING},
            "reducing": {"trading_state": TradingState.ACTIVE},
            "breaker": {"equity_usd": 10_000.0},
            "opposite_open": {"positions": self.state["positions"][1:]},
            "cooldown": {"recent_closes": ()},
            "max_positions": {"positions": self.state["positions"][:2]},
        }
        infos = {"no_market": market("ETH", closes=walk(SEEDS["BTC"])), "correlated": market("ETH")}
        self.consensus = self.consensus.model_copy(update=update.get(reason, {}))
        self.state.update(state.get(reason, {}))
        if reason in infos:
            self.infos["ETH"] = infos[reason]


def test_rules_are_checked_in_the_documented_order() -> None:
    order = [
        "halted",
        "confidence",
        "no_market",
        "reducing",
        "breaker",
        "opposite_open",
        "cooldown",
        "max_positions",
        "correlated",
        "no_stop_loss",
        "bad_take_profit",
        "too_small",
    ]
    case, seen = _Broken(), []
    for reason in order:
        seen.append(denial(case.evaluate()))
        case.repair(reason)
    assert seen == order
    assert isinstance(case.evaluate(), Approved)


def test_evaluate_is_pure_same_inputs_same_result() -> None:
    args = (consensus(Action.SHORT), portfolio(positions=(position("ETH"),)), markets(), NOW)
    assert ENGINE.evaluate(*args) == ENGINE.evaluate(*args)


# -- the daily-loss breaker ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("equity", "realized", "tripped"),
    [
        (9_500.0, 0.0, True),  # exactly 5 % down
        (9_500.01, 0.0, False),
        (9_000.0, 0.0, True),
        (10_200.0, -500.0, True),  # a realized loss counts even when a deposit lifts the equity
        (10_200.0, -499.99, False),
        (10_000.0, 0.0, False),
    ],
)
def test_breaker_trips_at_exactly_the_limit(equity: float, realized: float, tripped: bool) -> None:
    folio = portfolio(equity, start_of_day_equity_usd=10_000.0, realized_pnl_today_usd=realized)
    expected = (True, MIDNIGHT) if tripped else (False, None)
    assert check_breaker(folio, NOW, RiskLimits()) == expected


def test_breaker_survives_a_restart_and_clears_at_the_next_utc_midnight() -> None:
    # After a restart the equity may look fine again (a winner recovered it): the stored state rules.
    restarted = portfolio(breaker_tripped_until_ms=MIDNIGHT)
    assert check_breaker(restarted, NOW, RiskLimits()) == (True, MIDNIGHT)
    assert check_breaker(restarted, MIDNIGHT - 1, RiskLimits()) == (True, MIDNIGHT)
    assert denial(ENGINE.evaluate(consensus(Action.LONG), restarted, markets(), MIDNIGHT - 1)) == "breaker"
    # At midnight the store has reset start-of-day equity: the breaker clears, entries resume.
    assert check_breaker(restarted, MIDNIGHT, RiskLimits()) == (False, None)
    assert isinstance(ENGINE.evaluate(consensus(Action.LONG), restarted, markets(), MIDNIGHT), Approved)


def test_a_loss_just_before_midnight_halts_entries_only_until_midnight() -> None:
    losing = portfolio(9_000.0, start_of_day_equity_usd=10_000.0)
    assert check_breaker(losing, MIDNIGHT - 1, RiskLimits()) == (True, MIDNIGHT)
    assert next_utc_midnight(MIDNIGHT) == MIDNIGHT + 24 * HOUR_MS


def test_trading_state_at_reports_the_breaker_as_reducing() -> None:
    assert trading_state_at(portfolio(), NOW, RiskLimits()) is TradingState.ACTIVE
    tripped = portfolio(breaker_tripped_until_ms=MIDNIGHT)
    assert trading_state_at(tripped, NOW, RiskLimits()) is TradingState.REDUCING
    halted = tripped.model_copy(update={"trading_state": TradingState.HALTED})
    assert trading_state_at(halted, NOW, RiskLimits()) is TradingState.HALTED


def test_limits_refuse_a_stop_beyond_liquidation_and_a_short_loss_cooldown() -> None:
    with pytest.raises(ValueError, match="1/leverage"):
        RiskLimits(leverage=10, max_stop_loss=0.2)
    with pytest.raises(ValueError, match="cooldown_after_loss_ms"):
        RiskLimits(cooldown_ms=HOUR_MS, cooldown_after_loss_ms=HOUR_MS - 1)


def test_results_round_trip_through_json_for_the_store() -> None:
    adapter: TypeAdapter[RiskResult] = TypeAdapter(Annotated[RiskResult, Field(discriminator="kind")])
    held = portfolio(positions=(position("BTC"),))
    results = [
        ENGINE.evaluate(consensus(Action.LONG, size=80.0), portfolio(), markets(), NOW),
        ENGINE.evaluate(consensus(Action.CLOSE), held, markets(), NOW),
        ENGINE.evaluate(consensus(Action.LONG), held, markets(), NOW),
        ENGINE.evaluate(consensus(Action.HOLD), held, markets(), NOW),
    ]
    assert [type(r) for r in results] == [Approved, Approved, Denied, NoAction]
    for result in results:
        assert adapter.validate_json(adapter.dump_json(result)) == result
