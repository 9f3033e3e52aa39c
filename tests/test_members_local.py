"""Local quant members: each strategy's LONG / SHORT / HOLD cases, risk shape, determinism."""

from __future__ import annotations

import anyio
import pytest

from consensus.decision import Action, Ballot, TradeDecision
from feeds.state import FundingState, MarketState, OpenInterestState
from prompts.types import RenderedPrompt
from swarm.members.base import DecisionRequest, Member
from swarm.members.local import LOCAL_MEMBERS, LocalMember, funding, local_member, meanrev, trend
from tests.states import bear_emas, full_state, indicators

PRICE = 114207.5
ATR_1H = 402.331


def _with(tf_overrides: dict[str, dict[str, object]], **fields: object) -> MarketState:
    """The full state with some timeframes rebuilt by `indicators(tf, **overrides)`."""
    base = {tf: indicators(tf) for tf in ("15m", "1h", "4h", "1d")}
    rebuilt = {tf: indicators(tf, **kwargs) for tf, kwargs in tf_overrides.items()}  # type: ignore[arg-type]
    return full_state(indicators=base | rebuilt, **fields)


def _funding_state(avg_8h: float, oi_24h: float | None) -> MarketState:
    return full_state(
        funding=FundingState(current=avg_8h, avg_8h=avg_8h, avg_24h=avg_8h),
        open_interest=OpenInterestState(
            current_base=29909.65, current_usd=3.4e9, change_1h_pct=0.4, change_24h_pct=oi_24h
        ),
    )


def _assert_trade_shape(decision: TradeDecision) -> None:
    """Stop and targets on the right sides of entry for the direction, reward >= risk."""
    assert decision.stop_loss is not None
    assert len(decision.take_profit) == 2
    sign = 1 if decision.action is Action.LONG else -1
    stop_price = PRICE * (1 - sign * decision.stop_loss)
    target_prices = [PRICE * (1 + sign * tp) for tp in decision.take_profit]
    assert sign * (stop_price - PRICE) < 0 < sign * (target_prices[0] - PRICE)
    assert sign * (target_prices[1] - target_prices[0]) > 0
    assert decision.take_profit[0] >= decision.stop_loss
    assert 0 < decision.position_size_pct <= 20


def _assert_hold(decision: TradeDecision, confidence: float) -> None:
    assert decision.action is Action.HOLD
    assert decision.confidence == confidence
    assert (decision.position_size_pct, decision.take_profit, decision.stop_loss) == (0, (), None)
    assert decision.reasoning


# --- trend -------------------------------------------------------------------------------


def test_trend_long_on_bullish_stacks_and_histograms() -> None:
    decision = trend(_with({"1h": {"histogram": 41.1}, "4h": {"histogram": 106.3}}))
    assert decision.action is Action.LONG
    assert 50 <= decision.confidence <= 90
    assert "up" in decision.reasoning
    _assert_trade_shape(decision)
    assert decision.stop_loss == pytest.approx(1.5 * ATR_1H / PRICE, abs=1e-5)


def test_trend_short_on_the_mirror() -> None:
    state = _with(
        {
            "1h": {"emas": bear_emas("1h"), "histogram": -41.1},
            "4h": {"emas": bear_emas("4h"), "histogram": -106.3},
        },
        regime="trending_down",
    )
    decision = trend(state)
    assert decision.action is Action.SHORT
    _assert_trade_shape(decision)


def test_trend_holds_when_the_histogram_disagrees() -> None:
    _assert_hold(trend(_with({"1h": {"histogram": 41.1}, "4h": {"histogram": -106.3}})), 50)


def test_trend_holds_when_timeframes_disagree() -> None:
    state = _with({"1h": {"histogram": 41.1}, "4h": {"emas": bear_emas("4h"), "histogram": -106.3}})
    _assert_hold(trend(state), 50)


def test_trend_has_no_view_without_4h() -> None:
    state = full_state(indicators={tf: indicators(tf) for tf in ("15m", "1h")} | {"4h": None})
    _assert_hold(trend(state), 0)


def test_trend_is_surer_with_a_wider_spread() -> None:
    narrow_emas = (114000.0, 113990.0, 113980.0, 113900.0)  # 100 USD: a quarter of the 1h ATR
    wide = trend(_with({"1h": {"histogram": 41.1}, "4h": {"histogram": 106.3}}))
    narrow = trend(_with({"1h": {"histogram": 41.1, "emas": narrow_emas}, "4h": {"histogram": 106.3}}))
    assert narrow.action is Action.LONG
    assert narrow.confidence < wide.confidence


# --- meanrev -----------------------------------------------------------------------------


def test_meanrev_long_when_oversold_on_both() -> None:
    decision = meanrev(_with({"1h": {"rsi_14": 22.0}, "15m": {"rsi_14": 25.0}}))
    assert decision.action is Action.LONG
    assert decision.confidence == pytest.approx(50 + 40 * 6.5 / 20, abs=0.1)
    _assert_trade_shape(decision)


def test_meanrev_short_when_overbought_on_both() -> None:
    decision = meanrev(_with({"1h": {"rsi_14": 78.0}, "15m": {"rsi_14": 84.0}}))
    assert decision.action is Action.SHORT
    _assert_trade_shape(decision)


def test_meanrev_deeper_extremes_are_surer() -> None:
    mild = meanrev(_with({"1h": {"rsi_14": 29.0}, "15m": {"rsi_14": 28.0}}))
    deep = meanrev(_with({"1h": {"rsi_14": 12.0}, "15m": {"rsi_14": 9.0}}))
    assert mild.confidence < deep.confidence <= 90


@pytest.mark.parametrize(("rsi_1h", "rsi_15m"), [(25.0, 45.0), (50.0, 50.0), (72.0, 65.0), (30.0, 20.0)])
def test_meanrev_holds_unless_both_are_extreme(rsi_1h: float, rsi_15m: float) -> None:
    _assert_hold(meanrev(_with({"1h": {"rsi_14": rsi_1h}, "15m": {"rsi_14": rsi_15m}})), 50)


def test_meanrev_has_no_view_without_15m() -> None:
    state = full_state(indicators={tf: indicators(tf) for tf in ("1h", "4h")} | {"15m": None})
    _assert_hold(meanrev(state), 0)


# --- funding -----------------------------------------------------------------------------


def test_funding_shorts_crowded_longs() -> None:
    decision = funding(_funding_state(avg_8h=0.00008, oi_24h=5.0))
    assert decision.action is Action.SHORT
    assert "crowded longs" in decision.reasoning
    _assert_trade_shape(decision)


def test_funding_longs_crowded_shorts() -> None:
    decision = funding(_funding_state(avg_8h=-0.00004, oi_24h=6.0))
    assert decision.action is Action.LONG
    _assert_trade_shape(decision)


def test_funding_threshold_is_three_neutral_rates_from_neutral() -> None:
    assert funding(_funding_state(avg_8h=0.0000500, oi_24h=5.0)).action is Action.SHORT
    _assert_hold(funding(_funding_state(avg_8h=0.0000499, oi_24h=5.0)), 50)
    assert funding(_funding_state(avg_8h=-0.0000250, oi_24h=5.0)).action is Action.LONG
    _assert_hold(funding(_funding_state(avg_8h=-0.0000249, oi_24h=5.0)), 50)


def test_funding_needs_rising_open_interest() -> None:
    _assert_hold(funding(_funding_state(avg_8h=0.0002, oi_24h=-3.0)), 50)


def test_funding_is_surer_the_more_extreme() -> None:
    mild = funding(_funding_state(avg_8h=0.00006, oi_24h=3.0))
    extreme = funding(_funding_state(avg_8h=0.0002, oi_24h=12.0))
    assert mild.confidence < extreme.confidence == 90


@pytest.mark.parametrize(
    "state",
    [full_state(funding=None), full_state(open_interest=None), _funding_state(avg_8h=0.0002, oi_24h=None)],
)
def test_funding_has_no_view_without_data(state: MarketState) -> None:
    _assert_hold(funding(state), 0)


# --- shared risk shape -------------------------------------------------------------------


def test_stop_falls_back_to_4h_atr_then_to_two_percent() -> None:
    oversold = {"15m": {"rsi_14": 20.0}}
    no_1h_atr = _with(oversold | {"1h": {"rsi_14": 20.0, "atr_14": 0.0}})
    assert meanrev(no_1h_atr).stop_loss == pytest.approx(0.75 * 563.094 / PRICE, abs=1e-5)
    no_atr = _with(oversold | {"1h": {"rsi_14": 20.0, "atr_14": 0.0}, "4h": {"atr_14": 0.0}})
    assert meanrev(no_atr).stop_loss == 0.02


def test_stop_is_clamped_for_very_quiet_markets() -> None:
    quiet = _with({"15m": {"rsi_14": 20.0}, "1h": {"rsi_14": 20.0, "atr_14": 5.0}})
    decision = meanrev(quiet)
    assert decision.stop_loss == 0.003
    assert decision.take_profit == (0.0045, 0.009)


# --- members and registry ----------------------------------------------------------------


def _request(state: MarketState) -> DecisionRequest:
    return DecisionRequest(
        cycle_id="c1", symbol=state.symbol, state=state, prompt=RenderedPrompt("s", "u", "v1")
    )


def test_members_vote_through_the_member_interface() -> None:
    state = _with({"1h": {"rsi_14": 22.0}, "15m": {"rsi_14": 25.0}})
    member: Member = local_member("local/meanrev")
    answer = anyio.run(member.decide, _request(state))
    assert (member.name, member.model, member.provider) == ("local/meanrev", "local/meanrev", "local")
    assert isinstance(answer.vote, Ballot)
    assert answer.vote.decision == meanrev(state)
    assert (answer.vote.symbol, answer.vote.usage.cost_usd, answer.raw_text, answer.cached) == (
        "BTC",
        0.0,
        None,
        False,
    )


@pytest.mark.parametrize("name", sorted(LOCAL_MEMBERS))
def test_members_are_deterministic(name: str) -> None:
    state = _with({"1h": {"histogram": 41.1, "rsi_14": 28.0}, "4h": {"histogram": 106.3}})
    first = anyio.run(local_member(name).decide, _request(state))
    second = anyio.run(LocalMember(name, LOCAL_MEMBERS[name]).decide, _request(state))
    assert first == second


def test_unknown_member_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown local member 'local/magic' \(known: local/trend, "):
        local_member("local/magic")
