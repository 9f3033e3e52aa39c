"""The track record in the store: consensus rows, due ballots, scores, TrackRecord and weights.

Every test runs on SQLite and, with SWARM_TEST_POSTGRES_URL set, on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from consensus.decision import Action
from consensus.leaderboard import SWARM
from consensus.scoring import Score
from consensus.weights import TrackRecord, WeightParams, compute_weights
from swarm.store import DueBallot, Store, StoreError
from swarm.store_schema import ConsensusVoteRow
from tests.stores import FakeClock
from tests.track_history import HOUR_MS, T0, H, abstain, ballot, consensus, score


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    opened = Store.open(db_url, clock=FakeClock(T0))
    yield opened
    opened.close()


def _score_rows(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM score")).scalar_one())


def test_consensus_round_trips_with_its_weights(store: Store) -> None:
    vote = consensus(Action.LONG, 72.5, ("a", "b"), {"a": 0.4, "b": 0.35, "c": 0.0})
    vote = vote.model_copy(update={"take_profit": (0.02, 0.05), "stop_loss": 0.015, "position_size_pct": 8.0})
    cid = store.record_consensus("c1", T0, vote)
    with Session(store.engine) as session:
        row = session.exec(select(ConsensusVoteRow)).one()
    assert row.id == cid
    assert (row.cycle_id, row.symbol, row.market_ts, row.created_at) == ("c1", "BTC", T0, T0)
    assert (row.action, row.confidence, row.agreement, row.quorum_met) == ("LONG", 72.5, 0.725, True)
    assert (row.position_size_pct, row.take_profit, row.stop_loss) == (8.0, [0.02, 0.05], 0.015)
    assert (row.members_for, row.weights) == (["a", "b"], {"a": 0.4, "b": 0.35, "c": 0.0})
    with pytest.raises(StoreError, match=r"^consensus of cycle c1: "):
        store.record_consensus("c1", T0, vote)  # one consensus per symbol and cycle


def test_given_weights_are_recorded_instead_of_the_votes(store: Store) -> None:
    store.record_consensus("c1", T0, consensus(Action.HOLD, 0.0, (), {"a": 1.0}), {"a": 0.3, "z": 0.1})
    with Session(store.engine) as session:
        assert session.exec(select(ConsensusVoteRow)).one().weights == {"a": 0.3, "z": 0.1}


def test_ballots_are_due_once_their_horizon_has_passed(store: Store) -> None:
    store.record_answers("c1", T0, "v1", "d", [ballot("a"), ballot("b", Action.SHORT, 60), abstain("c")])
    store.record_consensus("c1", T0, consensus(Action.HOLD, 0.0, (), {"a": 1.0, "b": 1.0}))
    store.record_answers("c2", T0 + HOUR_MS, "v1", "d", [ballot("a", Action.CLOSE, 90)])

    assert store.unscored_ballots(T0 + H - 1, H) == []
    due = store.unscored_ballots(T0 + H, H)
    # Abstentions have nothing to score; the consensus is the swarm's ballot.
    assert [(d.member, d.market_ts, d.decision.action) for d in due] == [
        ("a", T0, Action.LONG),
        ("b", T0, Action.SHORT),
        (SWARM, T0, Action.HOLD),
    ]
    assert due[1].decision == ballot("b", Action.SHORT, 60).vote.decision  # type: ignore[union-attr]
    assert [d.held_by_rule for d in due] == [False, False, True]
    assert len(store.unscored_ballots(T0 + HOUR_MS + H, H)) == 4


def test_scored_ballots_are_not_due_again_and_duplicates_are_skipped(store: Store) -> None:
    store.record_answers("c1", T0, "v1", "d", [ballot("a"), ballot("b")])
    store.record_answers("c2", T0 + HOUR_MS, "v1", "d", [ballot("a")])
    first = store.unscored_ballots(T0 + H, H)
    store.record_scores([(d, score(True, 1.0, 0.09)) for d in first], H)
    assert [(d.member, d.market_ts) for d in store.unscored_ballots(T0 + HOUR_MS + H, H)] == [
        ("a", T0 + HOUR_MS)
    ]
    # Another bot scoring the same ballots meanwhile: skipped, not an error, not a second row.
    store.record_scores([(d, score(False)) for d in first], H)
    assert _score_rows(store) == 2
    store.record_scores([], H)


def test_a_held_by_rule_consensus_gets_no_brier(store: Store) -> None:
    store.record_consensus("c1", T0, consensus(Action.HOLD, 0.0, (), {"a": 1.0}, quorum_met=False))
    store.record_consensus("c2", T0, consensus(Action.HOLD, 80.0, ("a",), {"a": 1.0}))
    due = store.unscored_ballots(T0 + H, H)
    store.record_scores([(d, score(True, 0.0, 0.04)) for d in due], H)
    facts = store.leaderboard_facts(T0 + H)
    briers = [c.score.brier if c.score else "unscored" for c in facts.consensus]
    assert briers == [None, 0.04]  # confidence 0 marks a rule, it is no probability


Outcomes = list[tuple[str, int, bool | None]]


def _history(store: Store) -> Outcomes:
    """Six hourly cycles: a always answers, b abstains in 2 and 4, c joins at 3; some scores.

    Returns the outcomes recorded: (member, known at, correct or None for CLOSE).
    """
    outcomes: Outcomes = []
    pattern = {"a": [True, True, False, True, None, True], "b": [False, True, None, True, None, False]}
    pattern["c"] = [None, None, None, True, False, True]
    for i in range(6):
        at = T0 + i * HOUR_MS
        answers = [ballot("a", Action.CLOSE if i == 4 else Action.LONG)]
        answers.append(abstain("b") if i in (2, 4) else ballot("b", Action.SHORT))
        if i >= 3:
            answers.append(ballot("c"))
        store.record_answers(f"c{i}", at, "v1", "d", answers)
    # Scores known in an order that differs from the cycles: b's outcomes arrive late.
    for due in store.unscored_ballots(T0 + 5 * HOUR_MS + H, H):
        i = (due.market_ts - T0) // HOUR_MS
        correct = pattern[due.member][i]
        known = due.market_ts + H + (3 * HOUR_MS if due.member == "b" else 0)
        store.record_scores([(due, score(correct, known_at=known))], H)
        outcomes.append((due.member, known, correct))
    return sorted(outcomes, key=lambda o: o[1])


def _expected(store: Store, outcomes: Outcomes, now: int, half_life: float) -> TrackRecord:
    """The TrackRecord fed by hand, in time order, with what was known at `now`."""
    record = TrackRecord(half_life)
    for member, known, correct in outcomes:
        if known <= now and correct is not None:
            record.record_outcome(member, known, correct)
    for recorded in store.answers():
        if recorded.market_ts <= now:
            vote = recorded.answer.vote
            record.record_vote(vote.member, recorded.market_ts, vote.kind == "ballot")
    return record


@pytest.mark.parametrize("now", [T0 + 5 * HOUR_MS + H, T0 + 2 * HOUR_MS + H + 1, T0 + 20 * HOUR_MS])
def test_track_record_round_trips_what_was_known_at_now(store: Store, now: int) -> None:
    outcomes = _history(store)
    got, want = store.track_record(now), _expected(store, outcomes, now, 200.0)
    assert sorted(got) == sorted(want)
    for member in want:
        assert got.get(member) == want.get(member), member


def test_abstentions_lower_reliability_only(store: Store) -> None:
    _history(store)
    b = store.track_record(T0 + 20 * HOUR_MS).get("b")
    assert b is not None
    assert (b.answered, b.abstained) == (4, 2)
    assert [o.correct for o in b.outcomes] == [False, True, True, False]


def test_member_weights_equal_compute_weights_on_the_same_outcomes(store: Store) -> None:
    outcomes = _history(store)
    now = T0 + 5 * HOUR_MS + H
    # A short prior so that a and b are established and c is still a newcomer: every branch counts.
    params = WeightParams(prior_strength=3.0, half_life=10.0)
    roster = {"a": 1.0, "b": 1.0, "c": 2.0, "new": 1.0}
    want = compute_weights(_expected(store, outcomes, now, 10.0), now, params, roster)
    got = store.member_weights(now, params, roster)
    assert got == {m: w.value for m, w in want.items()}
    assert got["new"] == got["a"]  # a newcomer starts at the reference: a's, the only one counting
    assert store.member_weights(now, params).keys() == {"a", "b", "c"}  # no roster: the record's members


def test_weights_at_a_moment_ignore_later_scores(store: Store) -> None:
    _history(store)
    early = T0 + 3 * HOUR_MS + H  # b's late outcomes are not known yet
    record = store.track_record(early)
    b = record.get("b")
    assert b is not None
    assert all(o.known_at_ms <= early for o in b.outcomes)
    assert len(b.outcomes) == 1
    compute_weights(record, early, WeightParams())  # raises LookAheadError on anything later


def test_due_ballot_carries_the_answer_id(store: Store) -> None:
    store.record_answers("c1", T0, "v1", "d", [ballot("a")])
    (due,) = store.unscored_ballots(T0 + H, H)
    assert isinstance(due, DueBallot)
    assert due.answer_id == store.answers()[0].id
    assert due.consensus_id is None
    assert isinstance(score(True), Score)
