"""Prove the track-record-weighted vote on simulated members of known accuracy (run by hand).

Usage: .venv/bin/python scripts/bench_consensus.py [SEEDS]   (default 20)

Seven members, independently right with probability 0.58, 0.57, 0.56, 0.55, 0.50, 0.45, 0.40,
vote LONG or SHORT with a constant confidence of 60 on a seeded sequence of 5,000 up/down
outcomes. Before each decision the weights are computed by `compute_weights` from the outcomes of
the earlier decisions only (decision t is known one step later; the track record refuses
anything newer than `now`), and the ballots go through the product's `vote`. Accuracy is measured
on decisions 500-5,000 (a HOLD counts as a miss) and averaged over seeds, since one seed's 4,500
decisions carry about 0.7 point of noise.

Compared with: the ceiling (weighted majority with the true accuracies' log-odds weights, clipped
at 0), the equal-weight majority and the best single member. Drift: member 1 falls from 0.58 to
0.40 at decision 2,500; reported is how many decisions later its weight first falls below an
equal share (1/7 of the total) for good (to the end of the run).
"""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from consensus.decision import Action, Ballot, TradeDecision
from consensus.scoring import score_ballots
from consensus.vote import VoteParams, vote
from consensus.weights import TrackRecord, WeightParams, compute_weights
from feeds.types import HOUR_MS, Candles, Timeframe

ACCURACIES = (0.58, 0.57, 0.56, 0.55, 0.50, 0.45, 0.40)
DECISIONS = 5_000
MEASURED_FROM = 500
DRIFT_AT = 2_500
DRIFT_TO = 0.40
CONFIDENCE = 60.0
STEP_MS = HOUR_MS  # one decision per step; each is scored one step later
# A binary call must always be made, as the ceiling and the majorities do: plain weighted majority.
MAJORITY = VoteParams(threshold=0.5, quorum=2)

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Run:
    """One seeded simulation: per decision, whether each rule was right, and member 1's share."""

    ours: BoolArray
    ours_acted: BoolArray  # with the product's default VoteParams: did it act at all
    ours_strict: BoolArray  # ... and was it right
    ceiling: BoolArray
    equal: BoolArray
    members: npt.NDArray[np.bool_]  # (decisions, members)
    first_share: npt.NDArray[np.float64]  # member 1's weight / total weight, per decision

    def accuracy(self, flags: BoolArray, start: int = MEASURED_FROM) -> float:
        return float(flags[start:].mean())

    def drop_after(self, at: int) -> int | None:
        """Decisions after `at` until member 1's share falls below an equal share for good.

        "For good": it stays below until the end of the run; None if it is above at the end.
        """
        above = np.flatnonzero(self.first_share[at:] >= 1.0 / self.members.shape[1])
        if above.size and above[-1] == self.first_share.shape[0] - at - 1:
            return None
        return int(above[-1]) + 1 if above.size else 0


def simulate(
    seed: int,
    decisions: int = DECISIONS,
    accuracies: Sequence[float] = ACCURACIES,
    drift_at: int | None = None,
    params: WeightParams | None = None,
) -> Run:
    """Run the seeded vote sequence through compute_weights and vote, as the engine would."""
    params = params or WeightParams()
    rng = np.random.default_rng(seed)
    truth = np.tile(np.asarray(accuracies), (decisions, 1))
    if drift_at is not None:
        truth[drift_at:, 0] = DRIFT_TO
    up = rng.random(decisions) < 0.5
    right = rng.random(truth.shape) < truth
    says_long = right == up[:, None]
    ours, acted, strict, share = _run_vote(says_long, up, right, params)
    return Run(ours, acted, strict, _ceiling(says_long, up, accuracies), _equal(says_long, up), right, share)


def _run_vote(
    says_long: BoolArray, up: BoolArray, right: BoolArray, params: WeightParams
) -> tuple[BoolArray, BoolArray, BoolArray, npt.NDArray[np.float64]]:
    names = [f"m{i + 1}" for i in range(says_long.shape[1])]
    ballots = {(name, long): _ballot(name, long) for name in names for long in (True, False)}
    record = TrackRecord(params.half_life)
    ours, acted, strict = (np.zeros(len(up), dtype=np.bool_) for _ in range(3))
    share = np.zeros(len(up))
    for t in range(len(up)):
        now = t * STEP_MS
        if t:  # decision t-1's outcome became known now, not earlier
            for i, name in enumerate(names):
                record.record_outcome(name, now, bool(right[t - 1, i]))
        weights = {
            m: w.value for m, w in compute_weights(record, now, params, dict.fromkeys(names, 1.0)).items()
        }
        share[t] = weights[names[0]] / sum(weights.values())
        votes = [ballots[name, bool(says_long[t, i])] for i, name in enumerate(names)]
        wanted = Action.LONG if up[t] else Action.SHORT
        ours[t] = vote(votes, weights, MAJORITY).action is wanted
        product = vote(votes, weights).action
        acted[t], strict[t] = product is not Action.HOLD, product is wanted
        for name in names:
            record.record_vote(name, now, answered=True)
    return ours, acted, strict, share


def _ballot(member: str, long: bool) -> Ballot:
    action = Action.LONG if long else Action.SHORT
    return Ballot(
        member=member, model="sim", symbol="SIM", decision=TradeDecision(action=action, confidence=CONFIDENCE)
    )


def _majority(says_long: BoolArray, up: BoolArray, weights: npt.NDArray[np.float64]) -> BoolArray:
    score = np.where(says_long, 1.0, -1.0) @ weights
    # A zero score (a tie) makes no call: a miss, as a HOLD is for the consensus.
    return np.where(up, score > 0, score < 0)


def _ceiling(says_long: BoolArray, up: BoolArray, accuracies: Sequence[float]) -> BoolArray:
    p = np.asarray(accuracies)
    return _majority(says_long, up, np.maximum(0.0, np.log(p / (1 - p))))


def _equal(says_long: BoolArray, up: BoolArray) -> BoolArray:
    return _majority(says_long, up, np.ones(says_long.shape[1]))


def exact_ceiling(accuracies: Sequence[float] = ACCURACIES) -> float:
    """Expected accuracy of the clipped log-odds weighted majority, summed over all 2^n patterns."""
    p = np.asarray(accuracies)
    weights = np.maximum(0.0, np.log(p / (1 - p)))
    n = len(p)
    patterns = (np.arange(2**n)[:, None] >> np.arange(n)) & 1  # 1 = that member is right
    probability = np.prod(np.where(patterns == 1, p, 1 - p), axis=1)
    score = np.where(patterns == 1, 1.0, -1.0) @ weights
    return float(probability @ np.where(score > 0, 1.0, np.where(score == 0, 0.5, 0.0)))


def _row(label: str, values: Sequence[float], ceiling: Sequence[float] | None = None) -> str:
    mean = 100 * float(np.mean(values))
    spread = f"{100 * min(values):.2f} - {100 * max(values):.2f}"
    if ceiling is None:
        return f"| {label} | {mean:.2f} | {spread} | |"
    gaps = 100 * (np.asarray(ceiling) - np.asarray(values))
    return f"| {label} | {mean:.2f} | {spread} | {gaps.mean():.2f} (worst {gaps.max():.2f}) |"


def time_scoring(ballots: int = 50_000) -> float:
    """Seconds to score `ballots` mixed ballots (ladders, stops, all actions) on 1h candles, 4h horizon."""
    rng = np.random.default_rng(0)
    bars = ballots + 8
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.005, bars)))
    open_ = np.r_[100.0, close[:-1]]
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.003, bars))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.003, bars))
    candles = Candles.build(Timeframe.H1, np.arange(bars) * HOUR_MS, open_, high, low, close, np.ones(bars))
    actions = list(Action)
    decisions = [
        TradeDecision(
            action=actions[i % 4],
            confidence=60,
            take_profit=(0.005, 0.01, 0.02)[: i % 4],
            stop_loss=(None, 0.005, 0.01)[i % 3],
        )
        for i in range(ballots)
    ]
    start = time.perf_counter()
    scores = score_ballots(decisions, np.arange(ballots) * HOUR_MS, candles, 4 * HOUR_MS)
    elapsed = time.perf_counter() - start
    assert all(s is not None for s in scores)
    return elapsed


def main() -> None:
    seeds = range(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
    params = WeightParams()
    start = time.perf_counter()
    runs = [simulate(seed, params=params) for seed in seeds]
    drifts = [simulate(seed, drift_at=DRIFT_AT, params=params).drop_after(DRIFT_AT) for seed in seeds]
    elapsed = time.perf_counter() - start

    ceiling = [r.accuracy(r.ceiling) for r in runs]
    print(f"\nDecisions {MEASURED_FROM:,}-{DECISIONS:,}, mean of {len(seeds)} seeds (0..{len(seeds) - 1}),")
    print(f"confidence {CONFIDENCE:.0f}, {params!r}\n")
    print("| rule | accuracy % | seeds min - max | gap to ceiling, points |")
    print("|---|---|---|---|")
    print(f"| ceiling, expected (exact sum over outcomes) | {100 * exact_ceiling():.2f} | | |")
    print(_row("ceiling: clipped log-odds of the true accuracies", ceiling))
    print(_row("equal-weight majority", [r.accuracy(r.equal) for r in runs], ceiling))
    print(_row("best single member (0.58)", [r.accuracy(r.members[:, 0]) for r in runs], ceiling))
    print(
        _row("track-record-weighted consensus (threshold 0.5)", [r.accuracy(r.ours) for r in runs], ceiling)
    )
    default = VoteParams()
    acted = [r.accuracy(r.ours_acted) for r in runs]
    when_acting = [
        float(r.ours_strict[MEASURED_FROM:].sum() / r.ours_acted[MEASURED_FROM:].sum()) for r in runs
    ]
    print(_row(f"... default threshold {default.threshold}: share of decisions acted on", acted))
    print(_row(f"... default threshold {default.threshold}: accuracy when acting", when_acting))

    found = [d for d in drifts if d is not None]
    print(f"\nDrift: member 1 falls 0.58 -> {DRIFT_TO} at decision {DRIFT_AT:,}; decisions until its weight")
    print(f"drops below an equal share (1/{len(ACCURACIES)}) for good, per seed: {drifts}")
    print("(0: a bad run had already put it below an equal share before the fall)")
    if found:
        print(f"mean {np.mean(found):.0f}, worst {max(found)}; never: {len(drifts) - len(found)} seed(s)")
    print(f"\nscore_ballots: 50,000 ballots (1h candles, 4h horizon) in {time_scoring():.2f} s")
    print(f"{platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"run time {elapsed:.1f} s for {2 * len(seeds)} runs of {DECISIONS:,} decisions")


if __name__ == "__main__":
    main()
