"""`swarm ask`: one fan-out of one MarketState to the roster; prints every ballot, places no order."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from consensus.vote import Consensus
from feeds.sources.base import Source
from feeds.state import MarketState
from prompts.types import RenderedPrompt
from swarm.config import Settings, load_settings
from swarm.feed import FeedChoice, market_state_from, open_source
from swarm.members.base import Answer, DecisionRequest, Member
from swarm.roster import build_members, close_llm_clients, parse_roster, require_keys

if TYPE_CHECKING:
    from swarm.store import Store


@dataclass(frozen=True)
class AskResult:
    """What one `ask` produced: the state, every member's answer and the weighted consensus."""

    cycle_id: str
    state: MarketState
    prompt_version: str
    answers: list[Answer]
    consensus: Consensus
    scored: int  # earlier ballots whose horizon had passed by now, scored before this ask


def run_ask(
    symbol: str,
    *,
    models: str,
    source: str,
    at: str | None,
    data_dir: Path | None,
    deadline_s: float | None,
    use_cache: bool | None,
    as_json: bool,
) -> None:
    choice = FeedChoice.parse(source, at, data_dir)
    overrides: dict[str, Any] = choice.settings_overrides()
    if deadline_s is not None:
        overrides["deadline_s"] = deadline_s
    settings = load_settings(**overrides)
    members = build_members(parse_roster(models), settings)
    require_keys(members)  # before any work: a missing key is not discovered mid-run
    # Replays ask the same prompts again and again: answer them from the cache unless told not to.
    cache = use_cache if use_cache is not None else choice.source == "replay"
    result = anyio.run(_ask, choice, settings, symbol.upper(), members, cache)
    if as_json:
        print(json.dumps(ask_document(result), indent=2))
    else:
        from swarm.views import show_answers

        show_answers(result.state, result.prompt_version, result.answers, result.consensus)


async def _ask(
    choice: FeedChoice, settings: Settings, symbol: str, members: Sequence[Member], use_cache: bool
) -> AskResult:
    from swarm.store import Store

    store = Store.open(settings.db)
    try:
        async with open_source(choice.source, settings) as source:
            state = await market_state_from(source, symbol, choice.at_ms)
            market_ts = int(state.timestamp.timestamp() * 1000)
            # Score what is due first, so this cycle's weights include every outcome known by now.
            scored = await _score_due(store, source, market_ts, settings)
        answers, prompt, cycle_id = await _fan_out(state, members, store, settings, use_cache)
        store.record_answers(cycle_id, market_ts, prompt.version, prompt.digest, answers)
        consensus = _vote(store, settings, members, answers, market_ts)
        store.record_consensus(cycle_id, market_ts, consensus, consensus.weights)
    finally:
        store.close()
    return AskResult(cycle_id, state, prompt.version, answers, consensus, scored)


async def _score_due(store: Store, source: Source, now_ms: int, settings: Settings) -> int:
    from swarm.scoring_job import score_due

    report = await score_due(store, source, now_ms, settings.score_horizon_ms)
    return report.scored


async def _fan_out(
    state: MarketState, members: Sequence[Member], store: Store, settings: Settings, use_cache: bool
) -> tuple[list[Answer], RenderedPrompt, str]:
    from prompts.context import PortfolioView
    from prompts.render import render
    from swarm.fanout import ConcurrencyLimits, fan_out
    from swarm.members.cached import guarded

    prompt = render(state, PortfolioView(equity_usd=settings.paper_equity_usd), [])
    cycle_id = uuid.uuid4().hex
    request = DecisionRequest(cycle_id=cycle_id, symbol=state.symbol, state=state, prompt=prompt)
    voters = [guarded(member, store, settings, use_cache=use_cache) for member in members]
    limits = ConcurrencyLimits(per_provider=settings.provider_concurrency)
    try:
        answers = await fan_out(voters, [request], deadline_s=settings.deadline_s, limits=limits)
    finally:
        await close_llm_clients(members)
    return answers, prompt, cycle_id


def _vote(
    store: Store, settings: Settings, members: Sequence[Member], answers: Sequence[Answer], now_ms: int
) -> Consensus:
    from consensus.vote import vote

    priors = {member.name: settings.member(member.name).prior_weight for member in members}
    weights = store.member_weights(now_ms, prior_weights=priors)
    return vote([answer.vote for answer in answers], weights)


def ask_document(result: AskResult) -> dict[str, Any]:
    """The JSON document `swarm ask --json` prints."""
    return {
        "cycle_id": result.cycle_id,
        "symbol": result.state.symbol,
        "market_timestamp": result.state.timestamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "source": result.state.source,
        "prompt_version": result.prompt_version,
        "answers": [answer_row(answer) for answer in result.answers],
        "consensus": consensus_row(result.consensus),
        "scored_before": result.scored,
    }


def consensus_row(consensus: Consensus) -> dict[str, Any]:
    return consensus.model_dump(mode="json", exclude={"ballots", "abstentions", "symbol"})


def answer_row(answer: Answer) -> dict[str, Any]:
    vote = answer.vote
    row: dict[str, Any] = {"member": vote.member, "model": vote.model, "kind": vote.kind}
    if vote.kind == "ballot":
        row |= vote.decision.model_dump(mode="json")
    else:
        row |= {"reason": vote.reason, "detail": vote.detail}
    usage = vote.usage
    return row | {
        "latency_ms": round(usage.latency_ms, 1),
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "cost_usd": usage.cost_usd,
        "cached": answer.cached,
    }
