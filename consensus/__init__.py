"""Decisions, ballots, answer parsing, track record, weights and the weighted vote."""

from consensus.decision import Abstain, AbstainReason, Action, Ballot, TradeDecision, Usage, Vote

__all__ = ["Abstain", "AbstainReason", "Action", "Ballot", "TradeDecision", "Usage", "Vote"]
