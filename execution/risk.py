"""The risk engine: (consensus, portfolio, markets, now, limits) -> Approved | Denied | NoAction.

Pure and synchronous: no I/O, no wall clock; `now_ms` is passed in. The rules, checked in this
order; the first that fails gives the denial's reason code (docs/risk.md has the details):

  HOLD                                    -> NoAction (never an order, not a denial)
  every action (LONG, SHORT, CLOSE):
    1. halted        trading state HALTED (kill switch): nothing goes through, exits included
    2. confidence    consensus confidence below `min_confidence`
    3. no_market     no MarketInfo for the symbol
  CLOSE:
    4. no_position   nothing open in the symbol -> otherwise an exit intent (reduce_only)
  LONG / SHORT (an entry):
    4. reducing      trading state REDUCING: exits only
    5. breaker       the daily-loss circuit breaker is tripped (see `check_breaker`)
    6. already_open  a position on the same side is open in the symbol (no pyramiding)
       opposite_open a position on the other side is open: the swarm must CLOSE it first
    7. cooldown      the symbol closed less than `cooldown_ms` ago (`cooldown_after_loss_ms` if at a loss)
    8. max_positions `max_open_positions` already open
    9. correlation_unknown / correlated   an open position's market cannot be compared, or its
                     30-day return correlation, signed by the two sides, is above `correlation_max`
   10. no_stop_loss / bad_stop_loss / stop_too_wide   no stop (and no `default_stop_loss`), a stop
                     that gives no protective price, or one wider than `max_stop_loss`
   11. bad_take_profit  a take-profit rung that is not a price on the profitable side
   12. bad_size      position_size_pct is not a finite number (a Consensus lets infinity through)
       too_small     notional after clamps is zero or below the market's `min_order_usd`

Clamps (recorded in the intent, never denials): position_size_pct to `max_position_pct`,
notional_usd to the market's `max_order_usd`, leverage to the market's `max_leverage`, and the
default stop applied to a consensus without one when `default_stop_loss` is set.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from consensus.decision import Action
from consensus.vote import Consensus
from execution.correlation import history_correlation, return_correlation
from execution.types import (
    Approved,
    Clamp,
    ClampField,
    DenialReason,
    Denied,
    MarketInfo,
    NoAction,
    OrderIntent,
    Portfolio,
    RiskLimits,
    RiskResult,
    Side,
    TakeProfit,
    TradingState,
)
from feeds.types import DAY_MS

__all__ = [
    "RiskEngine",
    "check_breaker",
    "daily_loss_usd",
    "next_utc_midnight",
    "return_correlation",
    "trading_state_at",
]

# Relative slack so that a loss of exactly the limit trips despite float rounding in the inputs.
_AT_LIMIT = 1e-9


def next_utc_midnight(now_ms: int) -> int:
    """The first UTC midnight strictly after `now_ms`."""
    return (now_ms // DAY_MS + 1) * DAY_MS


def daily_loss_usd(portfolio: Portfolio) -> float:
    """Today's loss in USD (positive = lost): the larger of the equity drawdown and the realized loss.

    The drawdown since midnight counts unrealized losses, fees and funding; the realized loss
    still counts when a deposit or an open winner masks it in the equity.
    """
    drawdown = portfolio.start_of_day_equity_usd - portfolio.equity_usd
    return max(drawdown, -portfolio.realized_pnl_today_usd)


def check_breaker(portfolio: Portfolio, now_ms: int, limits: RiskLimits) -> tuple[bool, int | None]:
    """The breaker state to persist: (tripped, until_ms); until is the next UTC midnight.

    A persisted `breaker_tripped_until_ms` later than now is honoured whatever today's numbers say,
    so a restart does not reset the breaker. An expired one is ignored: (False, None) clears it.
    """
    until = portfolio.breaker_tripped_until_ms
    if until is not None and now_ms < until:
        return True, until
    loss = daily_loss_usd(portfolio)
    limit = portfolio.start_of_day_equity_usd * limits.daily_loss_pct / 100.0
    if loss > 0 and loss >= limit * (1.0 - _AT_LIMIT):
        return True, next_utc_midnight(now_ms)
    return False, None


def trading_state_at(portfolio: Portfolio, now_ms: int, limits: RiskLimits) -> TradingState:
    """The state in force: the portfolio's, or REDUCING while the breaker is tripped."""
    if portfolio.trading_state is TradingState.ACTIVE and check_breaker(portfolio, now_ms, limits)[0]:
        return TradingState.REDUCING
    return portfolio.trading_state


@dataclass(frozen=True)
class _Case:
    """One evaluation's inputs; `market` is present once the no_market rule has passed."""

    consensus: Consensus
    portfolio: Portfolio
    markets: Mapping[str, MarketInfo]
    now_ms: int
    limits: RiskLimits
    decision_id: str

    @property
    def symbol(self) -> str:
        return self.consensus.symbol

    @property
    def market(self) -> MarketInfo:
        return self.markets[self.symbol]


_Refusal = tuple[DenialReason, str]
_Rule = Callable[[_Case], _Refusal | None]


class RiskEngine:
    """Checks a Consensus against the limits; returns an intent, a denial or, for HOLD, no action."""

    def __init__(self, limits: RiskLimits | None = None) -> None:
        self.limits = limits or RiskLimits()

    def evaluate(
        self,
        consensus: Consensus,
        portfolio: Portfolio,
        markets: Mapping[str, MarketInfo],
        now_ms: int,
        *,
        decision_id: str | None = None,
    ) -> RiskResult:
        """Apply the rules in the module docstring's order; the first failure is the denial."""
        symbol, action = consensus.symbol, consensus.action
        if action is Action.HOLD:
            return NoAction(symbol=symbol, detail=f"HOLD: {consensus.reason}")
        # Deterministic, so a resent cycle gets the same id (the venue derives client order ids).
        case = _Case(
            consensus, portfolio, markets, now_ms, self.limits, decision_id or f"{now_ms}-{symbol}-{action}"
        )
        refusal = _first_refusal(case, _COMMON_RULES)
        if refusal is None:
            return _exit(case) if action is Action.CLOSE else _entry(case, Side(action.value))
        return _denied(case, refusal)


def _first_refusal(case: _Case, rules: tuple[_Rule, ...]) -> _Refusal | None:
    return next((r for r in (rule(case) for rule in rules) if r is not None), None)


def _denied(case: _Case, refusal: _Refusal) -> Denied:
    reason, detail = refusal
    return Denied(symbol=case.symbol, action=case.consensus.action, reason=reason, detail=detail)


# -- rules for every action ----------------------------------------------------------------------


def _halted(case: _Case) -> _Refusal | None:
    if case.portfolio.trading_state is TradingState.HALTED:
        return "halted", "trading is HALTED (swarm resume to restart): no order of any kind"
    return None


def _confidence(case: _Case) -> _Refusal | None:
    confidence, floor = case.consensus.confidence, case.limits.min_confidence
    if confidence < floor:
        return "confidence", f"confidence {confidence:.1f} below the minimum {floor:.1f}"
    return None


def _no_market(case: _Case) -> _Refusal | None:
    info = case.markets.get(case.symbol)
    if info is None or info.symbol != case.symbol:
        return "no_market", f"no market information for {case.symbol}"
    return None


_COMMON_RULES: tuple[_Rule, ...] = (_halted, _confidence, _no_market)


# -- CLOSE ---------------------------------------------------------------------------------------


def _exit(case: _Case) -> Approved | Denied:
    position = case.portfolio.position(case.symbol)
    if position is None:
        return _denied(case, ("no_position", f"CLOSE: no open position in {case.symbol}"))
    mark = case.market.mark_price
    intent = OrderIntent(
        decision_id=case.decision_id,
        symbol=case.symbol,
        side=position.side.opposite,
        reduce_only=True,
        reference_price=mark,
        notional_usd=position.size_base * mark,
        size_base=position.size_base,
        leverage=None,
        stop_loss_price=None,
    )
    return Approved(intent=intent)


# -- entries: state, position, cooldown, count and correlation rules ----------------------------


def _reducing(case: _Case) -> _Refusal | None:
    if case.portfolio.trading_state is TradingState.REDUCING:
        return "reducing", "trading is REDUCING: exits only"
    return None


def _breaker(case: _Case) -> _Refusal | None:
    tripped, until = check_breaker(case.portfolio, case.now_ms, case.limits)
    if tripped:
        return "breaker", f"daily loss limit {case.limits.daily_loss_pct}% hit: no entries until {until}"
    return None


def _same_symbol(case: _Case) -> _Refusal | None:
    position = case.portfolio.position(case.symbol)
    if position is None:
        return None
    if position.side.value == case.consensus.action.value:
        return "already_open", f"a {position.side} position in {case.symbol} is already open"
    return "opposite_open", f"a {position.side} position in {case.symbol} is open: CLOSE it first"


def _cooldown(case: _Case) -> _Refusal | None:
    limits = case.limits
    for close in case.portfolio.recent_closes:
        wait = limits.cooldown_after_loss_ms if close.pnl_usd < 0 else limits.cooldown_ms
        if close.symbol == case.symbol and case.now_ms < close.closed_at_ms + wait:
            kind = "a loss" if close.pnl_usd < 0 else "a close"
            return "cooldown", f"{case.symbol} in cooldown after {kind} until {close.closed_at_ms + wait}"
    return None


def _max_positions(case: _Case) -> _Refusal | None:
    count, cap = len(case.portfolio.positions), case.limits.max_open_positions
    if count >= cap:
        return "max_positions", f"{count} positions open, at most {cap}"
    return None


def _correlated(case: _Case) -> _Refusal | None:
    limits = case.limits
    if limits.correlation_max >= 1.0:
        return None
    side = Side(case.consensus.action.value)
    mine = case.market.history
    for position in case.portfolio.positions:
        other = case.markets.get(position.symbol)
        corr = history_correlation(mine, other.history if other else None, limits)
        if corr is None:
            return "correlation_unknown", f"cannot compare {case.symbol} with open {position.symbol}"
        # Long A + short B with corr(A, B) = -0.9 is the same bet twice, like two longs at +0.9.
        if side.sign * position.side.sign * corr > limits.correlation_max:
            detail = f"{side} {case.symbol} vs open {position.side} {position.symbol}: correlation {corr:.2f}"
            return "correlated", detail
    return None


_ENTRY_RULES: tuple[_Rule, ...] = (_reducing, _breaker, _same_symbol, _cooldown, _max_positions, _correlated)


# -- entries: protection (stop, take-profit ladder) and size -------------------------------------


@dataclass(frozen=True)
class _Protection:
    stop_loss_price: float
    take_profit: tuple[TakeProfit, ...]
    clamps: tuple[Clamp, ...]


def _entry(case: _Case, side: Side) -> Approved | Denied:
    refusal = _first_refusal(case, _ENTRY_RULES)
    if refusal is not None:
        return _denied(case, refusal)
    protection = _protection(case, side)
    if not isinstance(protection, _Protection):
        return _denied(case, protection)
    return _sized(case, side, protection)


def _protection(case: _Case, side: Side) -> _Protection | _Refusal:
    limits, mark = case.limits, case.market.mark_price
    stop = case.consensus.stop_loss
    clamps: tuple[Clamp, ...] = ()
    if stop is None:
        if limits.default_stop_loss is None:
            return "no_stop_loss", "an entry needs a stop-loss"
        stop = limits.default_stop_loss
        clamps = (Clamp(field="stop_loss", asked=None, allowed=stop, limit="default_stop_loss"),)
    if not math.isfinite(stop) or stop <= 0:
        return "bad_stop_loss", f"stop-loss fraction {stop} is not a positive number"
    if stop > limits.max_stop_loss:
        return "stop_too_wide", f"stop-loss {stop:.4f} wider than the maximum {limits.max_stop_loss:.4f}"
    stop_price = mark * (1.0 - side.sign * stop)
    if (mark - stop_price) * side.sign <= 0:
        return "bad_stop_loss", f"stop-loss {stop} gives no price below/above the mark {mark}"
    ladder = _ladder(mark, side, case.consensus.take_profit)
    if ladder is None:
        return "bad_take_profit", f"take-profit {case.consensus.take_profit} gives no profitable ladder"
    return _Protection(stop_price, ladder, clamps)


def _ladder(mark: float, side: Side, fractions: tuple[float, ...]) -> tuple[TakeProfit, ...] | None:
    """Equal slices of the position at each target; None if a target is not a profitable price.

    Targets that round to the same price are merged into one rung with their slices summed.
    """
    if any(not math.isfinite(f) or f <= 0 for f in fractions) or list(fractions) != sorted(fractions):
        return None
    prices = [mark * (1.0 + side.sign * f) for f in fractions]
    if any(p <= 0 or (p - mark) * side.sign <= 0 for p in prices):
        return None
    # Sorted fractions give monotone prices, so equal prices are neighbours. A count over the
    # total, not a sum of 1/n, keeps every slice within (0, 1] whatever the rounding.
    counts = Counter(prices)
    return tuple(TakeProfit(price=p, fraction=counts[p] / len(prices)) for p in dict.fromkeys(prices))


def _sized(case: _Case, side: Side, protection: _Protection) -> Approved | Denied:
    market, clamps = case.market, list(protection.clamps)
    if not math.isfinite(case.consensus.position_size_pct):
        return _denied(
            case, ("bad_size", f"position size {case.consensus.position_size_pct} is not a number")
        )
    pct = _capped(
        case.consensus.position_size_pct,
        case.limits.max_position_pct,
        "position_size_pct",
        clamps,
        "max_position_pct",
    )
    notional = case.portfolio.equity_usd * pct / 100.0
    if market.max_order_usd is not None:
        notional = _capped(notional, market.max_order_usd, "notional_usd", clamps, "market max_order_usd")
    size = notional / market.mark_price
    if notional <= 0 or size <= 0 or notional < market.min_order_usd:
        detail = f"notional {notional:.2f} USD, the market's minimum is {market.min_order_usd}"
        return _denied(case, ("too_small", detail))
    leverage = int(
        _capped(case.limits.leverage, market.max_leverage, "leverage", clamps, "market max_leverage")
    )
    intent = OrderIntent(
        decision_id=case.decision_id,
        symbol=case.symbol,
        side=side,
        reduce_only=False,
        reference_price=market.mark_price,
        notional_usd=notional,
        size_base=size,
        leverage=leverage,
        stop_loss_price=protection.stop_loss_price,
        take_profit=protection.take_profit,
        clamps=tuple(clamps),
    )
    return Approved(intent=intent)


def _capped(value: float, cap: float, field: ClampField, clamps: list[Clamp], limit: str) -> float:
    """`value`, or `cap` with the clamp appended to `clamps` when the value is above it."""
    if value <= cap:
        return value
    clamps.append(Clamp(field=field, asked=value, allowed=cap, limit=limit))
    return cap
