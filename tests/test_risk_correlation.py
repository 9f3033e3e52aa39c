"""The correlation rule on real candles (bundled BTC, ETH, SOL 1h) and on constructed series."""

from __future__ import annotations

import numpy as np
import pytest

from consensus.decision import Action
from execution.correlation import history_correlation, return_correlation
from execution.risk import RiskEngine
from execution.types import Approved, MarketInfo, PriceHistory, RiskLimits, Side
from feeds.types import DAY_MS, HOUR_MS, FloatArray, Timeframe
from tests.bundled import candles
from tests.risk_cases import NOW, consensus, market, markets, portfolio, position, reason_of, walk

LIMITS = RiskLimits()


def real(symbol: str) -> PriceHistory:
    """The bundled 1h closes of `symbol`; end_ms is the last candle's close time."""
    bars = candles(symbol, Timeframe.H1)
    closes = tuple(float(c) for c in bars.close)
    return PriceHistory(interval_ms=HOUR_MS, end_ms=int(bars.ts_ms[-1]) + HOUR_MS, closes=closes)


def shuffled(history: PriceHistory, seed: int = 7) -> PriceHistory:
    """The same hourly moves in a random order: same volatility, no common timing with anything."""
    returns = np.diff(np.log(np.asarray(history.closes)))
    np.random.default_rng(seed).shuffle(returns)
    return history.model_copy(update={"closes": compound(history.closes[0], returns)})


def compound(start: float, returns: FloatArray) -> tuple[float, ...]:
    """Closes from a first close and the log returns after it."""
    return tuple(float(c) for c in start * np.exp(np.concatenate([[0.0], np.cumsum(returns)])))


def test_btc_and_eth_move_together_over_30_days() -> None:
    corr = history_correlation(real("BTC"), real("ETH"), LIMITS)
    assert corr is not None
    assert corr > 0.8


def test_a_shuffled_series_does_not_correlate() -> None:
    corr = history_correlation(real("BTC"), shuffled(real("ETH")), LIMITS)
    assert corr is not None
    assert abs(corr) < 0.1


def test_only_the_window_counts() -> None:
    # 60 days of "ETH": its first 30 days move exactly like BTC, its last 30 days are shuffled.
    n = 30 * 24
    btc = real("BTC").closes[-2 * n - 1 :]
    own = np.diff(np.log(btc))
    mixed = np.concatenate([own[:n], np.diff(np.log(shuffled(real("ETH")).closes[-n - 1 :]))])
    a = PriceHistory(interval_ms=HOUR_MS, end_ms=NOW, closes=btc)
    b = a.model_copy(update={"closes": compound(btc[0], mixed)})
    recent = history_correlation(a, b, LIMITS)
    both = history_correlation(a, b, RiskLimits(correlation_window_ms=60 * DAY_MS))
    assert recent is not None
    assert abs(recent) < 0.15
    assert both is not None
    assert both > 0.4


def test_histories_that_do_not_line_up_cannot_be_compared() -> None:
    btc, sol = real("BTC"), real("SOL")
    assert sol.end_ms != btc.end_ms  # the bundled SOL file stops 21 hours earlier
    assert history_correlation(btc, sol, LIMITS) is None
    daily = btc.model_copy(update={"interval_ms": DAY_MS})
    assert history_correlation(btc, daily, LIMITS) is None
    assert history_correlation(btc, None, LIMITS) is None
    short = btc.model_copy(update={"closes": btc.closes[-20:]})  # 19 returns, 20 needed
    assert history_correlation(btc, short, LIMITS) is None
    assert history_correlation(
        btc, btc.model_copy(update={"closes": btc.closes[-21:]}), LIMITS
    ) == pytest.approx(1)


def test_return_correlation_edges() -> None:
    up = [100.0, 101.0, 99.0, 102.0]
    assert return_correlation(up, up) == pytest.approx(1.0)
    assert return_correlation(up, [1 / c for c in up]) == pytest.approx(-1.0)
    assert return_correlation(up, [5.0, 5.0, 5.0, 5.0]) is None
    with pytest.raises(ValueError, match="length"):
        return_correlation(up, up[:3])
    with pytest.raises(ValueError, match="three"):
        return_correlation(up[:2], up[:2])
    with pytest.raises(ValueError, match="positive"):
        return_correlation(up, [1.0, 0.0, 1.0, 1.0])


def engine_markets(eth: PriceHistory) -> dict[str, MarketInfo]:
    """Real BTC and the given ETH history; the other markets are unrelated random walks."""
    return markets(
        market("BTC").model_copy(update={"history": real("BTC")}),
        market("ETH").model_copy(update={"history": eth}),
    )


@pytest.mark.parametrize(
    ("open_side", "action", "reason"),
    [
        (Side.LONG, Action.LONG, "correlated"),
        (Side.SHORT, Action.SHORT, "correlated"),
        (Side.LONG, Action.SHORT, None),  # a hedge, not the same bet twice
        (Side.SHORT, Action.LONG, None),
    ],
)
def test_engine_refuses_a_second_bet_on_a_correlated_market(
    open_side: Side, action: Action, reason: str | None
) -> None:
    held = portfolio(positions=(position("BTC", open_side),))
    result = RiskEngine().evaluate(consensus(action, "ETH"), held, engine_markets(real("ETH")), NOW)
    assert reason_of(result) == reason


def test_engine_lets_an_uncorrelated_market_through() -> None:
    held = portfolio(positions=(position("BTC"),))
    infos = engine_markets(shuffled(real("ETH")))
    assert isinstance(RiskEngine().evaluate(consensus(Action.LONG, "ETH"), held, infos, NOW), Approved)


def test_anticorrelated_markets_count_on_opposite_sides() -> None:
    btc = walk(1)
    inverse = tuple(1 / c for c in btc)  # returns exactly negated: correlation -1
    infos = markets(market("BTC", closes=btc), market("ETH", closes=inverse))
    held = portfolio(positions=(position("BTC"),))
    short = RiskEngine().evaluate(consensus(Action.SHORT, "ETH"), held, infos, NOW)
    assert reason_of(short) == "correlated"
    assert isinstance(RiskEngine().evaluate(consensus(Action.LONG, "ETH"), held, infos, NOW), Approved)


def test_unknown_correlation_is_denied_unless_the_rule_is_off() -> None:
    infos = markets(market("ETH").model_copy(update={"history": None}))
    held = portfolio(positions=(position("BTC"),))
    result = RiskEngine().evaluate(consensus(Action.LONG, "ETH"), held, infos, NOW)
    assert reason_of(result) == "correlation_unknown"
    off = RiskEngine(RiskLimits(correlation_max=1.0))
    assert isinstance(off.evaluate(consensus(Action.LONG, "ETH"), held, infos, NOW), Approved)
