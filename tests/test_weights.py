"""Track records and weights: the formula by hand, shrinkage, decay, reliability, no look-ahead."""

from __future__ import annotations

import math
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consensus.scoring import Score
from consensus.weights import LookAheadError, TrackRecord, WeightParams, compute_weights

PARAMS = WeightParams(prior_strength=20, half_life=200)


def record_of(outcomes: dict[str, list[bool]], params: WeightParams = PARAMS) -> TrackRecord:
    """A track record with each member's outcomes known one per millisecond from t = 1."""
    record = TrackRecord(params.half_life)
    for member, results in outcomes.items():
        for t, correct in enumerate(results, start=1):
            record.record_outcome(member, t, correct)
    return record


def pattern(hits: int, of: int, times: int) -> list[bool]:
    """`hits` right out of every `of`, spread evenly, repeated: a steady hit rate with no trend."""
    return [(i * hits) % of < hits for i in range(of)] * times


def test_formula_by_hand() -> None:
    params = WeightParams(prior_accuracy=0.5, prior_strength=2, half_life=1, cold_start_weight=0.2)
    record = record_of({"a": [True, False, True]}, params)
    w = compute_weights(record, 10, params)["a"]
    # Decay 1/2 per outcome: H = 1/4 + 0 + 1 = 1.25, N = 1/4 + 1/2 + 1 = 1.75.
    assert w.accuracy == pytest.approx((2 * 0.5 + 1.25) / (2 + 1.75))  # 0.6
    assert w.edge == pytest.approx(math.log(0.6 / 0.4))
    assert w.ramp == pytest.approx(1.75 / 2)
    # Nobody is established yet, so the newcomer part uses cold_start_weight.
    assert w.value == pytest.approx((1 - 0.875) * 0.2 + 0.875 * math.log(1.5))


def test_decayed_sums_match_a_direct_computation() -> None:
    results = [i % 3 != 0 for i in range(500)]
    record = record_of({"a": results})
    member = record.get("a")
    assert member is not None
    decay = 2 ** (-1 / PARAMS.half_life)
    ages = range(len(results) - 1, -1, -1)
    assert member.hits_w == pytest.approx(sum(decay**age * r for age, r in zip(ages, results, strict=True)))
    assert member.scored_w == pytest.approx(sum(decay**age for age in ages))
    assert len(member.outcomes) == 500


@pytest.mark.parametrize("rate", [(1, 2), (2, 5), (3, 10)])
def test_a_member_without_edge_or_with_a_negative_one_weighs_exactly_zero(rate: tuple[int, int]) -> None:
    hits, of = rate
    record = record_of({"a": [False, *pattern(hits, of, 60)], "b": pattern(3, 5, 60)})
    weights = compute_weights(record, 10_000, PARAMS)
    assert weights["a"].edge == 0.0
    assert weights["a"].value == 0.0
    assert weights["b"].value > 0.3


def test_new_member_with_three_lucky_hits_is_not_dominant() -> None:
    established = {"a": pattern(3, 5, 60), "b": pattern(11, 20, 15), "c": pattern(13, 25, 12)}
    record = record_of({**established, "lucky": [True, True, True]})
    weights = compute_weights(record, 10_000, PARAMS)
    values = [weights[m].value for m in established]
    # Neither ignored nor dominant: it sits among the established members (near their median).
    assert min(values) < weights["lucky"].value < max(values)
    # Unshrunk, 3 of 3 would be an infinite log-odds weight; here the prior holds it near 0.5.
    decay = 2 ** (-1 / PARAMS.half_life)
    three = 1 + decay + decay**2
    assert weights["lucky"].accuracy == pytest.approx((20 * 0.5 + three) / (20 + three))  # ~0.565


def test_member_without_history_gets_prior_weight_times_the_median_counting_edge() -> None:
    established = {"a": pattern(3, 5, 60), "b": pattern(11, 20, 15), "c": pattern(13, 25, 12)}
    record = record_of({**established, "no_edge": pattern(2, 5, 60)})
    roster = {"a": 1.0, "b": 1.0, "c": 1.0, "no_edge": 1.0, "new": 1.0, "favoured": 2.0, "muted": 0.0}
    weights = compute_weights(record, 10_000, PARAMS, roster)
    # Members that do not count (weight 0) do not drag the newcomer's prior down to 0.
    median = statistics.median(weights[m].edge for m in "abc")
    assert weights["new"].value == pytest.approx(median)
    assert weights["favoured"].value == pytest.approx(2 * median)
    assert weights["muted"].value == 0.0
    assert set(weights) == set(roster)


def test_cold_start_gives_every_member_the_same_positive_weight() -> None:
    weights = compute_weights(TrackRecord(PARAMS.half_life), 0, PARAMS, dict.fromkeys("abc", 1.0))
    assert {w.value for w in weights.values()} == {PARAMS.cold_start_weight}


def test_recent_skill_counts_more_than_old_skill() -> None:
    good, bad = pattern(7, 10, 30), pattern(3, 10, 30)
    record = record_of({"improving": bad + good, "declining": good + bad})
    weights = compute_weights(record, 10_000, PARAMS)
    assert weights["improving"].value > 0.3
    assert weights["declining"].value == 0.0


def test_abstentions_lower_reliability_and_weight_but_not_accuracy() -> None:
    outcomes = pattern(3, 5, 40)
    record = record_of({"steady": outcomes, "flaky": outcomes})
    for t in range(1, 201):
        record.record_vote("steady", t, answered=True)
        record.record_vote("flaky", t, answered=t % 2 == 0)
    weights = compute_weights(record, 10_000, PARAMS)
    steady, flaky = weights["steady"], weights["flaky"]
    assert flaky.accuracy == steady.accuracy
    assert steady.reliability == 1.0
    assert flaky.reliability < 0.6
    assert flaky.value == pytest.approx(steady.value * flaky.reliability)


def test_weights_never_use_events_after_now() -> None:
    record = record_of({"a": [True, True]})
    compute_weights(record, 2, PARAMS)
    with pytest.raises(LookAheadError):
        compute_weights(record, 1, PARAMS)
    record.record_vote("b", 5, answered=True)
    with pytest.raises(LookAheadError):
        compute_weights(record, 4, PARAMS)


def test_out_of_order_events_and_mismatched_half_life_are_refused() -> None:
    record = record_of({"a": [True, True]})
    with pytest.raises(ValueError, match="older"):
        record.record_outcome("a", 1, True)
    with pytest.raises(ValueError, match="half-life"):
        compute_weights(record, 10, WeightParams(half_life=50))


def test_a_close_score_leaves_accuracy_untouched() -> None:
    record = TrackRecord(PARAMS.half_life)
    close = Score(None, 0.0, None, 1.0, 100.0, 101.0, False, 0, 5)
    record.record_score("a", close)
    assert record.get("a") is None
    right = Score(True, 1.0, 0.09, 1.0, 100.0, 101.0, False, 0, 6)
    record.record_score("a", right)
    member = record.get("a")
    assert member is not None
    assert member.outcomes[0].known_at_ms == 6


events = st.lists(st.tuples(st.sampled_from("abc"), st.booleans(), st.booleans()), max_size=120)


@given(events, st.floats(0.05, 0.95), st.floats(0.5, 100), st.floats(1, 500))
def test_weights_are_finite_and_never_negative(
    history: list[tuple[str, bool, bool]], p0: float, k: float, half_life: float
) -> None:
    params = WeightParams(prior_accuracy=p0, prior_strength=k, half_life=half_life)
    record = TrackRecord(half_life)
    for t, (member, scored, flag) in enumerate(history):
        if scored:
            record.record_outcome(member, t, flag)
        else:
            record.record_vote(member, t, answered=flag)
    for w in compute_weights(record, len(history), params, dict.fromkeys("abcd", 1.0)).values():
        assert math.isfinite(w.value)
        assert w.value >= 0.0
        assert 0.0 < w.reliability <= 1.0
