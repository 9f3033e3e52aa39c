"""A small run of scripts/soak_execution.py: cycles with 20 % of requests faulted, then SIGKILLs and restarts.

The full soak (500 cycles, 20 kills) is run by hand; this one keeps the script and its figures honest
in CI: no doubled order, no position without its stop at any check, the journal equal to the venue.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "soak_execution.py"


def test_a_small_soak_with_kills_keeps_every_position_protected_and_nothing_doubled() -> None:
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--cycles", "12", "--kills", "2", "--seed", "11", "--json"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    in_process, killed = json.loads(run.stdout)

    assert in_process["cycles"] == 12
    assert killed["kills"] == 2
    assert killed["cycles"] >= 3  # the last child's cycles at least
    for part in (in_process, killed):
        assert part["faulted"] >= 0.1 * part["requests"]
        assert (part["duplicates"], part["unprotected"], part["final_mismatches"]) == (0, 0, 0), part
        assert part["mismatched_checks"] == 0, part
    outcomes = in_process["outcomes"] | killed["outcomes"]
    assert outcomes.get("filled", 0) > 0
