"""Decisions, ballots, answer parsing, track record, weights, the weighted vote and the leaderboard."""

from consensus.decision import Abstain, AbstainReason, Action, Ballot, TradeDecision, Usage, Vote
from consensus.leaderboard import LeaderboardRow, leaderboard, wilson_interval
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
    "LeaderboardRow",
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
    "leaderboard",
    "parse_decision",
    "score_ballot",
    "score_ballots",
    "vote",
    "weighted_median",
    "wilson_interval",
]
