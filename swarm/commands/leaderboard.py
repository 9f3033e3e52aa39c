"""`swarm leaderboard`: every member's track record, and the swarm's, as a table, JSON or CSV.

Read only, apart from upgrading an older schema: a missing SQLite file is reported, not created.
The numbers are defined in consensus.leaderboard (docs/consensus.md, "Leaderboard").
"""

from __future__ import annotations

import csv
import dataclasses
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from consensus.leaderboard import SWARM, LeaderboardRow, leaderboard
from swarm.config import Settings, load_settings
from swarm.errors import UsageError
from swarm.store import LeaderboardFacts, Store, database_label, sqlite_file
from swarm.timeutil import format_utc, parse_utc, wall_clock_ms

_NONE = "[dim]—[/dim]"


def run_leaderboard(*, as_json: bool, as_csv: bool, member: str | None, at: str | None) -> None:
    if as_json and as_csv:
        raise UsageError("--json and --csv exclude each other: choose one")
    now_ms = _as_of(at)
    settings = load_settings()
    facts, weights = _read(settings, now_ms)
    known = facts.members() + ([SWARM] if facts.consensus else [])
    if member is not None and member not in known:
        raise UsageError(f"no member {member} in the record (known: {', '.join(known) or 'none'})")
    rows = leaderboard(facts.answers, facts.consensus, weights)
    rows = [r for r in rows if member is None or r.member == member]
    if as_json:
        print(json.dumps(leaderboard_document(rows, now_ms), indent=2))
    elif as_csv:
        write_csv(rows)
    elif not rows:
        print(f"No track record in {database_label(settings.db)} yet: no answers by {format_utc(now_ms)}.")
    else:
        show_leaderboard(rows, now_ms)


def _as_of(at: str | None) -> int:
    if at is None:
        return wall_clock_ms()
    try:
        return parse_utc(at)
    except ValueError as exc:
        raise UsageError(f"--at: {exc}") from None


def _read(settings: Settings, now_ms: int) -> tuple[LeaderboardFacts, dict[str, float]]:
    """The facts and current weights; nothing (and no new file) when the SQLite file is missing."""
    path = sqlite_file(settings.db)
    if path is not None and not path.exists():
        return LeaderboardFacts([], []), {}
    store = Store.open(settings.db)
    try:
        facts = store.leaderboard_facts(now_ms)
        roster = {m: settings.member(m).prior_weight for m in facts.members()}
        return facts, store.member_weights(now_ms, prior_weights=roster)
    finally:
        store.close()


def leaderboard_document(rows: Sequence[LeaderboardRow], now_ms: int) -> dict[str, Any]:
    """The JSON document `swarm leaderboard --json` prints."""
    return {
        "as_of": format_utc(now_ms),
        "as_of_ms": now_ms,
        "rows": [dataclasses.asdict(row) for row in rows],
    }


def write_csv(rows: Sequence[LeaderboardRow]) -> None:
    """One header line, then one line per row; an empty cell where there is nothing to measure."""
    names = [f.name for f in dataclasses.fields(LeaderboardRow)]
    writer = csv.DictWriter(sys.stdout, fieldnames=names, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(dataclasses.asdict(row))


def show_leaderboard(rows: Sequence[LeaderboardRow], now_ms: int) -> None:
    """Two tables that each fit 80 columns: the record, then weight and cost."""
    from rich.console import Console

    console = Console()
    console.print(_table(f"track record at {format_utc(now_ms)}", _RECORD, rows))
    console.print(_table("weight and cost", _WEIGHT_AND_COST, rows))
    console.print(f"[dim]{_LEGEND}[/dim]")


Column = tuple[str, Callable[[LeaderboardRow], str]]


def _table(title: str, columns: Sequence[Column], rows: Sequence[LeaderboardRow]) -> Any:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    cells = [[row.member, *(cell(row) for _, cell in columns)] for row in rows]
    for i, header in enumerate(["member", *(h for h, _ in columns)]):
        # Numbers never wrap; headers do when the terminal is narrow.
        width = max(len(Text.from_markup(line[i])) for line in cells)
        table.add_column(header, justify="left" if i == 0 else "right", min_width=width)
    for i, line in enumerate(cells):
        # A rule above the swarm's row, like a total.
        table.add_row(*line, end_section=i + 1 < len(rows) and rows[i + 1].member == SWARM)
    return table


def _hit_rate(row: LeaderboardRow) -> str:
    if row.hit_rate_pct is None or row.hit_rate_low_pct is None or row.hit_rate_high_pct is None:
        return _NONE
    return f"{row.hit_rate_pct:.0f} ({row.hit_rate_low_pct:.0f}-{row.hit_rate_high_pct:.0f})"


def _pnl(row: LeaderboardRow) -> str:
    return _NONE if row.pnl_mean_pct is None else f"{row.pnl_sum_pct:+.2f}/{row.pnl_mean_pct:+.3f}"


def _pct(value: float | None) -> str:
    return _NONE if value is None else f"{value:.0f} %"


def _num(value: float | None, digits: int) -> str:
    return _NONE if value is None else f"{value:.{digits}f}"


_RECORD: list[Column] = [
    ("votes", lambda r: str(r.votes)),
    ("answered", lambda r: _pct(r.answered_pct)),
    ("abst. (parse)", lambda r: f"{r.abstentions} ({r.parse_failures})"),
    ("n", lambda r: str(r.scored)),
    ("hit % (95 % CI)", _hit_rate),
    ("Brier", lambda r: _num(r.brier, 3)),
    ("PnL % sum/mean", _pnl),
]
_WEIGHT_AND_COST: list[Column] = [
    ("in consensus", lambda r: _pct(r.in_consensus_pct)),
    ("weight share", lambda r: _pct(r.weight_share_pct)),
    ("weight now", lambda r: _num(r.weight, 3)),
    ("latency s", lambda r: _num(None if r.median_latency_ms is None else r.median_latency_ms / 1000, 2)),
    ("cost $", lambda r: f"{r.cost_usd:.4f}"),
    ("unpriced", lambda r: str(r.cost_unknown)),
]
_LEGEND = (
    "abst. (parse): abstentions (of them unparseable or invalid) · n: ballots scored for direction ·"
    " hit: right after fees at the horizon · PnL: % of notional, following the ballot alone ·"
    " in consensus: its ballots with the consensus action · weight share: its share of the vote's"
    " weight · latency: median of fresh answers · cost: fresh answers; unpriced: cost unknown"
)
