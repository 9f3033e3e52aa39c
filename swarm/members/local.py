"""Local quant members: deterministic strategies that read a MarketState and vote like an LLM.

Each strategy is a pure function MarketState -> TradeDecision, cheap enough for a backtest that
calls it ~150,000 times (no pandas, no history: only the state's fields). A strategy never
abstains: without the data it needs it votes HOLD with confidence 0 (no view), and HOLD with
confidence 50 when the data is there but shows no signal.

Risk shape shared by all three: stop at 1.5 x ATR14 of 1h (fallback 0.75 x ATR14 of 4h, which
is about the same distance, else 2 %), clamped to 0.3-10 % of entry; targets at 1.5 R and 3 R;
size risks at most 0.5 % of equity at the stop, scaled by confidence, capped at 20 % of equity.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from types import MappingProxyType

from consensus.decision import Action, Ballot, TradeDecision, Usage
from feeds.state import MarketState, TimeframeIndicators
from swarm.members.base import Answer, DecisionRequest

Strategy = Callable[[MarketState], TradeDecision]

NEUTRAL_FUNDING = 0.0000125  # per hour: Pacifica's and Hyperliquid's resting rate (0.01 % / 8 h)
# Funding counts as "strong" 3 neutral rates away from neutral: >= 0.00005/h (4x neutral, ~44 %
# a year paid by longs) or <= -0.000025/h (shorts paying twice what longs pay at rest).
FUNDING_EXTREME_UNITS = 3.0
OI_RISING_PCT = 2.0  # open interest up at least this much over 24 h: new positions are piling in
RSI_LOW, RSI_HIGH = 30.0, 70.0

STOP_ATR_1H = 1.5
STOP_ATR_4H = 0.75  # 4h ATR is ~2x the 1h ATR (sqrt of 4 bars), so the same distance
DEFAULT_STOP = 0.02
MIN_STOP, MAX_STOP = 0.003, 0.10
TARGETS_R = (1.5, 3.0)
RISK_PCT_AT_STOP = 0.5
MAX_SIZE_PCT = 20.0

NO_SIGNAL_CONFIDENCE = 50.0
_FREE = Usage(cost_usd=0.0)  # a local vote costs nothing, and says so (not "unknown")
_ANSWERS_KEPT = 4096


class LocalMember:
    """A Member backed by a local strategy; provider "local", model "local/<strategy>"."""

    __slots__ = ("_answers", "_name", "_strategy")

    def __init__(self, name: str, strategy: Strategy) -> None:
        self._name = name
        self._strategy = strategy
        # Answers to decisions seen before, by symbol and decision: HOLDs repeat (the decisions
        # are cached below) and a backtest asks ~50,000 times. Immutable, so they are shared. Keyed
        # by the decision's id, not its (slower) hash: the answer holds the decision, so the id
        # cannot be reused by another object while the entry exists.
        self._answers: dict[tuple[str, int], Answer] = {}

    @property
    def name(self) -> str:
        return self._name

    @property
    def model(self) -> str:
        return self._name

    @property
    def provider(self) -> str:
        return "local"

    def vote(self, state: MarketState) -> Ballot:
        """The ballot on `state`, synchronously (backtests call this directly)."""
        vote = self._answer(state).vote
        assert isinstance(vote, Ballot)  # a local strategy never abstains
        return vote

    async def decide(self, request: DecisionRequest) -> Answer:
        return self._answer(request.state)

    def _answer(self, state: MarketState) -> Answer:
        decision = self._strategy(state)
        key = (state.symbol, id(decision))
        answer = self._answers.get(key)
        if answer is None or getattr(answer.vote, "decision", None) is not decision:
            if len(self._answers) >= _ANSWERS_KEPT:
                self._answers.clear()
            ballot = Ballot(
                member=self._name, model=self._name, symbol=key[0], decision=decision, usage=_FREE
            )
            answer = self._answers[key] = Answer(vote=ballot)
        return answer


def trend(state: MarketState) -> TradeDecision:
    """EMA 9 > 21 > 50 > 200 and a positive MACD histogram on both 1h and 4h: LONG; mirror: SHORT."""
    h1 = _trend_signal(state.indicators.get("1h"), state.price.current)
    h4 = _trend_signal(state.indicators.get("4h"), state.price.current)
    if h1 is None or h4 is None:
        return _no_view("trend: EMAs or MACD of 1h/4h not available")
    directions = {h1[0], h4[0]}
    if directions == {1}:
        action = Action.LONG
    elif directions == {-1}:
        action = Action.SHORT
    else:
        return _hold("trend: 1h and 4h EMA stacks and MACD do not agree on a direction")
    # Strength: the weaker timeframe's EMA 9-200 spread, in ATRs (8 ATRs or more: full confidence).
    spread = min(h1[1], h4[1])
    confidence = 50 + 40 * min(1.0, spread / 8)
    word = "up" if action is Action.LONG else "down"
    reason = f"trend: EMAs stacked {word} with MACD agreeing on 1h and 4h, spread {spread:.1f} ATR."
    return _trade(action, confidence, state, reason)


def meanrev(state: MarketState) -> TradeDecision:
    """RSI 14 below 30 on both 1h and 15m: LONG; above 70 on both: SHORT; deeper = surer."""
    rsi_1h, rsi_15m = _rsi(state.indicators.get("1h")), _rsi(state.indicators.get("15m"))
    if rsi_1h is None or rsi_15m is None:
        return _no_view("meanrev: RSI 14 of 1h/15m not available")
    mean = (rsi_1h + rsi_15m) / 2
    if max(rsi_1h, rsi_15m) < RSI_LOW:
        depth, action = RSI_LOW - mean, Action.LONG
    elif min(rsi_1h, rsi_15m) > RSI_HIGH:
        depth, action = mean - RSI_HIGH, Action.SHORT
    else:
        return _hold(f"meanrev: RSI 14 at {rsi_1h:.0f} (1h) and {rsi_15m:.0f} (15m) is not extreme on both")
    confidence = 50 + 40 * min(1.0, depth / 20)  # RSI 10 or 90 on average: full confidence
    side = "oversold" if action is Action.LONG else "overbought"
    reason = f"meanrev: {side}, RSI 14 at {rsi_1h:.0f} (1h) and {rsi_15m:.0f} (15m)."
    return _trade(action, confidence, state, reason)


def funding(state: MarketState) -> TradeDecision:
    """Contrarian on crowding: extreme funding (8 h mean) while open interest rises 24 h."""
    if state.funding is None or state.open_interest is None or state.open_interest.change_24h_pct is None:
        return _no_view("funding: funding or open-interest change not available")
    rate, oi_change = state.funding.avg_8h, state.open_interest.change_24h_pct
    excess = (rate - NEUTRAL_FUNDING) / NEUTRAL_FUNDING  # in neutral rates, signed
    if abs(excess) < FUNDING_EXTREME_UNITS or oi_change < OI_RISING_PCT:
        return _hold(f"funding: {rate:.2e}/h with OI {oi_change:+.1f}% in 24 h is not a crowded side")
    # Positive excess: longs pay heavily while piling in, so fade them; negative: fade the shorts.
    action = Action.SHORT if excess > 0 else Action.LONG
    extremity = min(1.0, (abs(excess) - FUNDING_EXTREME_UNITS) / 6)
    piling = min(1.0, (oi_change - OI_RISING_PCT) / 8)
    confidence = 50 + 30 * extremity + 10 * piling
    crowd = "longs" if action is Action.SHORT else "shorts"
    reason = f"funding: crowded {crowd}, funding {rate:.2e}/h and OI {oi_change:+.1f}% in 24 h."
    return _trade(action, confidence, state, reason)


LOCAL_MEMBERS: Mapping[str, Strategy] = MappingProxyType(
    {"local/trend": trend, "local/meanrev": meanrev, "local/funding": funding}
)


def local_member(name: str) -> LocalMember:
    """The local member called `name`; ValueError lists the known names."""
    strategy = LOCAL_MEMBERS.get(name)
    if strategy is None:
        raise ValueError(f"unknown local member {name!r} (known: {', '.join(LOCAL_MEMBERS)})")
    return LocalMember(name, strategy)


def _trend_signal(tf: TimeframeIndicators | None, price: float) -> tuple[int, float] | None:
    """(1 bullish stack with a positive histogram | -1 the mirror | 0 neither, EMA 9-200 spread in ATRs).

    None when the timeframe lacks an EMA or MACD. Without an ATR, 1 % of the price is the unit.
    """
    if tf is None or tf.macd is None:
        return None
    e9, e21, e50, e200 = tf.ema_9, tf.ema_21, tf.ema_50, tf.ema_200
    if e9 is None or e21 is None or e50 is None or e200 is None:
        return None
    spread = abs(e9 - e200) / (tf.atr_14 or 0.01 * price)
    if e9 > e21 > e50 > e200 and tf.macd.histogram > 0:
        return 1, spread
    if e9 < e21 < e50 < e200 and tf.macd.histogram < 0:
        return -1, spread
    return 0, spread


def _rsi(tf: TimeframeIndicators | None) -> float | None:
    return None if tf is None else tf.rsi_14


def _stop_fraction(state: MarketState) -> float:
    price = state.price.current
    h1, h4 = state.indicators.get("1h"), state.indicators.get("4h")
    if h1 is not None and h1.atr_14:
        stop = STOP_ATR_1H * h1.atr_14 / price
    elif h4 is not None and h4.atr_14:
        stop = STOP_ATR_4H * h4.atr_14 / price
    else:
        stop = DEFAULT_STOP
    return min(MAX_STOP, max(MIN_STOP, stop))


def _trade(action: Action, confidence: float, state: MarketState, reasoning: str) -> TradeDecision:
    stop = _stop_fraction(state)
    size = min(MAX_SIZE_PCT, RISK_PCT_AT_STOP * (confidence / 100) / stop)
    return TradeDecision(
        action=action,
        confidence=round(confidence, 1),
        reasoning=reasoning,
        position_size_pct=round(size, 2),
        take_profit=tuple(round(stop * r, 5) for r in TARGETS_R),
        stop_loss=round(stop, 5),
    )


# Most votes are HOLD, and their reasons repeat (the numbers in them are rounded): a decision is
# immutable, so one made already is handed out again.
@lru_cache(maxsize=4096)
def _hold(reasoning: str) -> TradeDecision:
    return TradeDecision(action=Action.HOLD, confidence=NO_SIGNAL_CONFIDENCE, reasoning=reasoning)


@lru_cache(maxsize=64)
def _no_view(reasoning: str) -> TradeDecision:
    return TradeDecision(action=Action.HOLD, confidence=0.0, reasoning=reasoning)
