"""Scoring a ballot against the path that followed it: hand-computed cases, and never too early."""

from __future__ import annotations

import numpy as np
import pytest

from consensus import scoring
from consensus.decision import Action, TradeDecision
from consensus.scoring import score_ballot, score_ballots
from feeds.types import HOUR_MS, MINUTE_MS, Candles, Timeframe

FEE = 0.0004


def bars(*ohlc: tuple[float, float, float, float], start_ms: int = 0) -> Candles:
    """Hourly candles from (open, high, low, close) rows, the first opening at `start_ms`."""
    o, h, low, c = zip(*ohlc, strict=True)
    ts = [start_ms + i * HOUR_MS for i in range(len(ohlc))]
    return Candles.build(Timeframe.H1, ts, o, h, low, c, [1.0] * len(ohlc))


def decision(
    action: Action, confidence: float = 70.0, tp: tuple[float, ...] = (), sl: float | None = None
) -> TradeDecision:
    return TradeDecision(action=action, confidence=confidence, take_profit=tp, stop_loss=sl)


FLAT = (100.0, 100.5, 99.5, 100.0)


def test_never_scores_before_the_horizon_has_passed() -> None:
    long = decision(Action.LONG)
    path = bars(FLAT, FLAT, FLAT, (100.0, 101.0, 99.5, 101.0))
    assert score_ballot(long, 0, path.slice(0, 3), 4 * HOUR_MS, FEE) is None
    assert score_ballot(long, 0, Candles.empty(Timeframe.H1), 4 * HOUR_MS, FEE) is None
    score = score_ballot(long, 0, path, 4 * HOUR_MS, FEE)
    assert score is not None
    assert score.scored_at_ms == 4 * HOUR_MS
    assert score.exit_price == 101.0


def test_prices_after_the_horizon_are_never_used() -> None:
    within = [FLAT, FLAT, FLAT, (100.0, 101.0, 99.5, 101.0)]
    after = [(101.0, 120.0, 80.0, 110.0)]  # would hit the target and the stop, and move the close
    long = decision(Action.LONG, tp=(0.1,), sl=0.1)
    alone = score_ballot(long, 0, bars(*within), 4 * HOUR_MS, FEE)
    assert alone is not None
    assert score_ballot(long, 0, bars(*within, *after), 4 * HOUR_MS, FEE) == alone
    assert (alone.exit_price, alone.stopped, alone.targets_hit) == (101.0, False, 0)


def test_a_ballot_made_mid_bar_enters_at_the_next_open_and_waits_for_the_bar_holding_the_horizon() -> None:
    path = bars(FLAT, (101.0, 102.0, 100.0, 101.0), FLAT, FLAT, (100.0, 103.0, 99.0, 102.0))
    made_at = 30 * MINUTE_MS
    # Horizon end 4h30 falls inside the bar opening at 4h: it must have closed (at 5h).
    assert score_ballot(decision(Action.LONG), made_at, path.slice(0, 4), 4 * HOUR_MS, FEE) is None
    score = score_ballot(decision(Action.LONG), made_at, path, 4 * HOUR_MS, FEE)
    assert score is not None
    assert (score.entry_price, score.exit_price, score.scored_at_ms) == (101.0, 102.0, 5 * HOUR_MS)


def test_long_with_a_ladder_takes_each_rung_and_pays_fees_on_entry_and_exits() -> None:
    path = bars((100, 102, 99, 101), (101, 103, 100, 102), (102, 104, 101, 103), (103, 106, 102, 105))
    score = score_ballot(decision(Action.LONG, 70, tp=(0.02, 0.05), sl=0.02), 0, path, 4 * HOUR_MS, FEE)
    assert score is not None
    # Half out at +2 %, half at +5 %: gross 3.5 %; fees 0.04 % of entry 1.0 and of exit 1.035.
    assert score.pnl_pct_followed == pytest.approx(100 * (0.035 - FEE * (1 + 1.035)))
    assert (score.targets_hit, score.stopped, score.direction_correct) == (2, False, True)
    assert score.brier == pytest.approx((0.7 - 1) ** 2)
    assert score.move_pct == pytest.approx(5.0)


def test_stop_first_when_one_candle_touches_both_stop_and_target() -> None:
    path = bars((100, 103, 97, 100), FLAT, FLAT, FLAT)
    score = score_ballot(decision(Action.LONG, tp=(0.02,), sl=0.02), 0, path, 4 * HOUR_MS, FEE)
    assert score is not None
    assert (score.stopped, score.targets_hit) == (True, 0)
    assert score.pnl_pct_followed == pytest.approx(100 * (-0.02 - FEE * (1 + 0.98)))


def test_rungs_taken_before_the_stop_are_kept() -> None:
    path = bars((100, 102.5, 99.5, 102), (102, 102, 97, 98), FLAT, FLAT)
    score = score_ballot(decision(Action.LONG, tp=(0.02, 0.04), sl=0.02), 0, path, 4 * HOUR_MS, FEE)
    assert score is not None
    assert (score.stopped, score.targets_hit) == (True, 1)
    # +2 % on one half, -2 % on the other: gross 0, exit notional 1.0.
    assert score.pnl_pct_followed == pytest.approx(100 * (0.0 - FEE * 2))


def test_a_bar_opening_through_the_stop_fills_at_its_open() -> None:
    path = bars(FLAT, (95, 96, 94, 95), FLAT, FLAT)
    score = score_ballot(decision(Action.LONG, sl=0.02), 0, path, 4 * HOUR_MS, FEE)
    assert score is not None
    assert score.pnl_pct_followed == pytest.approx(100 * (-0.05 - FEE * (1 + 0.95)))


def test_short_earns_on_the_way_down_and_is_stopped_on_the_way_up() -> None:
    down = bars(FLAT, FLAT, FLAT, (100, 100, 96.5, 97))
    score = score_ballot(decision(Action.SHORT), 0, down, 4 * HOUR_MS, FEE)
    assert score is not None
    assert score.direction_correct is True
    assert score.pnl_pct_followed == pytest.approx(100 * (0.03 - FEE * (1 + 0.97)))
    up = bars((100, 101.5, 99.5, 100), FLAT, FLAT, (100, 100, 96.5, 97))
    stopped = score_ballot(decision(Action.SHORT, sl=0.01), 0, up, 4 * HOUR_MS, FEE)
    assert stopped is not None
    assert stopped.stopped
    assert stopped.direction_correct is True  # direction is judged at the horizon, PnL on the path
    assert stopped.pnl_pct_followed == pytest.approx(100 * (-0.01 - FEE * (1 + 1.01)))


def test_fees_make_a_flat_trade_lose_and_a_flat_long_wrong() -> None:
    score = score_ballot(decision(Action.LONG), 0, bars(FLAT, FLAT, FLAT, FLAT), 4 * HOUR_MS, FEE)
    assert score is not None
    assert score.pnl_pct_followed == pytest.approx(-100 * 2 * FEE)
    assert score.direction_correct is False


@pytest.mark.parametrize(("close", "right"), [(100.15, True), (99.85, True), (100.25, False), (99.7, False)])
def test_hold_is_right_inside_the_no_trade_band(close: float, right: bool) -> None:
    path = bars(FLAT, FLAT, FLAT, (100.0, 100.5, 99.5, close))
    # Band = 2 x 0.04 % fees + 0.1 % margin = 0.18 %.
    score = score_ballot(decision(Action.HOLD, 80), 0, path, 4 * HOUR_MS, FEE, band_margin=0.001)
    assert score is not None
    assert score.direction_correct is right
    assert score.brier == pytest.approx((0.8 - right) ** 2)
    assert score.pnl_pct_followed == 0.0


def test_close_is_not_scored_for_direction_and_earns_nothing() -> None:
    score = score_ballot(
        decision(Action.CLOSE, tp=(0.01,)), 0, bars(FLAT, FLAT, FLAT, FLAT), 4 * HOUR_MS, FEE
    )
    assert score is not None
    assert (score.direction_correct, score.brier, score.pnl_pct_followed) == (None, None, 0.0)


def test_a_path_starting_bars_after_the_ballot_is_refused() -> None:
    with pytest.raises(ValueError, match="more than one bar after"):
        score_ballot(decision(Action.LONG), 0, bars(FLAT, FLAT, start_ms=2 * HOUR_MS), HOUR_MS, FEE)


def test_batch_scores_equal_single_scores_across_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(7)
    n = 120
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.r_[100.0, close[:-1]]
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, n))
    candles = Candles.build(Timeframe.H1, np.arange(n) * HOUR_MS, open_, high, low, close, np.ones(n))
    actions = list(Action)
    decisions = [
        decision(actions[i % 4], 50 + i % 50, tp=(0.005, 0.01, 0.02)[: i % 4], sl=(None, 0.004, 0.01)[i % 3])
        for i in range(100)
    ]
    entries = rng.integers(0, n * HOUR_MS, 100)
    singles = [
        score_ballot(d, int(t), candles, 6 * HOUR_MS, FEE) for d, t in zip(decisions, entries, strict=True)
    ]
    monkeypatch.setattr(scoring, "_CHUNK", 7)  # force mixed chunks, some with nothing ready
    batch = score_ballots(decisions, entries, candles, 6 * HOUR_MS, FEE)
    assert batch == singles
    assert any(s is None for s in batch)
    assert any(s is not None and s.stopped for s in batch)
    assert any(s is not None and s.targets_hit for s in batch)


@pytest.mark.parametrize(
    ("close", "right"),
    [
        # band = 2 x 0.0004 fee + 0.001 margin = 0.0018
        (100.10, {Action.LONG: False, Action.SHORT: False, Action.HOLD: True}),
        (100.17, {Action.LONG: False, Action.SHORT: False, Action.HOLD: True}),
        (100.19, {Action.LONG: True, Action.SHORT: False, Action.HOLD: False}),
        (99.80, {Action.LONG: False, Action.SHORT: True, Action.HOLD: False}),
    ],
)
def test_exactly_one_action_is_right_for_any_move(close: float, right: dict[Action, bool]) -> None:
    """A move that does not pay the round trip belongs to HOLD, not to LONG or SHORT."""
    path = bars(FLAT, FLAT, FLAT, (100.0, 100.5, 99.5, close))
    for action, expected in right.items():
        score = score_ballot(decision(action), 0, path, 4 * HOUR_MS, FEE)
        assert score is not None
        assert score.direction_correct is expected, action
