"""The engine's Recorder on the store: answers, consensus and risk results in, weights out.

Weights change only when new outcomes are scored (their decay is per scored event), so they are
computed after each scoring run that scored something, not every cycle.

    StoreRecorder     live: every write committed at once, scoring by the store job, weights read back
    ReplayRecorder    a backtest: batches, ballots scored in memory on the replay candles, the
                      track record kept in memory and fed the outcomes as they are scored
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence

from consensus.decision import Action, Ballot
from consensus.leaderboard import SWARM
from consensus.vote import Consensus
from consensus.weights import TrackRecord, WeightParams, compute_weights
from execution.types import Approved, RiskResult
from feeds.state import MarketState
from prompts.types import RenderedPrompt
from swarm.members.base import Answer
from swarm.replay_scoring import PendingBallot, ReplayScorer
from swarm.store import Store
from swarm.store_bulk import CycleBatch

Scorer = Callable[[int], Awaitable[int]]


class StoreRecorder:
    """Records into the store; scores what is due at most every `score_every_ms` of market time."""

    def __init__(
        self,
        store: Store,
        scorer: Scorer,
        *,
        weight_params: WeightParams | None = None,
        score_every_ms: int = 0,
    ) -> None:
        self.store = store
        self._scorer = scorer
        self._params = weight_params or WeightParams()
        self._score_every_ms = score_every_ms
        self._last_scored_at: int | None = None
        self._weights: dict[str, float] | None = None

    def weights(self, now_ms: int, priors: Mapping[str, float]) -> dict[str, float]:
        if self._weights is None:
            self._weights = self.store.member_weights(now_ms, self._params, priors)
        return self._weights

    def record_answers(
        self, cycle_id: str, now_ms: int, prompts: Mapping[str, RenderedPrompt], answers: Sequence[Answer]
    ) -> None:
        for symbol, prompt in prompts.items():
            of_symbol = [a for a in answers if a.vote.symbol == symbol]
            self.store.record_answers(cycle_id, now_ms, prompt.version, prompt.digest, of_symbol)

    def record_consensus(self, cycle_id: str, now_ms: int, consensus: Consensus) -> None:
        self.store.record_consensus(cycle_id, now_ms, consensus, consensus.weights)

    def record_risk(self, decision_id: str, cycle_id: str, result: RiskResult, now_ms: int) -> None:
        self.store.record_risk_result(decision_id, cycle_id, result, now_ms)

    def record_entry_state(self, decision_id: str, state: MarketState) -> None:
        self.store.record_entry_state(decision_id, state)

    async def score_due(self, now_ms: int) -> int:
        last = self._last_scored_at
        if last is not None and now_ms - last < self._score_every_ms:
            return 0
        self._last_scored_at = now_ms
        scored = await self._scorer(now_ms)
        if scored:
            self._weights = None  # new outcomes: the weights move
        return scored

    def flush(self) -> None:
        """Every write above is already committed."""


class ReplayRecorder:
    """The Recorder of a backtest: nothing is read back from the store while the run goes on.

    Ballots are scored in memory (swarm.replay_scoring) at most every `score_every_ms` of market
    time, exactly when and as the store job would score them; their outcomes feed the track record
    kept here, in the order the store would feed them (known time, then recording order), so the
    weights are those StoreRecorder reads back. Answers, votes, decisions and scores are written
    in batches of `flush_rows` rows, one transaction each, and before an approved intent goes to
    the executor.
    """

    def __init__(
        self,
        store: Store,
        scorer: ReplayScorer,
        *,
        weight_params: WeightParams | None = None,
        score_every_ms: int = 0,
        flush_rows: int = 20_000,
    ) -> None:
        self.store = store
        self._scorer = scorer
        self._params = weight_params or WeightParams()
        self._score_every_ms = score_every_ms
        self._flush_rows = flush_rows
        self._batch = CycleBatch()
        self._record = TrackRecord(self._params.half_life)
        self._outcomes: list[tuple[int, int, str, bool]] = []  # (known at, seq, member, right), not fed yet
        self._votes: list[tuple[str, int, bool]] = []  # (member, cast at, answered), not fed yet
        self._last_scored_at: int | None = None
        self._weights: dict[str, float] | None = None

    def weights(self, now_ms: int, priors: Mapping[str, float]) -> dict[str, float]:
        if self._weights is None:
            # As TrackRecordStore.track_record reads them: outcomes by (scored_at, answer id).
            for known_at, _, member, correct in sorted(self._outcomes):
                self._record.record_outcome(member, known_at, correct)
            for member, cast_at, answered in self._votes:
                self._record.record_vote(member, cast_at, answered)
            self._outcomes, self._votes = [], []
            weights = compute_weights(self._record, now_ms, self._params, priors)
            self._weights = {member: weight.value for member, weight in weights.items()}
        return self._weights

    def record_answers(
        self, cycle_id: str, now_ms: int, prompts: Mapping[str, RenderedPrompt], answers: Sequence[Answer]
    ) -> None:
        now = self.store.now_ms()
        for symbol, prompt in prompts.items():
            of_symbol = [a for a in answers if a.vote.symbol == symbol]
            seqs = self._batch.add_answers(cycle_id, now_ms, prompt.version, prompt.digest, of_symbol, now)
            for seq, answer in zip(seqs, of_symbol, strict=True):
                vote = answer.vote
                answered = isinstance(vote, Ballot)
                self._votes.append((vote.member, now_ms, answered))
                if isinstance(vote, Ballot):
                    self._scorer.add(PendingBallot("answer", seq, vote.member, symbol, now_ms, vote.decision))
        self._maybe_flush()

    def record_consensus(self, cycle_id: str, now_ms: int, consensus: Consensus) -> None:
        seq = self._batch.add_vote(cycle_id, now_ms, consensus, self.store.now_ms())
        held = consensus.action is Action.HOLD and consensus.confidence == 0.0
        self._scorer.add(PendingBallot("consensus", seq, SWARM, consensus.symbol, now_ms, consensus, held))

    def record_risk(self, decision_id: str, cycle_id: str, result: RiskResult, now_ms: int) -> None:
        self._batch.add_decision(decision_id, cycle_id, result, self.store.now_ms())
        if isinstance(result, Approved):
            # The executor journals the intent next (keeping a decision recorded already): the
            # row must be there first, with its cycle, as when every write is immediate.
            self.flush()

    def record_entry_state(self, decision_id: str, state: MarketState) -> None:
        self.store.record_entry_state(decision_id, state)  # one row per entry: not worth a batch

    async def score_due(self, now_ms: int) -> int:
        last = self._last_scored_at
        if last is not None and now_ms - last < self._score_every_ms:
            return 0
        self._last_scored_at = now_ms
        scored = self._scorer.score_due(now_ms)
        self._batch.add_scores(
            ((b.owner, b.seq, values, not b.held_by_rule) for b, values in scored),
            self._scorer.horizon_ms,
            self.store.now_ms(),
        )
        # (known at, seq, member, right) of each member's scored direction (CLOSE has none).
        self._outcomes += [
            (v[8], b.seq, b.member, v[0]) for b, v in scored if b.owner == "answer" and v[0] is not None
        ]
        if scored:
            self._weights = None  # new outcomes: the weights move
        self._maybe_flush()
        return len(scored)

    def flush(self) -> None:
        self._batch.write(self.store)

    @property
    def write_seconds(self) -> float:
        """Time spent writing batches so far (part of the engine's "store" stage)."""
        return self._batch.write_seconds

    def _maybe_flush(self) -> None:
        if len(self._batch) >= self._flush_rows:
            self.flush()
