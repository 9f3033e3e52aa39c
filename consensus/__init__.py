"""Decisions, ballots, answer parsing, track record, weights and the weighted vote."""

from consensus.decision import Abstain, AbstainReason, Action, Ballot, TradeDecision, Usage, Vote
from consensus.parse import ParseFailure, decision_json_schema, parse_decision
from consensus.scoring import Score, score_ballot, score_ballots
from consensus.vote import Consensus, VoteParams, vote, weighted_median
from consensus.weights import (
    LookAheadError,
    MemberRecord,
    TrackRecord,
    Weight,
    WeightParams,
    compute_weights,
)

__all__ = [
    "Abstain",
    "AbstainReason",
    "Action",
    "Ballot",
    "Consensus",
    "LookAheadError",
    "MemberRecord",
    "ParseFailure",
    "Score",
    "TrackRecord",
    "TradeDecision",
    "Usage",
    "Vote",
    "VoteParams",
    "Weight",
    "WeightParams",
    "compute_weights",
    "decision_json_schema",
    "parse_decision",
    "score_ballot",
    "score_ballots",
    "vote",
    "weighted_median",
]
