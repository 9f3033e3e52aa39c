"""Decisions, ballots, answer parsing, track record, weights and the weighted vote."""

from consensus.decision import Abstain, AbstainReason, Action, Ballot, TradeDecision, Usage, Vote
from consensus.parse import ParseFailure, decision_json_schema, parse_decision

__all__ = [
    "Abstain",
    "AbstainReason",
    "Action",
    "Ballot",
    "ParseFailure",
    "TradeDecision",
    "Usage",
    "Vote",
    "decision_json_schema",
    "parse_decision",
]
