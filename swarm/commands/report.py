"""`swarm report`: the HTML report of a run, rebuilt from the store alone."""

from __future__ import annotations

import json
from pathlib import Path

from swarm.config import load_settings
from swarm.errors import UsageError
from swarm.report_store import StoredRun
from swarm.store import Store, database_label, sqlite_file
from swarm.timeutil import format_utc, wall_clock_ms

DEFAULT_OUT = Path("report.html")


def run_report(
    *, db: str | None, out: Path | None, run_id: int | None, list_runs: bool, as_json: bool
) -> None:
    target = db or load_settings().db
    path = sqlite_file(target)
    if path is not None and not path.exists():  # a report reads: a missing file is never created
        where = f"--db {path}" if db else f"{path} (SWARM_DB)"
        hint = "a backtest prints its .db path; swarm run records into SWARM_DB"
        raise UsageError(f"{where}: no such file ({hint})")
    store = Store.open(target)
    try:
        if list_runs:
            _list(store.runs(), database_label(target), as_json)
            return
        from swarm.report import write_report
        from swarm.report_build import pick_run, report_from_store

        run = pick_run(store, run_id)
        written = write_report(report_from_store(store, run, wall_clock_ms()), out or DEFAULT_OUT)
    finally:
        store.close()
    if as_json:
        print(json.dumps({"run": run.id, "kind": run.kind, "report": str(written)}))
    else:
        print(f"report of run {run.id} ({run.kind}): {written}")


def _list(runs: list[StoredRun], where: str, as_json: bool) -> None:
    rows = [
        {
            "run": r.id,
            "kind": r.kind,
            "symbols": r.meta.get("symbols", []),
            "roster": r.meta.get("roster", []),
            "when": _when(r),
        }
        for r in runs
    ]
    if as_json:
        print(json.dumps({"runs": rows}, indent=2))
        return
    if not rows:
        print(f"No runs in {where} yet.")
    for row in rows:
        print(
            f"{row['run']:>4}  {row['kind']:<8}  {','.join(row['symbols']):<12}"
            f"  {','.join(row['roster'])}  ({row['when']})"
        )


def _when(run: StoredRun) -> str:
    """A backtest's window (its rows carry simulated times); a `swarm run`'s last write."""
    if run.kind == "backtest":
        return f"{format_utc(run.meta['window_start_ms'])} -> {format_utc(run.meta['window_end_ms'])}"
    return f"last cycle {format_utc(run.updated_at)}"
