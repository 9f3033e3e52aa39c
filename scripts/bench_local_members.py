"""How fast the local quant members vote: a backtest calls each ~50,000 times.

    .venv/bin/python scripts/bench_local_members.py [calls]

Prints, per member, microseconds per vote on a state that gives a trade and on one that gives
HOLD, through `LocalMember.vote` (what a backtest calls) and through the async `decide`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from feeds.state import FundingState, MarketState, OpenInterestState
from prompts.types import RenderedPrompt
from swarm.members.base import DecisionRequest
from swarm.members.local import LOCAL_MEMBERS, LocalMember, local_member
from tests.states import full_state, indicators


def _trading_state() -> MarketState:
    """A state on which every local member trades: bullish stacks, oversold RSI, crowded longs."""
    tfs = {tf: indicators(tf, histogram=50.0, rsi_14=22.0) for tf in ("15m", "1h", "4h", "1d")}
    return full_state(
        indicators=tfs,
        funding=FundingState(current=0.0001, avg_8h=0.0001, avg_24h=0.0001),
        open_interest=OpenInterestState(
            current_base=3e4, current_usd=3.4e9, change_1h_pct=1.0, change_24h_pct=6.0
        ),
    )


def _vote_us(member: LocalMember, state: MarketState, calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        member.vote(state)
    return (time.perf_counter() - started) / calls * 1e6


async def _decide_us(member: LocalMember, request: DecisionRequest, calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        await member.decide(request)
    return (time.perf_counter() - started) / calls * 1e6


def main() -> None:
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    states = {"trade": _trading_state(), "hold": full_state()}
    print(f"{'member':<16}{'state':<8}{'action':<8}{'vote us':>9}{'decide us':>11}")
    for name in LOCAL_MEMBERS:
        member = local_member(name)
        for label, state in states.items():
            request = DecisionRequest("bench", "BTC", state, RenderedPrompt("", "", "v1"))
            action = member.vote(state).decision.action.value
            vote_us = _vote_us(member, state, calls)
            decide_us = anyio.run(_decide_us, member, request, calls)
            print(f"{name:<16}{label:<8}{action:<8}{vote_us:>9.1f}{decide_us:>11.1f}")


if __name__ == "__main__":
    main()
