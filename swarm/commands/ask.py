"""`swarm ask`: one fan-out of one MarketState to the roster; prints every ballot, places no order."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from feeds.state import MarketState
from swarm.config import Settings, load_settings
from swarm.feed import FeedChoice, take_market_state
from swarm.members.base import Answer, DecisionRequest, Member
from swarm.roster import build_members, parse_roster, require_keys


@dataclass(frozen=True)
class AskResult:
    """What one `ask` produced: the state, the prompt's version and every member's answer."""

    cycle_id: str
    state: MarketState
    prompt_version: str
    answers: list[Answer]


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

        show_answers(result.state, result.prompt_version, result.answers)


async def _ask(
    choice: FeedChoice, settings: Settings, symbol: str, members: Sequence[Member], use_cache: bool
) -> AskResult:
    from prompts.context import PortfolioView
    from prompts.render import render
    from swarm.fanout import ConcurrencyLimits, fan_out
    from swarm.members.cached import guarded
    from swarm.store import Store

    state = await take_market_state(choice, settings, symbol)
    prompt = render(state, PortfolioView(equity_usd=settings.paper_equity_usd), [])
    cycle_id = uuid.uuid4().hex
    request = DecisionRequest(cycle_id=cycle_id, symbol=symbol, state=state, prompt=prompt)
    store = Store.open(settings.db)
    try:
        voters = [guarded(member, store, settings, use_cache=use_cache) for member in members]
        try:
            limits = ConcurrencyLimits(per_provider=settings.provider_concurrency)
            answers = await fan_out(voters, [request], deadline_s=settings.deadline_s, limits=limits)
        finally:
            await _close_llm_clients(members)
        market_ts = int(state.timestamp.timestamp() * 1000)
        store.record_answers(cycle_id, market_ts, prompt.version, prompt.digest, answers)
    finally:
        store.close()
    return AskResult(cycle_id, state, prompt.version, answers)


async def _close_llm_clients(members: Sequence[Member]) -> None:
    if any(member.provider != "local" for member in members):
        from swarm.members.llm import close_clients

        await close_clients()


def ask_document(result: AskResult) -> dict[str, Any]:
    """The JSON document `swarm ask --json` prints."""
    return {
        "cycle_id": result.cycle_id,
        "symbol": result.state.symbol,
        "market_timestamp": result.state.timestamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "source": result.state.source,
        "prompt_version": result.prompt_version,
        "answers": [answer_row(answer) for answer in result.answers],
    }


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
