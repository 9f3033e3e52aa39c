"""The runs of one backtest, on one replay and one window: the swarm's, the random-entries
baseline's and each member's followed alone, each through the same engine, risk rules and paper
venue with a progress bar. The swarm's run records into the backtest's store; the others run on
throwaway in-memory stores and hand back their curves and closed trades.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from execution.journal import TradeRecord
from swarm.backtest import BacktestRun, ReplayFeed, run_loop
from swarm.backtest_setup import RandomMember, SimClock, wire
from swarm.config import Settings
from swarm.logs import quiet_events
from swarm.members.base import Member
from swarm.roster import close_llm_clients
from swarm.store import Store

RANDOM_SEED = 7
RANDOM_P_ENTRY = 0.02  # per step and symbol: about two entries a day on 15m bars


@dataclass(frozen=True)
class Plan:
    """What every run of one backtest shares."""

    feed: ReplayFeed
    symbols: list[str]
    settings: Settings
    start_ms: int
    end_ms: int
    step_ms: int
    anonymize: bool = False

    @property
    def steps(self) -> int:
        return (self.end_ms - self.start_ms) // self.step_ms + 1


@dataclass(frozen=True)
class SideRun:
    """A run beside the swarm's (a baseline, a member followed alone): its curve and its trades."""

    run: BacktestRun
    trades: list[TradeRecord]


@dataclass(frozen=True)
class Outcome:
    """The swarm's run (its record in `store`), the random baseline's and each member's alone."""

    swarm: BacktestRun
    random: SideRun
    alone: dict[str, SideRun]
    store: Store
    plan: Plan


async def run_all(plan: Plan, members: Sequence[Member], db: str) -> Outcome:
    """The swarm, recording into a new store at `db`, then the random baseline, then each member
    alone. The store is left open in the Outcome (the caller closes it)."""
    from swarm.members.cached import RunSpend, guarded

    clock = SimClock(plan.start_ms)
    # The store stamps its rows with the simulated clock; rebuilt by rerunning, never recovered.
    store = Store.open(db, clock=clock, throwaway=True)
    try:
        spend = RunSpend()  # the budget of a backtest: its fresh answers, as they come back
        voters = [guarded(m, store, plan.settings, use_cache=True, run_spend=spend) for m in members]
        if plan.anonymize:
            voters = anonymized(voters, plan)
        priors = {m.name: plan.settings.member(m.name).prior_weight for m in members}
        swarm = await _loop("swarm", plan, store, clock, voters, priors, "bt")
        random = await side_run("random entries", plan, _random_member(plan), "random")
        alone: dict[str, SideRun] = {}
        if len(members) == 1:  # the swarm of one is its member followed alone
            alone[members[0].name] = SideRun(swarm, _closed(store))
        else:
            for member in members:
                follow = follow_alone(member, store, plan)
                label, prefix = f"alone: {member.name}", f"alone-{member.name}"
                alone[member.name] = await side_run(label, plan, follow, prefix)
    except BaseException:
        store.close()
        raise
    finally:
        await close_llm_clients(members)
    return Outcome(swarm, random, alone, store, plan)


def follow_alone(member: Member, store: Store, plan: Plan) -> Member:
    """A local member runs again (free, and it sees its own book); an LLM member replays the
    answers it gave in the swarm's run (asking again would cost as much as the backtest)."""
    if member.provider != "local":
        from swarm.members.recorded import RecordedMember

        return RecordedMember(member.name, member.model, store.member_votes(member.name))
    return anonymized([member], plan)[0] if plan.anonymize else member


async def side_run(label: str, plan: Plan, member: Member, cycle_prefix: str) -> SideRun:
    """A roster of one through the same engine, risk rules and paper venue, on a throwaway store.

    Its cycles are not logged (warnings are): nothing they would tie together is kept."""
    clock = SimClock(plan.start_ms)
    store = Store.open("sqlite:///:memory:", clock=clock)
    try:
        with quiet_events():
            run = await _loop(label, plan, store, clock, [member], None, cycle_prefix)
        return SideRun(run, _closed(store))
    finally:
        store.close()


def _closed(store: Store) -> list[TradeRecord]:
    return [t for t in store.closed_trades() if t.exit_price is not None]


def _random_member(plan: Plan) -> RandomMember:
    times = list(range(plan.start_ms, plan.end_ms + 1, plan.step_ms))
    return RandomMember(plan.symbols, times, RANDOM_SEED, RANDOM_P_ENTRY)


async def _loop(
    label: str,
    plan: Plan,
    store: Store,
    clock: SimClock,
    members: Sequence[Member],
    priors: Mapping[str, float] | None,
    cycle_prefix: str,
) -> BacktestRun:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    step = plan.step_ms
    wiring = wire(
        store=store, clock=clock, feed=plan.feed, members=members, symbols=plan.symbols,
        settings=plan.settings, interval_ms=step, priors=priors,
    )  # fmt: skip
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"))
    with Progress(*columns, TimeElapsedColumn(), TimeRemainingColumn(), transient=False) as progress:
        task = progress.add_task(f"backtest {label}", total=plan.steps)

        def on_step(now_ms: int) -> None:
            clock.now = now_ms + step  # the next step's time stamps what the venue does before it
            progress.advance(task)

        engine, stepper = wiring.engine, wiring.stepper
        return await run_loop(
            engine, stepper, plan.start_ms, plan.end_ms, step, on_step=on_step, cycle_prefix=cycle_prefix
        )


def anonymized(members: list[Member], plan: Plan) -> list[Member]:
    from feeds.anonymize import Anonymizer
    from swarm.members.anonymized import AnonymizedMember

    firsts = [plan.feed.states[s].state_at(plan.start_ms) for s in plan.symbols]
    anonymizer = Anonymizer.from_first_states(firsts)
    return [AnonymizedMember(m, anonymizer, plan.settings.paper_equity_usd) for m in members]
