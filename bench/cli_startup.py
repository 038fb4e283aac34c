"""Wall time of the `claims` command as a user feels it: start-up and a read-only query.

    python -m bench.cli_startup [--runs 7]

Times ``claims --help`` and ``claims --json member PLAN MEMBER`` (a read-only command on a
prepared embedded state: open the chain, read the member's accumulators, print JSON), each
in a fresh process, and reports the median of several runs (plus min and max). A fresh
process pays Python start-up and imports every time, as a user's shell does. The machine
may be shared: the median is the figure to read. Writes bench/results/cli_startup.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import scenario

CLAIMS = Path(sys.executable).parent / "claims"


def prepare_state(state: Path) -> tuple[str, str]:
    """A state folder with the bench plan, its members and a few paid claims."""
    from claimsengine.sdk import HospitalClient
    from claimsengine.workspace import Workspace

    workspace = Workspace.open(state, create=True)
    try:
        workspace.chain.set_time(scenario.NOW)
        scenario.setup_plan(workspace, 50)
        with workspace.command():
            HospitalClient(workspace).submit_many(scenario.one_line_records(50))
    finally:
        workspace.close()
    return scenario.PLAN_ID, scenario.member_ids(1)[0]


def time_command(argv: list[str], runs: int) -> dict[str, Any]:
    times = []
    for _ in range(runs):
        begin = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - begin)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr.strip()}")
    return {"command": " ".join([Path(argv[0]).name, *argv[1:]]), **scenario.summary(times)}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--out", type=Path, default=scenario.RESULTS / "cli_startup.json")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        state = Path(folder) / "state"
        plan_id, member_id = prepare_state(state)
        claims = str(CLAIMS)
        results = {
            "help": time_command([claims, "--help"], args.runs),
            "member": time_command(
                [claims, "--state", str(state), "--json", "member", plan_id, member_id],
                args.runs,
            ),
        }
    report = {
        "benchmark": "cli_startup",
        "unit": "seconds, wall, fresh process each run",
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "shared_machine": True,
        **results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"claims start-up, median of {args.runs} fresh processes (shared machine)")
    for name, entry in results.items():
        print(
            f"  {name:7s} {entry['median']:.3f} s (min {entry['min']:.3f}, max {entry['max']:.3f})"
            f"  {entry['command']}"
        )
    return report


if __name__ == "__main__":
    main()
