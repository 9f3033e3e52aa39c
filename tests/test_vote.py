"""The weighted vote: hand-computed consensus, HOLD rules, the roster of one, weighted medians, proof."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consensus.decision import Abstain, Action, Ballot, TradeDecision
from consensus.vote import VoteParams, median_ladder, vote, weighted_median
from scripts.bench_consensus import simulate


def ballot(
    member: str,
    action: Action,
    confidence: float = 60.0,
    size: float = 0.0,
    tp: tuple[float, ...] = (),
    sl: float | None = None,
) -> Ballot:
    decision = TradeDecision(
        action=action, confidence=confidence, position_size_pct=size, take_profit=tp, stop_loss=sl
    )
    return Ballot(member=member, model=f"test/{member}", symbol="BTC", decision=decision)


def abstain(member: str) -> Abstain:
    return Abstain(member=member, model=f"test/{member}", symbol="BTC", reason="timeout")


def test_hand_computed_consensus() -> None:
    votes = [
        ballot("a", Action.LONG, 80, size=10, tp=(0.02, 0.04), sl=0.02),
        ballot("b", Action.SHORT, 60, size=30, tp=(0.01,), sl=0.01),
        ballot("c", Action.LONG, 40, size=20, tp=(0.03,)),
        abstain("d"),
    ]
    result = vote(votes, {"a": 1.0, "b": 0.5, "c": 1.0, "d": 2.0})
    # LONG 1 x 0.8 + 1 x 0.4 = 1.2; SHORT 0.5 x 0.6 = 0.3; agreement 1.2 / 1.5.
    assert result.action is Action.LONG
    assert result.agreement == pytest.approx(0.8)
    assert result.confidence == pytest.approx(80.0)
    # Medians over a (vote 0.8) and c (0.4): a's values carry more than half the weight.
    assert result.position_size_pct == 10
    assert result.stop_loss == 0.02  # c's "no stop" has a third of the weight
    # Two rungs (a's length outweighs c's); c's single target read as (0.03, 0.03).
    assert result.take_profit == (0.02, 0.04)
    assert result.members_for == ("a", "c")
    assert result.ballots == tuple(votes[:3])
    assert result.abstentions == (votes[3],)
    assert result.quorum_met


def test_a_tie_holds() -> None:
    result = vote([ballot("a", Action.LONG, 70), ballot("b", Action.SHORT, 70)], {"a": 0.3, "b": 0.3})
    assert result.action is Action.HOLD
    assert result.confidence == 0.0
    assert "tie" in result.reason
    assert result.agreement == pytest.approx(0.5)


def test_agreement_below_threshold_holds() -> None:
    votes = [ballot("a", Action.LONG), ballot("b", Action.LONG), ballot("c", Action.SHORT)]
    weights = {"a": 1.0, "b": 1.0, "c": 1.0}
    assert vote(votes, weights, VoteParams(threshold=0.7)).action is Action.HOLD
    assert vote(votes, weights, VoteParams(threshold=0.6)).action is Action.LONG


def test_no_quorum_holds_and_says_so() -> None:
    votes = [ballot("a", Action.LONG, 90), abstain("b"), abstain("c")]
    weights = {"a": 1.0, "b": 1.0, "c": 1.0}
    result = vote(votes, weights, VoteParams(quorum=2))
    assert (result.action, result.quorum_met) == (Action.HOLD, False)
    assert "quorum" in result.reason
    assert vote(votes, weights, VoteParams(quorum=1)).action is Action.LONG


def test_zero_total_weight_holds_with_a_reason() -> None:
    result = vote([ballot("a", Action.LONG), ballot("b", Action.LONG)], {"a": 0.0, "b": 0.0})
    assert result.action is Action.HOLD
    assert "zero total weight" in result.reason


def test_hold_can_win_the_vote_and_carries_its_agreement() -> None:
    votes = [ballot("a", Action.HOLD, 80), ballot("b", Action.HOLD, 80), ballot("c", Action.LONG, 40)]
    result = vote(votes, {"a": 1.0, "b": 1.0, "c": 1.0})
    assert result.action is Action.HOLD
    assert result.confidence == pytest.approx(100 * 1.6 / 2.0)
    assert result.members_for == ("a", "b")


def test_invalid_votes_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        vote([], {})
    with pytest.raises(ValueError, match="twice"):
        vote([ballot("a", Action.LONG), ballot("a", Action.SHORT)], {"a": 1.0})
    with pytest.raises(ValueError, match="no valid weight"):
        vote([ballot("a", Action.LONG), ballot("b", Action.LONG)], {"a": 1.0})
    with pytest.raises(ValueError, match="no valid weight"):
        vote([ballot("a", Action.LONG), ballot("b", Action.LONG)], {"a": 1.0, "b": -0.1})
    eth = Ballot(
        member="b", model="m", symbol="ETH", decision=TradeDecision(action=Action.LONG, confidence=50)
    )
    with pytest.raises(ValueError, match="several symbols"):
        vote([ballot("a", Action.LONG), eth], {"a": 1.0, "b": 1.0})


fractions = st.floats(0.001, 0.5, allow_nan=False)
decisions = st.builds(
    TradeDecision,
    action=st.sampled_from(Action),
    confidence=st.floats(0, 100),
    reasoning=st.text(max_size=20),
    position_size_pct=st.floats(0, 1e6),
    take_profit=st.lists(fractions, max_size=4).map(lambda xs: tuple(sorted(xs))),
    stop_loss=st.none() | fractions,
)


@given(decisions, st.none() | st.floats(0, 10))
def test_a_roster_of_one_returns_its_decision_unchanged(
    decision: TradeDecision, weight: float | None
) -> None:
    only = Ballot(member="solo", model="m", symbol="SOL", decision=decision)
    result = vote([only], {} if weight is None else {"solo": weight}, VoteParams(threshold=0.9, quorum=3))
    assert result.action is decision.action
    assert result.confidence == decision.confidence
    assert result.position_size_pct == decision.position_size_pct
    assert result.take_profit == decision.take_profit
    assert result.stop_loss == decision.stop_loss
    assert result.ballots == (only,)


def test_a_roster_of_one_that_abstained_holds() -> None:
    result = vote([abstain("solo")], {})
    assert (result.action, result.quorum_met) == (Action.HOLD, False)
    assert "abstained" in result.reason


@pytest.mark.parametrize(
    ("values", "weights", "median"),
    [
        ([3.0, 1.0, 2.0], [1.0, 1.0, 1.0], 2.0),
        ([1.0, 2.0], [1.0, 1.0], 1.0),  # an exact half/half split takes the lower value
        ([1.0, 2.0, 3.0], [0.1, 0.1, 5.0], 3.0),
        ([0.1, 0.2, 0.3], [0.1, 0.2, 0.3], 0.2),  # half reached exactly at 0.2 despite rounding
        ([5.0, math.inf], [1.0, 2.0], math.inf),
    ],
)
def test_weighted_median_by_hand(values: list[float], weights: list[float], median: float) -> None:
    assert weighted_median(values, weights) == median


@given(st.lists(st.tuples(st.floats(-1e6, 1e6), st.floats(0.001, 1e3)), min_size=1, max_size=30))
def test_weighted_median_splits_the_weight_in_half(pairs: list[tuple[float, float]]) -> None:
    values, weights = [v for v, _ in pairs], [w for _, w in pairs]
    m = weighted_median(values, weights)
    total = sum(weights)
    assert m in values
    assert sum(w for v, w in pairs if v < m) < total / 2 * (1 + 1e-9)
    assert sum(w for v, w in pairs if v <= m) >= total / 2 * (1 - 1e-9)


ladders = st.lists(fractions, max_size=5).map(lambda xs: tuple(sorted(xs)))


@given(st.lists(st.tuples(ladders, st.floats(0.01, 10)), min_size=1, max_size=8))
def test_median_ladder_is_a_valid_ascending_ladder(pairs: list[tuple[tuple[float, ...], float]]) -> None:
    ladder = median_ladder([t for t, _ in pairs], [w for _, w in pairs])
    assert list(ladder) == sorted(ladder)
    assert TradeDecision(action=Action.LONG, confidence=50, take_profit=ladder).take_profit == ladder
    every_rung = {x for t, _ in pairs for x in t}
    assert set(ladder) <= every_rung


def test_median_ladder_resamples_to_the_median_length() -> None:
    # Lengths 4, 2 and 1 weighing 1, 1.5 and 1: two rungs. Read at the midpoints of the position's
    # halves, (1, 2, 3, 4) % becomes (2, 4) % and (5) % becomes (5, 5) %; then rung-wise medians.
    ladders = [(0.01, 0.02, 0.03, 0.04), (0.015, 0.03), (0.05,)]
    assert median_ladder(ladders, [1.0, 1.5, 1.0]) == (0.02, 0.04)
    assert median_ladder([(), (0.05,)], [2.0, 1.0]) == ()


def test_track_record_weighting_beats_equal_weights_and_nears_the_ceiling() -> None:
    """The bench's proof, smaller: 2,000 decisions, measured from 500, one seed."""
    run = simulate(seed=0, decisions=2_000)
    ours, ceiling, equal = run.accuracy(run.ours), run.accuracy(run.ceiling), run.accuracy(run.equal)
    assert ceiling - ours < 0.03  # 1.5 points over 4,500 decisions in the bench
    assert ours > equal + 0.03
    drifted = simulate(seed=0, decisions=2_000, drift_at=1_000)
    drop = drifted.drop_after(1_000)
    assert drop is not None
    assert drop <= 200
    assert drifted.first_share[1_000] > 1 / 7  # above an equal share when the fall begins
