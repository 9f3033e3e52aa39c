"""The three baselines every report sets the swarm beside, on the same data and step.

- buy-and-hold: all-in long at the first close, marked to market at every close;
- always flat: the starting equity, unchanged;
- random entries: `random_decisions` draws seeded LONG / SHORT / HOLD decisions with a stop and a
  take-profit ladder shaped like the local members'. It only produces decisions: the engine must
  feed them through the SAME risk engine and paper venue as the swarm's consensus (same limits,
  fees, slippage, stops, funding), so that the baseline differs from the swarm in the choice of
  entries alone. Its equity curve and trades come out of that venue, not from here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from consensus.decision import Action, Ballot, TradeDecision, Usage
from consensus.vote import Consensus, vote
from feeds.types import HOUR_MS, FundingRate
from swarm.members.local import DEFAULT_STOP, MAX_SIZE_PCT, RISK_PCT_AT_STOP, TARGETS_R

RANDOM_BASELINE: Final = "baseline/random"  # the name its ballots and records go under
# Comfortably above the risk engine's default min_confidence (60), so entries are not all denied.
RANDOM_CONFIDENCE: Final = 75.0

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class FundingSeries:
    """Funding prints of one market: a rate (fraction per hour) in effect from each time on."""

    timestamps_ms: Sequence[int]
    rates_per_hour: Sequence[float]

    @classmethod
    def from_prints(cls, prints: Sequence[FundingRate]) -> FundingSeries:
        """From a feed's funding prints (feeds.types.FundingRate, already per hour)."""
        return cls([p.ts_ms for p in prints], [p.rate_per_hour for p in prints])

    def rate_at(self, ts_ms: npt.NDArray[np.int64]) -> FloatArray:
        """The rate in effect at each time: the latest print at or before it, 0 before the first."""
        times = np.asarray(self.timestamps_ms, dtype=np.int64)
        rates = np.asarray(self.rates_per_hour, dtype=np.float64)
        if times.size != rates.size or np.any(np.diff(times) <= 0) or not np.all(np.isfinite(rates)):
            raise ValueError("funding prints must be finite, one rate per strictly increasing time")
        index = np.searchsorted(times, ts_ms, side="right") - 1
        return np.where(index >= 0, rates[np.maximum(index, 0)], 0.0)


@dataclass(frozen=True, slots=True)
class RandomDecision:
    """One step's draw: the decision to hand to the risk engine at `ts_ms`."""

    ts_ms: int
    decision: TradeDecision


def buy_and_hold(
    timestamps_ms: Sequence[int],
    closes: Sequence[float],
    *,
    starting_equity: float,
    fee_rate: float,
    funding: FundingSeries | None = None,
) -> FloatArray:
    """Equity of a 1x long of all the starting equity, bought at the first close.

    size = starting_equity / close[0] coins; the entry's taker fee (fee_rate x notional) is paid
    at once; equity[i] = starting_equity - fee + size x (close[i] - close[0]) - funding paid.
    The position is never closed, so no exit fee: the last point is marked to market, as the
    swarm's open positions are. Funding, as on the paper venue, is settled once per hour the
    position spans: for every UTC hour boundary crossed between two steps, size x close x the
    rate in effect (a long pays a positive rate). With a step longer than an hour the close of
    the step stands for the marks of the hours inside it. Summarise it with
    `metrics.summarize(..., starting_equity=starting_equity, in_position=[True] * n)`: the first
    point has already paid the fee, and the total return must count it.
    """
    ts, prices = _series(timestamps_ms, closes)
    if starting_equity <= 0 or fee_rate < 0:
        raise ValueError("starting_equity must be positive and fee_rate not negative")
    size = starting_equity / float(prices[0])
    equity: FloatArray = starting_equity - fee_rate * starting_equity + size * (prices - prices[0])
    if funding is not None:
        hours_crossed = np.diff(ts // HOUR_MS, prepend=ts[0] // HOUR_MS)
        payments = hours_crossed * size * prices * funding.rate_at(ts)
        equity -= np.cumsum(payments)
    return equity


def buy_and_hold_basket(
    timestamps_ms: Sequence[int],
    closes: Mapping[str, Sequence[float]],
    funding: Mapping[str, FundingSeries | None],
    *,
    starting_equity: float,
    fee_rate: float,
) -> FloatArray:
    """`buy_and_hold` of equal parts of the equity in each symbol of `closes` (its closes at each
    of the timestamps), summed."""
    total = np.zeros(len(timestamps_ms))
    for symbol, prices in closes.items():
        total += buy_and_hold(
            timestamps_ms,
            prices,
            starting_equity=starting_equity / len(closes),
            fee_rate=fee_rate,
            funding=funding.get(symbol),
        )
    return total


def always_flat(timestamps_ms: Sequence[int], *, starting_equity: float) -> FloatArray:
    """Equity of never trading: the starting equity at every step."""
    if starting_equity <= 0:
        raise ValueError("starting_equity must be positive")
    return np.full(len(timestamps_ms), float(starting_equity))


def random_decisions(
    timestamps: Sequence[int],
    seed: int,
    p_entry: float,
    *,
    stop_loss: float = DEFAULT_STOP,
    confidence: float = RANDOM_CONFIDENCE,
) -> Iterator[RandomDecision]:
    """Seeded random entries: at each step LONG or SHORT with probability p_entry/2 each, else HOLD.

    The same seed and timestamps always give the same decisions, whatever the engine does with
    them (each step draws the same two numbers whether or not it enters). Entries carry the
    local members' risk shape: stop `stop_loss` (their fallback, 2 %), targets at 1.5 R and 3 R,
    size risking 0.5 % of equity at the stop, scaled by confidence, capped at 20 % of equity.
    Decisions are never CLOSE: positions end at their stop or a target, or are refused by the
    risk engine (already open, cooldown, ...) exactly as the swarm's would be. Use a different
    seed per symbol (e.g. seed + index) so the symbols do not enter in lockstep.
    """
    if not 0.0 <= p_entry <= 1.0:
        raise ValueError(f"p_entry must be within [0, 1] (got {p_entry})")
    if not 0.0 < stop_loss < 1.0:
        raise ValueError(f"stop_loss must be a fraction of entry in (0, 1) (got {stop_loss})")
    rng = np.random.default_rng(seed)
    entry = _entry_template(stop_loss, confidence, seed)
    hold = TradeDecision(action=Action.HOLD, confidence=0.0, reasoning=f"random baseline (seed {seed})")
    for ts in timestamps:
        enter, side = rng.random(2)
        if enter < p_entry:
            action = Action.LONG if side < 0.5 else Action.SHORT
            yield RandomDecision(int(ts), entry.model_copy(update={"action": action}))
        else:
            yield RandomDecision(int(ts), hold)


def to_consensus(symbol: str, draw: RandomDecision) -> Consensus:
    """The draw as the Consensus the risk engine takes: a roster of one passes it unchanged."""
    ballot = Ballot(
        member=RANDOM_BASELINE,
        model=RANDOM_BASELINE,
        symbol=symbol,
        decision=draw.decision,
        usage=Usage(cost_usd=0.0),
    )
    return vote([ballot], {RANDOM_BASELINE: 1.0})


def _entry_template(stop_loss: float, confidence: float, seed: int) -> TradeDecision:
    size = min(MAX_SIZE_PCT, RISK_PCT_AT_STOP * (confidence / 100) / stop_loss)
    return TradeDecision(
        action=Action.LONG,
        confidence=confidence,
        reasoning=f"random baseline (seed {seed}): a coin flip, not a view",
        position_size_pct=round(size, 2),
        take_profit=tuple(round(stop_loss * r, 5) for r in TARGETS_R),
        stop_loss=stop_loss,
    )


def _series(
    timestamps_ms: Sequence[int], closes: Sequence[float]
) -> tuple[npt.NDArray[np.int64], FloatArray]:
    ts = np.asarray(timestamps_ms, dtype=np.int64)
    prices = np.asarray(closes, dtype=np.float64)
    if ts.size == 0 or ts.size != prices.size:
        raise ValueError("need one close per timestamp, at least one")
    if np.any(np.diff(ts) <= 0):
        raise ValueError("timestamps must be strictly increasing")
    if not np.all(np.isfinite(prices)) or np.any(prices <= 0):
        raise ValueError("closes must be finite and positive")
    return ts, prices
